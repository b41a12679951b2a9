/**
 * What a webhook configuration may hold: every collection a client sends is bounded, and a
 * header value is one a request can carry. Each refusal is a 400 naming the field, on
 * `PUT /webhooks` and in an import document alike, and changes nothing.
 */

import { describe, expect, test } from "bun:test";
import { checkHeaders } from "../../src/webhooks/validation.ts";
import { createWebhook, freshBody, runScenarios, type Scenario } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const STORED = {
  endpoint: "https://example.com/hooks",
  eventTypes: { article: [0] },
  headers: [{ key: "X-Tenant", value: "acme" }],
  useCustomPayload: true,
  customPayload: { kept: true },
};

async function storedWebhook(app: TestApp): Promise<Record<string, string>> {
  return { id: (await createWebhook(app, STORED)).id };
}

/** The webhook as `STORED` made it: the refused request left it alone. */
async function unchanged(app: TestApp, id: string): Promise<void> {
  const response = await app.request("GET", `/webhooks/${id}`, { key: app.keys.read });
  expect(response.body).toMatchObject(STORED);
}

function contentTypes(count: number): Record<string, number[]> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`type_${index}`, [0]]));
}

/** An update of the stored webhook with `fields`, refused with a 400 naming `field`. */
function refusedUpdate(name: string, fields: Record<string, unknown>, field: string): Scenario {
  return {
    name,
    method: "PUT",
    url: "/webhooks",
    setup: storedWebhook,
    json: { id: "{id}", endpoint: STORED.endpoint, ...fields },
    expectedStatus: 400,
    expectedContent: { error: { details: { fields: [{ field }] } } },
    after: (_response, app, vars) => unchanged(app, vars.id ?? ""),
  };
}

/** An update of the stored webhook with `fields`, accepted and stored as sent. */
function acceptedUpdate(name: string, fields: Record<string, unknown>): Scenario {
  return {
    name,
    method: "PUT",
    url: "/webhooks",
    setup: storedWebhook,
    json: { id: "{id}", endpoint: STORED.endpoint, ...fields },
    expectedStatus: 200,
    after: (response) => {
      expect(JSON.stringify(response.body)).toContain(JSON.stringify(Object.values(fields)[0]));
    },
  };
}

const header = (value: string) => ({ headers: [{ key: "X-Tenant", value }] });

describe("bounded collections", () => {
  runScenarios([
    acceptedUpdate("eventTypes takes 1,000 content types", { eventTypes: contentTypes(1000) }),
    refusedUpdate(
      "eventTypes of 1,001 content types is a 400",
      { eventTypes: contentTypes(1001) },
      "eventTypes",
    ),
    acceptedUpdate("a content-type key of 100 characters is taken", {
      eventTypes: { ["k".repeat(100)]: [0] },
    }),
    refusedUpdate(
      "a content-type key of 101 characters (no event could match it) is a 400",
      { eventTypes: { ["k".repeat(101)]: [0] } },
      "eventTypes",
    ),
    refusedUpdate("an empty content-type key is a 400", { eventTypes: { "": [0] } }, "eventTypes"),
    refusedUpdate(
      "an event type named twice for one content type is a 400",
      { eventTypes: { article: [0, 1, 0] } },
      "eventTypes.article",
    ),
    refusedUpdate(
      "11 headers are a 400",
      {
        headers: Array.from({ length: 11 }, (_, index) => ({ key: `X-H${index}`, value: "v" })),
      },
      "headers",
    ),
    refusedUpdate(
      "a custom payload over 64 KiB as JSON is a 400",
      { customPayload: { text: "x".repeat(64 * 1024) } },
      "customPayload",
    ),
    acceptedUpdate("a custom payload of 60 KiB is taken", {
      customPayload: { text: "x".repeat(60 * 1024) },
    }),
    refusedUpdate(
      "101 languages are a 400",
      { languages: Array.from({ length: 101 }, (_, index) => `l${index}`) },
      "languages",
    ),
    {
      name: "an import document is bounded the same way",
      method: "POST",
      url: "/webhooks/{id}/import",
      setup: storedWebhook,
      json: {
        format: "hookpost.webhook",
        version: 1,
        webhook: { endpoint: STORED.endpoint, eventTypes: contentTypes(1001) },
      },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "webhook.eventTypes" }] } } },
      after: (_response, app, vars) => unchanged(app, vars.id ?? ""),
    },
  ]);
});

