/**
 * The scheduler's per-tick and per-attempt SQL as prepared statements, run synchronously inside
 * the group-committed batches of {@link StatementCache.exclusive}. The same queries in Kysely
 * form live in `repository.ts` for the rare paths (startup, shutdown, failures). Statuses are
 * literals so that SQLite uses the partial indexes.
 */

import type { HealthStatus } from "../db/database.ts";
import type { StatementCache } from "../db/statement-cache.ts";

/** What the scheduler needs of a webhook to send to it. */
export interface DispatchableWebhook {
  id: string;
  workspace: string;
  endpoint: string;
  secret: string;
  headers: string;
  timeout_seconds: number;
  auth: string;
  /** Failed attempts in a row when the list was read (each outcome then reports the newer count). */
  fail_count: number;
}

/** A delivery moved to Processing by a claim, with its lease. */
export interface ClaimedDelivery {
  id: string;
  workspace: string;
  webhook_id: string;
  /** Null for an original delivery (see `messageIdOf`). */
  message_id: string | null;
  body: string;
  attempts: number;
  max_attempts: number;
  created_at: number;
  lease_until: number;
}

/** Why a delivery ends in Error when its webhook was deleted before it could be sent. */
export const WEBHOOK_GONE = "webhook deleted before delivery";

const WEBHOOK_EXISTS = "exists (select 1 from webhooks w where w.id = deliveries.webhook_id)";

/**
 * Processing deliveries back to the queue: Waiting again — or Error, when their webhook was
 * deleted while they were in flight (nothing would ever claim them).
 */
const RETURN_TO_QUEUE = `update deliveries set
    process_status = case when ${WEBHOOK_EXISTS} then 0 else -1 end,
    last_error = case when ${WEBHOOK_EXISTS} then last_error else '${WEBHOOK_GONE}' end,
    lease_until = null`;

/**
 * Every Processing delivery: only webhooks that have any are searched (`delivery_counts`,
 * whose triggers follow every change of a row's status or webhook), each through
 * `deliveries_log_by_status` — never a scan of the log.
 */
const EVERY_PROCESSING = `where webhook_id in (
      select webhook_id from delivery_counts where process_status = 1 and count > 0)
    and process_status = 1`;

/** At startup: whatever a previous process was sending goes back to the queue. */
export function resetAllProcessingNow(statements: StatementCache): number {
  return statements.get(`${RETURN_TO_QUEUE} ${EVERY_PROCESSING}`).run().changes;
}

/** Leases that ran out (their attempt never finished) go back to the queue. */
export function releaseExpiredLeasesNow(statements: StatementCache, now: number): number {
  return statements.get(`${RETURN_TO_QUEUE} ${EVERY_PROCESSING} and lease_until < ?`).run(now)
    .changes;
}

/** One delivery whose attempt was aborted (shutdown) goes back to the queue. */
export function releaseDeliveryNow(statements: StatementCache, id: string): void {
  statements.get(`${RETURN_TO_QUEUE} where id = ? and process_status = 1`).run(id);
}

export function dispatchableWebhooks(statements: StatementCache): DispatchableWebhook[] {
  return statements
    .get(
      "select id, workspace, endpoint, secret, headers, timeout_seconds, auth, fail_count from webhooks where enabled = 1 order by id",
    )
    .all() as DispatchableWebhook[];
}

export function claimDueNow(
  statements: StatementCache,
  webhookId: string,
  now: number,
  limit: number,
  leaseUntil: number,
): ClaimedDelivery[] {
  return statements
    .get(
      `update deliveries set process_status = 1, lease_until = ?
       where id in (
         select id from deliveries
         where process_status = 0 and webhook_id = ? and next_attempt_at <= ?
         order by next_attempt_at limit ?)
       returning id, workspace, webhook_id, message_id, body, attempts, max_attempts, created_at,
         lease_until`,
    )
    .all(leaseUntil, webhookId, now, limit) as ClaimedDelivery[];
}

export function nextDueNow(statements: StatementCache, webhookId: string): number | null {
  const row = statements
    .get(
      "select min(next_attempt_at) as next from deliveries where process_status = 0 and webhook_id = ?",
    )
    .get(webhookId) as { next: number | null } | null;
  return row?.next ?? null;
}

/**
 * Keeps failCount, lastDeliveredAt and healthStatus current, and disables the webhook on
 * `410 Gone`; a webhook someone disabled during the attempt keeps saying so. Returns the
 * webhook's failCount now, or null when the webhook is gone. Only the disabling statement
 * writes `enabled`, so an ordinary outcome does not move the generation ingestion caches the
 * webhooks by (migration 0005).
 */
export function updateWebhookHealthNow(
  statements: StatementCache,
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
  leaseUntil: number | null;
  statusCode: number | null;
  responseMessage: string | null;
  lastError: string | null;
  durationMs: number;
  signature: string;
  now: number;
}

/** Writes an attempt's outcome while the lease is still ours; false when it is not. */
export function updateDeliveryOutcomeNow(
  statements: StatementCache,
  row: AttemptOutcomeRow,
): boolean {
  return (
    statements
      .get(
        `update deliveries set process_status = ?, attempts = ?, next_attempt_at = ?, lease_until = null,
           response_status_code = ?, response_message = ?, last_error = ?, duration_ms = ?,
           signature = ?, updated_at = ?
         where id = ? and process_status = 1 and lease_until = ?`,
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
        row.leaseUntil,
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

export function insertAttemptNow(statements: StatementCache, attempt: AttemptRecord): void {
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
