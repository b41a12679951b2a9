/**
 * Recording an attempt on PostgreSQL, in the caller's transaction: the webhook's health, the
 * delivery's new state over the lease it was taken with, and the attempt row.
 *
 * The webhook's row is shared by every attempt of every node: an update takes its lock until
 * the commit, so a success writes it only when something a reader sees would change — the
 * failures in a row, the health, or `last_delivered_at` by more than a second. Successes in a
 * stream thus do not queue behind one another's commits.
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import type { AttemptOutcomeRow } from "../outcomes.ts";
import type { Lease } from "./queue.ts";

/** How stale `last_delivered_at` may be left on PostgreSQL (see the file's header). */
export const LAST_DELIVERED_PRECISION_MS = 1000;

/**
 * As SQLite's `updateWebhookHealthNow`: keeps failCount, lastDeliveredAt and healthStatus
 * current, and disables the webhook on `410 Gone`. Returns the webhook's failCount now, or null
 * when the webhook is gone.
 */
export async function updateWebhookHealth(
  trx: Executor,
  webhookId: string,
  change: { success: boolean; disable: boolean; now: number },
): Promise<number | null> {
  const updated = change.success
    ? await sql<{ fail_count: number }>`update webhooks set fail_count = 0,
          last_delivered_at = ${change.now},
          health_status = case when enabled = 1 then 'working' else health_status end
        where id = ${webhookId}
          and (fail_count <> 0 or (enabled = 1 and health_status <> 'working')
            or last_delivered_at is null
            or last_delivered_at < ${change.now - LAST_DELIVERED_PRECISION_MS})
        returning fail_count`.execute(trx)
    : await sql<{ fail_count: number }>`update webhooks set fail_count = fail_count + 1,
          health_status = case when enabled = 1 then 'failing' else health_status end
        where id = ${webhookId}
        returning fail_count`.execute(trx);
  let failCount = updated.rows[0]?.fail_count;
  if (failCount === undefined) {
    // Nothing to change (a success in a stream of them), or no such webhook.
    const row = await trx
      .selectFrom("webhooks")
      .select("fail_count")
      .where("id", "=", webhookId)
      .executeTakeFirst();
    if (!row) return null;
    failCount = row.fail_count;
  }
  if (change.disable) {
    await trx
      .updateTable("webhooks")
      .set({ enabled: 0, health_status: "disabled" })
      .where("id", "=", webhookId)
      .execute();
  }
  return failCount;
}

/**
 * Writes an attempt's outcome over the Waiting row it was taken from, ending the lease; false
 * when the lease is no longer `held` (it ran out and another node took the delivery, or the
 * row was changed meanwhile).
 */
export async function updateDeliveryOutcome(
  trx: Executor,
  row: AttemptOutcomeRow,
  held: Lease,
): Promise<boolean> {
  const result = await trx
    .updateTable("deliveries")
    .set({
      process_status: row.processStatus,
      attempts: row.attempts,
      next_attempt_at: row.nextAttemptAt,
      response_status_code: row.statusCode,
      response_message: row.responseMessage,
      last_error: row.lastError,
      duration_ms: row.durationMs,
      signature: row.signature,
      updated_at: row.now,
      lease_owner: null,
      lease_until: null,
    })
    .where("id", "=", row.id)
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .where("lease_owner", "=", held.owner)
    .where("lease_until", "=", held.until)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