describe("header values a request can carry", () => {
  runScenarios([
    refusedUpdate(
      "a CR LF in a header value is a 400",
      header("a\r\nX-Injected: 1"),
      "headers.0.value",
    ),
    refusedUpdate("a NUL in a header value is a 400", header("a\u0000b"), "headers.0.value"),
    refusedUpdate(
      "a control character in a header value is a 400",
      header("a\u0001b"),
      "headers.0.value",
    ),
    refusedUpdate("DEL in a header value is a 400", header("a\u007fb"), "headers.0.value"),
    refusedUpdate("an empty header value is a 400", header(""), "headers.0.value"),
    refusedUpdate("a header value of only spaces is a 400", header("   "), "headers.0.value"),
    refusedUpdate(
      "a header value with a leading space is a 400",
      header(" acme"),
      "headers.0.value",
    ),
    refusedUpdate("a non-ASCII header value is a 400", header("café"), "headers.0.value"),
    refusedUpdate(
      "a header value of 2,001 characters is a 400",
      header("v".repeat(2001)),
      "headers.0.value",
    ),
    acceptedUpdate("a header value of 2,000 characters is taken", header("v".repeat(2000))),
    acceptedUpdate("spaces and tabs inside a header value are taken", header("a b\tc")),
    ...["request-id", "traceparent", "request-context"].map((name) =>
      refusedUpdate(
        `${name} is reserved (seed 001)`,
        { headers: [{ key: name, value: "x" }] },
        "headers.0.key",
      ),
    ),
    {
      name: "an import document's header values are checked the same way",
      method: "POST",
      url: "/webhooks/{id}/import",
      setup: storedWebhook,
      json: {
        format: "hookpost.webhook",
        version: 1,
        webhook: { endpoint: STORED.endpoint, ...header("a\nb") },
      },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "webhook.headers.0.value" }] } } },
      after: (_response, app, vars) => unchanged(app, vars.id ?? ""),
    },
  ]);

  test("every value the check accepts is one a request carries unchanged", () => {
    // Every character of the first 1,024 code points, alone and between others, plus ends.
    const values = Array.from({ length: 1024 }, (_, code) => String.fromCharCode(code)).flatMap(
      (character) => [character, `a${character}b`, `${character}a`, `a${character}`],
    );
    let accepted = 0;
    for (const value of values) {
      if (checkHeaders([{ key: "X-Tenant", value }]).length > 0) continue;
      accepted++;
      expect(new Headers({ "x-tenant": value }).get("x-tenant")).toBe(value);
      const sent = new Request("http://127.0.0.1/", { headers: { "x-tenant": value } });
      expect(sent.headers.get("x-tenant")).toBe(value);
    }
    // The 94 visible ASCII characters anywhere; space and tab only inside.
    expect(accepted).toBe(94 + 96 + 94 + 94);
  });
});

describe("webhooks per workspace", () => {
  test("past HOOKPOST_MAX_WEBHOOKS a create is 409 and stores nothing; updates and other workspaces go on", async () => {
    const app = await createTestApp({ HOOKPOST_MAX_WEBHOOKS: "2" });
    try {
      const first = await createWebhook(app, STORED);
      await createWebhook(app, STORED);
      const refused = await app.request("PUT", "/webhooks", { key: app.keys.write, json: STORED });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: { code: "conflict", details: { limit: 2 } } });
      const document = await app.request("GET", `/webhooks/${first.id}/export`, {
        key: app.keys.read,
      });
      const imported = await app.request("POST", "/webhooks/import", {
        key: app.keys.write,
        json: freshBody(document),
      });
      expect(imported.status).toBe(409);
      const listed = await app.request("GET", "/webhooks", { key: app.keys.read });
      expect(listed.body).toHaveLength(2);
      const updated = await app.request("PUT", "/webhooks", {
        key: app.keys.write,
        json: { id: first.id, endpoint: STORED.endpoint, name: "renamed" },
      });
      expect(updated.status).toBe(200);
      const elsewhere = await app.request("PUT", "/webhooks", {
        key: app.keys.other,
        json: STORED,
      });
      expect(elsewhere.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
