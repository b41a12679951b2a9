/**
 * The operator dashboard (issue 17): `/ui` serves one HTML page, its script and its stylesheet,
 * all from the executable (no CDN: it works on a VPS with the network closed), and `/` sends a
 * browser there. The page is a client of the public REST API and nothing else — the key stays
 * in the browser's sessionStorage and travels in `X-Api-Key` — so these routes need no key,
 * no session and no CSRF defence. Hidden from the OpenAPI document: they are not the API.
 */

import { Elysia } from "elysia";
import { CACHE_FOR_A_DAY } from "../http/swagger-assets.ts";
import stylesheetPath from "./app/styles.css" with { type: "file" };
import { clientBundle } from "./bundle.ts" with { type: "macro" };

/** Where the dashboard is served. */
export const UI_PATH = "/ui";

/** The bundled client (Preact, htm and the app), made at build time or at start from source. */
const SCRIPT = clientBundle();

/** The same, compressed once: a third of the bytes for a phone on a slow link. */
const SCRIPT_GZIPPED = Bun.gzipSync(SCRIPT, { level: 9 });

/**
 * The assets' names carry a hash of their content, so a day of caching never serves an old
 * script to a newer server after an upgrade.
 */
const SCRIPT_URL = `${UI_PATH}/assets/app-${Bun.hash(SCRIPT).toString(36)}.js`;
const STYLESHEET_URL = `${UI_PATH}/assets/app-${Bun.hash(await Bun.file(stylesheetPath).text()).toString(36)}.css`;

/**
 * Only this server's own script, stylesheet and API: an injected `<script>` or inline handler
 * does not run, and the page cannot send what it holds (the key) anywhere else.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hookpost</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET_URL}">
<script type="module" src="${SCRIPT_URL}"></script>
</head>
<body>
<div id="app"><noscript>The Hookpost dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;

/** Headers of every dashboard answer. */
function secureHeaders(headers: Record<string, string | number>, contentType: string) {
  headers["content-type"] = contentType;
  headers["content-security-policy"] = UI_CONTENT_SECURITY_POLICY;
  headers["x-content-type-options"] = "nosniff";
  headers["referrer-policy"] = "no-referrer";
}

/** Whether the client takes a gzip body (`Accept-Encoding: gzip, br`, but not `gzip;q=0`). */
function acceptsGzip(request: Request): boolean {
  const accepted = request.headers.get("accept-encoding") ?? "";
  return accepted
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .some((part) => part === "gzip" || (part.startsWith("gzip;") && !/;\s*q=0(\.0*)?$/.test(part)));
}

export function dashboardRoutes() {
  const hidden = { detail: { hide: true } };
  return new Elysia()
    .get("/", ({ redirect }) => redirect(UI_PATH, 302), hidden)
    .get(
      UI_PATH,
      ({ set }) => {
        secureHeaders(set.headers, "text/html; charset=utf-8");
        // The page is tiny and names the current assets: always asked again.
        set.headers["cache-control"] = "no-cache";
        return PAGE;
      },
      hidden,
    )
    .get(
      SCRIPT_URL,
      ({ set, request }) => {
        secureHeaders(set.headers, "text/javascript; charset=utf-8");
        set.headers["cache-control"] = CACHE_FOR_A_DAY;
        set.headers.vary = "accept-encoding";
        if (!acceptsGzip(request)) return SCRIPT;
        set.headers["content-encoding"] = "gzip";
        return SCRIPT_GZIPPED;
      },
      hidden,
    )
    .get(
      STYLESHEET_URL,
      ({ set }) => {
        secureHeaders(set.headers, "text/css; charset=utf-8");
        set.headers["cache-control"] = CACHE_FOR_A_DAY;
        return Bun.file(stylesheetPath);
      },
      hidden,
    );
}
