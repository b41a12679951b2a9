/**
 * The delivery log and what can be done from it: read a webhook's log (pages or a cursor,
 * filtered), one delivery and its attempts, retry one delivery, replay a time window, and
 * enqueue a sample. New deliveries are always built by `buildDelivery`, so a retry or replay
 * resends its original exactly as ingest stored it. Knows nothing of HTTP; throws domain errors.
 */

import { findContentType, type PluginContentTypes } from "../content-types/service.ts";
import type { Executor, WebhookRow } from "../db/database.ts";
import { readJsonColumn, readNullableJsonColumn } from "../db/json-column.ts";
import { type FieldProblem, Invalid, NotFound, ValidationFailed } from "../errors.ts";
import { newId, randomString } from "../ids.ts";
import { isSuccessStatus } from "../outbound/sender.ts";
import { BUILT_IN_ENGINE, RenderError, type TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { NewDelivery } from "../store/deliveries.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import type { EventContent, EventContentOf } from "../store/events.ts";
import type { AttemptRow, DeliveryLogFilter, DeliveryRow, LogPosition } from "../store/log.ts";
import type { WebhookEventTypeValue } from "../webhooks/model.ts";
import { findWebhook } from "../webhooks/repository.ts";
import { getWebhookRow } from "../webhooks/service.ts";
import { checkCustomPayload } from "../webhooks/validation.ts";
import { buildDelivery, type DeliveryContent } from "./build.ts";
import type { ContentEnvelope } from "./envelope.ts";
import {
  type Attempt,
  type DeliveryLogEntry,
  type DeliveryLogPage,
  type DeliveryLogQuery,
  LOG_QUERY_CHOICES,
  type PayloadPreview,
  type PayloadPreviewInput,
  type ReplayInput,
  type ReplayResult,
} from "./model.ts";
import { deliveryState, ProcessStatus, type ProcessStatusValue } from "./status.ts";

/** What creating deliveries needs from the rest of the app. */
export interface EnqueueContext {
  /** Where the log is read and new deliveries are written. */
  store: DeliveryStore;
  templaters: TemplaterRegistry;
  /** Content types of the source plugins, for generate-sample (none when omitted). */
  pluginContentTypes?: PluginContentTypes;
  defaultMaxAttempts: number;
  /** Called after the commit with the webhooks that have new Waiting deliveries. */
  wake: (webhookIds?: readonly string[]) => void;
}

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
/** Replay refuses larger windows: one call must stay one reasonable transaction. */
export const MAX_REPLAY_EVENTS = 10_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The API's view of a stored delivery (WebhookEventLogModel), with its event's content. */
export function toDeliveryLog(row: DeliveryRow, content: EventContent): DeliveryLogEntry {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    retryOf: row.retry_of,
    dateInsert: iso(row.created_at),
    lastUpdate: iso(row.updated_at),
    eventType: row.event_type as WebhookEventTypeValue,
    contentId: row.content_id,
    contentType: row.content_type,
    fields: content.fields,
    translations: content.translations,
    customPayload: readNullableJsonColumn<unknown>(row.custom_payload),
    processStatus: row.process_status as ProcessStatusValue,
    state: deliveryState(row),
    responseStatusCode: row.response_status_code,
    isResponseSuccessStatusCode: isSuccessStatus(row.response_status_code),
    responseMessage: row.response_message,
    lastError: row.last_error,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextAttemptAt: row.process_status === ProcessStatus.Waiting ? iso(row.next_attempt_at) : null,
    durationMs: row.duration_ms,
    signature: row.signature,
  };
}

function toAttempt(row: AttemptRow): Attempt {
  return {
    number: row.number,
    startedAt: iso(row.started_at),
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    isSuccessStatusCode: isSuccessStatus(row.status_code),
    error: row.error,
    responseBody: row.response_body,
    requestHeaders: readJsonColumn<Record<string, string>>(row.request_headers),
  };
}

/**
 * The API's view of stored deliveries: their events' content is read in one more query by
 * event id (primary-key lookups), which leaves the log query's plan as it is.
 */
