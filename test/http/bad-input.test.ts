/**
 * Bad input gets a clear 4xx in the error envelope, names the offending field, and changes
 * nothing: after every case, the workspace still has exactly the one webhook it started with.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FieldProblem } from "../../src/errors.ts";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { expectErrorEnvelope, freshBody } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

interface BadInput {
  name: string;
  method?: string;
  path?: string;
  json?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** A field the error's details must name (or a field inside it). */
  field?: string;
  /** What the details must say of `field`. */
  message?: string;
}

const valid = { endpoint: "https://example.com/hooks", eventTypes: { article: [0] } };

const cases: BadInput[] = [
  {
    name: "malformed JSON",
    rawBody: '{"endpoint": ',
    headers: { "content-type": "application/json" },
    status: 400,
    code: "invalid_json",
  },
  { name: "a JSON array body", json: [valid], status: 400, code: "validation_failed" },
  {
    name: "a misspelt property (not silently dropped)",
    json: { ...valid, endpiont: "https://example.com/other" },
    status: 400,
    code: "validation_failed",
    field: "endpiont",
  },
  {
    name: "receiver auth missing the field its type needs (the union's branch is named)",
    json: { ...valid, auth: { type: "basic", username: "u" } },
    status: 400,
    code: "validation_failed",
    field: "auth.password",
  },
  {
    name: "event fields nested 50,000 levels deep (would overflow JSON.stringify)",
    method: "POST",
    path: "/events",
    rawBody: `{"eventType":0,"contentType":"article","contentId":"c1","fields":{"x":${"[".repeat(50_000)}1${"]".repeat(50_000)}}}`,
    headers: { "content-type": "application/json" },
    status: 400,
    code: "validation_failed",
    field: "(body)",
  },
  {
    name: "a custom payload nested deeper than 64 levels",
    json: {
      ...valid,
      useCustomPayload: true,
      customPayload: JSON.parse(`${"[".repeat(70)}1${"]".repeat(70)}`),
    },
    status: 400,
    code: "validation_failed",
    field: "(body)",
  },
  {
    name: "an event with an unknown property",
    method: "POST",
    path: "/events",
    json: { eventType: 0, contentType: "article", contentId: "c1", feilds: {} },
    status: 400,
    code: "validation_failed",
    field: "feilds",
  },
  {
    name: "an event with an unknown event type (every allowed value named)",
    method: "POST",
    path: "/events",
    json: { eventType: 9, contentType: "article", contentId: "c1" },
    status: 400,
    code: "validation_failed",
    field: "eventType",
    message: "expected one of 0, 1, 2, 3, 4",
  },
  {
    name: "a JSON null body",
    rawBody: "null",
    headers: { "content-type": "application/json" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "endpoint of the wrong type",
    json: { endpoint: 42 },
    status: 400,
    code: "validation_failed",
    field: "endpoint",
  },
  {
    name: "a relative endpoint",
    json: { endpoint: "/hooks" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "an endpoint that is not a URL",
    json: { endpoint: "not a url" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "an ftp endpoint",
    json: { endpoint: "ftp://example.com/x" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "an endpoint with credentials",
    json: { endpoint: "https://user:pw@example.com/x" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "a loopback endpoint",
    json: { endpoint: "http://127.0.0.1:8080/hook" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "a decimal spelling of loopback",
    json: { endpoint: "http://2130706433/" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "a hex spelling of loopback",
    json: { endpoint: "http://0x7f.1/" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "an IPv4-mapped IPv6 loopback",
    json: { endpoint: "http://[::ffff:127.0.0.1]/" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "the cloud metadata address",
    json: { endpoint: "http://169.254.169.254/latest/meta-data" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "a private RFC 1918 endpoint",
    json: { endpoint: "https://10.1.2.3/hook" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "localhost",
    json: { endpoint: "http://localhost:3000/hook" },
    status: 400,
    code: "invalid_request",
    field: "endpoint",
  },
  {
    name: "an unknown event type value (every allowed value named)",
    json: { ...valid, eventTypes: { article: [7] } },
    status: 400,
    code: "validation_failed",
    field: "eventTypes.article.0",
    message: "expected one of 0, 1, 2, 3, 4",
  },
  {
    name: "event types as a string",
    json: { ...valid, eventTypes: { article: "0" } },
    status: 400,
    code: "validation_failed",
    field: "eventTypes.article",
  },
  {
    name: "event types not a map",
    json: { ...valid, eventTypes: [0, 1] },
    status: 400,
    code: "validation_failed",
    field: "eventTypes",
  },
  {
    name: "an invalid address in errorEmailTo",
    json: { ...valid, errorEmailTo: "ops@example.com, not-an-address" },
    status: 400,
    code: "invalid_request",
    field: "errorEmailTo",
  },
  {
    name: "enabled as a string",
    json: { ...valid, enabled: "yes" },
    status: 400,
    code: "validation_failed",
    field: "enabled",
  },
  {
    name: "timeoutSeconds as a string",
    json: { ...valid, timeoutSeconds: "15" },
    status: 400,
    code: "validation_failed",
    field: "timeoutSeconds",
  },
  {
    name: "timeoutSeconds of zero",
    json: { ...valid, timeoutSeconds: 0 },
    status: 400,
    code: "validation_failed",
    field: "timeoutSeconds",
  },
  {
    name: "a fractional maxAttempts",
    json: { ...valid, maxAttempts: 2.5 },
    status: 400,
    code: "validation_failed",
    field: "maxAttempts",
  },
  {
    name: "eleven custom headers",
    json: {
      ...valid,
      headers: Array.from({ length: 11 }, (_, i) => ({ key: `X-H${i}`, value: "v" })),
    },
    status: 400,
    code: "validation_failed",
    field: "headers",
  },
  {
    name: "a custom header Hookpost sets itself",
    json: { ...valid, headers: [{ key: "Content-Type", value: "text/plain" }] },
    status: 400,
    code: "invalid_request",
    field: "headers.0.key",
  },
  {
    name: "a signature header",
    json: { ...valid, headers: [{ key: "webhook-signature", value: "v1,x" }] },
    status: 400,
    code: "invalid_request",
    field: "headers.0.key",
  },
  {
    name: "a header name with a space",
    json: { ...valid, headers: [{ key: "X Bad", value: "v" }] },
    status: 400,
    code: "validation_failed",
    field: "headers.0.key",
  },
  {
    name: "an empty name",
    json: { ...valid, name: "" },
    status: 400,
    code: "validation_failed",
    field: "name",
  },
  {
    name: "a 201-character name",
    json: { ...valid, name: "n".repeat(201) },
    status: 400,
    code: "validation_failed",
    field: "name",
  },
  {
    name: "an unknown template engine",
    json: { ...valid, templateEngine: "mustache" },
    status: 400,
    code: "invalid_request",
    field: "templateEngine",
  },
  {
    name: "a custom payload switched on without a template",
    json: { ...valid, useCustomPayload: true },
    status: 400,
    code: "invalid_request",
    field: "customPayload",
  },
  {
    name: "a secret too short to be safe",
    json: { ...valid, secret: "short" },
    status: 400,
    code: "invalid_request",
    field: "secret",
  },
  {
    name: "an unknown retry policy (every allowed value named)",
    json: { ...valid, retryPolicy: "sometimes" },
    status: 400,
    code: "validation_failed",
    field: "retryPolicy",
    message: "expected one of automatic, manual",
  },
  {
    name: "an unknown slot (every allowed value named)",
    json: { ...valid, slot: "draft" },
    status: 400,
    code: "validation_failed",
    field: "slot",
    message: "expected one of published, preview",
  },
  {
    name: "an unknown receiver auth type (every type named, not the first branch's)",
    json: { ...valid, auth: { type: "digest" } },
    status: 400,
    code: "validation_failed",
    field: "auth.type",
    message: "expected one of none, basic, bearer, oauth2",
  },
  {
    name: "an unknown process status in the delivery log's query (every allowed value named)",
    method: "GET",
    path: "/webhooks/wh_x/events?status=5",
    status: 400,
    code: "validation_failed",
    field: "status",
    message: "expected one of -1, 0, 1, 2",
  },
  {
    name: "an unknown event type in the delivery log's query (every allowed value named)",
    method: "GET",
    path: "/webhooks/wh_x/events?eventType=7",
    status: 400,
    code: "validation_failed",
    field: "eventType",
    message: "expected one of 0, 1, 2, 3, 4",
  },
  {
    name: "an unknown ordering in the query (every allowed value named)",
    method: "GET",
    path: "/webhooks?ordering=size",
    status: 400,
    code: "validation_failed",
    field: "ordering",
    message: "expected one of created, -created, modified, -modified, name, -name",
  },
  {
    name: "an oversized body",
    rawBody: "x".repeat(MAX_BODY_BYTES + 1),
    headers: { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "an over-long webhook id in the path",
    method: "GET",
    path: `/webhooks/${"x".repeat(101)}`,
    status: 400,
    code: "validation_failed",
    field: "id",
  },
  { name: "an unknown route", method: "GET", path: "/nowhere", status: 404, code: "not_found" },
  {
    name: "a NUL character (U+0000) in a string of the body",
    json: { ...valid, name: "bad\u0000name" },
    status: 400,
    code: "validation_failed",
    field: "name",
  },
  {
    name: "a NUL character in a nested string of the body",
    json: { ...valid, customPayload: { deep: ["ok", { "x-a": "v\u0000" }] } },
    status: 400,
    code: "validation_failed",
    field: "customPayload.deep.1.x-a",
  },
  {
    name: "a NUL character in the path",
    method: "GET",
    path: "/webhooks/%00",
    status: 400,
    code: "validation_failed",
    field: "(url)",
  },
  {
    name: "a NUL character in the query",
    method: "GET",
    path: "/webhooks?name=a%00b",
    status: 400,
    code: "validation_failed",
    field: "(url)",
  },
];

describe("bad input", () => {
  let app: TestApp;
  let existingId: string;
  beforeAll(async () => {
    app = await createTestApp();
    const created = await app.request("PUT", "/webhooks", { key: app.keys.write, json: valid });
    existingId = (created.body as { id: string }).id;
  });
  afterAll(async () => {
    await app.close();
  });

  for (const bad of cases) {
    test(`${bad.name} is ${bad.status} ${bad.code} and changes nothing`, async () => {
      const before = await app.request("GET", "/webhooks", { key: app.keys.read });
      const response = await app.request(bad.method ?? "PUT", bad.path ?? "/webhooks", {
        key: app.keys.write,
        json: bad.json,
        rawBody: bad.rawBody,
        headers: bad.headers,
      });
      expect(response.status).toBe(bad.status);
      expectErrorEnvelope(response);
      expect(freshBody(response)).toMatchObject({ error: { code: bad.code } });
      if (bad.field) {
        const fields = (
          response.body as { error: { details: { fields: { field: string }[] } } }
        ).error.details.fields.map((problem) => problem.field);
        const field = bad.field;
        expect(fields.some((name) => name === field || name.startsWith(`${field}.`))).toBe(true);
      }
      if (bad.message) {
        const problems = (response.body as { error: { details: { fields: FieldProblem[] } } }).error
          .details.fields;
        expect(problems).toContainEqual({ field: bad.field ?? "(root)", message: bad.message });
        expect((response.body as { error: { message: string } }).error.message).toContain(
          `${bad.field}: ${bad.message}`,
        );
      }
      const after = await app.request("GET", "/webhooks", { key: app.keys.read });
      expect(after.text).toBe(before.text);
      expect((after.body as { id: string }[]).map((webhook) => webhook.id)).toEqual([existingId]);
    });
  }

  test("an update with bad input leaves the webhook as it was", async () => {
    const before = await app.request("GET", `/webhooks/${existingId}`, { key: app.keys.read });
    const response = await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: { id: existingId, endpoint: "https://example.com/changed", errorEmailTo: "nope" },
    });
    expect(response.status).toBe(400);
    const after = await app.request("GET", `/webhooks/${existingId}`, { key: app.keys.read });
    expect(after.text).toBe(before.text);
  });
});
