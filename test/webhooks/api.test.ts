/**
 * The webhook API of seed 000 as a contract: every route, every status code it lists, and the
 * auth matrix (no key, unknown key, read key on a write route, another workspace's webhook).
 */

import { describe, expect, test } from "bun:test";
import { createWebhook, runScenarios } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp, type TestResponse } from "../helpers/test-app.ts";

const oneWebhook = async (app: Parameters<typeof createWebhook>[0]) => {
  const { id, secret } = await createWebhook(app, { description: "Production article sync" });
  return { id, secret };
};
const otherWorkspaceWebhook = async (app: Parameters<typeof createWebhook>[0]) => {
  const { id } = await createWebhook(app, {}, app.keys.other);
  return { id };
};

describe("GET /webhooks", () => {
  runScenarios([
    {
      name: "lists only the caller's workspace, with a read key",
      method: "GET",
      url: "/webhooks",
      key: "read",
      setup: async (app) => {
        const mine = await oneWebhook(app);
        const theirs = await otherWorkspaceWebhook(app);
        return { mine: mine.id, theirs: theirs.id };
      },
      expectedStatus: 200,
      expectedContent: [{ id: "{mine}", description: "Production article sync" }],
      notExpectedContent: ["{theirs}"],
    },
    {
      name: "orders by name when asked",
      method: "GET",
      url: "/webhooks?ordering=-name",
      setup: async (app) => {
        await createWebhook(app, { name: "zeta" });
        await createWebhook(app, { name: "alpha" });
        return {};
      },
      expectedStatus: 200,
      after: (response) => {
        const names = (response.body as { name: string }[]).map((webhook) => webhook.name);
        expect(names).toEqual([...names].sort().reverse());
      },
    },
    {
      name: "an unknown ordering is a 400 naming the query field",
      method: "GET",
      url: "/webhooks?ordering=size",
      expectedStatus: 400,
      expectedContent: { error: { code: "validation_failed", details: { on: "query" } } },
    },
    { name: "no key is 401", method: "GET", url: "/webhooks", key: "none", expectedStatus: 401 },
    {
      name: "an unknown key is 401",
      method: "GET",
      url: "/webhooks",
      key: "unknown",
      expectedStatus: 401,
      expectedContent: { error: { code: "unauthorized" } },
    },
  ]);
});

describe("GET /webhooks?ordering=", () => {
  /** Creates webhooks named `names`, in that order, with `lastModified` at `modified[i]`. */
  const named =
    (names: string[], modified: number[] = []) =>
    async (app: TestApp) => {
      const vars: Record<string, string> = {};
      for (const [index, name] of names.entries()) {
        const { id } = await createWebhook(app, { name });
        const lastModified = modified[index];
        if (lastModified !== undefined) {
          await app.app.store.db
            .updateTable("webhooks")
            .set({ last_modified: lastModified })
            .where("id", "=", id)
            .execute();
        }
        vars[name] = id;
      }
      return vars;
    };
  /** The names of the setup's webhooks, in the order listed (the table's app holds others). */
  const namesListed = (response: TestResponse, vars: Record<string, string>) => {
    const mine = new Set(Object.values(vars));
    return (response.body as { id: string; name: string }[])
      .filter((webhook) => mine.has(webhook.id))
      .map((webhook) => webhook.name);
  };
  /** `names` whose ids sort in that order: ties are broken by id. */
  const byId = (vars: Record<string, string>, names: string[]) =>
    [...names].sort((a, b) => ((vars[a] ?? "") < (vars[b] ?? "") ? -1 : 1));

  runScenarios([
    {
      name: "modified: least recently modified first, ties by id",
      method: "GET",
      url: "/webhooks?ordering=modified",
      key: "read",
      setup: named(["m-late", "m-tie-1", "m-tie-2", "m-early"], [3000, 2000, 2000, 1000]),
      expectedStatus: 200,
      after: (response, _app, vars) => {
        expect(namesListed(response, vars)).toEqual([
          "m-early",
          ...byId(vars, ["m-tie-1", "m-tie-2"]),
          "m-late",
        ]);
      },
    },
    {
      name: "-modified: most recently modified first, ties by id descending",
      method: "GET",
      url: "/webhooks?ordering=-modified",
      key: "read",
      setup: named(["d-early", "d-tie-1", "d-tie-2", "d-late"], [1000, 2000, 2000, 3000]),
      expectedStatus: 200,
      after: (response, _app, vars) => {
        expect(namesListed(response, vars)).toEqual([
          "d-late",
          ...byId(vars, ["d-tie-1", "d-tie-2"]).reverse(),
          "d-early",
        ]);
      },
    },
    {
      name: "name ignores case and accents sort with their letter: alpha before Zeta",
      method: "GET",
      url: "/webhooks?ordering=name",
      key: "read",
      setup: named(["Zeta", "alpha", "Beta", "émile"]),
      expectedStatus: 200,
      after: (response, _app, vars) => {
        expect(namesListed(response, vars)).toEqual(["alpha", "Beta", "émile", "Zeta"]);
      },
    },
    {
      name: "-name: the reverse, names equal but for case tied by id descending",
      method: "GET",
      url: "/webhooks?ordering=-name",
      key: "read",
      setup: named(["Gamma", "DELTA", "gamma"]),
      expectedStatus: 200,
      after: (response, _app, vars) => {
        expect(namesListed(response, vars)).toEqual([
          ...byId(vars, ["gamma", "Gamma"]).reverse(),
          "DELTA",
        ]);
      },
    },
  ]);
});

