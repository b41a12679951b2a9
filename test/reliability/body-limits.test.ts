/**
 * Two defects the fuzz run found, now fixed, kept as regressions: over a real socket, a body
 * over 1 MiB gets the app's 413 envelope (not the server's bare 413), and a body nested
 * 100,000 levels deep is a quick 400 (not a stack overflow, nor seconds of blocked event loop).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { expectErrorEnvelope } from "../helpers/scenarios.ts";
import { createTestApp, readResponse, type TestApp } from "../helpers/test-app.ts";

describe("fixed defects", () => {
  let t: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await t.app.start();
  });
  afterAll(async () => {
    await t.close();
  });

  // The socket layer's own limit sits above MAX_BODY_BYTES, so the app's check answers first.
  test("a body over 1 MiB sent over a socket is a 413 in the error envelope, with X-Request-Id", async () => {
    const response = await readResponse(
      await fetch(`${baseUrl}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": t.keys.write },
        body: "x".repeat(MAX_BODY_BYTES + 1),
      }),
    );
    expect(response.status).toBe(413);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expectErrorEnvelope(response);
  });

  // Elysia's ValidationError pretty-prints the offending value (quadratic in the depth, and a
  // stack overflow from ~50,000 levels): the depth is now checked on the text, before parsing.
  test("a JSON body nested 100,000 levels deep is a 400, not a 500", async () => {
    const response = await t.request("POST", "/events", {
      key: t.keys.write,
      rawBody: `${"[".repeat(100_000)}1${"]".repeat(100_000)}`,
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
  }, 30_000);
});