async function toDeliveryLogs(
  store: DeliveryStore,
  db: Executor,
  rows: DeliveryRow[],
): Promise<DeliveryLogEntry[]> {
  const eventContentOf = await store.eventContents(
    db,
    rows.map((row) => row.event_id),
  );
  return rows.map((row) => toDeliveryLog(row, eventContentOf(row.event_id)));
}

/** An opaque cursor for the position after `row`: base64url of `createdAt:id`. */
export function encodeCursor(position: LogPosition): string {
  return Buffer.from(`${position.createdAt}:${position.id}`).toString("base64url");
}

const CURSOR = /^(\d{1,15}):(\S{1,200})$/;

export function decodeCursor(cursor: string): LogPosition | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const match = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match?.[1] || !match[2]) return null;
  return { createdAt: Number(match[1]), id: match[2] };
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * An ISO-8601 date-time with its time zone (`2026-05-15T14:02:11Z`, `…+02:00`) as ms, or null.
 * Stricter than `Date.parse`, which also takes bare dates, local times and 30 February.
 */
export function parseDateTime(text: string): number | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const calendar = new Date(Date.UTC(2000, month - 1, day));
  calendar.setUTCFullYear(year);
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function parseInstant(field: string, text: string, problems: FieldProblem[]): number | undefined {
  const ms = parseDateTime(text);
  if (ms === null) {
    problems.push({
      field,
      message: `"${text}" is not an ISO-8601 date-time with a time zone, e.g. 2026-05-15T14:02:11Z`,
    });
    return undefined;
  }
  return ms;
}

const DIGITS = /^[0-9]+$/;

/**
 * A whole number from `bounds.min` to `bounds.max`; with `capped`, larger numbers count as the
 * maximum instead of being refused (seed 000's `pageSize`).
 */
function parseBounded(
  field: string,
  text: string | undefined,
  bounds: { min: number; max: number; capped?: boolean },
  problems: FieldProblem[],
): number | undefined {
  if (text === undefined) return undefined;
  const value = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (bounds.capped && value > bounds.max) return bounds.max;
  if (!(value >= bounds.min && value <= bounds.max)) {
    const more = bounds.capped ? ` (more than ${bounds.max} counts as ${bounds.max})` : "";
    problems.push({
      field,
      message: `must be a whole number from ${bounds.min} to ${bounds.max}${more}`,
    });
    return undefined;
  }
  return value;
}

/** One of `choices`, or a problem that names them all. */
export function parseChoice<Choice extends string>(
  field: string,
  text: string | undefined,
  choices: readonly Choice[],
  problems: FieldProblem[],
): Choice | undefined {
  if (text === undefined) return undefined;
  const choice = choices.find((candidate) => candidate === text);
  if (choice === undefined) {
    problems.push({ field, message: `expected one of ${choices.join(", ")}` });
  }
  return choice;
}

/** Where a log page starts: a page number, or after a cursor's position. */
export type LogPageStart = { page: number } | { after: LogPosition };

export interface LogRequest {
  filter: DeliveryLogFilter;
  pageSize: number;
  start: LogPageStart;
}