describe("GET /webhooks/{id}", () => {
  runScenarios([
    {
      name: "returns the webhook with every WebhookModel field",
      method: "GET",
      url: "/webhooks/{id}",
      key: "read",
      setup: oneWebhook,
      expectedStatus: 200,
      expectedContent: {
        id: "{id}",
        endpoint: "https://example.com/hooks",
        secret: "{secret}",
        eventTypes: { article: [0] },
        useCustomPayload: false,
        customPayload: null,
        description: "Production article sync",
        errorEmailTo: null,
        enabled: true,
        auth: { type: "none" },
        slot: "published",
        languages: [],
      },
    },
    {
      name: "an unknown id is 404",
      method: "GET",
      url: "/webhooks/wh_doesnotexist",
      expectedStatus: 404,
      expectedContent: { error: { code: "not_found" } },
    },
    {
      name: "another workspace's webhook is 404, as if it did not exist",
      method: "GET",
      url: "/webhooks/{id}",
      setup: otherWorkspaceWebhook,
      expectedStatus: 404,
      notExpectedContent: ["example.com"],
    },
    {
      name: "no key is 401",
      method: "GET",
      url: "/webhooks/wh_x",
      key: "none",
      expectedStatus: 401,
    },
  ]);
});

describe("PUT /webhooks", () => {
  runScenarios([
    {
      name: "creates a webhook with a generated id and secret",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/hooks/contit",
        description: "Production article sync",
        errorEmailTo: "ops@example.com",
        enabled: true,
        eventTypes: { article: [0, 1, 2] },
        useCustomPayload: false,
      },
      expectedStatus: 200,
      expectedContent: {
        id: expect.stringMatching(/^wh_/),
        secret: expect.stringMatching(/^wh_[A-Za-z0-9]{32}$/),
        endpoint: "https://example.com/hooks/contit",
        eventTypes: { article: [0, 1, 2] },
        errorEmailTo: "ops@example.com",
        enabled: true,
        name: "example.com",
        timeoutSeconds: 15,
        retryPolicy: "automatic",
        healthStatus: "unknown",
        failCount: 0,
        templateEngine: "json",
      },
      after: async (response, app) => {
        const { id } = response.body as { id: string };
        const fetched = await app.request("GET", `/webhooks/${id}`, { key: app.keys.read });
        expect(fetched.body).toEqual(response.body);
      },
    },
    {
      name: "an empty id creates",
      method: "PUT",
      url: "/webhooks",
      json: { id: "", endpoint: "https://example.com/a" },
      expectedStatus: 200,
      expectedContent: { id: expect.stringMatching(/^wh_/), eventTypes: {} },
    },
    {
      name: "an existing id updates; omitted fields keep their values",
      method: "PUT",
      url: "/webhooks",
      setup: oneWebhook,
      json: { id: "{id}", endpoint: "https://example.com/new", enabled: false },
      expectedStatus: 200,
      expectedContent: {
        id: "{id}",
        endpoint: "https://example.com/new",
        enabled: false,
        healthStatus: "disabled",
        description: "Production article sync",
        eventTypes: { article: [0] },
        secret: "{secret}",
      },
    },
    {
      name: "a custom payload and headers are stored as given",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        useCustomPayload: true,
        customPayload: { title: "{{fields.title}}", count: 3, tags: ["a"], nested: { ok: true } },
        headers: [{ key: "X-Tenant", value: "acme" }],
        timeoutSeconds: 5,
        maxAttempts: 3,
        retryPolicy: "manual",
      },
      expectedStatus: 200,
      expectedContent: {
        useCustomPayload: true,
        customPayload: { title: "{{fields.title}}", count: 3, tags: ["a"], nested: { ok: true } },
        headers: [{ key: "X-Tenant", value: "acme" }],
        timeoutSeconds: 5,
        maxAttempts: 3,
        retryPolicy: "manual",
      },
    },
    {
      name: "without endpoint is 400 naming endpoint",
      method: "PUT",
      url: "/webhooks",
      json: { description: "no endpoint" },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "endpoint" }] } } },
    },
    {
      name: "without a body is 400",
      method: "PUT",
      url: "/webhooks",
      expectedStatus: 400,
    },
    {
      name: "an id not in the workspace is 404 and creates nothing",
      method: "PUT",
      url: "/webhooks",
      json: { id: "wh_nope", endpoint: "https://example.com/a" },
      expectedStatus: 404,
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("wh_nope");
      },
    },
    {
      name: "another workspace's id is 404 and leaves it untouched",
      method: "PUT",
      url: "/webhooks",
      setup: otherWorkspaceWebhook,
      json: { id: "{id}", endpoint: "https://attacker.example/steal" },
      expectedStatus: 404,
      after: async (_response, app, vars) => {
        const theirs = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.other });
        expect(theirs.body).toMatchObject({ endpoint: "https://example.com/hooks" });
      },
    },
    {
      name: "a read key is 403 and creates nothing",
      method: "PUT",
      url: "/webhooks",
      key: "read",
      json: { endpoint: "https://example.com/read-only" },
      expectedStatus: 403,
      expectedContent: { error: { code: "forbidden" } },
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("read-only");
      },
    },
    {
      name: "no key is 401 even with a bad body",
      method: "PUT",
      url: "/webhooks",
      key: "none",
      json: { endpoint: 12 },
      expectedStatus: 401,
    },
  ]);
});

