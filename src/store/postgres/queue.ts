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
 * transaction-scoped advisory lock per webhook (in the function `hookpost_take`), so the webhook's limit of attempts in flight
 * holds across the cluster: a node takes at most the limit less the other nodes' running
 * leases and less its own attempts in flight (its scheduler counts them, and frees a slot as
 * soon as the receiver answers 2xx, as on SQLite, rather than when the outcome commits).
 */

import { type ExpressionBuilder, sql } from "kysely";
import type { Database, Executor } from "../../db/database.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import { RATE_WINDOW_MS, type Want } from "../delivery-store.ts";
import type { DueDelivery } from "../queue.ts";

/** Who holds a lease, and until when: what an outcome's write checks it still holds. */
export interface Lease {
  owner: string;
  until: number;
}

/**
 * Takes up to `room` of the webhook's due deliveries for `owner`, within the webhook's limit of
 * attempts in flight less the other nodes' leases and this node's own attempts, and within its
 * order and rate limit, in one call of `hookpost_take` (PostgreSQL migrations 0001 and 0002
 * hold it, and say how). Returns what was taken, whether a limit (not the lack of due work)
 * stopped it short, and when the rate or the order lets the next one go (null: not those).
 */
export async function takeLeased(
  db: Executor,
  want: Want,
  room: number,
  lease: { owner: string; now: number; until: number },
): Promise<{ taken: DueDelivery[]; limited: boolean; nextAt: number | null }> {
  const { webhook } = want;
  const result = await sql<
    DueDelivery & { allowed: number | null; next_at: number | null }
  >`select * from hookpost_take(
      ${webhook.id}, ${lease.now}, ${lease.until}, ${lease.owner},
      ${room}, ${want.busy}, ${want.limit}, ${want.failingLimit}, ${want.failingAfter},
      ${webhook.ordered === 1}, ${webhook.rate_limit_per_second}, ${RATE_WINDOW_MS})`.execute(db);
  const [first, ...rows] = result.rows;
  const allowed = first?.allowed ?? 0;
  const taken = rows.map(({ allowed: _allowed, next_at: _nextAt, ...delivery }) => delivery);
  // A limit stopped the take only if it took all it was allowed: fewer means nothing more is due.
  return {
    taken,
    limited: allowed < room && taken.length >= allowed,
    nextAt: first?.next_at ?? null,
  };
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

/** Waiting deliveries with a running lease at `now`, any node's. */
export function leaseRunningAt(now: number) {
  return (eb: ExpressionBuilder<Database, "deliveries">) =>
    eb.and([
      eb("lease_until", ">", now),
      eb("process_status", "=", sql.lit(ProcessStatus.Waiting)),
    ]);
}

/** The Waiting delivery still held by `held` (no other node took it since). */
export function heldBy(held: Lease) {
  return (eb: ExpressionBuilder<Database, "deliveries">) =>
    eb.and([
      eb("process_status", "=", sql.lit(ProcessStatus.Waiting)),
      eb("lease_owner", "=", held.owner),
      eb("lease_until", "=", held.until),
    ]);
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
    .where(heldBy(held))
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
    .where(leaseRunningAt(now))
    .execute();
}

/** Whether the delivery has a running lease (any node's). */
export async function isLeased(db: Executor, deliveryId: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom("deliveries")
    .select("id")
    .where("id", "=", deliveryId)
    .where(leaseRunningAt(now))
    .executeTakeFirst();
  return row !== undefined;
}
