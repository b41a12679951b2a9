/**
 * Webhook configuration: create-or-update (seed 000's `PUT /webhooks`), read, delete, enable,
 * disable and secret rotation. Knows nothing of HTTP; throws domain errors.
 */

import type { Updateable } from "kysely";
import type { Executor, WebhookRow, WebhookTable } from "../db/database.ts";
import { readJsonColumn, readNullableJsonColumn } from "../db/json-column.ts";
import { type FieldProblem, Invalid, NotFound } from "../errors.ts";
import { newId, newWebhookSecret } from "../ids.ts";
import { failWaitingOfWebhook } from "../scheduler/repository.ts";
import type { Webhook, WebhookInput, WebhookOrdering } from "./model.ts";
import {
  deleteWebhookRow,
  findWebhook,
  insertWebhook,
  listWebhookRows,
  updateWebhookRow,
} from "./repository.ts";
import {
  checkEndpoint,
  checkErrorEmailTo,
  checkHeaders,
  checkSecret,
  normaliseErrorEmailTo,
} from "./validation.ts";

/** What the service needs to know of the rest of the app. */
export interface WebhookRules {
  /** Whether a template engine of that name is available (built in or from a plugin). */
  isTemplateEngine(name: string): boolean;
  /**
   * Why outbound requests to this endpoint would be refused when its host is a literal
   * address (SPEC §6.3), or null. Names are resolved at delivery time, not here.
   */
  endpointRefusal(url: URL): string | null;
}

const DEFAULT_TIMEOUT_SECONDS = 15;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The API's view of a stored webhook. */
export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    name: row.name,
    endpoint: row.endpoint,
    secret: row.secret,
    eventTypes: readJsonColumn<Webhook["eventTypes"]>(row.event_types),
    useCustomPayload: row.use_custom_payload === 1,
    customPayload: readNullableJsonColumn<unknown>(row.custom_payload),
    templateEngine: row.template_engine,
    description: row.description,
    errorEmailTo: row.error_email_to,
    enabled: row.enabled === 1,
    headers: readJsonColumn<Webhook["headers"]>(row.headers),
    timeoutSeconds: row.timeout_seconds,
    maxAttempts: row.max_attempts,
    retryPolicy: row.retry_policy,
    failCount: row.fail_count,
    lastDeliveredAt: iso(row.last_delivered_at),
    healthStatus: row.health_status,
    createdAt: new Date(row.created_at).toISOString(),
    lastModified: new Date(row.last_modified).toISOString(),
  };
}

/** Every problem of `input` beyond its schema, given what it will be merged with. */
function checkInput(
  input: WebhookInput,
  rules: WebhookRules,
  current?: WebhookRow,
): FieldProblem[] {
  const problems = [...checkEndpoint(input.endpoint)];
  if (problems.length === 0) {
    const refusal = rules.endpointRefusal(new URL(input.endpoint));
    if (refusal) problems.push({ field: "endpoint", message: refusal });
  }
  if (input.secret) problems.push(...checkSecret(input.secret));
  if (input.errorEmailTo) problems.push(...checkErrorEmailTo(input.errorEmailTo));
  if (input.headers) problems.push(...checkHeaders(input.headers));
  if (input.templateEngine !== undefined && !rules.isTemplateEngine(input.templateEngine)) {
    problems.push({
      field: "templateEngine",
      message: `unknown template engine "${input.templateEngine}"`,
    });
  }
  const useCustomPayload = input.useCustomPayload ?? current?.use_custom_payload === 1;
  const customPayload =
    input.customPayload !== undefined ? input.customPayload : (current?.custom_payload ?? null);
  if (useCustomPayload && (customPayload === null || customPayload === undefined)) {
    problems.push({
      field: "customPayload",
      message: "is required when useCustomPayload is true",
    });
  }
  return problems;
}

