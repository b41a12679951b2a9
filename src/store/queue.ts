/**
 * The queue: Waiting deliveries, found per webhook through the partial index `deliveries_due`
 * (webhook_id, next_attempt_at) where process_status = 0, and what sending needs of each
 * webhook. Taking work writes nothing (see in-flight.ts): the statements only read, and run
 * synchronously inside a group-committed batch, where they share its transaction. Statuses are
 * literals so that SQLite uses the partial index.
 */

import { type ExpressionBuilder, sql } from "kysely";
import type { Database, Executor } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import type { Tally } from "./counts.ts";
import type { GroupCommit } from "./group-commit.ts";

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
  previous_secret: string | null;
  previous_secret_until: number | null;
  /** The delivery controls (issue 16): see the webhook table's columns. */
  ordered: number;
  rate_limit_per_second: number | null;
  retry_schedule: string | null;
}

/** A Waiting delivery taken for an attempt. */
export interface DueDelivery {
  id: string;
  workspace: string;
  webhook_id: string;
  /** Null for an original delivery (see `messageIdOf`). */
  message_id: string | null;
  body: string;
  attempts: number;
  max_attempts: number;
  created_at: number;
}

/** Why a delivery ends in Error when its webhook was deleted before it could be sent. */
export const WEBHOOK_GONE = "webhook deleted before delivery";

/** The enabled webhooks with what sending needs: the one query of them, on either backend. */
export function dispatchableWebhooksQuery(db: Executor) {
  return db
    .selectFrom("webhooks")
    .select([
      "id",
      "workspace",
      "endpoint",
      "secret",
      "headers",
      "timeout_seconds",
      "auth",
      "fail_count",
      "previous_secret",
      "previous_secret_until",
      "ordered",
      "rate_limit_per_second",
      "retry_schedule",
    ])
    .where("enabled", "=", 1)
    .orderBy("id");
}

/** The query of {@link dueRowsNow}: webhook id, now, limit (exported for its plan's test). */
export const DUE_ROWS = `select rowid as row from deliveries
  where process_status = 0 and webhook_id = ? and next_attempt_at <= ?
  order by next_attempt_at limit ?`;

/**
 * The row ids of the webhook's due Waiting deliveries, oldest due first, at most `limit`: read
 * from `deliveries_due` alone (the index holds the row id), so skipping those already in flight
 * costs no row read.
 */
export function dueRowsNow(
  statements: GroupCommit,
  webhookId: string,
  now: number,
  limit: number,
): number[] {
  const rows = statements.get(DUE_ROWS).all(webhookId, now, limit) as { row: number }[];
  return rows.map((row) => row.row);
}

/** One delivery found by {@link dueRowsNow}, by its row id. */
export function dueDeliveryNow(
  statements: GroupCommit,
  row: number,
): (DueDelivery & { row: number }) | null {
  return statements
    .get(
      `select rowid as row, id, workspace, webhook_id, message_id, body, attempts, max_attempts,
         created_at
       from deliveries where rowid = ?`,
    )
    .get(row) as (DueDelivery & { row: number }) | null;
}

/**
 * An ordered webhook's head of the line: its oldest Waiting delivery by acceptance
 * (`created_at`, then id), read from `deliveries_log_by_status`, with its row id and when it is
 * due; null when nothing waits.
 */
export function orderedHeadNow(
  statements: GroupCommit,
  webhookId: string,
): { row: number; next_attempt_at: number } | null {
  return statements
    .get(
      `select rowid as row, next_attempt_at from deliveries
       where webhook_id = ? and process_status = 0
       order by created_at, id limit 1`,
    )
    .get(webhookId) as { row: number; next_attempt_at: number } | null;
}

/** When the webhook's next Waiting delivery falls due after `now`; null when none will. */
export function nextDueAfterNow(
  statements: GroupCommit,
  webhookId: string,
  now: number,
): number | null {
  const row = statements
    .get(
      `select min(next_attempt_at) as next from deliveries
       where process_status = 0 and webhook_id = ? and next_attempt_at > ?`,
    )
    .get(webhookId, now) as { next: number | null } | null;
  return row?.next ?? null;
}

