/** SQL for deliveries. */

import type { Insertable } from "kysely";
import type { DeliveryTable, Executor } from "../db/database.ts";

/** Inserts many deliveries in one statement (the ingest hot path). */
export async function insertDeliveries(
  db: Executor,
  rows: Insertable<DeliveryTable>[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto("deliveries").values(rows).execute();
}

/**
 * The deliveries an event created when it was accepted (not later retries), by webhook id:
 * the order ingest answered in.
 */
export async function listFirstDeliveriesOfEvent(db: Executor, eventId: string) {
  return db
    .selectFrom("deliveries")
    .select(["id", "webhook_id"])
    .where("event_id", "=", eventId)
    .where("retry_of", "is", null)
    .orderBy("webhook_id")
    .execute();
}
