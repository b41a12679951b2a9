/**
 * `POST /webhooks/{id}/rotate-secret` with a grace period (issue 16), against a real receiver:
 * during the grace every request — a delivery and a test ping — verifies with the real
 * `standardwebhooks` package under both the new and the previous secret (`webhook-signature`
 * lists both), `Contit-Signature` verifies with the previous secret and `Contit-Signature-Next`
 * with the new one; once the grace ends only the new secret verifies and one signature is sent.
 * Without a body, seed 000's rotation: the previous secret is invalid at once. Bad
 * `graceSeconds` are 400s naming the field.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import {
  type ReceivedRequest,
  type Receiver,
  startReceiver,
  waitFor,
} from "../helpers/receiver.ts";
import { createWebhook, runScenarios, type Scenario } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

/** The first secret, in the Standard Webhooks form; rotation makes `wh_…` ones (raw keys). */
const FIRST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GRACE_SECONDS = 3;

/** Whether `standardwebhooks` verifies the request with `secret` (a `wh_…` secret is a raw key). */
function standardVerifies(request: ReceivedRequest, secret: string): boolean {
  const receiver = secret.startsWith("whsec_")
    ? new StandardWebhook(secret)
    : new StandardWebhook(secret, { format: "raw" });
  try {
    receiver.verify(request.body, Object.fromEntries(request.headers.entries()));
    return true;
  } catch {
    return false;
  }
}

/** Whether a seed-000 `t={t},s={hex}` header verifies with `secret` (its UTF-8 bytes). */
function contitVerifies(header: string | null, body: string, secret: string): boolean {
  const match = /^t=(\d+),s=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match) return false;
  const hex = createHmac("sha256", secret).update(`${match[1]}.${body}`).digest("hex");
  return hex === match[2];
}

/** What a receiver holding each secret concludes of one request. */
function verdicts(request: ReceivedRequest, previous: string, next: string) {
  const contit = request.headers.get("contit-signature");
  const contitNext = request.headers.get("contit-signature-next");
  return {
    standardWithPrevious: standardVerifies(request, previous),
    standardWithNew: standardVerifies(request, next),
    webhookSignatures: (request.headers.get("webhook-signature") ?? "").split(" ").length,
    contitWithPrevious: contitVerifies(contit, request.body, previous),
    contitWithNew: contitVerifies(contit, request.body, next),
    contitNextWithNew: contitVerifies(contitNext, request.body, next),
    hasContitNext: contitNext !== null,
  };
}

const BOTH = {
  standardWithPrevious: true,
  standardWithNew: true,
  webhookSignatures: 2,
  contitWithPrevious: true,
  contitWithNew: false,
  contitNextWithNew: true,
  hasContitNext: true,
};

const ONLY_NEW = {
  standardWithPrevious: false,
  standardWithNew: true,
  webhookSignatures: 1,
  contitWithPrevious: false,
  contitWithNew: true,
  contitNextWithNew: false,
  hasContitNext: false,
};

interface WebhookView {
  secret: string;
  previousSecretExpiresAt: string | null;
}

