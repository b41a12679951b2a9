/**
 * Delivery hooks (SPEC §8): `beforeDelivery` hooks run in plugin load order on one copy of the
 * unsigned request and may add headers or replace the body — the signatures are then computed
 * over what is sent; a hook that throws, changes the url or sets a signature header fails the
 * attempt, which is recorded and retried like any other. `afterDelivery` observes every
 * recorded attempt; its errors are logged and ignored.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { createLogger } from "../../src/log.ts";
import { SIGNATURE_HEADERS, signatureHeaders } from "../../src/outbound/signing.ts";
import type { DeliveryContext, DeliveryResult } from "../../src/plugin-host/api.ts";
import { DeliveryHookChain } from "../../src/plugin-host/hooks.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";
import {
  appWithPlugins,
  attemptRows,
  removePluginFolders,
  settled,
  uniqueType,
} from "./helpers.ts";

const CONTEXT: DeliveryContext = {
  deliveryId: "dlv_1",
  webhookId: "wh_1",
  workspace: "default",
  attempt: 1,
  maxAttempts: 3,
};
const REQUEST = {
  url: "https://example.com/hooks",
  headers: { "content-type": "application/json" },
  body: "{}",
};

function chainOf(
  beforeDelivery: (request: {
    url: string;
    headers: Record<string, string>;
    body: string;
  }) => unknown,
  budgetMs?: number,
) {
  return new DeliveryHookChain(
    [{ plugin: "p", hooks: { beforeDelivery: beforeDelivery as () => void } }],
    createLogger("error", () => undefined),
    budgetMs,
  );
}

describe("the beforeDelivery chain", () => {
  test("hooks cannot set exactly the headers the signer writes", () => {
    expect<string[]>([...SIGNATURE_HEADERS].sort()).toEqual(
      Object.keys(
        signatureHeaders({ secret: "secret", previous: "previous" }, "dlv_1", "{}", 0),
      ).sort(),
    );
  });

  const REFUSED: { name: string; hook: Parameters<typeof chainOf>[0]; error: string }[] = [
    {
      name: "a header value with a line break",
      hook: (request) => {
        request.headers["x-a"] = "1\r\nx-b: 2";
      },
      error: 'header "x-a" must be a string without line breaks',
    },
    {
      name: "a header value that is not a string",
      hook: (request) => {
        (request.headers as Record<string, unknown>)["x-count"] = 3;
      },
      error: 'header "x-count" must be a string without line breaks',
    },
    {
      name: "an invalid header name",
      hook: (request) => {
        request.headers["x a"] = "1";
      },
      error: 'invalid header name "x a"',
    },
    {
      name: "the host header",
      hook: (request) => {
        request.headers.Host = "internal";
      },
      error: 'header "host" cannot be set by a hook',
    },
    {
      name: "a body that is not a string",
      hook: (request) => {
        (request as { body: unknown }).body = { a: 1 };
      },
      error: "the body must be a string, got object",
    },
    {
      name: "a changed url",
      hook: (request) => {
        request.url = "http://169.254.169.254/";
      },
      error: "it changed the url; the endpoint is the webhook's to set",
    },
  ];
  for (const refused of REFUSED) {
    test(`refuses ${refused.name}`, async () => {
      expect(await chainOf(refused.hook).beforeDelivery(REQUEST, CONTEXT)).toEqual({
        kind: "failed",
        error: `beforeDelivery hook of plugin "p" failed: ${refused.error}`,
      });
    });
  }

  test("header names come out in lower case", async () => {
    const outcome = await chainOf((request) => {
      request.headers["X-Tenant"] = "blue";
    }).beforeDelivery(REQUEST, CONTEXT);
    expect(outcome).toEqual({
      kind: "ready",
      headers: { "content-type": "application/json", "x-tenant": "blue" },
      body: "{}",
    });
  });

  test("headers named __proto__ and constructor come out as headers", async () => {
    const outcome = await chainOf(() => undefined).beforeDelivery(
      { ...REQUEST, headers: JSON.parse('{"__proto__":"p","constructor":"c"}') },
      CONTEXT,
    );
    expect(outcome.kind === "ready" && Object.entries(outcome.headers)).toEqual([
      ["__proto__", "p"],
      ["constructor", "c"],
    ]);
  });

  test("the caller's request is not changed, only the copy", async () => {
    const request = { ...REQUEST, headers: { ...REQUEST.headers } };
    await chainOf((copy) => {
      copy.headers["x-a"] = "1";
      copy.body = "[]";
    }).beforeDelivery(request, CONTEXT);
    expect(request).toEqual(REQUEST);
  });

  test("a hook that never answers fails the attempt when the budget runs out", async () => {
    const outcome = await chainOf(() => new Promise(() => undefined), 20).beforeDelivery(
      REQUEST,
      CONTEXT,
    );
    expect(outcome).toEqual({
      kind: "failed",
      error: 'beforeDelivery hook of plugin "p" failed: no answer within 20 ms',
    });
  });

  test("a shutdown while a hook runs is an abort, not a failure", async () => {
    const shutdown = new AbortController();
    const outcome = chainOf(() => new Promise(() => undefined)).beforeDelivery(
      REQUEST,
      CONTEXT,
      shutdown.signal,
    );
    shutdown.abort();
    expect(await outcome).toEqual({ kind: "aborted" });
  });
});

/** What the test plugins saw, shared through globalThis. */
interface HookState {
  before: { plugin: string; headers: Record<string, string>; context: DeliveryContext }[];
  after: { plugin: string; result: DeliveryResult; context: DeliveryContext }[];
}
const STATE_KEY = "__hookpostHooksTest";
const state: HookState = { before: [], after: [] };
(globalThis as Record<string, unknown>)[STATE_KEY] = state;

