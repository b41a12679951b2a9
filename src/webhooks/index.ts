/**
 * Routes of the webhook API (seed 000): `/webhooks`, `/webhooks/{id}`, enable, disable and
 * rotate-secret; export and import (seed 002). Handlers only translate HTTP to service calls.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { AuthPlugin } from "../http/auth.ts";
import { ErrorEnvelope, ResourceErrors } from "../http/envelope.ts";
import type { FormUpload } from "../http/form-upload.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import {
  DeletedWebhook,
  RotateSecretInput,
  Webhook,
  WebhookExport,
  WebhookIdParams,
  WebhookImport,
  WebhookImportResult,
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
import { exportFileName, exportWebhook, importWebhook } from "./transfer.ts";

const tags = ["Webhooks"];

/**
 * The import routes also take the document as Contentstack documents its import (seed 002):
 * a `multipart/form-data` upload with the JSON file in the field `webhook`. The front door
 * hands the file on as the JSON body, so both forms are validated alike.
 */
export const WEBHOOK_IMPORT_UPLOAD: FormUpload = {
  method: "POST",
  paths: ["/webhooks/import", "/webhooks/:id/import"],
  field: "webhook",
};

const UPLOAD_NOTE =
  " The document may also be uploaded as a file: `multipart/form-data` with one part, the " +
  "file `webhook` (`curl -F webhook=@webhook.json`), limited like any body to 1 MiB.";

export function webhookRoutes(store: DeliveryStore, auth: AuthPlugin, rules: WebhookRules) {
  const { db } = store;
  return new Elysia({ prefix: "/webhooks" })
    .use(auth)
    .get("", ({ principal, query }) => listWebhooks(db, principal.workspace, query.ordering), {
      auth: "read",
      query: WebhookListQuery,
      response: { 200: T.Array(Webhook), ...ResourceErrors },
      detail: {
        tags,
        summary: "Retrieve all webhooks",
        description: "Retrieves all webhooks configured for the current workspace.",
      },
    })
    .put("", ({ principal, body }) => saveWebhook(db, principal.workspace, body, rules), {
      auth: "write",
      type: "json",
      body: WebhookInput,
      response: { 200: Webhook, ...ResourceErrors, 409: ErrorEnvelope },
      detail: {
        tags,
        summary: "Create or update webhook",
        description:
          "Creates a new webhook (no or empty `id`) or updates an existing one (matched by `id`; " +
          "an id not in this workspace is 404). `endpoint` is required. A workspace holds at " +
          "most `HOOKPOST_MAX_WEBHOOKS` webhooks (100 by default): one more is 409. On create, `id` and " +
          "`secret` (`wh_` + 32 random characters) are generated and returned: capture the " +
          "secret, it signs every delivery. A non-empty `secret` overrides the generated one. " +
          "On update, omitted fields (including `secret`) keep their current values. " +
          'Credentials (`auth` secrets, credential-looking header values) are answered as "********"; ' +
          'sending "********" back on update keeps the stored value (for `auth`, only while its ' +
          "`type` is unchanged).",
      },
    })
    .get("/:id", ({ principal, params }) => getWebhook(db, principal.workspace, params.id), {
      auth: "read",
      params: WebhookIdParams,
      response: { 200: Webhook, ...ResourceErrors },
      detail: {
        tags,
        summary: "Retrieve webhook by ID",
        description: "Retrieves a single webhook by its ID.",
      },
    })
    .delete(
      "/:id",
      async ({ principal, params }) => {
        await deleteWebhook(store, principal.workspace, params.id);
        return { id: params.id, deleted: true as const };
      },
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: DeletedWebhook, ...ResourceErrors },
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
        response: { 200: Webhook, ...ResourceErrors },
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
        response: { 200: Webhook, ...ResourceErrors },
        detail: {
          tags,
          summary: "Disable webhook",
          description:
            "Sets `enabled = false`. The configuration is kept, but no deliveries are queued until it is enabled again.",
        },
      },
    )
    .get(
      "/:id/export",
      async ({ principal, params, set }) => {
        const document = await exportWebhook(db, principal.workspace, params.id);
        set.headers["content-disposition"] = `attachment; filename="${exportFileName(params.id)}"`;
        return document;
      },
      {
        auth: "read",
        params: WebhookIdParams,
        response: { 200: WebhookExport, ...ResourceErrors },
        detail: {
          tags,
          summary: "Export webhook",
          description:
            'Answers the webhook\'s configuration as a JSON document (`format: "hookpost.webhook"`, ' +
            "`version: 1`) offered for download as `webhook-<id>.json`. The id, health and " +
            'failure counters are left out; credentials are masked as "********". Fill them in ' +
            "and pass the document to `POST /webhooks/import` to make a copy.",
        },
      },
    )
    .post("/import", ({ principal, body }) => importWebhook(db, principal.workspace, body, rules), {
      auth: "write",
      type: "json",
      body: WebhookImport,
      response: { 200: WebhookImportResult, ...ResourceErrors, 409: ErrorEnvelope },
      detail: {
        tags,
        summary: "Import webhook",
        description:
          "Creates a new webhook (new id) from a document of `GET /webhooks/{id}/export`, " +
          "validated exactly as `PUT /webhooks`. The document's `secret` is kept if present, " +
          'otherwise one is generated. Masked credentials ("********") cannot be recovered: ' +
          "they are a 400 naming the field until the real values are filled in." +
          UPLOAD_NOTE,
      },
    })
    .post(
      "/:id/import",
      ({ principal, params, body }) =>
        importWebhook(db, principal.workspace, body, rules, params.id),
      {
        auth: "write",
        type: "json",
        params: WebhookIdParams,
        body: WebhookImport,
        response: { 200: WebhookImportResult, ...ResourceErrors },
        detail: {
          tags,
          summary: "Import into an existing webhook",
          description:
            "Updates the webhook from a document of `GET /webhooks/{id}/export`, validated " +
            "exactly as `PUT /webhooks`: fields missing from the document keep their values, " +
            'and masked credentials ("********") keep the stored ones.' +
            UPLOAD_NOTE,
        },
      },
    )
    .post(
      "/:id/rotate-secret",
      ({ principal, params, body }) =>
        rotateWebhookSecret(db, principal.workspace, params.id, body?.graceSeconds),
      {
        auth: "write",
        type: "json",
        params: WebhookIdParams,
        body: T.Optional(RotateSecretInput),
        response: { 200: Webhook, ...ResourceErrors },
        detail: {
          tags,
          summary: "Rotate webhook secret",
          description:
            "Regenerates the signing secret and returns it. Without a body (or with " +
            "`graceSeconds: 0`) the previous secret is invalid at once. With `graceSeconds`, " +
            "every request is signed with both secrets until the grace ends " +
            "(`previousSecretExpiresAt`): `webhook-signature` carries both signatures, " +
            "space-separated (the Standard Webhooks form); `Contit-Signature` keeps the previous " +
            "secret's signature until the grace ends, and `Contit-Signature-Next` carries the new " +
            "one's in the same form.",
        },
      },
    );
}
