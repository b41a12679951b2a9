/**
 * Retention (SPEC §10): once a minute, from the scheduler's tick, the store deletes what is
 * older than `HOOKPOST_RETENTION_DAYS` — finished deliveries with their attempts, events no
 * delivery refers to any more, and failure notices already mailed — in batches.
 */

import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";

/** How often the scheduler's tick runs retention. */
export const RETENTION_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;

export interface RetentionOptions {
  store: DeliveryStore;
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
  const removed = await options.store.applyRetention(cutoff, stopping);
  if (removed.deliveries + removed.events + removed.notices > 0) {
    options.log.info("retention removed old deliveries, events and mailed notices", {
      ...removed,
    });
  }
}