/**
 * The first plugin by file name. What it does depends on the webhook's custom header
 * `X-Test-Mode`, so each test sets its behaviour through its own webhook.
 */
const STAMP_PLUGIN = `
import { definePlugin } from "hookpost/plugin";
const state = globalThis.${STATE_KEY};
export default definePlugin({
  name: "stamp",
  hooks: {
    beforeDelivery(request, context) {
      state.before.push({ plugin: "stamp", headers: { ...request.headers }, context });
      const mode = request.headers["x-test-mode"];
      if (mode === "throw") throw new Error("tenant unknown");
      if (mode === "url") request.url = "http://169.254.169.254/latest";
      if (mode === "sign") request.headers["Webhook-Signature"] = "v1,forged";
      if (mode === "body") request.body = JSON.stringify({ wrapped: JSON.parse(request.body) });
      request.headers["X-Tenant"] = "blue";
    },
    afterDelivery(result, context) {
      state.after.push({ plugin: "stamp", result, context });
    },
  },
});
`;

/** The second plugin: sees the first one's changes; its afterDelivery always throws. */
const SECOND_PLUGIN = `
import { definePlugin } from "hookpost/plugin";
const state = globalThis.${STATE_KEY};
export default definePlugin({
  name: "second",
  hooks: {
    async beforeDelivery(request, context) {
      await Promise.resolve();
      state.before.push({ plugin: "second", headers: { ...request.headers }, context });
      request.headers["x-order"] = (request.headers["x-order"] ?? "") + "second";
    },
    afterDelivery() {
      throw new Error("metrics backend down");
    },
  },
});
`;

