/**
 * Swagger UI's script and stylesheet, served by Hookpost itself so `/swagger` works on a VPS
 * without outbound internet. `with { type: "file" }` makes Bun embed them in the compiled
 * executable; from source they are read from node_modules.
 */

import { Elysia } from "elysia";
import stylesheetPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };

export const SWAGGER_BUNDLE_URL = "/swagger/assets/swagger-ui-bundle.js";
export const SWAGGER_STYLESHEET_URL = "/swagger/assets/swagger-ui.css";

/** How long a browser may keep a static asset. */
export const CACHE_FOR_A_DAY = "public, max-age=86400";

export function swaggerAssets() {
  return new Elysia()
    .get(
      SWAGGER_BUNDLE_URL,
      ({ set }) => {
        set.headers["content-type"] = "text/javascript; charset=utf-8";
        set.headers["cache-control"] = CACHE_FOR_A_DAY;
        return Bun.file(bundlePath);
      },
      { detail: { hide: true } },
    )
    .get(
      SWAGGER_STYLESHEET_URL,
      ({ set }) => {
        set.headers["content-type"] = "text/css; charset=utf-8";
        set.headers["cache-control"] = CACHE_FOR_A_DAY;
        return Bun.file(stylesheetPath);
      },
      { detail: { hide: true } },
    );
}
