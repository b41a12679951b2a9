/**
 * The kept totals on PostgreSQL: the same tables as on SQLite (counts.ts), each total spread
 * over up to {@link SHARDS} rows by `shard`. Every write of a transaction adds to one shard, so
 * transactions of several connections and nodes that move the same webhook's totals at once
 * rarely wait for one another's row lock (a lock held until the commit is flushed). Readers
 * add the shards up (`keptStatusCount`, `keptStateCount`).
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import type { Tally, TotalChange } from "../counts.ts";

/** How many rows a total may be spread over. */
const SHARDS = 16;

let nextShard = 0;

/** The two tables of totals: by status (an integer) and by kept state (text). */
const TOTALS = {
  status: { table: "delivery_counts", key: "process_status", keyType: "integer" },
  state: { table: "delivery_state_counts", key: "state", keyType: "text" },
} as const;

/** Adds the changes to one table's totals, in `shard`. */
async function addTo(
  trx: Executor,
  totals: (typeof TOTALS)[keyof typeof TOTALS],
  changes: readonly TotalChange[],
  shard: number,
): Promise<void> {
  if (changes.length === 0) return;
  const table = sql.table(totals.table);
  const key = sql.ref(totals.key);
  await sql`insert into ${table} (webhook_id, ${key}, shard, count)
    select webhook_id, key, ${shard}, delta
    from unnest(${changes.map((change) => change.webhookId)}::text[],
                ${changes.map((change) => change.key)}::${sql.raw(totals.keyType)}[],
                ${changes.map((change) => change.delta)}::bigint[])
      as changed (webhook_id, key, delta)
    on conflict (webhook_id, ${key}, shard)
    do update set count = ${table}.count + excluded.count`.execute(trx);
}

/** Writes the tally's changes, added up, in the caller's transaction; forgets them. */
export async function writeTally(trx: Executor, tally: Tally): Promise<void> {
  const sums = tally.takeSums();
  if (sums.length === 0) return;
  nextShard = (nextShard + 1) % SHARDS;
  // Sorted by webhook and key (takeSums): writers lock rows in one order, so never in a cycle.
  const statuses = sums.filter((sum) => typeof sum.key === "number");
  const states = sums.filter((sum) => typeof sum.key !== "number");
  await addTo(trx, TOTALS.status, statuses, nextShard);
  await addTo(trx, TOTALS.state, states, nextShard);
}
