/** `POST /webhooks/preview-payload`: a template rendered for a sample event, nothing stored. */

import { describe, expect } from "bun:test";
import { runScenarios } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";

async function registerArticle(app: TestApp): Promise<Record<string, string>> {
  const registered = await app.request("PUT", "/content-types/article", {
    key: app.keys.write,
    json: { name: "Article", fields: ["title", "slug"] },
  });
  expect(registered.status).toBe(200);
  return {};
}

describe("POST /webhooks/preview-payload", () => {
  runScenarios([
    {
      name: "a json template is rendered with the content type's fields as placeholders",
      method: "POST",
      url: "/webhooks/preview-payload",
      setup: registerArticle,
      json: {
        customPayload: {
          text: "{{fields.title}} is out",
          slug: "{{fields.slug}}",
          type: "{{contentType}}",
        },
        contentType: "article",
      },
      expectedStatus: 200,
      expectedContent: { contentType: "article", fields: { title: "<title>", slug: "<slug>" } },
      after: async (response, app) => {
        const { body } = response.body as { body: string };
        expect(JSON.parse(body)).toEqual({
          text: "<title> is out",
          slug: "<slug>",
          type: "article",
        });
        // Nothing was stored: no event, no delivery.
        const rows = await app.app.store.db.selectFrom("events").select("id").execute();
        expect(rows).toEqual([]);
      },
    },
    {
      name: "an unregistered content type renders with no fields",
      method: "POST",
      url: "/webhooks/preview-payload",
      json: { customPayload: { title: "{{fields.title}}" }, contentType: "page" },
      expectedStatus: 200,
      expectedContent: { body: '{"title":null}', contentType: "page", fields: {} },
    },
    {
      name: "an engine that is not loaded is a 400 naming templateEngine",
      method: "POST",
      url: "/webhooks/preview-payload",
      json: { customPayload: {}, templateEngine: "liquid" },
      expectedStatus: 400,
      expectedContent: {
        error: { details: { fields: [{ field: "templateEngine" }] } },
      },
    },
    {
      name: "a template over 64 KiB is a 400 naming customPayload",
      method: "POST",
      url: "/webhooks/preview-payload",
      json: { customPayload: { text: "x".repeat(70_000) } },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "customPayload" }] } } },
    },
    {
      name: "a body without customPayload is a 400",
      method: "POST",
      url: "/webhooks/preview-payload",
      json: { contentType: "article" },
      expectedStatus: 400,
      expectedContent: { error: { code: "validation_failed" } },
    },
    {
      name: "a read key cannot preview (it belongs to editing)",
      method: "POST",
      url: "/webhooks/preview-payload",
      key: "read",
      json: { customPayload: {} },
      expectedStatus: 403,
    },
  ]);
});