describe("DELETE /webhooks/{id}", () => {
  runScenarios([
    {
      name: "deletes the webhook",
      method: "DELETE",
      url: "/webhooks/{id}",
      setup: oneWebhook,
      expectedStatus: 200,
      expectedContent: { id: "{id}", deleted: true },
      after: async (_response, app, vars) => {
        const gone = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        expect(gone.status).toBe(404);
      },
    },
    {
      name: "a read key is 403 and deletes nothing",
      method: "DELETE",
      url: "/webhooks/{id}",
      key: "read",
      setup: oneWebhook,
      expectedStatus: 403,
      after: async (_response, app, vars) => {
        const still = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        expect(still.status).toBe(200);
      },
    },
    {
      name: "another workspace's webhook is 404 and survives",
      method: "DELETE",
      url: "/webhooks/{id}",
      setup: otherWorkspaceWebhook,
      expectedStatus: 404,
      after: async (_response, app, vars) => {
        const still = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.other });
        expect(still.status).toBe(200);
      },
    },
    { name: "an unknown id is 404", method: "DELETE", url: "/webhooks/wh_x", expectedStatus: 404 },
  ]);
});

describe("POST /webhooks/{id}/enable and /disable", () => {
  runScenarios([
    {
      name: "disable sets enabled false and health disabled",
      method: "POST",
      url: "/webhooks/{id}/disable",
      setup: oneWebhook,
      expectedStatus: 200,
      expectedContent: { id: "{id}", enabled: false, healthStatus: "disabled" },
    },
    {
      name: "enable sets enabled true again",
      method: "POST",
      url: "/webhooks/{id}/enable",
      setup: async (app) => {
        const { id } = await createWebhook(app, { enabled: false });
        return { id };
      },
      expectedStatus: 200,
      expectedContent: { id: "{id}", enabled: true, healthStatus: "unknown", failCount: 0 },
    },
    {
      name: "enable with a read key is 403",
      method: "POST",
      url: "/webhooks/{id}/enable",
      key: "read",
      setup: oneWebhook,
      expectedStatus: 403,
    },
    {
      name: "disable of another workspace's webhook is 404 and it stays enabled",
      method: "POST",
      url: "/webhooks/{id}/disable",
      setup: otherWorkspaceWebhook,
      expectedStatus: 404,
      after: async (_response, app, vars) => {
        const theirs = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.other });
        expect(theirs.body).toMatchObject({ enabled: true });
      },
    },
    {
      name: "enable of an unknown id is 404",
      method: "POST",
      url: "/webhooks/wh_x/enable",
      expectedStatus: 404,
    },
  ]);
});

