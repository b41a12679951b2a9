/**
 * Webhook configuration: create-or-update (seed 000's `PUT /webhooks`), read, delete, enable,
 * disable and secret rotation. Knows nothing of HTTP; throws domain errors.
 */

import type { Updateable } from "kysely";
import type { Executor, WebhookRow, WebhookTable } from "../db/database.ts";
import { readJsonColumn, readNullableJsonColumn } from "../db/json-column.ts";
import { retryScheduleOf } from "../deliveries/build.ts";
import { Conflict, type FieldProblem, Invalid, NotFound } from "../errors.ts";
import { newId, newWebhookSecret } from "../ids.ts";
import { signingSecrets } from "../outbound/signing.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import {
  isCredentialHeader,
  maskAuth,
  maskHeaderValues,
  resolveAuth,
  resolveHeaders,
} from "./credentials.ts";
import {
  MASKED,
  type ReceiverAuth,
  type Webhook,
  type WebhookInput,
  type WebhookOrdering,
} from "./model.ts";
import {
  countWebhooks,
  deleteWebhookRow,
  findWebhook,
  insertWebhook,
  listWebhookRows,
  listWebhookSecrets,
  updateWebhookRow,
} from "./repository.ts";
import {
  checkAuthorizationHeader,
  checkCustomPayload,
  checkEndpoint,
  checkErrorEmailTo,
  checkEventTypes,
  checkHeaders,
  checkLanguages,
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
  /**
   * How many webhooks a workspace may have (`HOOKPOST_MAX_WEBHOOKS`). Every event is stored
   * once per matching webhook, so this bounds what one event can make one key write.
   */
  maxWebhooks: number;
}

const DEFAULT_TIMEOUT_SECONDS = 15;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

type HeaderEntry = Webhook["headers"][number];

/** The stored receiver authentication, credentials in plain: for sending, never for responses. */
export function receiverAuthOf(row: Pick<WebhookRow, "auth">): ReceiverAuth {
  return readJsonColumn<ReceiverAuth>(row.auth);
}

function headersOf(row: Pick<WebhookRow, "headers">): HeaderEntry[] {
  return readJsonColumn<HeaderEntry[]>(row.headers);
}

/** The API's view of a stored webhook: credentials (auth secrets, credential headers) masked. */
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
    headers: maskHeaderValues(headersOf(row)),
    timeoutSeconds: row.timeout_seconds,
    maxAttempts: row.max_attempts,
    retryPolicy: row.retry_policy,
    auth: maskAuth(receiverAuthOf(row)),
    slot: row.slot,
    languages: readJsonColumn<string[]>(row.languages),
    ordered: row.ordered === 1,
    rateLimitPerSecond: row.rate_limit_per_second,
    retrySchedule: retryScheduleOf(row),
    previousSecretExpiresAt: iso(
      signingSecrets(row, Date.now()).previous === null ? null : row.previous_secret_until,
    ),
    failCount: row.fail_count,
    failingSince: iso(row.failing_since),
    lastDeliveredAt: iso(row.last_delivered_at),
    healthStatus: row.health_status,
    createdAt: new Date(row.created_at).toISOString(),
    lastModified: new Date(row.last_modified).toISOString(),
  };
}

/** A URL Hookpost will connect to: well-formed, and not a literal address the guard refuses. */
function checkOutboundUrl(url: string, field: string, rules: WebhookRules): FieldProblem[] {
  const problems = checkEndpoint(url, field);
  if (problems.length > 0) return problems;
  const refusal = rules.endpointRefusal(new URL(url));
  return refusal ? [{ field, message: refusal }] : [];
}

