/**
 * Export and import of a webhook's configuration (seed 002): `GET /webhooks/{id}/export`
 * answers a self-describing JSON document; `POST /webhooks/import` creates a new webhook from
 * one, `POST /webhooks/{id}/import` updates an existing one. Credentials stay masked in the
 * export; an import goes through `saveWebhook`, so it is validated exactly as `PUT /webhooks`
 * and a masked credential keeps the stored value on update and is a 400 on create.
 */

import type { Executor } from "../db/database.ts";
import { NotFound } from "../errors.ts";
import {
  EXPORT_FORMAT,
  type WebhookExport,
  type WebhookImport,
  type WebhookImportResult,
} from "./model.ts";
import { getWebhook, saveWebhook, type WebhookRules } from "./service.ts";

export async function exportWebhook(
  db: Executor,
  workspace: string,
  id: string,
): Promise<WebhookExport> {
  const webhook = await getWebhook(db, workspace, id);
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    webhook: {
      name: webhook.name,
      endpoint: webhook.endpoint,
      secret: webhook.secret,
      eventTypes: webhook.eventTypes,
      useCustomPayload: webhook.useCustomPayload,
      customPayload: webhook.customPayload,
      templateEngine: webhook.templateEngine,
      description: webhook.description,
      errorEmailTo: webhook.errorEmailTo,
      enabled: webhook.enabled,
      headers: webhook.headers,
      timeoutSeconds: webhook.timeoutSeconds,
      maxAttempts: webhook.maxAttempts,
      retryPolicy: webhook.retryPolicy,
      auth: webhook.auth,
      slot: webhook.slot,
      languages: webhook.languages,
      ordered: webhook.ordered,
      rateLimitPerSecond: webhook.rateLimitPerSecond,
      retrySchedule: webhook.retrySchedule,
    },
  };
}

/** The file name an export is offered under. */
export function exportFileName(id: string): string {
  return `webhook-${id.replace(/[^A-Za-z0-9_-]/g, "_")}.json`;
}

/**
 * Creates a webhook from `document` (a new id; the document's secret, or a generated one), or
 * with `id`, updates that webhook of the workspace (404 if it is not there).
 */
export async function importWebhook(
  db: Executor,
  workspace: string,
  document: WebhookImport,
  rules: WebhookRules,
  id?: string,
): Promise<WebhookImportResult> {
  if (id !== undefined && id.trim() === "") throw new NotFound(`webhook ${id} not found`, { id });
  const input = id === undefined ? document.webhook : { ...document.webhook, id };
  const webhook = await saveWebhook(db, workspace, input, rules, { fieldPrefix: "webhook." });
  return { notice: "webhook was imported successfully", webhook };
}
