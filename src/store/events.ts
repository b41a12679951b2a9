/**
 * Accepted events: written with their deliveries (deliveries.ts), found again by the client's
 * idempotency key, and read for their content, which is stored once, in the event's row.
 */

import type { Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";
import type { GroupCommit } from "./group-commit.ts";

/** An event accepted before, with the deliveries it created then (by webhook id). */
export interface AcceptedEvent {
  eventId: string;
  deliveries: { webhookId: string; deliveryId: string }[];
}

function eventByIdempotencyKeyQuery(db: Executor, workspace: string, idempotencyKey: string) {
  return db
    .selectFrom("events")
    .select("id")
    .where("workspace", "=", workspace)
    .where("idempotency_key", "=", idempotencyKey);
}

/** The deliveries an event created when it was accepted (not its retries), by webhook id. */
function firstDeliveriesQuery(db: Executor, eventId: string) {
  return db
    .selectFrom("deliveries")
    .select(["id", "webhook_id"])
    .where("event_id", "=", eventId)
    .where("retry_of", "is", null)
    .orderBy("webhook_id");
}

/** What an accepted event answers: its id and its first deliveries, by webhook. */
export function acceptedOf(
  eventId: string,
  first: readonly { id: string; webhook_id: string }[],
): AcceptedEvent {
  return {
    eventId,
    deliveries: first.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
  };
}

/**
 * The event the workspace sent before under `idempotencyKey`, if any (synchronous: SQLite,
 * inside the batch that would write it).
 */
export function findAcceptedEventNow(
  db: Executor,
  statements: GroupCommit,
  workspace: string,
  idempotencyKey: string,
): AcceptedEvent | null {
  const [existing] = statements.rows(
    eventByIdempotencyKeyQuery(db, workspace, idempotencyKey).compile(),
  );
  if (!existing) return null;
  return acceptedOf(existing.id, statements.rows(firstDeliveriesQuery(db, existing.id).compile()));
}

/** {@link findAcceptedEventNow} in the caller's transaction (PostgreSQL). */
export async function findAcceptedEvent(
  trx: Executor,
  workspace: string,
  idempotencyKey: string,
): Promise<AcceptedEvent | null> {
  const existing = await eventByIdempotencyKeyQuery(
    trx,
    workspace,
    idempotencyKey,
  ).executeTakeFirst();
  if (!existing) return null;
  return acceptedOf(existing.id, await firstDeliveriesQuery(trx, existing.id).execute());
}

/** An event's content: stored once, in its row, and read from there by its deliveries. */
export interface EventContent {
  fields: Record<string, unknown>;
  translations: Record<string, unknown>;
}

/** The content of one of the events read by {@link readEventContents}. */
export type EventContentOf = (eventId: string) => EventContent;

/**
 * The content of the events `ids` (a log page's, or a batch of a replay): one query of
 * primary-key lookups. Every delivery's event exists (retention deletes only events no delivery
 * refers to), so asking for one that is not stored means a broken store, and throws.
 */
export async function readEventContents(
  db: Executor,
  ids: readonly string[],
): Promise<EventContentOf> {
  const rows =
    ids.length === 0
      ? []
      : await db
          .selectFrom("events")
          .select(["id", "fields", "translations"])
          .where("id", "in", [...new Set(ids)])
          .execute();
  const contents = new Map(rows.map((row) => [row.id, row]));
  return (eventId) => {
    const row = contents.get(eventId);
    if (!row) throw new Error(`event ${eventId} of a delivery is not stored`);
    return {
      fields: readJsonColumn<Record<string, unknown>>(row.fields),
      translations: readJsonColumn<Record<string, unknown>>(row.translations),
    };
  };
}
