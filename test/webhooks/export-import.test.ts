/**
 * Export and import of a webhook's configuration (seed 002): the export document, its masked
 * credentials, the round trip to a new webhook, and import into an existing one — with the
 * usual 400/401/403/404 and refused requests changing nothing. Both import routes also take
 * the document as Contentstack documents it: a form upload with the file in the field `webhook`.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import {
  createWebhook,
  expectErrorEnvelope,
  freshBody,
  runScenarios,
} from "../helpers/scenarios.ts";
import { createTestApp, readResponse, type TestApp } from "../helpers/test-app.ts";

const MASK = "********";

const fullConfig = {
  name: "Article sync",
  endpoint: "https://example.com/hooks/contit",
  secret: "imported-secret-0123456789",
  eventTypes: { article: [0, 1, 2], "*": [2] },
  useCustomPayload: true,
  customPayload: { title: "{{fields.title}}" },
  templateEngine: "json",
  description: "Production article sync",
  errorEmailTo: "ops@example.com",
  enabled: false,
  headers: [{ key: "X-Tenant", value: "acme" }],
  timeoutSeconds: 7,
  maxAttempts: 3,
  retryPolicy: "manual",
  auth: { type: "basic", username: "hookpost", password: "pa55-word-basic" },
  slot: "preview",
  languages: ["en", "it"],
  ordered: true,
  rateLimitPerSecond: 7,
  retrySchedule: [5, 60],
};

const document = (webhook: Record<string, unknown>) => ({
  format: "hookpost.webhook",
  version: 1,
  exportedAt: "2025-01-31T10:00:00.000Z",
  webhook,
});

async function countWebhooks(app: TestApp): Promise<number> {
  const list = await app.request("GET", "/webhooks", { key: app.keys.read });
  return (list.body as unknown[]).length;
}

describe("GET /webhooks/{id}/export", () => {
  runScenarios([
    {
      name: "answers the configuration as a download, credentials masked, with a read key",
      method: "GET",
      url: "/webhooks/{id}/export",
      key: "read",
      setup: async (app) =>
        createWebhook(app, {
          ...fullConfig,
          headers: [
            { key: "X-Tenant", value: "acme" },
            { key: "X-Api-Key", value: "api-key-value-1" },
          ],
        }),
      expectedStatus: 200,
      expectedContent: {
        format: "hookpost.webhook",
        version: 1,
        exportedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        webhook: {
          ...fullConfig,
          headers: [
            { key: "X-Tenant", value: "acme" },
            { key: "X-Api-Key", value: MASK },
          ],
          auth: { type: "basic", username: "hookpost", password: MASK },
        },
      },
      notExpectedContent: ["pa55-word-basic", "api-key-value-1", "{id}", "healthStatus"],
      after: (response, _app, vars) => {
        expect(response.headers.get("content-disposition")).toBe(
          `attachment; filename="webhook-${vars.id}.json"`,
        );
        const { webhook } = freshBody(response) as { webhook: Record<string, unknown> };
        for (const field of ["id", "failCount", "lastDeliveredAt", "createdAt", "lastModified"]) {
          expect(webhook).not.toHaveProperty(field);
        }
      },
    },
    {
      name: "an unknown id is 404",
      method: "GET",
      url: "/webhooks/wh_nope/export",
      expectedStatus: 404,
    },
    {
      name: "another workspace's webhook is 404",
      method: "GET",
      url: "/webhooks/{id}/export",
      setup: async (app) => createWebhook(app, {}, app.keys.other),
      expectedStatus: 404,
      notExpectedContent: ["example.com"],
    },
    {
      name: "no key is 401",
      method: "GET",
      url: "/webhooks/wh_x/export",
      key: "none",
      expectedStatus: 401,
    },
  ]);
});

describe("POST /webhooks/import", () => {
  runScenarios([
    {
      name: "creates a new webhook from a document, keeping its secret",
      method: "POST",
      url: "/webhooks/import",
      json: document(fullConfig),
      expectedStatus: 200,
      expectedContent: {
        notice: "webhook was imported successfully",
        webhook: {
          ...fullConfig,
          id: expect.stringMatching(/^wh_/),
          auth: { ...fullConfig.auth, password: MASK },
          healthStatus: "disabled",
          failCount: 0,
        },
      },
    },
    {
      name: "without a secret, one is generated",
      method: "POST",
      url: "/webhooks/import",
      json: document({ endpoint: "https://example.com/a" }),
      expectedStatus: 200,
      expectedContent: { webhook: { secret: expect.stringMatching(/^wh_[A-Za-z0-9]{32}$/) } },
    },
    {
      name: "masked credentials are a 400 naming each field, and create nothing",
      method: "POST",
      url: "/webhooks/import",
      json: document({
        endpoint: "https://example.com/masked",
        auth: { type: "bearer", token: MASK },
        headers: [{ key: "X-Api-Key", value: MASK }],
      }),
      expectedStatus: 400,
      expectedContent: {
        error: {
          code: "invalid_request",
          details: {
            fields: [{ field: "webhook.auth.token" }, { field: "webhook.headers.0.value" }],
          },
        },
      },
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("example.com/masked");
      },
    },
    {
      name: "validation is that of PUT: a private endpoint is 400",
      method: "POST",
      url: "/webhooks/import",
      json: document({ endpoint: "http://127.0.0.1/hook" }),
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "webhook.endpoint" }] } } },
    },
    {
      name: "a document without endpoint is 400",
      method: "POST",
      url: "/webhooks/import",
      json: document({ name: "no endpoint" }),
      expectedStatus: 400,
      expectedContent: { error: { code: "validation_failed" } },
    },
    {
      name: "an unknown field in the webhook is 400, not ignored",
      method: "POST",
      url: "/webhooks/import",
      json: document({ endpoint: "https://example.com/a", id: "wh_forced" }),
      expectedStatus: 400,
      expectedContent: { error: { code: "validation_failed" } },
    },
    {
      name: "another format is 400",
      method: "POST",
      url: "/webhooks/import",
      json: { ...document({ endpoint: "https://example.com/a" }), format: "contentstack" },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "format" }] } } },
    },
    {
      name: "another version is 400",
      method: "POST",
      url: "/webhooks/import",
      json: { ...document({ endpoint: "https://example.com/a" }), version: 2 },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "version" }] } } },
    },
    {
      name: "a read key is 403 and creates nothing",
      method: "POST",
      url: "/webhooks/import",
      key: "read",
      json: document({ endpoint: "https://example.com/read-only" }),
      expectedStatus: 403,
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("read-only");
      },
    },
    {
      name: "no key is 401",
      method: "POST",
      url: "/webhooks/import",
      key: "none",
      json: document({ endpoint: "https://example.com/a" }),
      expectedStatus: 401,
    },
  ]);
});

describe("POST /webhooks/{id}/import", () => {
  runScenarios([
    {
      name: "updates the webhook; masked credentials keep the stored ones",
      method: "POST",
      url: "/webhooks/{id}/import",
      setup: async (app) => createWebhook(app, { auth: fullConfig.auth }),
      json: document({
        endpoint: "https://example.com/updated",
        auth: { type: "basic", username: "renamed", password: MASK },
        languages: ["de"],
      }),
      expectedStatus: 200,
      expectedContent: {
        webhook: {
          id: "{id}",
          secret: "{secret}",
          endpoint: "https://example.com/updated",
          auth: { type: "basic", username: "renamed", password: MASK },
          languages: ["de"],
          eventTypes: { article: [0] },
        },
      },
      after: async (_response, app, vars) => {
        const row = await app.app.store.db
          .selectFrom("webhooks")
          .select("auth")
          .where("id", "=", vars.id ?? "")
          .executeTakeFirstOrThrow();
        expect(JSON.parse(row.auth)).toEqual({
          type: "basic",
          username: "renamed",
          password: "pa55-word-basic",
        });
      },
    },
    {
      name: "an unknown id is 404 and creates nothing",
      method: "POST",
      url: "/webhooks/wh_nope/import",
      json: document({ endpoint: "https://example.com/nope" }),
      expectedStatus: 404,
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("example.com/nope");
      },
    },
    {
      name: "another workspace's webhook is 404 and stays as it was",
      method: "POST",
      url: "/webhooks/{id}/import",
      setup: async (app) => createWebhook(app, {}, app.keys.other),
      json: document({ endpoint: "https://attacker.example/steal" }),
      expectedStatus: 404,
      after: async (_response, app, vars) => {
        const theirs = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.other });
        expect(theirs.body).toMatchObject({ endpoint: "https://example.com/hooks" });
      },
    },
    {
      name: "a read key is 403 and changes nothing",
      method: "POST",
      url: "/webhooks/{id}/import",
      key: "read",
      setup: async (app) => createWebhook(app),
      json: document({ endpoint: "https://example.com/changed" }),
      expectedStatus: 403,
      after: async (_response, app, vars) => {
        const still = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        expect(still.body).toMatchObject({ endpoint: "https://example.com/hooks" });
      },
    },
    {
      name: "a changed auth type with masked credentials is 400 and changes nothing",
      method: "POST",
      url: "/webhooks/{id}/import",
      setup: async (app) => createWebhook(app, { auth: fullConfig.auth }),
      json: document({
        endpoint: "https://example.com/changed",
        auth: { type: "bearer", token: MASK },
      }),
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "webhook.auth.token" }] } } },
      after: async (_response, app, vars) => {
        const still = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        expect(still.body).toMatchObject({
          endpoint: "https://example.com/hooks",
          auth: { type: "basic" },
        });
      },
    },
  ]);
});

describe("export → import round trip", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  /** A webhook as the API shows it, without what belongs to one webhook instance alone. */
  function configOf(webhook: unknown): Record<string, unknown> {
    const {
      id: _id,
      createdAt: _createdAt,
      lastModified: _lastModified,
      ...config
    } = webhook as Record<string, unknown>;
    return config;
  }

  test("creates an equal webhook with a new id", async () => {
    const { auth: _auth, ...withoutCredentials } = fullConfig;
    const { id } = await createWebhook(app, withoutCredentials);
    const exported = await app.request("GET", `/webhooks/${id}/export`, { key: app.keys.read });
    expect(exported.status).toBe(200);
    const before = await countWebhooks(app);

    const imported = await app.request("POST", "/webhooks/import", {
      key: app.keys.write,
      json: freshBody(exported),
    });
    expect(imported.status).toBe(200);
    const copy = (freshBody(imported) as { webhook: { id: string } }).webhook;
    expect(copy.id).not.toBe(id);
    expect(await countWebhooks(app)).toBe(before + 1);

    const original = await app.request("GET", `/webhooks/${id}`, { key: app.keys.read });
    const fetchedCopy = await app.request("GET", `/webhooks/${copy.id}`, { key: app.keys.read });
    expect(configOf(freshBody(fetchedCopy))).toEqual(configOf(freshBody(original)));
  });

  test("with credentials: masked values must be filled in, then the copy works", async () => {
    const { id } = await createWebhook(app, {
      auth: { type: "bearer", token: "bearer-token-0123456789" },
      headers: [{ key: "X-Api-Key", value: "api-key-value-1" }],
    });
    const exported = freshBody(
      await app.request("GET", `/webhooks/${id}/export`, { key: app.keys.read }),
    ) as { webhook: Record<string, unknown> };
    const before = await countWebhooks(app);

    const refused = await app.request("POST", "/webhooks/import", {
      key: app.keys.write,
      json: exported,
    });
    expect(refused.status).toBe(400);
    expect(await countWebhooks(app)).toBe(before);

    exported.webhook.auth = { type: "bearer", token: "bearer-token-0123456789" };
    exported.webhook.headers = [{ key: "X-Api-Key", value: "api-key-value-1" }];
    const imported = await app.request("POST", "/webhooks/import", {
      key: app.keys.write,
      json: exported,
    });
    expect(imported.status).toBe(200);
    const copyId = (imported.body as { webhook: { id: string } }).webhook.id;
    const rows = await app.app.store.db
      .selectFrom("webhooks")
      .select(["id", "auth", "headers"])
      .where("id", "in", [id, copyId])
      .execute();
    const [first, second] = rows;
    expect(rows).toHaveLength(2);
    expect(second?.auth).toBe(first?.auth ?? "missing");
    expect(second?.headers).toBe(first?.headers ?? "missing");
  });
});

