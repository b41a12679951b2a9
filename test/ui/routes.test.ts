/**
 * The dashboard's routes without a browser: `/` sends a browser to `/ui`; the page, its
 * script and its stylesheet come from this server with a strict Content-Security-Policy and
 * cache headers; the script stays within its size budget; none of it is in the OpenAPI
 * document.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { UI_CONTENT_SECURITY_POLICY, UI_PATH } from "../../src/ui/index.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

/** The budget: under 300 KB of JavaScript, compressed. */
const SCRIPT_BUDGET_BYTES = 300 * 1024;

describe("the dashboard's routes", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  async function assetsOfPage() {
    const page = await app.request("GET", UI_PATH);
    const urls = [...page.text.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map(
      (match) => match[1] ?? "",
    );
    return { page, urls };
  }

  test("/ redirects to /ui", async () => {
    const answer = await app.request("GET", "/", { key: null });
    expect(answer.status).toBe(302);
    expect(answer.headers.get("location")).toBe(UI_PATH);
  });

  test("/ui is served without a key, with a strict Content-Security-Policy", async () => {
    const { page } = await assetsOfPage();
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(policy).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    // No inline script for the policy to allow.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  test("the page's script and stylesheet are local, cached a day, and the script is small", async () => {
    const { urls } = await assetsOfPage();
    expect(urls.filter((url) => url.endsWith(".js"))).toHaveLength(1);
    expect(urls.filter((url) => url.endsWith(".css"))).toHaveLength(1);
    for (const url of urls) {
      expect(url.startsWith(`${UI_PATH}/assets/`)).toBe(true);
      const asset = await app.request("GET", url, { key: null });
      expect(asset.status).toBe(200);
      expect(asset.headers.get("cache-control")).toBe("public, max-age=86400");
      expect(asset.headers.get("content-security-policy")).toBe(UI_CONTENT_SECURITY_POLICY);
      if (url.endsWith(".js")) {
        expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
        expect(asset.text).toContain("X-Api-Key".toLowerCase());
        expect(gzipSync(asset.text).byteLength).toBeLessThan(SCRIPT_BUDGET_BYTES);
      } else {
        expect(asset.headers.get("content-type")).toBe("text/css; charset=utf-8");
      }
    }
  });

  test("the script is sent gzipped to a browser that takes gzip, plain to one that does not", async () => {
    const { urls } = await assetsOfPage();
    const script = urls.find((url) => url.endsWith(".js")) ?? "";
    const plain = await app.request("GET", script);
    expect(plain.headers.get("content-encoding")).toBeNull();
    const refusing = await app.request("GET", script, {
      headers: { "accept-encoding": "gzip;q=0, identity" },
    });
    expect(refusing.headers.get("content-encoding")).toBeNull();
    const zipped = await app.app.handle(
      new Request(`http://localhost${script}`, { headers: { "accept-encoding": "gzip, br" } }),
    );
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("accept-encoding");
    const bytes = new Uint8Array(await zipped.arrayBuffer());
    expect(bytes.byteLength).toBeLessThan(plain.text.length / 2);
    expect(new TextDecoder().decode(gunzipSync(bytes))).toBe(plain.text);
  });

  test("the dashboard's routes are not in the OpenAPI document; GET /me is", async () => {
    const document = (await app.request("GET", "/swagger/json")).body as {
      paths: Record<string, unknown>;
    };
    const paths = Object.keys(document.paths);
    expect(paths.filter((path) => path === "/" || path.startsWith(UI_PATH))).toEqual([]);
    expect(paths).toContain("/me");
  });
});
