/**
 * The delivery controls of issue 16 in the API: `ordered`, `rateLimitPerSecond` and
 * `retrySchedule` round-trip through `PUT /webhooks`, `GET /webhooks`, `GET /webhooks/{id}`,
 * export and import; bad values are 400s naming the field and the allowed range; the OpenAPI
 * document lists the fields with their bounds, and rotate-secret's `graceSeconds`.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runScenarios, type Scenario } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const CONTROLS = { ordered: true, rateLimitPerSecond: 25, retrySchedule: [5, 300, 1800, 7200] };
const DEFAULTS = { ordered: false, rateLimitPerSecond: null, retrySchedule: null };

describe("the three controls round-trip", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function put(fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await t.request("PUT", "/webhooks", {
      key: t.keys.write,
      json: { endpoint: "https://example.com/hooks", ...fields },
    });
    expect(response.status).toBe(200);
    return response.body as Record<string, unknown>;
  }

  async function everywhere(id: string): Promise<Record<string, unknown>[]> {
    const one = await t.request("GET", `/webhooks/${id}`, { key: t.keys.read });
    const list = await t.request("GET", "/webhooks", { key: t.keys.read });
    const exported = await t.request("GET", `/webhooks/${id}/export`, { key: t.keys.read });
    const listed = (list.body as { id: string }[]).find((webhook) => webhook.id === id);
    return [
      one.body as Record<string, unknown>,
      listed as Record<string, unknown>,
      (exported.body as { webhook: Record<string, unknown> }).webhook,
    ];
  }

  test("a webhook without them shows the defaults: parallel, no limit, exponential backoff", async () => {
    const created = await put({});
    expect(created).toMatchObject(DEFAULTS);
    for (const view of await everywhere(String(created.id))) expect(view).toMatchObject(DEFAULTS);
  });

  test("set, they show in the PUT answer, the list, the webhook, its export, and an import", async () => {
    const created = await put(CONTROLS);
    expect(created).toMatchObject(CONTROLS);
    const id = String(created.id);
    const views = await everywhere(id);
    for (const view of views) expect(view).toMatchObject(CONTROLS);

    const imported = await t.request("POST", "/webhooks/import", {
      key: t.keys.write,
      json: { format: "hookpost.webhook", version: 1, webhook: views[2] },
    });
    expect(imported.status).toBe(200);
    const copy = (imported.body as { webhook: Record<string, unknown> }).webhook;
    expect(copy.id).not.toBe(id);
    expect(copy).toMatchObject(CONTROLS);
    for (const view of await everywhere(String(copy.id))) expect(view).toMatchObject(CONTROLS);
  });

  test("a PUT that omits them keeps them; null clears the limit and the schedule", async () => {
    const id = String((await put(CONTROLS)).id);
    const kept = await put({ id, description: "changed" });
    expect(kept).toMatchObject(CONTROLS);
    const cleared = await put({
      id,
      ordered: false,
      rateLimitPerSecond: null,
      retrySchedule: null,
    });
    expect(cleared).toMatchObject(DEFAULTS);
    for (const view of await everywhere(id)) expect(view).toMatchObject(DEFAULTS);
  });

  test("importing into an existing webhook sets them", async () => {
    const id = String((await put({})).id);
    const response = await t.request("POST", `/webhooks/${id}/import`, {
      key: t.keys.write,
      json: {
        format: "hookpost.webhook",
        version: 1,
        webhook: { endpoint: "https://example.com/hooks", ...CONTROLS },
      },
    });
    expect(response.status).toBe(200);
    for (const view of await everywhere(id)) expect(view).toMatchObject(CONTROLS);
  });
});

/** A PUT of `value` in `field` is a 400 naming the field, saying `message`. */
function refused(
  name: string,
  field: string,
  json: Record<string, unknown>,
  message: string,
): Scenario {
  return {
    name,
    method: "PUT",
    url: "/webhooks",
    key: "write",
    json: { endpoint: "https://example.com/refused", ...json },
    expectedStatus: 400,
    expectedContent: {
      error: { code: "validation_failed", details: { on: "body", fields: [{ field, message }] } },
    },
    after: async (_response, app) => {
      const list = await app.request("GET", "/webhooks", { key: app.keys.read });
      expect(list.text).not.toContain("example.com/refused");
    },
  };
}

