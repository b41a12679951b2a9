/**
 * The content-type registry (SPEC §5) as a contract: list, get, create or replace, delete, the
 * bodies it refuses (each refusal changes nothing), and the auth matrix (no key, unknown key,
 * read key on a write route, another workspace's content type).
 */

import { describe, expect } from "bun:test";
import { runScenarios } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";

const ARTICLE = { name: "Article", fields: ["title", "body", "slug"] };

async function putContentType(
  app: TestApp,
  key: string,
  body: unknown,
  apiKey: string = app.keys.write,
): Promise<void> {
  const response = await app.request("PUT", `/content-types/${key}`, { key: apiKey, json: body });
  if (response.status !== 200) throw new Error(`content type not saved: ${response.text}`);
}

async function fetchContentType(app: TestApp, key: string, apiKey: string = app.keys.read) {
  return app.request("GET", `/content-types/${key}`, { key: apiKey });
}

/** The article type of workspace `default`, as stored before the scenario's request. */
const oneArticle = async (app: TestApp) => {
  await putContentType(app, "article", ARTICLE);
  const stored = await fetchContentType(app, "article");
  return { stored: stored.text };
};

const otherWorkspaceType = async (app: TestApp) => {
  await putContentType(app, "secret-type", { name: "Theirs", fields: ["x"] }, app.keys.other);
  return { key: "secret-type" };
};

/** After a refused PUT: the article is exactly as it was stored by `oneArticle`. */
const articleUnchanged = async (_response: unknown, app: TestApp, vars: Record<string, string>) => {
  const now = await fetchContentType(app, "article");
  expect(now.text).toBe(vars.stored ?? "missing");
};

describe("GET /content-types", () => {
  runScenarios([
    {
      name: "lists only the caller's workspace, sorted by key, with a read key",
      method: "GET",
      url: "/content-types",
      key: "read",
      setup: async (app) => {
        await putContentType(app, "page", { name: "Page", fields: ["title"] });
        await putContentType(app, "article", ARTICLE);
        await putContentType(app, "Banner", { name: "Banner", fields: [] });
        await otherWorkspaceType(app);
        return {};
      },
      expectedStatus: 200,
      expectedContent: [
        { key: "Banner", name: "Banner", fields: [] },
        { key: "article", name: "Article", fields: ["title", "body", "slug"] },
        { key: "page", name: "Page", fields: ["title"] },
      ],
      notExpectedContent: ["secret-type", "Theirs"],
      after: (response) => {
        expect((response.body as unknown[]).length).toBe(3);
      },
    },
    {
      name: "no key is 401",
      method: "GET",
      url: "/content-types",
      key: "none",
      expectedStatus: 401,
      expectedContent: { error: { code: "unauthorized" } },
    },
    {
      name: "an unknown key is 401",
      method: "GET",
      url: "/content-types",
      key: "unknown",
      expectedStatus: 401,
      expectedContent: { error: { code: "unauthorized" } },
    },
  ]);
});

describe("GET /content-types/{key}", () => {
  runScenarios([
    {
      name: "returns the content type with every field of the model",
      method: "GET",
      url: "/content-types/article",
      key: "read",
      setup: oneArticle,
      expectedStatus: 200,
      after: (response) => {
        const body = response.body as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual([
          "createdAt",
          "fields",
          "key",
          "name",
          "updatedAt",
        ]);
        expect(body).toMatchObject({ key: "article", ...ARTICLE });
        expect(new Date(String(body.createdAt)).toISOString()).toBe(String(body.createdAt));
      },
    },
    {
      name: "an unknown key is 404",
      method: "GET",
      url: "/content-types/nothing-here",
      expectedStatus: 404,
      expectedContent: { error: { code: "not_found", details: { key: "nothing-here" } } },
    },
    {
      name: "another workspace's content type is 404, as if it did not exist",
      method: "GET",
      url: "/content-types/{key}",
      setup: otherWorkspaceType,
      expectedStatus: 404,
      notExpectedContent: ["Theirs"],
    },
    {
      name: "no key is 401",
      method: "GET",
      url: "/content-types/article",
      key: "none",
      expectedStatus: 401,
    },
    {
      name: "an unknown key is 401",
      method: "GET",
      url: "/content-types/article",
      key: "unknown",
      expectedStatus: 401,
    },
  ]);
});