describe("rotation against a real receiver", () => {
  let t: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await createTestApp(LOOPBACK_DELIVERY);
    await t.app.start();
    receiver = startReceiver();
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  /** A webhook of its own path on the receiver (every webhook gets every event). */
  async function webhookAt(path: string, fields: Record<string, unknown> = {}) {
    const created = await createWebhook(t, { endpoint: `${receiver.url}/${path}`, ...fields });
    return { ...created, path: `/${path}` };
  }

  /** Publishes an event and answers the request the receiver got for it at `path`. */
  async function deliver(path: string, contentId: string): Promise<ReceivedRequest> {
    const before = receiver.requests.length;
    const published = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType: "article", contentId },
    });
    expect(published.status).toBe(202);
    return waitFor(`the delivery of ${contentId}`, () =>
      receiver.requests
        .slice(before)
        .find((request) => request.path === path && request.body.includes(contentId)),
    );
  }

  async function ping(id: string): Promise<ReceivedRequest> {
    const before = receiver.requests.length;
    const response = await t.request("POST", `/webhooks/${id}/test`, { key: t.keys.write });
    expect(response.body).toMatchObject({ statusCode: 200 });
    const request = receiver.requests
      .slice(before)
      .find((received) => received.body.includes("Test ping"));
    if (!request) throw new Error("the ping did not arrive");
    return request;
  }

  async function rotate(id: string, body?: unknown): Promise<WebhookView> {
    const response = await t.request("POST", `/webhooks/${id}/rotate-secret`, {
      key: t.keys.write,
      json: body,
    });
    expect(response.status).toBe(200);
    return response.body as WebhookView;
  }

  async function view(id: string): Promise<WebhookView> {
    return (await t.request("GET", `/webhooks/${id}`, { key: t.keys.read })).body as WebhookView;
  }

  test("with graceSeconds both secrets verify until the grace ends, then only the new one", async () => {
    const { id, path } = await webhookAt("grace", { secret: FIRST_SECRET });
    const before = Date.now();
    const rotated = await rotate(id, { graceSeconds: GRACE_SECONDS });
    const after = Date.now();
    const next = rotated.secret;
    expect(next).not.toBe(FIRST_SECRET);
    // The previous secret is not shown again: the webhook says only until when it signs.
    expect(JSON.stringify(rotated)).not.toContain(FIRST_SECRET);
    const expiresAt = Date.parse(rotated.previousSecretExpiresAt ?? "");
    expect(expiresAt).toBeGreaterThanOrEqual(before + GRACE_SECONDS * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + GRACE_SECONDS * 1000);
    expect((await view(id)).previousSecretExpiresAt).toBe(rotated.previousSecretExpiresAt);

    // During the grace: a delivery and a ping carry both signatures.
    const during = await deliver(path, "during-grace");
    const pinged = await ping(id);
    expect(Date.now()).toBeLessThan(expiresAt);
    expect(verdicts(during, FIRST_SECRET, next)).toEqual(BOTH);
    expect(verdicts(pinged, FIRST_SECRET, next)).toEqual(BOTH);

    // After: the webhook says no previous secret is in use, and only the new one signs.
    await waitFor(
      "the grace to end",
      async () => (await view(id)).previousSecretExpiresAt === null,
      GRACE_SECONDS * 1000 + 5000,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    const afterGrace = await deliver(path, "after-grace");
    expect(verdicts(afterGrace, FIRST_SECRET, next)).toEqual(ONLY_NEW);
    expect(verdicts(await ping(id), FIRST_SECRET, next)).toEqual(ONLY_NEW);
    // The previous secret is never written to the log.
    expect(t.logLines.join("\n")).not.toContain(FIRST_SECRET);
  });

  test("without a body the previous secret is invalid at once (seed 000)", async () => {
    const { id, secret: first, path } = await webhookAt("no-body");
    const rotated = await rotate(id);
    expect(rotated.previousSecretExpiresAt).toBeNull();
    expect(verdicts(await deliver(path, "no-body"), first, rotated.secret)).toEqual(ONLY_NEW);
    expect(verdicts(await ping(id), first, rotated.secret)).toEqual(ONLY_NEW);
  });

  test("graceSeconds 0 is the same as no body", async () => {
    const { id, secret: first, path } = await webhookAt("zero-grace");
    const rotated = await rotate(id, { graceSeconds: 0 });
    expect(rotated.previousSecretExpiresAt).toBeNull();
    expect(verdicts(await deliver(path, "zero-grace"), first, rotated.secret)).toEqual(ONLY_NEW);
  });

  test("a second rotation keeps only the secret it replaces; one without grace ends the grace", async () => {
    const { id, secret: first, path } = await webhookAt("twice");
    const second = (await rotate(id, { graceSeconds: 600 })).secret;
    const third = (await rotate(id, { graceSeconds: 600 })).secret;
    const request = await deliver(path, "second-rotation");
    expect(verdicts(request, second, third)).toEqual(BOTH);
    expect(standardVerifies(request, first)).toBe(false);
    expect(contitVerifies(request.headers.get("contit-signature"), request.body, first)).toBe(
      false,
    );

    const fourth = await rotate(id);
    expect(fourth.previousSecretExpiresAt).toBeNull();
    expect(verdicts(await deliver(path, "grace-ended"), third, fourth.secret)).toEqual(ONLY_NEW);
  });

  test("a secret set by PUT replaces the old one at once, ending a grace", async () => {
    const { id, path } = await webhookAt("put");
    const rotated = await rotate(id, { graceSeconds: 600 });
    const put = await t.request("PUT", "/webhooks", {
      key: t.keys.write,
      json: { id, endpoint: `${receiver.url}${path}`, secret: FIRST_SECRET },
    });
    expect(put.body).toMatchObject({ secret: FIRST_SECRET, previousSecretExpiresAt: null });
    expect(verdicts(await deliver(path, "put-secret"), rotated.secret, FIRST_SECRET)).toEqual(
      ONLY_NEW,
    );
  });
});

describe("POST /webhooks/{id}/rotate-secret input", () => {
  const grace = "(allowed: 0 to 604800)";
  const refused = (name: string, body: unknown, field: string, message: string): Scenario => ({
    name,
    method: "POST",
    url: "/webhooks/{id}/rotate-secret",
    json: body,
    setup: async (app: TestApp) => createWebhook(app),
    expectedStatus: 400,
    expectedContent: {
      error: { code: "validation_failed", details: { on: "body", fields: [{ field, message }] } },
    },
    after: async (_response, app, vars) => {
      const webhook = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
      expect(webhook.body).toMatchObject({ secret: vars.secret, previousSecretExpiresAt: null });
    },
  });
  runScenarios([
    refused(
      "graceSeconds -1",
      { graceSeconds: -1 },
      "graceSeconds",
      `Expected integer to be greater or equal to 0 ${grace}`,
    ),
    refused(
      "graceSeconds 604801",
      { graceSeconds: 604_801 },
      "graceSeconds",
      `Expected integer to be less or equal to 604800 ${grace}`,
    ),
    refused(
      'graceSeconds "10"',
      { graceSeconds: "10" },
      "graceSeconds",
      `Expected integer ${grace}`,
    ),
    refused("graceSeconds 1.5", { graceSeconds: 1.5 }, "graceSeconds", `Expected integer ${grace}`),
    refused("an unknown property", { grace: 10 }, "grace", "Unexpected property"),
    {
      name: "graceSeconds 604800 (7 days) is allowed",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      json: { graceSeconds: 604_800 },
      setup: async (app) => createWebhook(app),
      expectedStatus: 200,
      expectedContent: { previousSecretExpiresAt: expect.any(String) },
    },
    {
      name: "a body-less POST with no Content-Type rotates (seed 000 clients)",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      setup: async (app) => createWebhook(app),
      expectedStatus: 200,
      expectedContent: { previousSecretExpiresAt: null },
      notExpectedContent: ["{secret}"],
    },
    {
      name: "a body-less POST with curl's form Content-Type rotates",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      setup: async (app) => createWebhook(app),
      expectedStatus: 200,
      expectedContent: { previousSecretExpiresAt: null },
      notExpectedContent: ["{secret}"],
    },
    {
      name: "a read key is 403",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      key: "read",
      json: { graceSeconds: 10 },
      setup: async (app) => createWebhook(app),
      expectedStatus: 403,
    },
  ]);
});
