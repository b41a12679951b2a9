/** SQL for accepted events. */

import type { Insertable } from "kysely";
import type { EventTable, Executor } from "../db/database.ts";

export async function insertEvent(db: Executor, row: Insertable<EventTable>): Promise<void> {
  await db.insertInto("events").values(row).execute();
}

export async function findEventByIdempotencyKey(db: Executor, workspace: string, key: string) {
  return db
    .selectFrom("events")
    .select(["id"])
    .where("workspace", "=", workspace)
    .where("idempotency_key", "=", key)
    .executeTakeFirst();
}
