/**
 * Retention (SPEC §10): once a minute, from the scheduler's tick, deletes what is older than
 * `HOOKPOST_RETENTION_DAYS` — finished deliveries with their attempts, events no delivery
 * refers to any more, and failure notices already mailed — in batches, so a large backlog is
 * worked off over several runs without holding the database for long.
 */

import type { Config } from "../config.ts";
import type { Executor } from "../db/database.ts";
import type { Logger } from "../log.ts";
import {
  deleteFinishedBefore,
  deleteMailedNoticesBefore,
  deleteOrphanEventsBefore,
} from "./repository.ts";

/** How often the scheduler's tick runs retention. */
export const RETENTION_EVERY_MS = 60_000;
const RETENTION_BATCH = 1000;
const RETENTION_BATCHES_PER_RUN = 20;
const DAY_MS = 86_400_000;

export interface RetentionOptions {
  db: Executor;
  config: Pick<Config, "retentionDays">;
  log: Logger;
}

/**
 * One retention run at `now`.
 * @param stopping true once the scheduler is stopping: no further batch starts
 */
export async function applyRetention(
  options: RetentionOptions,
  now: number,
  stopping: () => boolean,
): Promise<void> {
  const cutoff = now - options.config.retentionDays * DAY_MS;
  const deliveries = await inBatches(options.db, stopping, (db) =>
    deleteFinishedBefore(db, cutoff, RETENTION_BATCH),
  );
  const events = await inBatches(options.db, stopping, (db) =>
    deleteOrphanEventsBefore(db, cutoff, RETENTION_BATCH),
  );
  const notices = await inBatches(options.db, stopping, (db) =>
    deleteMailedNoticesBefore(db, cutoff, RETENTION_BATCH),
  );
  if (deliveries + events + notices > 0) {
    options.log.info("retention removed old deliveries, events and mailed notices", {
      deliveries,
      events,
      notices,
    });
  }
}

/** Runs a batched delete until a batch comes back short (or the run's budget is spent). */
async function inBatches(
  db: Executor,
  stopping: () => boolean,
  deleteBatch: (db: Executor) => Promise<number>,
): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < RETENTION_BATCHES_PER_RUN && !stopping(); batch++) {
    const removed = await deleteBatch(db);
    total += removed;
    if (removed < RETENTION_BATCH) break;
  }
  return total;
}