describe("PUT /content-types/{key}", () => {
  runScenarios([
    {
      name: "creates a content type; createdAt and updatedAt are set",
      method: "PUT",
      url: "/content-types/article",
      json: ARTICLE,
      expectedStatus: 200,
      expectedContent: {
        key: "article",
        name: "Article",
        fields: ["title", "body", "slug"],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
      after: async (response, app) => {
        const body = response.body as { createdAt: string; updatedAt: string };
        expect(body.updatedAt).toBe(body.createdAt);
        const fetched = await fetchContentType(app, "article");
        expect(fetched.body).toEqual(response.body);
      },
    },
    {
      name: "replaces name and fields, keeps createdAt and moves updatedAt",
      method: "PUT",
      url: "/content-types/news",
      setup: async (app) => {
        await putContentType(app, "news", { name: "News", fields: ["title", "lead"] });
        // Backdate the stored row so that the replace's timestamps are distinguishable.
        await app.app.store.db
          .updateTable("content_types")
          .set({ created_at: Date.UTC(2020, 0, 1), updated_at: Date.UTC(2020, 0, 2) })
          .where("key", "=", "news")
          .execute();
        return {};
      },
      json: { name: "News item", fields: ["headline"] },
      expectedStatus: 200,
      expectedContent: {
        key: "news",
        name: "News item",
        fields: ["headline"],
        createdAt: "2020-01-01T00:00:00.000Z",
      },
      after: async (response, app) => {
        const { updatedAt } = response.body as { updatedAt: string };
        expect(Date.parse(updatedAt)).toBeGreaterThan(Date.UTC(2020, 0, 2));
        const list = await app.request("GET", "/content-types", { key: app.keys.read });
        const news = (list.body as { key: string }[]).filter((type) => type.key === "news");
        expect(news).toEqual([response.body as { key: string }]);
      },
    },
    {
      name: "a key in the body equal to the path key is accepted",
      method: "PUT",
      url: "/content-types/event",
      json: { key: "event", name: "Event", fields: ["date"] },
      expectedStatus: 200,
      expectedContent: { key: "event", name: "Event", fields: ["date"] },
    },
    {
      name: "keys may use letters, digits, _ . and -, and fields may be empty",
      method: "PUT",
      url: "/content-types/Blog_post.v2-draft",
      json: { name: "B", fields: [] },
      expectedStatus: 200,
      expectedContent: { key: "Blog_post.v2-draft", fields: [] },
    },
    {
      name: "500 fields of 100 characters are accepted",
      method: "PUT",
      url: "/content-types/wide",
      json: {
        name: "n".repeat(200),
        fields: Array.from({ length: 500 }, (_, index) => String(index).padStart(100, "f")),
      },
      expectedStatus: 200,
      after: (response) => {
        expect((response.body as { fields: string[] }).fields.length).toBe(500);
      },
    },
    {
      name: "a read key is 403 and creates nothing",
      method: "PUT",
      url: "/content-types/read-only",
      key: "read",
      json: ARTICLE,
      expectedStatus: 403,
      expectedContent: { error: { code: "forbidden" } },
      after: async (_response, app) => {
        expect((await fetchContentType(app, "read-only")).status).toBe(404);
      },
    },
    {
      name: "no key is 401 even with a bad body",
      method: "PUT",
      url: "/content-types/article",
      key: "none",
      json: { name: 12, extra: true },
      expectedStatus: 401,
    },
    {
      name: "an unknown key is 401",
      method: "PUT",
      url: "/content-types/article",
      key: "unknown",
      json: ARTICLE,
      expectedStatus: 401,
    },
    {
      name: "the same key in two workspaces is two content types",
      method: "PUT",
      url: "/content-types/{key}",
      setup: otherWorkspaceType,
      json: { name: "Mine", fields: ["y"] },
      expectedStatus: 200,
      expectedContent: { name: "Mine", fields: ["y"] },
      after: async (_response, app, vars) => {
        const theirs = await fetchContentType(app, vars.key ?? "", app.keys.other);
        expect(theirs.body).toMatchObject({ name: "Theirs", fields: ["x"] });
      },
    },
  ]);
});

describe("PUT /content-types/{key} refuses bad input and changes nothing", () => {
  const refused = (
    name: string,
    request: { url?: string; json?: unknown; rawBody?: string; headers?: Record<string, string> },
    expectedContent: unknown,
  ) => ({
    name,
    method: "PUT",
    url: request.url ?? "/content-types/article",
    json: request.json,
    rawBody: request.rawBody,
    headers: request.headers,
    setup: oneArticle,
    expectedStatus: 400,
    expectedContent,
    after: articleUnchanged,
  });

  runScenarios([
    refused(
      "a missing name",
      { json: { fields: ["title"] } },
      {
        error: { code: "validation_failed", details: { on: "body", fields: [{ field: "name" }] } },
      },
    ),
    refused(
      "an empty name",
      { json: { name: "", fields: [] } },
      { error: { details: { fields: [{ field: "name" }] } } },
    ),
    refused(
      "a 201-character name",
      { json: { name: "n".repeat(201), fields: [] } },
      { error: { details: { fields: [{ field: "name" }] } } },
    ),
    refused(
      "missing fields",
      { json: { name: "Article" } },
      { error: { details: { fields: [{ field: "fields" }] } } },
    ),
    refused(
      "fields that are not an array",
      { json: { name: "Article", fields: "title,body" } },
      { error: { details: { fields: [{ field: "fields" }] } } },
    ),
    refused(
      "a field key that is not a string",
      { json: { name: "Article", fields: ["title", 7] } },
      { error: { details: { fields: [{ field: "fields.1" }] } } },
    ),
    refused(
      "a duplicate field key, named in the error",
      { json: { name: "Article", fields: ["title", "body", "title"] } },
      {
        error: {
          code: "invalid_request",
          message: expect.stringContaining('"title"'),
          details: { fields: [{ field: "fields.2", message: 'duplicate field key "title"' }] },
        },
      },
    ),
    refused(
      "a field key with a space",
      { json: { name: "Article", fields: ["title", "body text"] } },
      { error: { details: { fields: [{ field: "fields.1" }] } } },
    ),
    refused(
      "an empty field key",
      { json: { name: "Article", fields: [""] } },
      // Both the length and the pattern refuse it: two problems for one field.
      {
        error: {
          details: {
            fields: expect.arrayContaining([expect.objectContaining({ field: "fields.0" })]),
          },
        },
      },
    ),
    refused(
      "a 101-character field key",
      { json: { name: "Article", fields: ["f".repeat(101)] } },
      { error: { details: { fields: [{ field: "fields.0" }] } } },
    ),
    refused(
      "501 fields",
      { json: { name: "Article", fields: Array.from({ length: 501 }, (_, i) => `f${i}`) } },
      { error: { details: { fields: [{ field: "fields" }] } } },
    ),
    refused(
      "an extra property",
      { json: { ...ARTICLE, description: "not part of the model" } },
      { error: { code: "validation_failed", details: { fields: [{ field: "description" }] } } },
    ),
    refused(
      "a body key different from the path key",
      { json: { key: "page", ...ARTICLE, name: "Renamed" } },
      { error: { code: "invalid_request", details: { fields: [{ field: "key" }] } } },
    ),
    refused(
      "invalid JSON",
      { rawBody: '{"name": "Article",', headers: { "content-type": "application/json" } },
      { error: { code: "invalid_json" } },
    ),
    refused("no body", {}, { error: { code: "validation_failed" } }),
    refused("a JSON array body", { json: [ARTICLE] }, { error: { code: "validation_failed" } }),
    refused(
      "the reserved key *",
      { url: "/content-types/*", json: ARTICLE },
      {
        error: { code: "validation_failed", details: { on: "params", fields: [{ field: "key" }] } },
      },
    ),
    refused(
      "the reserved key * percent-encoded",
      { url: "/content-types/%2A", json: ARTICLE },
      { error: { details: { on: "params" } } },
    ),
    refused(
      "a 101-character key",
      { url: `/content-types/${"k".repeat(101)}`, json: ARTICLE },
      { error: { details: { on: "params", fields: [{ field: "key" }] } } },
    ),
    refused(
      "a key with characters outside the alphabet",
      { url: "/content-types/art%20icle", json: ARTICLE },
      { error: { details: { on: "params", fields: [{ field: "key" }] } } },
    ),
  ]);

  runScenarios([
    {
      name: "a refused create leaves the list empty",
      method: "PUT",
      url: "/content-types/*",
      json: ARTICLE,
      expectedStatus: 400,
      after: async (_response, app) => {
        const list = await app.request("GET", "/content-types", { key: app.keys.read });
        expect(list.body).toEqual([]);
      },
    },
  ]);
});

describe("DELETE /content-types/{key}", () => {
  runScenarios([
    {
      name: "deletes the content type; it is 404 afterwards",
      method: "DELETE",
      url: "/content-types/article",
      setup: oneArticle,
      expectedStatus: 200,
      after: async (response, app) => {
        expect(response.body).toEqual({ key: "article", deleted: true });
        expect((await fetchContentType(app, "article")).status).toBe(404);
        const again = await app.request("DELETE", "/content-types/article", {
          key: app.keys.write,
        });
        expect(again.status).toBe(404);
      },
    },
    {
      name: "an unknown key is 404",
      method: "DELETE",
      url: "/content-types/never-created",
      expectedStatus: 404,
      expectedContent: { error: { code: "not_found" } },
    },
    {
      name: "a read key is 403 and deletes nothing",
      method: "DELETE",
      url: "/content-types/article",
      key: "read",
      setup: oneArticle,
      expectedStatus: 403,
      after: articleUnchanged,
    },
    {
      name: "no key is 401 and deletes nothing",
      method: "DELETE",
      url: "/content-types/article",
      key: "none",
      setup: oneArticle,
      expectedStatus: 401,
      after: articleUnchanged,
    },
    {
      name: "an unknown key is 401",
      method: "DELETE",
      url: "/content-types/article",
      key: "unknown",
      expectedStatus: 401,
    },
    {
      name: "another workspace's content type is 404 and survives",
      method: "DELETE",
      url: "/content-types/{key}",
      setup: otherWorkspaceType,
      expectedStatus: 404,
      after: async (_response, app, vars) => {
        const theirs = await fetchContentType(app, vars.key ?? "", app.keys.other);
        expect(theirs.status).toBe(200);
      },
    },
  ]);
});
