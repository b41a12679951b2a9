/**
 * The kept totals on PostgreSQL: the same tables as on SQLite (counts.ts), each total spread
 * over up to {@link SHARDS} rows by `shard`. Every write of a transaction adds to one shard, so
 * transactions of several connections and nodes that move the same webhook's totals at once
 * rarely wait for one another's row lock (a lock held until the commit is flushed). Readers
 * add the shards up (`keptStatusCount`, `keptStateCount`).
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import type { Tally } from "../counts.ts";

/** How many rows a total may be spread over. */
const SHARDS = 16;

let nextShard = 0;

/** Writes the tally's changes, added up, in the caller's transaction; forgets them. */
export async function writeTally(trx: Executor, tally: Tally): Promise<void> {
  const sums = tally.takeSums();
  if (sums.length === 0) return;
  nextShard = (nextShard + 1) % SHARDS;
  const shard = nextShard;
  const statuses = sums.filter((sum) => typeof sum.key === "number");
  const states = sums.filter((sum) => typeof sum.key !== "number");
  // Sorted by webhook and key (takeSums): writers lock rows in one order, so never in a cycle.
  if (statuses.length > 0) {
    await sql`insert into delivery_counts (webhook_id, process_status, shard, count)
      select webhook_id, process_status, ${shard}, delta
      from unnest(${statuses.map((sum) => sum.webhookId)}::text[],
                  ${statuses.map((sum) => Number(sum.key))}::integer[],
                  ${statuses.map((sum) => sum.delta)}::bigint[])
        as changed (webhook_id, process_status, delta)
      on conflict (webhook_id, process_status, shard)
      do update set count = delivery_counts.count + excluded.count`.execute(trx);
  }
  if (states.length > 0) {
    await sql`insert into delivery_state_counts (webhook_id, state, shard, count)
      select webhook_id, state, ${shard}, delta
      from unnest(${states.map((sum) => sum.webhookId)}::text[],
                  ${states.map((sum) => String(sum.key))}::text[],
                  ${states.map((sum) => sum.delta)}::bigint[])
        as changed (webhook_id, state, delta)
      on conflict (webhook_id, state, shard)
      do update set count = delivery_state_counts.count + excluded.count`.execute(trx);
  }
}
