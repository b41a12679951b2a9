/** SQL for accepted events. */

import type { Insertable } from "kysely";
import type { EventTable, Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";

export async function insertEvent(db: Executor, row: Insertable<EventTable>): Promise<void> {
  await db.insertInto("events").values(row).execute();
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
