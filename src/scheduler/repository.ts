/**
 * The scheduler's SQL in Kysely form, for the paths that are not hot: failing a deleted
 * webhook's queue, the outcome of a failed delivery, retention. (The per-tick and per-attempt
 * statements are in `fast-queries.ts`.) Queries on Waiting deliveries spell the status as a
 * literal (`sql.lit`): SQLite uses a partial index (`… WHERE process_status = 0`) only when the
 * query's condition is the same literal, not a bound parameter.
 */

import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { idFloor } from "../ids.ts";
import { WEBHOOK_GONE } from "./fast-queries.ts";

const WAITING = sql.lit(ProcessStatus.Waiting);

/** Fails the Waiting deliveries of a deleted webhook, so nothing waits for it forever. */
export async function failWaitingOfWebhook(
  db: Executor,
  webhookId: string,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable("deliveries")
    .set({
      process_status: ProcessStatus.Error,
      last_error: WEBHOOK_GONE,
      response_message: WEBHOOK_GONE,
      updated_at: now,
    })
    .where("webhook_id", "=", webhookId)
    .where("process_status", "=", WAITING)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Deliveries and attempts older than the cutoff that are finished (Sent or Error), in one
 * batch. Old means an id below the cutoff's (ids begin with their creation time).
 */
export async function deleteFinishedBefore(
  db: Executor,
  cutoff: number,
  batch: number,
): Promise<number> {
  const result = await db
    .deleteFrom("deliveries")
    .where("id", "in", (query) =>
      query
        .selectFrom("deliveries")
        .select("id")
        .where("id", "<", idFloor("dlv", cutoff))
        .where("process_status", "in", [ProcessStatus.Error, ProcessStatus.Sent])
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Events older than the cutoff that no delivery refers to any more, in one batch. */
export async function deleteOrphanEventsBefore(
  db: Executor,
  cutoff: number,
  batch: number,
): Promise<number> {
  const result = await db
    .deleteFrom("events")
    .where("id", "in", (query) =>
      query
        .selectFrom("events")
        .select("events.id")
        .where("events.id", "<", idFloor("evt", cutoff))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("deliveries")
                .select("deliveries.id")
                .whereRef("deliveries.event_id", "=", "events.id"),
            ),
          ),
        )
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Failure notices mailed before the cutoff, in one batch; unmailed ones always stay. */
export async function deleteMailedNoticesBefore(
  db: Executor,
  cutoff: number,
  batch: number,
): Promise<number> {
  const result = await db
    .deleteFrom("failure_notices")
    .where("id", "in", (query) =>
      query
        .selectFrom("failure_notices")
        .select("id")
        .where("mailed_at", "is not", null)
        .where("mailed_at", "<", cutoff)
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
