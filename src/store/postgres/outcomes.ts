/**
 * Recording attempts on PostgreSQL, a batch at a time in the caller's transaction
 * (batch.ts): each delivery's new state over the lease it was taken with, the attempt rows,
 * and for failures the webhook's health. A success's health is written apart
 * (success-health.ts).
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import type { AttemptOutcomeRow } from "../outcomes.ts";
import type { Lease } from "./queue.ts";

/**
 * A failed attempt: failCount one more, healthStatus `failing` (a webhook someone disabled
 * keeps saying so), and on `410 Gone` the webhook disabled. Returns the webhook's failCount now,
 * or null when the webhook is gone.
 */
export async function recordWebhookFailure(
  trx: Executor,
  webhookId: string,
  change: { disable: boolean },
): Promise<number | null> {
  const updated = await trx
    .updateTable("webhooks")
    .set((eb) => ({
      fail_count: eb("fail_count", "+", 1),
      health_status: change.disable
        ? "disabled"
        : sql<"failing" | "disabled">`case when enabled = 1 then 'failing' else health_status end`,
      ...(change.disable ? { enabled: 0 } : {}),
    }))
    .where("id", "=", webhookId)
    .returning("fail_count")
    .executeTakeFirst();
  return updated?.fail_count ?? null;
}

/**
 * A success at `at`: failCount 0, healthStatus `working` (unless disabled), lastDeliveredAt —
 * written only when the row would show something new (see success-health.ts).
 */
export async function markWebhookSucceeded(
  db: Executor,
  webhookId: string,
  at: number,
): Promise<void> {
  await sql`update webhooks set fail_count = 0,
      last_delivered_at = greatest(coalesce(last_delivered_at, 0), ${at}),
      health_status = case when enabled = 1 then 'working' else health_status end
    where id = ${webhookId}
      and (fail_count <> 0 or (enabled = 1 and health_status <> 'working')
        or last_delivered_at is null or last_delivered_at < ${at})`.execute(db);
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
