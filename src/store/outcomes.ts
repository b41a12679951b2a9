/**
 * Recording an attempt: what it writes — the delivery's new state, the attempt row, the totals'
 * change, the failure hook's notice — worked out once for both adapters (`outcomeOf`), and the
 * SQLite adapter's prepared statements that write it, run synchronously in the caller's
 * transaction (a group-committed batch, or the Kysely transaction in which the failure hook
 * writes its mail notice). PostgreSQL's are in postgres/outcomes.ts.
 */

import type { Selectable } from "kysely";
import type { AttemptTable, HealthStatus } from "../db/database.ts";
import type { DeliveryFailure, FailureReason } from "../deliveries/failure.ts";
import { ProcessStatus, statusOfDecision } from "../deliveries/status.ts";
import { newId } from "../ids.ts";
import type { CountedState, Tally } from "./counts.ts";
import type { AttemptRecord, Recorded } from "./delivery-store.ts";
import type { GroupCommit } from "./group-commit.ts";
import type { DueDelivery } from "./queue.ts";

/**
 * Keeps failCount, failingSince, lastDeliveredAt and healthStatus current, and disables the webhook on
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
         failing_since = case when ?1 then null else coalesce(failing_since, ?2) end,
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

/** An attempt's row, as either adapter inserts it. */
export type NewAttempt = Selectable<AttemptTable>;

export function insertAttemptNow(statements: GroupCommit, attempt: NewAttempt): void {
  statements
    .get(
      `insert into attempts (id, delivery_id, webhook_id, number, started_at, duration_ms,
         status_code, error, response_body, request_headers) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      attempt.id,
      attempt.delivery_id,
      attempt.webhook_id,
      attempt.number,
      attempt.started_at,
      attempt.duration_ms,
      attempt.status_code,
      attempt.error,
      attempt.response_body,
      attempt.request_headers,
    );
}

/** What the kept totals know of a taken delivery, in `processStatus` after `attempts`. */
export function countedAs(
  delivery: DueDelivery,
  processStatus: number,
  attempts: number,
): CountedState {
  return {
    webhookId: delivery.webhook_id,
    processStatus,
    attempts,
    maxAttempts: delivery.max_attempts,
  };
}

/** What an attempt writes, on either backend, once its webhook's failures in a row are known. */
export interface Outcome {
  recorded: Recorded;
  /** The delivery's new state. */
  row: AttemptOutcomeRow;
  /** The attempt's row. */
  attempt: NewAttempt;
}

/**
 * The outcome of `record` as it is stored, given its webhook's failures in a row after it (null:
 * the webhook is gone). A retry whose webhook was deleted during the attempt becomes a failure:
 * nothing will ever take it.
 */
export function outcomeOf(record: AttemptRecord, failCount: number | null): Outcome {
  const { delivery, now } = record;
  let { decision } = record;
  let error = record.error;
  if (failCount === null && decision.kind === "retry") {
    error = `${record.error}; webhook deleted, no further attempts`;
    decision = { kind: "failed", reason: "exhausted" };
  }
  const number = delivery.attempts + 1;
  return {
    recorded: { decision, error, failCount },
    row: {
      id: delivery.id,
      processStatus: statusOfDecision(decision),
      attempts: number,
      nextAttemptAt: decision.kind === "retry" ? decision.nextAttemptAt : now,
      statusCode: record.statusCode,
      responseMessage: record.responseMessage,
      lastError: error,
      durationMs: record.durationMs,
      signature: record.signature,
      now,
    },
    attempt: {
      id: newId("att", now),
      delivery_id: delivery.id,
      webhook_id: delivery.webhook_id,
      number,
      started_at: record.startedAt,
      duration_ms: record.durationMs,
      status_code: record.statusCode,
      error: record.error,
      response_body: record.responseBody,
      request_headers: record.requestHeaders,
    },
  };
}

/** Tells `tally` that the outcome moved its delivery from Waiting to the outcome's state. */
export function tallyOutcome(tally: Tally, delivery: DueDelivery, row: AttemptOutcomeRow): void {
  tally.change(
    countedAs(delivery, ProcessStatus.Waiting, delivery.attempts),
    countedAs(delivery, row.processStatus, row.attempts),
  );
}

/** The failure hook's account of an outcome that ended its delivery in Error. */
export function attemptFailureOf(
  record: AttemptRecord,
  outcome: Outcome,
  reason: FailureReason,
): DeliveryFailure {
  return {
    workspace: record.delivery.workspace,
    webhookId: record.delivery.webhook_id,
    deliveryId: record.delivery.id,
    deliveryCreatedAt: record.delivery.created_at,
    reason,
    attempts: outcome.row.attempts,
    statusCode: record.statusCode,
    error: outcome.recorded.error,
    at: record.now,
  };
}
