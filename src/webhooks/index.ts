/**
 * Routes of the webhook API (seed 000): `/webhooks`, `/webhooks/{id}`, enable, disable and
 * rotate-secret. Handlers only translate HTTP to service calls.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Executor } from "../db/database.ts";
import type { AuthPlugin } from "../http/auth.ts";
import { ErrorEnvelope } from "../http/envelope.ts";
import {
  DeletedWebhook,
  Webhook,
  WebhookIdParams,
  WebhookInput,
  WebhookListQuery,
} from "./model.ts";
import {
  deleteWebhook,
  getWebhook,
  listWebhooks,
  rotateWebhookSecret,
  saveWebhook,
  setWebhookEnabled,
  type WebhookRules,
} from "./service.ts";

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
};

const tags = ["Webhooks"];

export function webhookRoutes(db: Executor, auth: AuthPlugin, rules: WebhookRules) {
  return new Elysia({ prefix: "/webhooks" })
    .use(auth)
    .get("/", ({ principal, query }) => listWebhooks(db, principal.workspace, query.ordering), {
      auth: "read",
      query: WebhookListQuery,
      response: { 200: T.Array(Webhook), ...errors },
      detail: {
        tags,
        summary: "Retrieve all webhooks",
        description: "Retrieves all webhooks configured for the current workspace.",
      },
    })
    .put("/", ({ principal, body }) => saveWebhook(db, principal.workspace, body, rules), {
      auth: "write",
      type: "json",
      body: WebhookInput,
      response: { 200: Webhook, ...errors },
      detail: {
        tags,
        summary: "Create or update webhook",
        description:
          "Creates a new webhook (no or empty `id`) or updates an existing one (matched by `id`; " +
          "an id not in this workspace is 404). `endpoint` is required. On create, `id` and " +
          "`secret` (`wh_` + 32 random characters) are generated and returned: capture the " +
          "secret, it signs every delivery. A non-empty `secret` overrides the generated one. " +
          "On update, omitted fields (including `secret`) keep their current values.",
      },
    })
    .get("/:id", ({ principal, params }) => getWebhook(db, principal.workspace, params.id), {
      auth: "read",
      params: WebhookIdParams,
      response: { 200: Webhook, ...errors },
      detail: {
        tags,
        summary: "Retrieve webhook by ID",
        description: "Retrieves a single webhook by its ID.",
      },
    })
    .delete(
      "/:id",
      async ({ principal, params }) => {
        await deleteWebhook(db, principal.workspace, params.id);
        return { id: params.id, deleted: true as const };
      },
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: DeletedWebhook, ...errors },
        detail: {
          tags,
          summary: "Delete webhook",
          description: "Deletes a webhook by its ID. Existing delivery log entries are retained.",
        },
      },
    )
    .post(
      "/:id/enable",
      ({ principal, params }) => setWebhookEnabled(db, principal.workspace, params.id, true),
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: Webhook, ...errors },
        detail: {
          tags,
          summary: "Enable webhook",
          description:
            "Sets `enabled = true` so that future matching events are delivered, and clears the failure streak.",
        },
      },
    )
    .post(
      "/:id/disable",
      ({ principal, params }) => setWebhookEnabled(db, principal.workspace, params.id, false),
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: Webhook, ...errors },
        detail: {
          tags,
          summary: "Disable webhook",
          description:
            "Sets `enabled = false`. The configuration is kept, but no deliveries are queued until it is enabled again.",
        },
      },
    )
    .post(
      "/:id/rotate-secret",
      ({ principal, params }) => rotateWebhookSecret(db, principal.workspace, params.id),
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: Webhook, ...errors },
        detail: {
          tags,
          summary: "Rotate webhook secret",
          description:
            "Regenerates the signing secret and returns it. The previous secret is invalid at once.",
        },
      },
    );
}