function serialisePayload(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** The columns `input` sets; on update, omitted fields are left out and so keep their value. */
function columnsFrom(input: WebhookInput): Updateable<WebhookTable> {
  const columns: Updateable<WebhookTable> = { endpoint: input.endpoint };
  if (input.name !== undefined) columns.name = input.name;
  if (input.secret) columns.secret = input.secret;
  if (input.eventTypes !== undefined) columns.event_types = JSON.stringify(input.eventTypes);
  if (input.useCustomPayload !== undefined)
    columns.use_custom_payload = input.useCustomPayload ? 1 : 0;
  if (input.customPayload !== undefined)
    columns.custom_payload = serialisePayload(input.customPayload);
  if (input.templateEngine !== undefined) columns.template_engine = input.templateEngine;
  if (input.description !== undefined) columns.description = input.description;
  if (input.errorEmailTo !== undefined)
    columns.error_email_to = normaliseErrorEmailTo(input.errorEmailTo);
  if (input.enabled !== undefined) {
    columns.enabled = input.enabled ? 1 : 0;
    columns.health_status = input.enabled ? "unknown" : "disabled";
  }
  if (input.headers !== undefined) columns.headers = JSON.stringify(input.headers);
  if (input.timeoutSeconds !== undefined) columns.timeout_seconds = input.timeoutSeconds;
  if (input.maxAttempts !== undefined) columns.max_attempts = input.maxAttempts;
  if (input.retryPolicy !== undefined) columns.retry_policy = input.retryPolicy;
  return columns;
}

export async function listWebhooks(
  db: Executor,
  workspace: string,
  ordering: WebhookOrdering = "created",
): Promise<Webhook[]> {
  return (await listWebhookRows(db, workspace, ordering)).map(toWebhook);
}

export async function getWebhookRow(
  db: Executor,
  workspace: string,
  id: string,
): Promise<WebhookRow> {
  const row = await findWebhook(db, workspace, id);
  if (!row) throw new NotFound(`webhook ${id} not found`, { id });
  return row;
}

export async function getWebhook(db: Executor, workspace: string, id: string): Promise<Webhook> {
  return toWebhook(await getWebhookRow(db, workspace, id));
}

/**
 * `PUT /webhooks`: creates when `id` is absent or empty, otherwise updates that webhook of the
 * workspace (404 if it is not there). The secret is generated on create unless one is given,
 * and kept on update unless a non-empty one is given.
 */
export async function saveWebhook(
  db: Executor,
  workspace: string,
  input: WebhookInput,
  rules: WebhookRules,
): Promise<Webhook> {
  const id = input.id?.trim() ?? "";
  return db.transaction().execute(async (trx) => {
    const current = id === "" ? undefined : await getWebhookRow(trx, workspace, id);
    const problems = checkInput(input, rules, current);
    if (problems.length > 0) throw Invalid.fields(problems);
    const now = Date.now();
    const columns = columnsFrom(input);
    if (current) {
      await updateWebhookRow(trx, workspace, current.id, { ...columns, last_modified: now });
      return toWebhook(await getWebhookRow(trx, workspace, current.id));
    }
    const newWebhookId = newId("wh", now);
    await insertWebhook(trx, {
      ...columns,
      id: newWebhookId,
      workspace,
      endpoint: input.endpoint,
      name: input.name ?? new URL(input.endpoint).host,
      secret: input.secret || newWebhookSecret(),
      event_types: columns.event_types ?? "{}",
      description: columns.description ?? null,
      custom_payload: columns.custom_payload ?? null,
      error_email_to: columns.error_email_to ?? null,
      max_attempts: columns.max_attempts ?? null,
      timeout_seconds: columns.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
      last_delivered_at: null,
      created_at: now,
      last_modified: now,
    });
    return toWebhook(await getWebhookRow(trx, workspace, newWebhookId));
  });
}

/**
 * Deletes the webhook; its delivery log stays. Deliveries still Waiting for it end in Error in
 * the same transaction, since nothing will send them any more.
 */
export async function deleteWebhook(db: Executor, workspace: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await deleteWebhookRow(trx, workspace, id))) {
      throw new NotFound(`webhook ${id} not found`, { id });
    }
    await failWaitingOfWebhook(trx, id, Date.now());
  });
}

async function changeWebhook(
  db: Executor,
  workspace: string,
  id: string,
  changes: Updateable<WebhookTable>,
): Promise<Webhook> {
  const updated = await updateWebhookRow(db, workspace, id, {
    ...changes,
    last_modified: Date.now(),
  });
  if (!updated) throw new NotFound(`webhook ${id} not found`, { id });
  return getWebhook(db, workspace, id);
}

/** Enabling clears the failure streak: the endpoint gets a fresh start. */
export function setWebhookEnabled(
  db: Executor,
  workspace: string,
  id: string,
  enabled: boolean,
): Promise<Webhook> {
  return changeWebhook(
    db,
    workspace,
    id,
    enabled
      ? { enabled: 1, health_status: "unknown", fail_count: 0 }
      : { enabled: 0, health_status: "disabled" },
  );
}

/** A new secret; the old one stops verifying at once. */
export function rotateWebhookSecret(db: Executor, workspace: string, id: string): Promise<Webhook> {
  return changeWebhook(db, workspace, id, { secret: newWebhookSecret() });
}