describe("import as a form upload (seed 002: the JSON file in the form field `webhook`)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  function jsonFile(value: unknown, name = "webhook.json"): File {
    return new File([JSON.stringify(value)], name, { type: "application/json" });
  }

  function form(parts: [string, string | Blob][]): FormData {
    const body = new FormData();
    for (const [name, value] of parts) body.append(name, value);
    return body;
  }

  async function upload(path: string, body: FormData | Blob, contentType?: string) {
    const headers = new Headers({ "x-api-key": app.keys.write });
    if (contentType) headers.set("content-type", contentType);
    const request = new Request(`http://localhost${path}`, { method: "POST", headers, body });
    return readResponse(await app.app.handle(request));
  }

  test("POST /webhooks/import creates the webhook of the uploaded file", async () => {
    const before = await countWebhooks(app);
    const response = await upload(
      "/webhooks/import",
      form([["webhook", jsonFile(document({ ...fullConfig, auth: undefined }))]]),
    );
    expect(response.status).toBe(200);
    const { auth: _auth, ...expected } = fullConfig;
    expect(freshBody(response)).toMatchObject({
      notice: "webhook was imported successfully",
      webhook: { ...expected, id: expect.stringMatching(/^wh_/) },
    });
    expect(await countWebhooks(app)).toBe(before + 1);
  });

  test("POST /webhooks/{id}/import updates the webhook from the uploaded file", async () => {
    const { id } = await createWebhook(app);
    const response = await upload(
      `/webhooks/${id}/import`,
      form([["webhook", jsonFile(document({ endpoint: "https://example.com/uploaded" }))]]),
    );
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      webhook: { id, endpoint: "https://example.com/uploaded" },
    });
  });

  test("the document as a plain form field (curl -F 'webhook=<file.json') is accepted too", async () => {
    const response = await upload(
      "/webhooks/import",
      form([["webhook", JSON.stringify(document({ endpoint: "https://example.com/field" }))]]),
    );
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      webhook: { endpoint: "https://example.com/field" },
    });
  });

  const refused: {
    name: string;
    body: () => FormData | Blob;
    contentType?: string;
    status: number;
    error: Record<string, unknown>;
  }[] = [
    {
      name: "a form without the file",
      body: () => form([["file", jsonFile(document({ endpoint: "https://example.com/x" }))]]),
      status: 400,
      error: {
        code: "validation_failed",
        details: {
          on: "body",
          fields: [
            { field: "webhook", message: "required: the JSON document, as a file" },
            { field: "file", message: 'unexpected part: send only "webhook"' },
          ],
        },
      },
    },
    {
      name: "a part besides the file",
      body: () =>
        form([
          ["webhook", jsonFile(document({ endpoint: "https://example.com/x" }))],
          ["note", "hello"],
        ]),
      status: 400,
      error: {
        code: "validation_failed",
        details: { fields: [{ field: "note", message: 'unexpected part: send only "webhook"' }] },
      },
    },
    {
      name: "two files",
      body: () =>
        form([
          ["webhook", jsonFile(document({ endpoint: "https://example.com/x" }))],
          ["webhook", jsonFile(document({ endpoint: "https://example.com/y" }))],
        ]),
      status: 400,
      error: {
        code: "validation_failed",
        details: { fields: [{ field: "webhook", message: "sent 2 times: send one file" }] },
      },
    },
    {
      name: "a file that is not JSON",
      body: () => form([["webhook", new File(["name: yaml?"], "webhook.yaml")]]),
      status: 400,
      error: { code: "invalid_json", details: { field: "webhook" } },
    },
    {
      name: "a file nested deeper than 64 levels",
      body: () =>
        form([
          ["webhook", new File([`${"[".repeat(100_000)}${"]".repeat(100_000)}`], "deep.json")],
        ]),
      status: 400,
      error: { code: "validation_failed", details: { fields: [{ field: "webhook" }] } },
    },
    {
      name: "a file whose document is invalid (validated as the JSON body is)",
      body: () =>
        form([
          [
            "webhook",
            jsonFile(document({ endpoint: "https://example.com/x", retryPolicy: "sometimes" })),
          ],
        ]),
      status: 400,
      error: {
        code: "validation_failed",
        details: {
          fields: [{ field: "webhook.retryPolicy", message: "expected one of automatic, manual" }],
        },
      },
    },
    {
      name: "a form over 1 MiB",
      body: () =>
        form([
          [
            "webhook",
            jsonFile(
              document({
                endpoint: "https://example.com/x",
                description: "x".repeat(MAX_BODY_BYTES),
              }),
            ),
          ],
        ]),
      status: 413,
      error: { code: "payload_too_large" },
    },
    {
      name: "a multipart body without a boundary",
      body: () => new Blob(["--x\r\n\r\n"]),
      contentType: "multipart/form-data",
      status: 400,
      error: { code: "validation_failed", details: { fields: [{ field: "(body)" }] } },
    },
  ];
  for (const bad of refused) {
    test(`${bad.name} is ${bad.status} ${String(bad.error.code)} and changes nothing`, async () => {
      const before = await app.request("GET", "/webhooks", { key: app.keys.read });
      const response = await upload("/webhooks/import", bad.body(), bad.contentType);
      expect(response.status).toBe(bad.status);
      expectErrorEnvelope(response);
      expect(freshBody(response)).toMatchObject({ error: bad.error });
      const after = await app.request("GET", "/webhooks", { key: app.keys.read });
      expect(after.text).toBe(before.text);
    });
  }

  test("a form upload on any other route is 415", async () => {
    const { id } = await createWebhook(app);
    const body = form([["webhook", jsonFile({ endpoint: "https://example.com/x" })]]);
    for (const [method, path] of [
      ["PUT", "/webhooks"],
      ["POST", "/events"],
      ["POST", `/webhooks/${id}/replay`],
    ] as const) {
      const request = new Request(`http://localhost${path}`, {
        method,
        headers: { "x-api-key": app.keys.write },
        body,
      });
      const response = await readResponse(await app.app.handle(request));
      expect({ path, status: response.status }).toEqual({ path, status: 415 });
    }
  });

  test("the OpenAPI description of both import routes documents the form upload", async () => {
    const spec = (await app.request("GET", "/swagger/json")).body as {
      paths: Record<string, { post?: { description?: string } }>;
    };
    for (const path of ["/webhooks/import", "/webhooks/{id}/import"]) {
      expect(spec.paths[path]?.post?.description).toContain("multipart/form-data");
    }
  });
});
