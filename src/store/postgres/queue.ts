/**
 * The queue on PostgreSQL, shared by every node of a cluster. A delivery stays Waiting until its
 * outcome is recorded; the node that takes it writes a lease: `lease_owner` (the node) and
 * `lease_until`, with `next_attempt_at` moved to the same time. So the delivery is not due to
 * anyone while the lease runs, and is due again — to any node, through the same index,
 * `deliveries_due` — the moment it runs out: a node that dies (kill -9, power off) has its work
 * taken over without anyone noticing the death. Readers see a delivery with a running lease as
 * Processing.
 *
 * Taking is `FOR UPDATE SKIP LOCKED` (nodes never wait for each other's rows), under a
 * transaction-scoped advisory lock per webhook, so the webhook's limit of attempts in flight —
 * counted over every node's running leases — holds across the cluster.
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import type { Want } from "../delivery-store.ts";
import type { DueDelivery } from "../queue.ts";

/** A delivery taken here, and the lease that makes it this node's. */
export interface Leased {
  delivery: DueDelivery;
  leaseUntil: number;
}

/** Who holds a lease, and until when: what an outcome's write checks it still holds. */
export interface Lease {
  owner: string;
  until: number;
}

/** The advisory lock key of taking a webhook's work (one lock space for all of Hookpost). */
function takeLock(webhookId: string) {
  return sql`pg_advisory_xact_lock(hashtextextended(${`hookpost.take:${webhookId}`}, 0))`;
}

/**
 * Takes up to `room` of the webhook's due deliveries for `owner`, within the webhook's limit of
 * attempts in flight over the whole cluster. Returns what was taken, and whether the cluster's
 * limit (not the lack of due work) stopped it short.
 */
export async function takeLeased(
  db: Executor,
  want: Want,
  room: number,
  lease: { owner: string; now: number; until: number },
): Promise<{ taken: DueDelivery[]; limited: boolean }> {
  return db.transaction().execute(async (trx) => {
    await sql`select ${takeLock(want.webhook.id)}`.execute(trx);
    // After the lock, in a statement of its own: it sees every take committed before it.
    const state = await sql<{ fail_count: number | null; leased: number }>`select
        (select fail_count from webhooks where id = ${want.webhook.id}) as fail_count,
        (select count(*) from deliveries
          where webhook_id = ${want.webhook.id} and process_status = ${sql.lit(ProcessStatus.Waiting)}
            and lease_until > ${lease.now}) as leased`.execute(trx);
    const row = state.rows[0];
    if (!row || row.fail_count === null) return { taken: [], limited: false };
    const limit = row.fail_count >= want.failingAfter ? want.failingLimit : want.limit;
    const allowed = Math.min(room, limit - Number(row.leased));
    if (allowed <= 0) return { taken: [], limited: true };
    const taken = await sql<DueDelivery>`update deliveries as d
      set lease_owner = ${lease.owner}, lease_until = ${lease.until},
          next_attempt_at = ${lease.until}
      from (
        select id from deliveries
        where webhook_id = ${want.webhook.id} and process_status = ${sql.lit(ProcessStatus.Waiting)}
          and next_attempt_at <= ${lease.now}
        order by next_attempt_at
        limit ${allowed}
        for update skip locked
      ) as due
      where d.id = due.id
      returning d.id, d.workspace, d.webhook_id, d.message_id, d.body, d.attempts,
        d.max_attempts, d.created_at`.execute(trx);
    return { taken: taken.rows, limited: allowed < room };
  });
}

/** When the webhook's next Waiting delivery falls due after `now` (a lease's end included). */
export async function nextDueAfter(
  db: Executor,
  webhookId: string,
  now: number,
): Promise<number | null> {
  const row = await db
    .selectFrom("deliveries")
    .select((eb) => eb.fn.min<number | null>("next_attempt_at").as("next"))
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .where("webhook_id", "=", webhookId)
    .where("next_attempt_at", ">", now)
    .executeTakeFirst();
  return row?.next ?? null;
}

/**
 * Moves a lease this node holds: to `until` (a hold), or ends it with the delivery due at
 * `until` (a release). False when the lease is no longer this node's.
 */
export async function moveLease(
  db: Executor,
  deliveryId: string,
  held: Lease,
  change: { until: number; keep: boolean },
): Promise<boolean> {
  const result = await db
    .updateTable("deliveries")
    .set({
      lease_owner: change.keep ? held.owner : null,
      lease_until: change.keep ? change.until : null,
      next_attempt_at: change.until,
    })
    .where("id", "=", deliveryId)
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .where("lease_owner", "=", held.owner)
    .where("lease_until", "=", held.until)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The webhook's deliveries with a running lease (any node's), with their attempts so far. */
export async function leasedOf(
  db: Executor,
  webhookId: string,
  now: number,
): Promise<{ id: string; attempts: number }[]> {
  return db
    .selectFrom("deliveries")
    .select(["id", "attempts"])
    .where("webhook_id", "=", webhookId)
    .where("lease_until", ">", now)
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .execute();
}

/** Whether the delivery has a running lease (any node's). */
export async function isLeased(db: Executor, deliveryId: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom("deliveries")
    .select("id")
    .where("id", "=", deliveryId)
    .where("lease_until", ">", now)
    .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
    .executeTakeFirst();
  return row !== undefined;
}