/**
 * Deliveries no node holds at `now`: no lease, or one that has run out (PostgreSQL's leases;
 * SQLite writes none, so there every delivery passes).
 */
export function notLeasedAt(now: number) {
  return (eb: ExpressionBuilder<Database, "deliveries">) =>
    eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]);
}

/** The row a delivery failed for its deleted webhook comes back as, for the kept totals. */
type FailedRow = { webhook_id: string; attempts: number; max_attempts: number };

/** What a Waiting delivery of a deleted webhook becomes: Error, `WEBHOOK_GONE` (either adapter). */
export function failedAsGone(now: number) {
  return {
    process_status: ProcessStatus.Error,
    last_error: WEBHOOK_GONE,
    response_message: WEBHOOK_GONE,
    updated_at: now,
  };
}

/** The columns a failed row comes back with, for the kept totals ({@link FailedRow}). */
export const FAILED_ROW = ["webhook_id", "attempts", "max_attempts"] as const;

/**
 * Fails the Waiting deliveries of a deleted webhook, so nothing waits for it forever — except
 * those in flight, whose attempt records their outcome: `spared` names them (SQLite, where
 * the server knows them), or `"leased"` spares every running lease, checked on each row as it
 * is updated (PostgreSQL, where a node may take one at any moment). Runs in the caller's
 * transaction; `tally` hears of every row it moves.
 */
export async function failWaitingOfWebhook(
  db: Executor,
  tally: Tally,
  change: { webhookId: string; now: number; spared: readonly string[] | "leased" },
): Promise<number> {
  const { spared } = change;
  const failed = await db
    .updateTable("deliveries")
    .set(failedAsGone(change.now))
    .where("webhook_id", "=", change.webhookId)
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .$if(spared === "leased", (query) => query.where(notLeasedAt(change.now)))
    .$if(spared !== "leased" && spared.length > 0, (query) =>
      query.where("id", "not in", spared as readonly string[]),
    )
    .returning(FAILED_ROW)
    .execute();
  tally.waitingFailed(failed);
  return failed.length;
}

/**
 * The prepared form of {@link failWaitingOfWebhook}'s change (`?1` the reason, `?2` the time),
 * for the statements below to add their WHERE and RETURNING to.
 */
const FAIL_AS_GONE = `update deliveries set process_status = -1, last_error = ?1,
  response_message = ?1, updated_at = ?2`;
const RETURNING_FAILED = "returning webhook_id, attempts, max_attempts";

/**
 * A taken delivery that goes back unattempted: if its webhook was deleted meanwhile, it ends in
 * Error (`WEBHOOK_GONE`) — the deletion spared it while it was in flight, and nothing would ever
 * take it now. Synchronous, in the caller's batch; `tally` hears of it; true when it failed.
 */
export function failIfWebhookGoneNow(
  statements: GroupCommit,
  tally: Tally,
  deliveryId: string,
  now: number,
): boolean {
  const failed = statements
    .get(
      `${FAIL_AS_GONE}
       where id = ?3 and process_status = 0
         and not exists (select 1 from webhooks w where w.id = deliveries.webhook_id)
       ${RETURNING_FAILED}`,
    )
    .all(WEBHOOK_GONE, now, deliveryId) as FailedRow[];
  tally.waitingFailed(failed);
  return failed.length > 0;
}

/**
 * The Waiting deliveries of webhooks that no longer exist end in Error (`WEBHOOK_GONE`); only
 * webhooks with a Waiting total are searched. Synchronous, in the caller's batch, at start
 * (nothing is in flight then); `tally` hears of every row; returns how many failed.
 */
export function failWaitingOfDeletedWebhooksNow(
  statements: GroupCommit,
  tally: Tally,
  now: number,
): number {
  const failed = statements
    .get(
      `${FAIL_AS_GONE}
       where webhook_id in (
           select c.webhook_id from delivery_counts c
           where c.process_status = 0 and c.count > 0
             and not exists (select 1 from webhooks w where w.id = c.webhook_id))
         and process_status = 0
       ${RETURNING_FAILED}`,
    )
    .all(WEBHOOK_GONE, now) as FailedRow[];
  tally.waitingFailed(failed);
  return failed.length;
}
