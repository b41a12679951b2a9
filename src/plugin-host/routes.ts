/**
 * Routes of the plugin host (SPEC §5, §8): `GET /plugins` lists what is loaded, and
 * `POST /sources/{name}` hands a CMS's own webhook to its source adapter. Handlers only
 * translate HTTP to service calls.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { ingestContextOf } from "../events/service.ts";
import { ErrorEnvelope } from "../http/envelope.ts";
import type { Services } from "../services.ts";
import { PluginSummary, SourceIngestResult, SourceParams } from "./model.ts";
import { receiveFromSource } from "./sources.ts";

/**
 * Where CMSs post their own webhooks; the body reaches the source plugin unread, once its media
 * type is one the plugin declares (`SourceAdapter.mediaTypes`).
 */
export const SOURCES_PATH_PREFIX = "/sources/";

export function pluginRoutes(services: Services) {
  const { plugins } = services;
  const ingest = ingestContextOf(services);
  return new Elysia()
    .use(services.auth)
    .get("/plugins", () => plugins.describe(), {
      auth: "read",
      response: { 200: T.Array(PluginSummary), 401: ErrorEnvelope, 403: ErrorEnvelope },
      detail: {
        tags: ["Plugins"],
        summary: "List loaded plugins",
        description:
          "Every plugin loaded from HOOKPOST_PLUGINS_DIR at startup, in load order (file name " +
          "order, which is also the order its delivery hooks run in), with the template engines, " +
          "content sources and hooks it contributes. The same for every workspace.",
      },
    })
    .post(
      `${SOURCES_PATH_PREFIX}:name`,
      async ({ principal, params, request, set }) => {
        const events = await receiveFromSource(plugins, ingest, services.log, {
          name: params.name,
          workspace: principal.workspace,
          request,
        });
        set.status = 202;
        return { events };
      },
      {
        auth: "write",
        // The adapter gets the request as the CMS sent it: Hookpost does not parse the body.
        parse: "none",
        params: SourceParams,
        response: {
          202: SourceIngestResult,
          400: ErrorEnvelope,
          401: ErrorEnvelope,
          403: ErrorEnvelope,
          404: ErrorEnvelope,
          413: ErrorEnvelope,
        },
        detail: {
          tags: ["Plugins"],
          summary: "Receive a CMS webhook through a source plugin",
          description:
            "Hands the request, as the CMS sent it, to the content-source plugin `name` (see " +
            "`GET /plugins`), which turns it into events; they are ingested exactly like " +
            "`POST /events` into the workspace of the API key — same matching, same " +
            "transaction, same idempotency on the event `id`. Authenticate with a write key in " +
            "`X-Api-Key`: configure it as a custom header of the CMS's webhook (the key is not " +
            "passed to the plugin). 400 when the plugin rejects the request or returns an " +
            "invalid event (nothing is ingested then); 404 for an unknown source or one that " +
            "only polls.",
          requestBody: {
            description: "The CMS's own webhook payload, passed to the plugin unread",
            content: { "application/json": { schema: { type: "object" } } },
          },
        },
      },
    );
}
