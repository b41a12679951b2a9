/**
 * Recording an attempt: the delivery's new state, the attempt row and the webhook's health, as
 * prepared statements run synchronously in the caller's transaction (a group-committed batch,
 * or the Kysely transaction in which the failure hook writes its mail notice).
 */

import type { HealthStatus } from "../db/database.ts";
import type { GroupCommit } from "./group-commit.ts";

/**
 * Keeps failCount, lastDeliveredAt and healthStatus current, and disables the webhook on
 * `410 Gone`; a webhook someone disabled during the attempt keeps saying so. Returns the
 * webhook's failCount now, or null when the webhook is gone. Only the disabling statement
 * writes `enabled`, so an ordinary outcome does not move the generation ingestion caches the
 * webhooks by (migration 0005).
 */
export function updateWebhookHealthNow(
  statements: GroupCommit,
  webhookId: string,
  change: { success: boolean; disable: boolean; now: number },
): number | null {
  const row = statements
    .get(
      `update webhooks set
         fail_count = case when ?1 then 0 else fail_count + 1 end,
         last_delivered_at = case when ?1 then ?2 else last_delivered_at end,
         health_status = case when enabled = 1 then ?3 else health_status end
       where id = ?4
       returning fail_count`,
    )
    .get(
      change.success ? 1 : 0,
      change.now,
      (change.success ? "working" : "failing") satisfies HealthStatus,
      webhookId,
    ) as { fail_count: number } | null;
  if (row && change.disable) {
    statements
      .get(`update webhooks set enabled = 0, health_status = 'disabled' where id = ?`)
      .run(webhookId);
  }
  return row?.fail_count ?? null;
}

export interface AttemptOutcomeRow {
  id: string;
  processStatus: number;
  attempts: number;
  nextAttemptAt: number;
  statusCode: number | null;
  responseMessage: string | null;
  lastError: string | null;
  durationMs: number;
  signature: string;
  now: number;
}

/**
 * Writes an attempt's outcome over the Waiting row it was taken from; false when the row is no
 * longer Waiting (changed by hand or by another process meanwhile).
 */
export function updateDeliveryOutcomeNow(statements: GroupCommit, row: AttemptOutcomeRow): boolean {
  return (
    statements
      .get(
        `update deliveries set process_status = ?, attempts = ?, next_attempt_at = ?,
           response_status_code = ?, response_message = ?, last_error = ?, duration_ms = ?,
           signature = ?, updated_at = ?
         where id = ? and process_status = 0`,
      )
      .run(
        row.processStatus,
        row.attempts,
        row.nextAttemptAt,
        row.statusCode,
        row.responseMessage,
        row.lastError,
        row.durationMs,
        row.signature,
        row.now,
        row.id,
      ).changes > 0
  );
}

export interface AttemptRecord {
  id: string;
  deliveryId: string;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  requestHeaders: string;
}

export function insertAttemptNow(statements: GroupCommit, attempt: AttemptRecord): void {
  statements
    .get(
      `insert into attempts (id, delivery_id, number, started_at, duration_ms, status_code, error,
         response_body, request_headers) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      attempt.id,
      attempt.deliveryId,
      attempt.number,
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.error,
      attempt.responseBody,
      attempt.requestHeaders,
    );
}
