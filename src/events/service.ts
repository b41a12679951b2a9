/**
 * Event ingestion (SPEC §5): the event and one delivery per matching enabled webhook are
 * written in one transaction, and only then is the event acknowledged. A repeated event id
 * returns the first answer instead of enqueuing again.
 */

import type { SQLQueryBindings } from "bun:sqlite";
import type { Executor, WebhookRow } from "../db/database.ts";
import type { StatementCache } from "../db/statement-cache.ts";
import { buildDelivery } from "../deliveries/build.ts";
import { enqueueDeliveries } from "../deliveries/enqueue.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { listFirstDeliveriesOfEvent } from "../deliveries/repository.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { newId } from "../ids.ts";
import type { TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { Services } from "../services.ts";
import { listEnabledWebhookRows } from "../webhooks/repository.ts";
import { type MatchableEvent, webhookMatches } from "./matching.ts";
import type { IncomingEvent, IngestResult } from "./model.ts";
import { findEventByIdempotencyKey, insertEvent } from "./repository.ts";

export interface IngestContext {
  db: Executor;
  /** Prepared statements for the synchronous fast path; without them, Kysely only. */
  statements?: StatementCache;
  templaters: TemplaterRegistry;
  defaultMaxAttempts: number;
  /** Told about a delivery born in Error (its template failed), inside the transaction. */
  onDeliveryFailed?: FailureHook;
  /** Called after the commit with the webhooks that have new Waiting deliveries. */
  onEnqueued: (webhookIds: readonly string[]) => void;
}

/**
 * The running app's ingest context: what `POST /events`, source plugins' requests and their
 * pollers share, so every event takes the same path.
 */
export function ingestContextOf(
  services: Pick<
    Services,
    "db" | "statements" | "templaters" | "config" | "wake" | "onDeliveryFailed"
  >,
): IngestContext {
  return {
    db: services.db,
    statements: services.statements,
    templaters: services.templaters,
    defaultMaxAttempts: services.config.maxAttempts,
    onDeliveryFailed: services.onDeliveryFailed,
    onEnqueued: services.wake,
  };
}

export interface IngestOutcome {
  result: IngestResult;
  /** True when the event id was seen before and nothing new was enqueued. */
  duplicate: boolean;
}

async function firstAnswer(db: Executor, eventId: string): Promise<IngestResult> {
  const deliveries = await listFirstDeliveriesOfEvent(db, eventId);
  return {
    eventId,
    deliveries: deliveries.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
  };
}

/** Rolls the fast path back: a delivery failed to render and needs the failure hook. */
class NeedsFailureHook extends Error {}

function matchableOf(event: IncomingEvent): MatchableEvent {
  return {
    contentType: event.contentType,
    eventType: event.eventType,
    slot: event.slot ?? "published",
    language: event.language ?? null,
  };
}

function buildRows(
  context: IngestContext,
  webhooks: readonly WebhookRow[],
  event: IncomingEvent,
  eventId: string,
  now: number,
) {
  const fields = event.fields ?? {};
  const translations = event.translations ?? {};
  const target = matchableOf(event);
  return webhooks
    .filter((webhook) => webhookMatches(webhook, target))
    .map((webhook) =>
      buildDelivery({
        webhook,
        content: {
          eventId,
          eventType: event.eventType,
          contentType: event.contentType,
          contentId: event.contentId,
          fields,
          translations,
          acceptedAt: now,
        },
        templaters: context.templaters,
        defaultMaxAttempts: context.defaultMaxAttempts,
        now,
      }),
    );
}

function eventRow(
  workspace: string,
  event: IncomingEvent,
  eventId: string,
  source: string,
  now: number,
) {
  const target = matchableOf(event);
  return {
    id: eventId,
    workspace,
    idempotency_key: event.id ?? null,
    event_type: event.eventType,
    content_type: event.contentType,
    content_id: event.contentId,
    fields: JSON.stringify(event.fields ?? {}),
    translations: JSON.stringify(event.translations ?? {}),
    source,
    created_at: now,
    slot: target.slot,
    language: target.language,
  };
}

/** `INSERT INTO table (keys of row) VALUES (?, …)` for one row, prepared once per shape. */
function insertRow(statements: StatementCache, table: string, row: Record<string, unknown>): void {
  const columns = Object.keys(row);
  const sql = `insert into ${table} (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})`;
  statements.get(sql).run(...(Object.values(row) as SQLQueryBindings[]));
}

/**
 * The hot path: one synchronous transaction of prepared statements, no Kysely in between.
 * Null when a delivery failed to render (the Kysely path then reports it to the failure hook).
 */
async function ingestFast(
  statements: StatementCache,
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source: string,
): Promise<IngestOutcome | null> {
  try {
    return await statements.exclusive((): IngestOutcome => {
      if (event.id !== undefined) {
        const existing = statements
          .get("select id from events where workspace = ? and idempotency_key = ?")
          .get(workspace, event.id) as { id: string } | null;
        if (existing) {
          const first = statements
            .get(
              "select id, webhook_id from deliveries where event_id = ? and retry_of is null order by webhook_id",
            )
            .all(existing.id) as { id: string; webhook_id: string }[];
          return {
            result: {
              eventId: existing.id,
              deliveries: first.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
            },
            duplicate: true,
          };
        }
      }
      const now = Date.now();
      const eventId = newId("evt", now);
      insertRow(statements, "events", eventRow(workspace, event, eventId, source, now));
      const webhooks = statements
        .get("select * from webhooks where workspace = ? and enabled = 1 order by id")
        .all(workspace) as WebhookRow[];
      const rows = buildRows(context, webhooks, event, eventId, now);
      for (const row of rows) {
        if (row.process_status === ProcessStatus.Error) throw new NeedsFailureHook();
        insertRow(statements, "deliveries", row);
      }
      return {
        result: {
          eventId,
          deliveries: rows.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
        },
        duplicate: false,
      };
    });
  } catch (error) {
    if (error instanceof NeedsFailureHook) return null;
    throw error;
  }
}

export async function ingestEvent(
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source = "api",
): Promise<IngestOutcome> {
  const fast = context.statements
    ? await ingestFast(context.statements, context, workspace, event, source)
    : null;
  const outcome = fast ?? (await ingestWithKysely(context, workspace, event, source));
  if (!outcome.duplicate && outcome.result.deliveries.length > 0) {
    context.onEnqueued(outcome.result.deliveries.map((delivery) => delivery.webhookId));
  }
  return outcome;
}

async function ingestWithKysely(
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source: string,
): Promise<IngestOutcome> {
  return context.db.transaction().execute(async (trx): Promise<IngestOutcome> => {
    if (event.id !== undefined) {
      const existing = await findEventByIdempotencyKey(trx, workspace, event.id);
      if (existing) return { result: await firstAnswer(trx, existing.id), duplicate: true };
    }
    const now = Date.now();
    const eventId = newId("evt", now);
    await insertEvent(trx, eventRow(workspace, event, eventId, source, now));
    const rows = buildRows(
      context,
      await listEnabledWebhookRows(trx, workspace),
      event,
      eventId,
      now,
    );
    await enqueueDeliveries(trx, rows, context.onDeliveryFailed);
    return {
      result: {
        eventId,
        deliveries: rows.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
      },
      duplicate: false,
    };
  });
}