describe("hooks in a running app", () => {
  let app: TestApp;
  let target: Receiver;

  beforeAll(async () => {
    app = await appWithPlugins(
      { "a-stamp.ts": STAMP_PLUGIN, "b-second.ts": SECOND_PLUGIN },
      { HOOKPOST_MAX_ATTEMPTS: "2" },
    );
    await app.app.start();
    target = startReceiver();
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
    removePluginFolders();
  });

  /** A webhook on its own path and content type, one event, and its delivery id. */
  async function deliver(
    mode: string | null,
    fields: Record<string, unknown> = {},
    contentId = "c_1",
  ) {
    const type = uniqueType();
    const path = `/${type}`;
    const webhook = await createWebhook(app, {
      endpoint: `${target.url}${path}`,
      eventTypes: { [type]: [0] },
      ...(mode ? { headers: [{ key: "X-Test-Mode", value: mode }] } : {}),
      ...fields,
    });
    const accepted = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: type, contentId, fields: { title: "Hi" } },
    });
    const deliveryId = (accepted.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!deliveryId) throw new Error(accepted.text);
    const received = () => target.requests.filter((request) => request.path === path);
    return { webhook, deliveryId, received };
  }

  test("run in file name order on one unsigned copy; their headers reach the receiver", async () => {
    const { webhook, deliveryId, received } = await deliver("plain", {
      auth: { type: "bearer", token: "receiver-token" },
    });
    expect(await settled(app, deliveryId)).toMatchObject({ process_status: ProcessStatus.Sent });
    const seen = state.before.filter((entry) => entry.context.deliveryId === deliveryId);
    expect(seen.map((entry) => entry.plugin)).toEqual(["stamp", "second"]);
    expect(seen[0]?.context).toEqual({
      deliveryId,
      webhookId: webhook.id,
      workspace: "default",
      attempt: 1,
      maxAttempts: 2,
    });
    // The first hook's header, lower-cased, is what the second one sees.
    expect(seen[1]?.headers["x-tenant"]).toBe("blue");
    // Hooks see neither the signatures (computed after them) nor the receiver's credentials.
    for (const name of [...SIGNATURE_HEADERS, "authorization"]) {
      expect(Object.keys(seen[0]?.headers ?? {})).not.toContain(name);
    }
    expect(seen[0]?.headers).toMatchObject({
      "content-type": "application/json",
      "x-test-mode": "plain",
    });
    const request = received()[0];
    expect(request?.headers.get("x-tenant")).toBe("blue");
    expect(request?.headers.get("x-order")).toBe("second");
    expect(request?.headers.get("authorization")).toBe("Bearer receiver-token");
    const verifier = new StandardWebhook(webhook.secret, { format: "raw" });
    expect(() =>
      verifier.verify(request?.body ?? "", Object.fromEntries(request?.headers.entries() ?? [])),
    ).not.toThrow();
    const [attempt] = await attemptRows(app, deliveryId);
    expect(JSON.parse(attempt?.request_headers ?? "{}")).toMatchObject({
      "x-tenant": "blue",
      authorization: "********",
    });
  });

  test("a body replaced by a hook is what is sent and signed; the stored body stays", async () => {
    const { webhook, deliveryId, received } = await deliver("body");
    const row = await settled(app, deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    const request = received()[0];
    if (!request) throw new Error("nothing received");
    const original = JSON.parse(row.body);
    expect(JSON.parse(request.body)).toEqual({ wrapped: original });
    const verifier = new StandardWebhook(webhook.secret, { format: "raw" });
    expect(verifier.verify(request.body, Object.fromEntries(request.headers.entries()))).toEqual({
      wrapped: original,
    });
    expect(row.signature).toBe(request.headers.get("contit-signature"));
  });

  const FAILING = [
    {
      mode: "throw",
      error: 'beforeDelivery hook of plugin "stamp" failed: tenant unknown',
    },
    {
      mode: "url",
      error:
        'beforeDelivery hook of plugin "stamp" failed: it changed the url; the endpoint is the webhook\'s to set',
    },
    {
      mode: "sign",
      error:
        'beforeDelivery hook of plugin "stamp" failed: header "webhook-signature" cannot be set by a hook',
    },
  ];
  for (const failing of FAILING) {
    test(`a hook that fails (${failing.mode}) fails the attempt, recorded and retried; nothing is sent`, async () => {
      const { deliveryId, received } = await deliver(failing.mode);
      const row = await settled(app, deliveryId);
      expect(row).toMatchObject({
        process_status: ProcessStatus.Error,
        attempts: 2,
        last_error: failing.error,
        response_status_code: null,
      });
      const attempts = await attemptRows(app, deliveryId);
      expect(attempts.map((attempt) => [attempt.number, attempt.error])).toEqual([
        [1, failing.error],
        [2, failing.error],
      ]);
      expect(received()).toEqual([]);
    });
  }

  test("afterDelivery observes every attempt's outcome; a throwing one is logged and ignored", async () => {
    // The receiver fails the first request about content `flaky`, then accepts.
    const marker = '"contentId":"flaky"';
    target.handle((request) =>
      request.body.includes(marker) &&
      target.requests.filter((r) => r.body.includes(marker)).length === 1
        ? new Response("busy", { status: 500 })
        : Response.json({ ok: true }),
    );
    const { deliveryId, received } = await deliver(null, {}, "flaky");
    expect(await settled(app, deliveryId)).toMatchObject({ process_status: ProcessStatus.Sent });
    const observed = await waitFor("two observations", () => {
      const mine = state.after.filter((entry) => entry.context.deliveryId === deliveryId);
      return mine.length === 2 ? mine : undefined;
    });
    expect(observed.map((entry) => entry.result)).toEqual([
      {
        statusCode: 500,
        error: "HTTP 500",
        durationMs: expect.any(Number),
        outcome: "retry",
        nextAttemptAt: expect.any(Date),
      },
      {
        statusCode: 200,
        error: null,
        durationMs: expect.any(Number),
        outcome: "sent",
        nextAttemptAt: null,
      },
    ]);
    expect(observed.map((entry) => entry.context.attempt)).toEqual([1, 2]);
    expect(received()).toHaveLength(2);
    const failures = await waitFor("the logged hook failure", () => {
      const lines = app.logLines.filter(
        (line) => line.includes('"msg":"afterDelivery hook failed"') && line.includes(deliveryId),
      );
      return lines.length === 2 ? lines : undefined;
    });
    expect(JSON.parse(failures[0] ?? "{}")).toMatchObject({
      level: "warn",
      plugin: "second",
      error: "metrics backend down",
    });
  });
});
