/**
 * Recording attempts on PostgreSQL, a batch at a time in the caller's transaction
 * (batch.ts): each delivery's new state over the lease it was taken with, the attempt rows,
 * and the webhooks' health. A success's `last_delivered_at` is written apart
 * (success-health.ts).
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import type { AttemptOutcomeRow } from "../outcomes.ts";
import type { Lease } from "./queue.ts";

/** What a batch's outcomes tell one webhook, in the order they came. */
export interface HealthChange {
  webhookId: string;
  /** Whether a success came in the batch: the failures in a row start again from it. */
  succeeded: boolean;
  /** Failed attempts after the batch's last success (all of them, when none succeeded). */
  failuresAfter: number;
  /** A `410 Gone` came: the webhook is disabled. */
  disable: boolean;
  /** When the batch's outcomes were recorded: a streak of failures starting in it starts then. */
  at: number;
}

/**
 * Writes each webhook's health as a batch of outcomes leaves it — failCount, healthStatus, and
 * on `410 Gone` the webhook disabled — in webhook id order (transactions that lock the same rows
 * lock them in one order, so never in a cycle). A webhook with only successes, already at 0
 * failures and `working`, is not written at all: its row is shared by every attempt of every
 * node, and an update would hold its lock until the commit. Returns each webhook's failCount
 * now, absent for a webhook that is gone. (`last_delivered_at` moves apart: success-health.ts.)
 */
export async function recordWebhookHealth(
  trx: Executor,
  changes: readonly HealthChange[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const ordered = [...changes].sort((a, b) => (a.webhookId < b.webhookId ? -1 : 1));
  for (const change of ordered) {
    const failing = change.failuresAfter > 0;
    const base = change.succeeded ? sql<number>`0` : sql<number>`fail_count`;
    const health = change.disable
      ? sql<string>`'disabled'`
      : sql<string>`case when enabled = 1 then ${failing ? "failing" : "working"} else health_status end`;
    const only =
      failing || change.disable
        ? sql`true`
        : sql`(fail_count <> 0 or (enabled = 1 and health_status <> 'working'))`;
    // The streak's start: kept while failures go on, new after a success, gone without any.
    const failingSince = !failing
      ? sql`null`
      : change.succeeded
        ? sql`${change.at}::bigint`
        : sql`coalesce(failing_since, ${change.at}::bigint)`;
    const updated = await sql<{ fail_count: number }>`update webhooks set
        fail_count = ${base} + ${change.failuresAfter},
        failing_since = ${failingSince},
        health_status = ${health},
        enabled = ${change.disable ? sql`0` : sql`enabled`}
      where id = ${change.webhookId} and ${only}
      returning fail_count`.execute(trx);
    let count = updated.rows[0]?.fail_count;
    if (count === undefined) {
      // Nothing to change (successes of a healthy webhook), or no such webhook.
      const row = await trx
        .selectFrom("webhooks")
        .select("fail_count")
        .where("id", "=", change.webhookId)
        .executeTakeFirst();
      count = row?.fail_count;
    }
    if (count !== undefined) counts.set(change.webhookId, count);
  }
  return counts;
}

/**
 * A success at `at` moves `last_delivered_at` (never back), written only when it would show
 * something new (see success-health.ts).
 */
export async function markWebhookDelivered(
  db: Executor,
  webhookId: string,
  at: number,
): Promise<void> {
  await db
    .updateTable("webhooks")
    .set({ last_delivered_at: at })
    .where("id", "=", webhookId)
    .where((eb) => eb.or([eb("last_delivered_at", "is", null), eb("last_delivered_at", "<", at)]))
    .execute();
}

/** One outcome to write over its lease. */
export interface LeasedOutcome {
  row: AttemptOutcomeRow;
  held: Lease;
}

/**
 * Writes the outcomes over the Waiting rows they were taken from, ending their leases, in one
 * statement; returns the ids written. A delivery missing from them had lost its lease (it ran
 * out and another node took it, or the row was changed meanwhile): its outcome is not written.
 */
export async function updateDeliveryOutcomes(
  trx: Executor,
  outcomes: readonly LeasedOutcome[],
): Promise<Set<string>> {
  if (outcomes.length === 0) return new Set();
  const column = <T>(pick: (outcome: LeasedOutcome) => T) => outcomes.map(pick);
  const result = await sql<{ id: string }>`update deliveries as d set
      process_status = o.process_status, attempts = o.attempts,
      next_attempt_at = o.next_attempt_at, response_status_code = o.status_code,
      response_message = o.response_message, last_error = o.last_error,
      duration_ms = o.duration_ms, signature = o.signature, updated_at = o.updated_at,
      lease_owner = null, lease_until = null
    from unnest(
      ${column((o) => o.row.id)}::text[], ${column((o) => o.row.processStatus)}::integer[],
      ${column((o) => o.row.attempts)}::integer[], ${column((o) => o.row.nextAttemptAt)}::bigint[],
      ${column((o) => o.row.statusCode)}::integer[], ${column((o) => o.row.responseMessage)}::text[],
      ${column((o) => o.row.lastError)}::text[], ${column((o) => o.row.durationMs)}::integer[],
      ${column((o) => o.row.signature)}::text[], ${column((o) => o.row.now)}::bigint[],
      ${column((o) => o.held.owner)}::text[], ${column((o) => o.held.until)}::bigint[]
    ) as o (id, process_status, attempts, next_attempt_at, status_code, response_message,
      last_error, duration_ms, signature, updated_at, lease_owner, lease_until)
    where d.id = o.id and d.process_status = ${sql.lit(ProcessStatus.Waiting)}
      and d.lease_owner = o.lease_owner and d.lease_until = o.lease_until
    returning d.id`.execute(trx);
  return new Set(result.rows.map((row) => row.id));
}
