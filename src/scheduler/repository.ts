/**
 * The scheduler's SQL in Kysely form, for the paths that are not hot: failing a deleted
 * webhook's queue, the outcome of a failed delivery, retention. (The per-tick and per-attempt
 * statements are in `fast-queries.ts`.) Queries on Waiting deliveries spell the status as a
 * literal (`sql.lit`): SQLite uses a partial index (`… WHERE process_status = 0`) only when the
 * query's condition is the same literal, not a bound parameter.
 */

import { sql } from "kysely";
import type { Executor, HealthStatus } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";
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

export interface WebhookHealthChange {
  success: boolean;
  disable: boolean;
  now: number;
}

/**
 * Keeps `failCount`, `lastDeliveredAt` and `healthStatus` current after an attempt; disables
 * the webhook on `410 Gone`. False when the webhook no longer exists.
 */
export async function updateWebhookHealth(
  db: Executor,
  webhookId: string,
  change: WebhookHealthChange,
): Promise<boolean> {
  const health: HealthStatus = change.disable ? "disabled" : change.success ? "working" : "failing";
  const result = await db
    .updateTable("webhooks")
    .set((eb) => ({
      fail_count: change.success ? 0 : eb("fail_count", "+", 1),
      ...(change.success ? { last_delivered_at: change.now } : {}),
      ...(change.disable ? { enabled: 0 } : {}),
      // A webhook someone disabled during the attempt keeps saying so.
      health_status: change.disable
        ? health
        : eb.case().when("enabled", "=", 0).then(eb.ref("health_status")).else(health).end(),
    }))
    .where("id", "=", webhookId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deliveries and attempts older than the cutoff that are finished (Sent or Error), in one batch. */
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
        .where("created_at", "<", cutoff)
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
        .where("events.created_at", "<", cutoff)
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