/** Checks and converts the log's query parameters; every problem is named in one 400. */
export function parseLogQuery(query: DeliveryLogQuery): LogRequest {
  const problems: FieldProblem[] = [];
  const page = parseBounded("page", query.page, { min: 1, max: 1_000_000_000 }, problems);
  const pageSize =
    parseBounded(
      "pageSize",
      query.pageSize,
      { min: 1, max: MAX_PAGE_SIZE, capped: true },
      problems,
    ) ?? DEFAULT_PAGE_SIZE;
  const statusCodes = { min: 100, max: 599 };
  const status = parseChoice("status", query.status, LOG_QUERY_CHOICES.status, problems);
  const eventType = parseChoice(
    "eventType",
    query.eventType,
    LOG_QUERY_CHOICES.eventType,
    problems,
  );
  const filter: DeliveryLogFilter = {
    processStatus: status === undefined ? undefined : Number(status),
    state: parseChoice("state", query.state, LOG_QUERY_CHOICES.state, problems),
    eventType: eventType === undefined ? undefined : Number(eventType),
    contentType: query.contentType,
    from: query.from === undefined ? undefined : parseInstant("from", query.from, problems),
    to: query.to === undefined ? undefined : parseInstant("to", query.to, problems),
    statusCodeFrom: parseBounded("statusCodeFrom", query.statusCodeFrom, statusCodes, problems),
    statusCodeTo: parseBounded("statusCodeTo", query.statusCodeTo, statusCodes, problems),
  };
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    problems.push({ field: "from", message: "must not be later than to" });
  }
  if (
    filter.statusCodeFrom !== undefined &&
    filter.statusCodeTo !== undefined &&
    filter.statusCodeFrom > filter.statusCodeTo
  ) {
    problems.push({ field: "statusCodeFrom", message: "must not be greater than statusCodeTo" });
  }
  let start: LogPageStart = { page: page ?? 1 };
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (query.page !== undefined) {
      problems.push({ field: "cursor", message: "use either page or cursor, not both" });
    } else if (!after) {
      problems.push({
        field: "cursor",
        message: "is not a cursor this API returned: pass an answer's nextCursor as it is",
      });
    } else {
      start = { after };
    }
  }
  if (problems.length > 0) throw ValidationFailed.of("query", problems);
  return { filter, pageSize, start };
}

/**
 * A page of the webhook's log, newest first. The log of a deleted webhook stays readable;
 * 404 only when the webhook is unknown here and has left no log either.
 */
export async function listDeliveryLogPage(
  store: DeliveryStore,
  workspace: string,
  webhookId: string,
  request: LogRequest,
): Promise<DeliveryLogPage> {
  const { filter, pageSize, start } = request;
  return store.db.transaction().execute(async (trx) => {
    const webhook = await findWebhook(trx, workspace, webhookId);
    if (!webhook && !(await store.hasLog(trx, workspace, webhookId))) {
      throw new NotFound(`webhook ${webhookId} not found`, { id: webhookId });
    }
    const total = await store.countLog(trx, webhookId, filter);
    // One row more than asked says whether a following page exists.
    const rows = await store.listLog(trx, webhookId, filter, {
      limit: pageSize + 1,
      ...("page" in start ? { offset: (start.page - 1) * pageSize } : { after: start.after }),
    });
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    return {
      items: await toDeliveryLogs(store, trx, items),
      page: "page" in start ? start.page : null,
      pageSize,
      total,
      nextCursor:
        rows.length > pageSize && last
          ? encodeCursor({ createdAt: last.created_at, id: last.id })
          : null,
    };
  });
}