describe("bad values are 400s naming the field and the allowed range", () => {
  const limit = "(allowed: 1 to 10000)";
  const length = "(allowed: 1 to 20 items)";
  const delay = "(allowed: 1 to 86400)";
  runScenarios([
    refused(
      "rateLimitPerSecond 0",
      "rateLimitPerSecond",
      { rateLimitPerSecond: 0 },
      `Expected integer to be greater or equal to 1 ${limit}`,
    ),
    refused(
      "rateLimitPerSecond 10001",
      "rateLimitPerSecond",
      { rateLimitPerSecond: 10_001 },
      `Expected integer to be less or equal to 10000 ${limit}`,
    ),
    refused(
      "rateLimitPerSecond 1.5",
      "rateLimitPerSecond",
      { rateLimitPerSecond: 1.5 },
      `Expected integer ${limit}`,
    ),
    refused(
      'rateLimitPerSecond "5"',
      "rateLimitPerSecond",
      { rateLimitPerSecond: "5" },
      `Expected integer ${limit}`,
    ),
    refused(
      "retrySchedule []",
      "retrySchedule",
      { retrySchedule: [] },
      `Expected array length to be greater or equal to 1 ${length}`,
    ),
    refused(
      "retrySchedule of 21 delays",
      "retrySchedule",
      { retrySchedule: Array.from({ length: 21 }, () => 1) },
      `Expected array length to be less or equal to 20 ${length}`,
    ),
    refused(
      "retrySchedule [0]",
      "retrySchedule.0",
      { retrySchedule: [0] },
      `Expected integer to be greater or equal to 1 ${delay}`,
    ),
    refused(
      "retrySchedule [5, 86401]",
      "retrySchedule.1",
      { retrySchedule: [5, 86_401] },
      `Expected integer to be less or equal to 86400 ${delay}`,
    ),
    refused(
      'retrySchedule ["5"]',
      "retrySchedule.0",
      { retrySchedule: ["5"] },
      `Expected integer ${delay}`,
    ),
    refused('ordered "yes"', "ordered", { ordered: "yes" }, "Expected boolean"),
    refused("ordered null", "ordered", { ordered: null }, "Expected boolean"),
    {
      name: "a custom header cannot forge Contit-Signature-Next (the grace's second signature)",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/refused",
        headers: [{ key: "Contit-Signature-Next", value: "t=1,s=forged" }],
      },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "headers.0.key" }] } } },
    },
  ]);
});

describe("the OpenAPI document", () => {
  interface Schema {
    properties?: Record<string, Schema>;
    anyOf?: Schema[];
    items?: Schema;
    minimum?: number;
    maximum?: number;
    minItems?: number;
    maxItems?: number;
    type?: string;
    $ref?: string;
  }
  interface Operation {
    description?: string;
    requestBody?: { content?: Record<string, { schema: Schema }> };
  }
  let t: TestApp;
  let document: {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, Schema> };
  };
  beforeAll(async () => {
    t = await createTestApp();
    document = (await t.request("GET", "/swagger/json")).body as typeof document;
  });
  afterAll(async () => {
    await t.close();
  });

  function bodyOf(path: string, method: string): Schema {
    const schema =
      document.paths[path]?.[method]?.requestBody?.content?.["application/json"]?.schema;
    if (!schema) throw new Error(`no JSON body for ${method} ${path}`);
    if (!schema.$ref) return schema;
    const name = schema.$ref.replace("#/components/schemas/", "");
    return document.components.schemas[name] ?? {};
  }

  test("the webhook model has the controls, the grace's end and the failing streak", () => {
    const webhook = document.components.schemas.WebhookModel?.properties ?? {};
    for (const field of [
      "ordered",
      "rateLimitPerSecond",
      "retrySchedule",
      "previousSecretExpiresAt",
      "failingSince",
    ]) {
      expect(webhook, field).toHaveProperty(field);
    }
  });

  test("PUT /webhooks takes them with their bounds", () => {
    const input = bodyOf("/webhooks", "put").properties ?? {};
    expect(input.ordered).toMatchObject({ type: "boolean" });
    expect(input.rateLimitPerSecond?.anyOf).toContainEqual(
      expect.objectContaining({ type: "integer", minimum: 1, maximum: 10_000 }),
    );
    expect(input.retrySchedule?.anyOf).toContainEqual(
      expect.objectContaining({
        type: "array",
        minItems: 1,
        maxItems: 20,
        items: expect.objectContaining({ type: "integer", minimum: 1, maximum: 86_400 }),
      }),
    );
  });

  test("rotate-secret takes graceSeconds, 0 to 7 days", () => {
    const input = bodyOf("/webhooks/{id}/rotate-secret", "post").properties ?? {};
    expect(input.graceSeconds).toMatchObject({ type: "integer", minimum: 0, maximum: 604_800 });
  });

  test("rotate-secret says which header carries which secret during the grace", () => {
    const description = document.paths["/webhooks/{id}/rotate-secret"]?.post?.description ?? "";
    expect(description).toContain(
      "`Contit-Signature` keeps the previous secret's signature until the grace ends, and " +
        "`Contit-Signature-Next` carries the new one's",
    );
    expect(description).not.toContain("Contit-Signature-Previous");
  });
});
