/**
 * Against a real listening server: health, Swagger UI served offline with its assets, an
 * OpenAPI document that documents every route, request ids, and the body limit on the wire.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { VERSION } from "../../src/version.ts";
import { repeatedBytes, sendStreamed } from "../helpers/streamed-upload.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

interface OpenApiOperation {
  summary?: string;
  security?: unknown[];
  responses?: Record<string, unknown>;
  requestBody?: unknown;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown> };
}

describe("a listening server", () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await createTestApp();
    base = await app.app.start();
  });
  afterAll(async () => {
    await app.close();
  });

  test("GET /health answers ok with version, uptime and db, without a key", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(await response.json()).toEqual({
      status: "ok",
      version: VERSION,
      uptimeSeconds: expect.any(Number),
      db: "ok",
    });
  });

  test("a request with a short Host (a proxy's `Host: api`) reaches its route", async () => {
    const answer = await sendStreamed(
      base,
      "GET /health HTTP/1.1\r\nHost: api\r\n\r\n",
      repeatedBytes(0),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: "ok" });
  });

  test("a well-formed X-Request-Id from the client is kept; a bad one is replaced", async () => {
    const kept = await fetch(`${base}/health`, { headers: { "x-request-id": "proxy-1234abcd" } });
    expect(kept.headers.get("x-request-id")).toBe("proxy-1234abcd");
    const replaced = await fetch(`${base}/health`, { headers: { "x-request-id": "<script>" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^req_/);
  });

  test("Swagger UI is served with local assets only", async () => {
    const page = await fetch(`${base}/swagger`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      expect(asset.startsWith("/")).toBe(true);
      const response = await fetch(`${base}${asset}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    const bundle = await fetch(`${base}/swagger/assets/swagger-ui-bundle.js`);
    expect(bundle.headers.get("content-type")).toContain("javascript");
    expect(await bundle.text()).toContain("SwaggerUIBundle");
  });

  test("the OpenAPI document covers every webhook route with summary, security and responses", async () => {
    const response = await fetch(`${base}/swagger/json`);
    expect(response.status).toBe(200);
    const spec = (await response.json()) as OpenApiDocument;
    expect(spec.components.securitySchemes.ApiKeyAuth).toEqual({
      type: "apiKey",
      in: "header",
      name: "X-Api-Key",
    });
    const expected: [string, string][] = [
      ["/webhooks", "get"],
      ["/webhooks", "put"],
      ["/webhooks/{id}", "get"],
      ["/webhooks/{id}", "delete"],
      ["/webhooks/{id}/enable", "post"],
      ["/webhooks/{id}/disable", "post"],
      ["/webhooks/{id}/rotate-secret", "post"],
    ];
    const paths = Object.fromEntries(
      Object.entries(spec.paths).map(([path, item]) => [path.replace(/\/$/, ""), item]),
    );
    for (const [path, method] of expected) {
      const operation = paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation?.summary).toBeTruthy();
      expect(operation?.security).toEqual([{ ApiKeyAuth: [] }]);
      expect(Object.keys(operation?.responses ?? {})).toEqual(
        expect.arrayContaining(["200", "401", "404"]),
      );
    }
    expect(paths["/webhooks"]?.put?.requestBody).toBeDefined();
    expect(paths["/health"]?.get?.security).toEqual([]);
    expect(Object.keys(paths).some((path) => path.includes("/assets/"))).toBe(false);
  });

  test("a body over the limit is refused with 413 on the wire", async () => {
    const response = await fetch(`${base}/webhooks`, {
      method: "PUT",
      headers: { "x-api-key": app.keys.write, "content-type": "application/json" },
      body: JSON.stringify({
        endpoint: "https://example.com",
        description: "x".repeat(MAX_BODY_BYTES),
      }),
    });
    expect(response.status).toBe(413);
    const list = await fetch(`${base}/webhooks`, { headers: { "x-api-key": app.keys.read } });
    expect(await list.json()).toEqual([]);
  });

  test("a JSON body whose stream fails is a 400 that creates nothing", async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(new Error("client went away"));
        else {
          sent = true;
          controller.enqueue(new TextEncoder().encode('{"endpoint":"https://exam'));
        }
      },
    });
    const response = await app.app.handle(
      new Request(`${base}/webhooks`, {
        method: "PUT",
        headers: { "x-api-key": app.keys.write, "content-type": "application/json" },
        body,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("connection")).toBe("close");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "invalid_body",
    );
    const list = await fetch(`${base}/webhooks`, { headers: { "x-api-key": app.keys.read } });
    expect(await list.json()).toEqual([]);
  });

  test("a create over the wire returns the webhook and a read key can fetch it", async () => {
    const created = await fetch(`${base}/webhooks`, {
      method: "PUT",
      headers: { "x-api-key": app.keys.write, "content-type": "application/json" },
      body: JSON.stringify({ endpoint: "https://example.com/wire", eventTypes: { "*": [0] } }),
    });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    const fetched = await fetch(`${base}/webhooks/${id}`, {
      headers: { "x-api-key": app.keys.read },
    });
    expect(await fetched.json()).toMatchObject({ id, endpoint: "https://example.com/wire" });
  });
});
