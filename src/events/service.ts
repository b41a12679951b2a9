/**
 * Event ingestion (SPEC §5): the event and one delivery per matching enabled webhook are
 * written in one transaction, and only then is the event acknowledged. A repeated event id
 * returns the first answer instead of enqueuing again.
 */

import type { SQLQueryBindings } from "bun:sqlite";
import type { Insertable } from "kysely";
import type { DeliveryTable, Executor } from "../db/database.ts";
import type { StatementCache } from "../db/statement-cache.ts";
import { buildDelivery } from "../deliveries/build.ts";
import { failureOf } from "../deliveries/enqueue.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { newId } from "../ids.ts";
import type { TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { Services } from "../services.ts";
import type { Candidate, EnabledWebhooks } from "./enabled-webhooks.ts";
import type { MatchableEvent } from "./matching.ts";
import type { IncomingEvent, IngestResult } from "./model.ts";

export interface IngestContext {
  db: Executor;
  /** Prepared statements on the same connection: ingestion writes with them. */
  statements: StatementCache;
  /** The enabled webhooks, read inside the transaction that writes the event. */
  webhooks: EnabledWebhooks;
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
    "db" | "statements" | "enabledWebhooks" | "templaters" | "config" | "wake" | "onDeliveryFailed"
  >,
): IngestContext {
  return {
    db: services.db,
    statements: services.statements,
    webhooks: services.enabledWebhooks,
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
  candidates: readonly Candidate[],
  event: IncomingEvent,
  eventId: string,
  now: number,
) {
  // One content for every delivery: the event row stores it (once), the deliveries no copy.
  const content = {
    eventId,
    eventType: event.eventType,
    contentType: event.contentType,
    contentId: event.contentId,
    fields: event.fields ?? {},
    translations: event.translations ?? {},
    acceptedAt: now,
  };
  const target = matchableOf(event);
  return candidates
    .filter((candidate) => candidate.matches(target))
    .map(({ webhook }) =>
      buildDelivery({
        webhook,
        content,
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

interface EventToWrite {
  workspace: string;
  event: IncomingEvent;
  source: string;
}

interface Written {
  outcome: IngestOutcome;
  failed: Insertable<DeliveryTable>[];
}

/**
 * The event and its deliveries, written with prepared statements (synchronous; the caller
 * supplies the transaction). A delivery whose template failed is born in Error; when
 * `failuresAllowed` is false, such an event is not written at all and null comes back, so the
 * caller can run it again where the failure hook can write.
 */
function writeEvent(context: IngestContext, what: EventToWrite, failuresAllowed: true): Written;
function writeEvent(
  context: IngestContext,
  what: EventToWrite,
  failuresAllowed: false,
): Written | null;
function writeEvent(
  context: IngestContext,
  { workspace, event, source }: EventToWrite,
  failuresAllowed: boolean,
): Written | null {
  const { statements } = context;
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
        outcome: {
          result: {
            eventId: existing.id,
            deliveries: first.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
          },
          duplicate: true,
        },
        failed: [],
      };
    }
  }
  const now = Date.now();
  const eventId = newId("evt", now);
  const rows = buildRows(context, context.webhooks.of(workspace), event, eventId, now);
  const failed = rows.filter((row) => row.process_status === ProcessStatus.Error);
  if (failed.length > 0 && !failuresAllowed) return null;
  insertRow(statements, "events", eventRow(workspace, event, eventId, source, now));
  for (const row of rows) insertRow(statements, "deliveries", row);
  return {
    outcome: {
      result: {
        eventId,
        deliveries: rows.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
      },
      duplicate: false,
    },
    failed,
  };
}

/**
 * Ingests one event. The common case runs in the group-committed batches; an event with a
 * delivery whose template failed runs in a Kysely transaction instead, where the same
 * statements write it and the failure hook writes its outbox row.
 */
export async function ingestEvent(
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source = "api",
): Promise<IngestOutcome> {
  const what = { workspace, event, source };
  const fast = await context.statements.exclusive(
    () => writeEvent(context, what, false)?.outcome ?? null,
  );
  const outcome =
    fast ??
    (await context.db.transaction().execute(async (trx) => {
      // Prepared statements on the same connection run inside this open transaction.
      const written = writeEvent(context, what, true);
      for (const row of written.failed) {
        await context.onDeliveryFailed?.(trx, failureOf(row));
      }
      return written.outcome;
    }));
  if (!outcome.duplicate && outcome.result.deliveries.length > 0) {
    context.onEnqueued(outcome.result.deliveries.map((delivery) => delivery.webhookId));
  }
  return outcome;
}