/** Every problem of `input` beyond its schema, given what it will be merged with. */
function checkInput(
  input: WebhookInput,
  rules: WebhookRules,
  current?: WebhookRow,
): FieldProblem[] {
  const problems = [...checkOutboundUrl(input.endpoint, "endpoint", rules)];
  if (input.auth?.type === "oauth2") {
    problems.push(...checkOutboundUrl(input.auth.tokenUrl, "auth.tokenUrl", rules));
  }
  if (input.eventTypes) problems.push(...checkEventTypes(input.eventTypes));
  if (input.languages) problems.push(...checkLanguages(input.languages));
  if (input.secret) problems.push(...checkSecret(input.secret));
  if (input.errorEmailTo) problems.push(...checkErrorEmailTo(input.errorEmailTo));
  if (input.headers) problems.push(...checkHeaders(input.headers));
  if (input.customPayload !== undefined) problems.push(...checkCustomPayload(input.customPayload));
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
  if (input.secret) {
    // A secret set by hand replaces the old one at once, grace or not.
    columns.secret = input.secret;
    columns.previous_secret = null;
    columns.previous_secret_until = null;
  }
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
  if (input.auth !== undefined) columns.auth = JSON.stringify(input.auth);
  if (input.slot !== undefined) columns.slot = input.slot;
  if (input.languages !== undefined) columns.languages = JSON.stringify(input.languages);
  if (input.ordered !== undefined) columns.ordered = input.ordered ? 1 : 0;
  if (input.rateLimitPerSecond !== undefined)
    columns.rate_limit_per_second = input.rateLimitPerSecond;
  if (input.retrySchedule !== undefined)
    columns.retry_schedule =
      input.retrySchedule === null ? null : JSON.stringify(input.retrySchedule);
  return columns;
}

/**
 * The webhooks whose stored secret today's rules refuse (stored before they existed): they still
 * sign, but no receiver library can verify them. Said once at startup, by id, never the secret.
 */
export async function webhooksWithUnusableSecrets(
  db: Executor,
): Promise<{ id: string; workspace: string; problem: string }[]> {
  return (await listWebhookSecrets(db)).flatMap(({ id, workspace, secret }) =>
    checkSecret(secret).map((problem) => ({ id, workspace, problem: problem.message })),
  );
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

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

const SECRET_FIELD = { basic: "password", bearer: "token", oauth2: "clientSecret" } as const;

function secretOf(auth: ReceiverAuth): string | undefined {
  switch (auth.type) {
    case "none":
      return undefined;
    case "basic":
      return auth.password;
    case "bearer":
      return auth.token;
    case "oauth2":
      return auth.clientSecret;
  }
}

/**
 * Stored credentials go only where their owner sent them: when an update moves the endpoint
 * (or an OAuth2 token URL) to another origin, the secrets that would follow it must be sent
 * again, not kept by omission or by the mask. Otherwise a write key alone could redirect a
 * receiver's password to a host of its choosing.
 */
function credentialsThatWouldMove(input: WebhookInput, current: WebhookRow): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stored = receiverAuthOf(current);
  const endpointMoved =
    input.endpoint !== undefined && originOf(input.endpoint) !== originOf(current.endpoint);
  const sent = input.auth;
  if (stored.type !== "none") {
    const field = SECRET_FIELD[stored.type];
    const kept = sent === undefined || (sent.type === stored.type && secretOf(sent) === MASKED);
    const tokenUrlMoved =
      stored.type === "oauth2" &&
      sent?.type === "oauth2" &&
      originOf(sent.tokenUrl) !== originOf(stored.tokenUrl);
    if (kept && (endpointMoved || tokenUrlMoved)) {
      problems.push({
        field: `auth.${field}`,
        message: `must be sent again: the ${tokenUrlMoved ? "token URL" : "endpoint"} moved to another host, and a stored secret does not follow it`,
      });
    }
  }
  if (endpointMoved) {
    const keptHeaders =
      input.headers === undefined
        ? headersOf(current).filter((header) => isCredentialHeader(header.key))
        : input.headers.filter(
            (header) => isCredentialHeader(header.key) && header.value === MASKED,
          );
    for (const header of keptHeaders) {
      problems.push({
        field: "headers",
        message: `the value of "${header.key}" must be sent again: the endpoint moved to another host, and a stored credential does not follow it`,
      });
    }
  }
  return problems;
}

/**
 * `input` with its masked credentials replaced by the stored ones, and the problems of masks
 * that keep nothing; plus the clash of a custom Authorization header with `auth`, judged on
 * the merged result (what will be stored).
 */
