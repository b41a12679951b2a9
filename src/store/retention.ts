/**
 * Retention's deletes, a batch at a time: finished deliveries (their attempts go with them, by
 * foreign key), events no delivery refers to, mailed failure notices. Old means an id below the
 * cutoff's (ids begin with their creation time), so each batch is a range of a primary key.
 */

import type { Executor } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { idFloor } from "../ids.ts";
import type { Tally } from "./counts.ts";
import type { Removed } from "./delivery-store.ts";

/**
 * Deliveries and attempts older than the cutoff that are finished (Sent or Error), in one
 * batch. Old means an id below the cutoff's (ids begin with their creation time).
 */
export async function deleteFinishedBefore(
  db: Executor,
  tally: Tally,
  cutoff: number,
  batch: number,
): Promise<number> {
  const deleted = await db
    .deleteFrom("deliveries")
    .where("id", "in", (query) =>
      query
        .selectFrom("deliveries")
        .select("id")
        .where("id", "<", idFloor("dlv", cutoff))
        .where("process_status", "in", [ProcessStatus.Error, ProcessStatus.Sent])
        .limit(batch),
    )
    .returning(["webhook_id", "process_status", "attempts", "max_attempts"])
    .execute();
  for (const row of deleted) {
    tally.change(
      {
        webhookId: row.webhook_id,
        processStatus: row.process_status,
        attempts: row.attempts,
        maxAttempts: row.max_attempts,
      },
      null,
    );
  }
  return deleted.length;
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

/** Rows per delete. */
const RETENTION_BATCH = 1000;
/** Deletes of each kind per run, at most: a large backlog is worked off over several runs. */
const RETENTION_BATCHES_PER_RUN = 20;

/**
 * One retention run, for either adapter: finished deliveries with their attempts, events no
 * delivery refers to any more, failure notices already mailed — older than `cutoff`, in batches,
 * each its own transaction (`transaction`), so the database is never held for long. The
 * deliveries' deletes tell the kept totals through `tallied`, in the same transaction.
 * `stopping` ends the run between batches.
 */
export async function applyRetentionIn(
  transaction: <T>(work: (trx: Executor) => Promise<T>) => Promise<T>,
  tallied: (trx: Executor, work: (tally: Tally) => Promise<number>) => Promise<number>,
  cutoff: number,
  stopping: () => boolean,
): Promise<Removed> {
  const inBatches = async (deleteBatch: (trx: Executor) => Promise<number>) => {
    let total = 0;
    for (let batch = 0; batch < RETENTION_BATCHES_PER_RUN && !stopping(); batch++) {
      const removed = await transaction(deleteBatch);
      total += removed;
      if (removed < RETENTION_BATCH) break;
    }
    return total;
  };
  const deliveries = await inBatches((trx) =>
    tallied(trx, (tally) => deleteFinishedBefore(trx, tally, cutoff, RETENTION_BATCH)),
  );
  const events = await inBatches((trx) => deleteOrphanEventsBefore(trx, cutoff, RETENTION_BATCH));
  const notices = await inBatches((trx) => deleteMailedNoticesBefore(trx, cutoff, RETENTION_BATCH));
  return { deliveries, events, notices };
}
