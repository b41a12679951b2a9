/** SQL for accepted events. */

import type { Insertable } from "kysely";
import type { EventTable, Executor } from "../db/database.ts";

export async function insertEvent(db: Executor, row: Insertable<EventTable>): Promise<void> {
  await db.insertInto("events").values(row).execute();
}