async function getDeliveryRow(
  store: DeliveryStore,
  db: Executor,
  workspace: string,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryRow> {
  const row = await store.findDeliveryOfWebhook(db, workspace, webhookId, deliveryId);
  if (!row) {
    throw new NotFound(`delivery ${deliveryId} of webhook ${webhookId} not found`, {
      id: webhookId,
      eventId: deliveryId,
    });
  }
  return row;
}

export async function getDelivery(
  store: DeliveryStore,
  workspace: string,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryLogEntry> {
  const row = await getDeliveryRow(store, store.db, workspace, webhookId, deliveryId);
  const [entry] = await toDeliveryLogs(store, store.db, [row]);
  if (!entry) throw new Error(`delivery ${deliveryId} has no log entry`);
  return entry;
}

export async function listAttempts(
  store: DeliveryStore,
  workspace: string,
  webhookId: string,
  deliveryId: string,
): Promise<Attempt[]> {
  const delivery = await getDeliveryRow(store, store.db, workspace, webhookId, deliveryId);
  return (await store.attemptsOf(store.db, delivery.id)).map(toAttempt);
}

/** How many events' content a replay reads at a time (one query each, bounded memory). */
const REPLAY_CONTENT_BATCH = 100;

/** The content a stored delivery was rendered from: its event's. */
function contentOf(row: DeliveryRow, eventContentOf: EventContentOf): DeliveryContent {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    contentType: row.content_type,
    contentId: row.content_id,
    ...eventContentOf(row.event_id),
    acceptedAt: row.created_at,
  };
}

/**
 * A new delivery that sends `original` again (its body and message id); `eventContentOf` has
 * read its event.
 */
function resend(
  context: EnqueueContext,
  webhook: WebhookRow,
  original: DeliveryRow,
  eventContentOf: EventContentOf,
  now: number,
): NewDelivery {
  return buildDelivery({
    webhook,
    content: contentOf(original, eventContentOf),
    templaters: context.templaters,
    defaultMaxAttempts: context.defaultMaxAttempts,
    now,
    retryOf: original,
  });
}

/** The API's view of a delivery just inserted, whose event's content the caller has at hand. */
async function readInserted(
  store: DeliveryStore,
  db: Executor,
  id: string,
  content: EventContent,
): Promise<DeliveryLogEntry> {
  const row = await store.findDelivery(db, id);
  if (!row) throw new Error(`delivery ${id} vanished after its insert`);
  return toDeliveryLog(row, content);
}

/**
 * A new Waiting delivery that sends the original's payload snapshot byte for byte, under the
 * original's message id (`webhook-id`), so the receiver can tell it is the same message; the
 * original row is left as it was, for audit.
 */
export async function retryDelivery(
  context: EnqueueContext,
  workspace: string,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryLogEntry> {
  const { store } = context;
  const created = await store.db.transaction().execute(async (trx) => {
    const webhook = await getWebhookRow(trx, workspace, webhookId);
    const original = await getDeliveryRow(store, trx, workspace, webhookId, deliveryId);
    const eventContentOf = await store.eventContents(trx, [original.event_id]);
    const row = resend(context, webhook, original, eventContentOf, Date.now());
    await store.enqueue(trx, [row]);
    return readInserted(store, trx, row.id, eventContentOf(original.event_id));
  });
  context.wake([webhookId]);
  return created;
}

/** The replay window in ms; `until` defaults to `now`. Every problem is named in one 400. */
function parseReplayWindow(input: ReplayInput, now: number): { since: number; until: number } {
  const problems: FieldProblem[] = [];
  const since = parseInstant("since", input.since, problems);
  const until = input.until === undefined ? now : parseInstant("until", input.until, problems);
  if (since !== undefined && until !== undefined && since > until) {
    problems.push({
      field: "since",
      // Without `until`, the bound passed is now: say so rather than name a field not sent.
      message:
        input.until === undefined
          ? `is in the future (now is ${iso(now)}); until defaults to now`
          : "must not be later than until",
    });
  }
  if (problems.length > 0 || since === undefined || until === undefined) {
    throw Invalid.fields(problems);
  }
  return { since, until };
}

/**
 * Seed 003's replay: every event with a delivery of the webhook inserted in [since, until]
 * gets one new delivery, a resend of that event's latest delivery of the webhook (same bytes,
 * same message id as a retry of it). All or nothing, and at most {@link MAX_REPLAY_EVENTS}
 * events.
 */
export async function replayDeliveries(
  context: EnqueueContext,
  workspace: string,
  webhookId: string,
  input: ReplayInput,
): Promise<ReplayResult> {
  const now = Date.now();
  const { since, until } = parseReplayWindow(input, now);
  const { store } = context;
  const rows = await store.db.transaction().execute(async (trx) => {
    const webhook = await getWebhookRow(trx, workspace, webhookId);
    const latest = await store.latestPerEvent(
      trx,
      workspace,
      webhookId,
      { since, until },
      MAX_REPLAY_EVENTS + 1,
    );
    if (latest.length > MAX_REPLAY_EVENTS) {
      throw new Invalid(
        `more than ${MAX_REPLAY_EVENTS} events in this window: narrow since/until and replay in parts`,
        { limit: MAX_REPLAY_EVENTS },
      );
    }
    // The events' content a batch at a time: a window holds up to MAX_REPLAY_EVENTS of them.
    const created: NewDelivery[] = [];
    for (let index = 0; index < latest.length; index += REPLAY_CONTENT_BATCH) {
      const batch = latest.slice(index, index + REPLAY_CONTENT_BATCH);
      const eventContentOf = await store.eventContents(
        trx,
        batch.map((original) => original.event_id),
      );
      for (const original of batch) {
        created.push(resend(context, webhook, original, eventContentOf, now));
      }
    }
    await store.enqueue(trx, created);
    return created;
  });
  if (rows.length > 0) context.wake([webhookId]);
  return {
    webhookId,
    replayed: rows.length,
    eventIds: rows.map((row) => row.event_id),
    deliveryIds: rows.map((row) => row.id),
  };
}

/**
 * Seed 000's generate-sample: a `Published` event of the content type with a synthetic
 * content id and every field null, delivered to this webhook whatever its `eventTypes`.
 */
export async function generateSample(
  context: EnqueueContext,
  workspace: string,
  webhookId: string,
  contentTypeKey: string,
): Promise<DeliveryLogEntry> {
  const { store } = context;
  const created = await store.db.transaction().execute(async (trx) => {
    const webhook = await getWebhookRow(trx, workspace, webhookId);
    const contentType = await findContentType(
      trx,
      workspace,
      contentTypeKey,
      context.pluginContentTypes,
    );
    if (!contentType) {
      throw new NotFound(`content type ${contentTypeKey} not found`, {
        contentTypeId: contentTypeKey,
      });
    }
    const now = Date.now();
    const content: DeliveryContent = {
      eventId: newId("evt", now),
      eventType: 0,
      contentType: contentType.key,
      contentId: `sample_${randomString(16)}`,
      fields: Object.fromEntries(contentType.fields.map((field) => [field, null])),
      translations: {},
      acceptedAt: now,
    };
    const row = buildDelivery({
      webhook,
      content,
      templaters: context.templaters,
      defaultMaxAttempts: context.defaultMaxAttempts,
      now,
    });
    await store.enqueue(trx, [row], {
      id: content.eventId,
      workspace,
      idempotency_key: null,
      event_type: content.eventType,
      content_type: content.contentType,
      content_id: content.contentId,
      fields: JSON.stringify(content.fields),
      translations: JSON.stringify(content.translations),
      source: "sample",
      created_at: now,
    });
    return readInserted(store, trx, row.id, content);
  });
  context.wake([webhookId]);
  return created;
}

/**
 * What a template would send for a sample Published event of `contentType` — its registered
 * fields as `<field>` placeholders — rendered by the same engines, within the same body bound,
 * as a delivery. Nothing is stored or sent. A template that does not render is a 400 naming
 * `customPayload` (or `templateEngine`) with the engine's message.
 */
export async function previewPayload(
  context: Pick<EnqueueContext, "store" | "templaters" | "pluginContentTypes">,
  workspace: string,
  input: PayloadPreviewInput,
): Promise<PayloadPreview> {
  const problems = checkCustomPayload(input.customPayload);
  if (problems.length > 0) throw Invalid.fields(problems);
  const engine = input.templateEngine ?? BUILT_IN_ENGINE;
  if (!context.templaters.has(engine)) {
    throw Invalid.fields([
      { field: "templateEngine", message: `template engine "${engine}" is not available` },
    ]);
  }
  const contentTypeKey = input.contentType ?? "sample";
  const contentType = await findContentType(
    context.store.db,
    workspace,
    contentTypeKey,
    context.pluginContentTypes,
  );
  const now = Date.now();
  const fields = Object.fromEntries(
    (contentType?.fields ?? []).map((field) => [field, `<${field}>`]),
  );
  const event: ContentEnvelope = {
    eventType: 0,
    contentId: "sample_content",
    contentType: contentTypeKey,
    fields,
    translations: {},
    webhookId: "wh_preview",
    deliveryId: newId("dlv", now),
    timestamp: new Date(now).toISOString(),
  };
  try {
    const body = context.templaters.renderToJson(engine, input.customPayload, event);
    return { body, contentType: contentTypeKey, fields };
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    throw Invalid.fields([{ field: "customPayload", message: error.message }]);
  }
}