describe("POST /webhooks/{id}/rotate-secret", () => {
  runScenarios([
    {
      name: "returns a new secret that replaces the old one",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      setup: oneWebhook,
      expectedStatus: 200,
      expectedContent: { id: "{id}", secret: expect.stringMatching(/^wh_[A-Za-z0-9]{32}$/) },
      notExpectedContent: ["{secret}"],
      after: async (response, app, vars) => {
        const fetched = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        const rotated = (response.body as { secret: string }).secret;
        expect((fetched.body as { secret: string }).secret).toBe(rotated);
        expect(rotated).not.toBe(vars.secret ?? "");
      },
    },
    {
      name: "a read key is 403 and the secret stays",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      key: "read",
      setup: oneWebhook,
      expectedStatus: 403,
      after: async (_response, app, vars) => {
        const fetched = await app.request("GET", `/webhooks/${vars.id}`, { key: app.keys.read });
        expect((fetched.body as { secret: string }).secret).toBe(vars.secret ?? "missing");
      },
    },
    {
      name: "another workspace's webhook is 404",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      setup: otherWorkspaceWebhook,
      expectedStatus: 404,
    },
  ]);
});

describe("private endpoints when the operator allows them", () => {
  test("HOOKPOST_ALLOW_PRIVATE_TARGETS=true accepts a loopback endpoint", async () => {
    const app = await createTestApp({ HOOKPOST_ALLOW_PRIVATE_TARGETS: "true" });
    try {
      const response = await app.request("PUT", "/webhooks", {
        key: app.keys.write,
        json: { endpoint: "http://127.0.0.1:9000/hook" },
      });
      expect(response.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  test("HOOKPOST_ALLOWED_CIDRS admits its range and nothing else", async () => {
    const app = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "10.0.0.0/8" });
    try {
      const inside = await app.request("PUT", "/webhooks", {
        key: app.keys.write,
        json: { endpoint: "http://10.1.2.3/hook" },
      });
      const outside = await app.request("PUT", "/webhooks", {
        key: app.keys.write,
        json: { endpoint: "http://192.168.1.1/hook" },
      });
      expect([inside.status, outside.status]).toEqual([200, 400]);
    } finally {
      await app.close();
    }
  });
});