function resolveCredentials(
  input: WebhookInput,
  current: WebhookRow | undefined,
): { input: WebhookInput; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const resolved = { ...input };
  if (input.auth !== undefined) {
    const auth = resolveAuth(input.auth, current && receiverAuthOf(current));
    resolved.auth = auth.value;
    problems.push(...auth.problems);
  }
  if (input.headers !== undefined) {
    const headers = resolveHeaders(input.headers, current ? headersOf(current) : []);
    resolved.headers = headers.value;
    problems.push(...headers.problems);
  }
  if (current) problems.push(...credentialsThatWouldMove(input, current));
  const authType = (resolved.auth ?? (current && receiverAuthOf(current)))?.type ?? "none";
  const headers = resolved.headers ?? (current ? headersOf(current) : []);
  problems.push(...checkAuthorizationHeader(authType, headers));
  return { input: resolved, problems };
}

export interface SaveOptions {
  /** Prefixed to the field names of a 400, when the input sits inside a larger document. */
  fieldPrefix?: string;
}

/** What enabling a webhook clears: its failure streak (the endpoint gets a fresh start). */
const FRESH_START = { fail_count: 0, failing_since: null } as const;

/**
 * `PUT /webhooks`: creates when `id` is absent or empty, otherwise updates that webhook of the
 * workspace (404 if it is not there). The secret is generated on create unless one is given,
 * and kept on update unless a non-empty one is given. A masked credential ("********") keeps
 * the stored one on update, and is a 400 naming the field where nothing can be kept.
 */
export async function saveWebhook(
  db: Executor,
  workspace: string,
  sent: WebhookInput,
  rules: WebhookRules,
  options: SaveOptions = {},
): Promise<Webhook> {
  const id = sent.id?.trim() ?? "";
  return db.transaction().execute(async (trx) => {
    const current = id === "" ? undefined : await getWebhookRow(trx, workspace, id);
    const { input, problems } = resolveCredentials(sent, current);
    problems.unshift(...checkInput(input, rules, current));
    if (problems.length > 0) {
      const prefix = options.fieldPrefix ?? "";
      throw Invalid.fields(
        problems.map((problem) => ({ ...problem, field: prefix + problem.field })),
      );
    }
    const now = Date.now();
    const columns = columnsFrom(input);
    if (current) {
      // Enabling a disabled webhook is a fresh start, as `POST /enable` is: else its old streak
      // would have the auto-disable take it again within a second.
      const restart = current.enabled === 0 && input.enabled === true ? FRESH_START : {};
      await updateWebhookRow(trx, workspace, current.id, {
        ...columns,
        ...restart,
        last_modified: now,
      });
      return toWebhook(await getWebhookRow(trx, workspace, current.id));
    }
    // Counted inside the write transaction: two creates at once cannot both pass the limit.
    if ((await countWebhooks(trx, workspace)) >= rules.maxWebhooks) {
      throw new Conflict(
        `the workspace has ${rules.maxWebhooks} webhooks, the most allowed (HOOKPOST_MAX_WEBHOOKS); delete one first`,
        { limit: rules.maxWebhooks },
      );
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
 * the same transaction, since nothing will send them any more (those in flight when their
 * attempt is recorded or released).
 */
export async function deleteWebhook(
  store: DeliveryStore,
  workspace: string,
  id: string,
): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    if (!(await deleteWebhookRow(trx, workspace, id))) {
      throw new NotFound(`webhook ${id} not found`, { id });
    }
    await store.failWaitingOfWebhook(trx, id, Date.now());
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

/** Enabling clears the failure streak ({@link FRESH_START}). */
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
      ? { enabled: 1, health_status: "unknown", ...FRESH_START }
      : { enabled: 0, health_status: "disabled" },
  );
}

/**
 * A new secret. With `graceSeconds`, the one it replaces keeps signing beside it until the grace
 * ends (receivers can switch without a gap); without, it stops verifying at once (seed 000).
 */
export async function rotateWebhookSecret(
  db: Executor,
  workspace: string,
  id: string,
  graceSeconds = 0,
): Promise<Webhook> {
  return db.transaction().execute(async (trx) => {
    const current = await getWebhookRow(trx, workspace, id);
    const now = Date.now();
    const grace =
      graceSeconds > 0
        ? { previous_secret: current.secret, previous_secret_until: now + graceSeconds * 1000 }
        : { previous_secret: null, previous_secret_until: null };
    return changeWebhook(trx, workspace, id, { secret: newWebhookSecret(), ...grace });
  });
}
