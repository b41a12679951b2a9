/**
 * The delivery log's kept totals: per webhook, how many deliveries are in each process status
 * (`delivery_counts`) and in the two states that split a status by the attempts made —
 * `retrying` and `exhausted` (`delivery_state_counts`; `pending` and `failed` are their status's
 * count minus these). A total is then one lookup instead of a count over a log of millions.
 *
 * The store keeps them, not triggers: every write of a delivery's status goes through the store,
 * which tells a {@link Tally} the row's state before and after; the tally adds the changes up and
 * writes one upsert per (webhook, status) or (webhook, state) that moved, at the end of the
 * transaction. A group-committed batch of 64 outcomes for one webhook thus costs two upserts,
 * where triggers cost two per row. {@link recountTotals} derives both tables from the log again,
 * for whoever writes delivery rows by hand (the tests that set up log states do; migration 0013
 * has its own frozen copy).
 */

import { sql } from "kysely";
import type { DeliveryStateCountTable, Executor } from "../db/database.ts";
import { deliveryState, ProcessStatus } from "../deliveries/status.ts";
import type { GroupCommit } from "./group-commit.ts";

export type KeptState = DeliveryStateCountTable["state"];

/** What the totals know of a delivery row. */
export interface CountedState {
  webhookId: string;
  processStatus: number;
  attempts: number;
  maxAttempts: number;
}

/**
 * The kept state of a row, by {@link deliveryState}'s rule: `retrying` (Waiting after a failed
 * attempt) or `exhausted` (Error with its attempts used up); null for the states counted as a
 * difference (pending, failed) or as a whole status.
 */
function keptStateOf(row: Omit<CountedState, "webhookId">): KeptState | null {
  const state = deliveryState({
    process_status: row.processStatus,
    attempts: row.attempts,
    max_attempts: row.maxAttempts,
  });
  return state === "retrying" || state === "exhausted" ? state : null;
}

/**
 * The state of a failed-at-least-once delivery in SQL (`retrying`, `failed`, `exhausted`), null
 * for the others. Written exactly as migration 0012 indexes it (`deliveries_log_by_state`):
 * SQLite matches an indexed expression by its structure, so the two must not drift
 * (test/deliveries/log-indexes.test.ts checks the plans). `deliveryState` (deliveries/status.ts)
 * is the same rule for one row; a test checks that they agree.
 */
export const SPLIT_STATE = sql<"retrying" | "failed" | "exhausted" | null>`case process_status
  when 0 then case when attempts > 0 then 'retrying' end
  when -1 then case when attempts >= max_attempts then 'exhausted' else 'failed' end
end`;

const ADD_TO_STATUS = `insert into delivery_counts (webhook_id, process_status, count) values (?, ?, ?)
  on conflict (webhook_id, process_status) do update set count = count + excluded.count`;
const ADD_TO_STATE = `insert into delivery_state_counts (webhook_id, state, count) values (?, ?, ?)
  on conflict (webhook_id, state) do update set count = count + excluded.count`;

/** One total's change: a status (number) or a kept state of a webhook, by `delta`. */
export interface TotalChange {
  webhookId: string;
  key: number | KeptState;
  delta: number;
}

/**
 * Changes to the kept totals, added up until {@link write}. Append-only with marks, so a
 * group-committed batch can drop the share of an item it rolled back (see GroupCommit).
 */
export class Tally {
  private changes: TotalChange[] = [];

  /** A row went from `before` to `after`; null is "no row" (inserted, or deleted). */
  change(before: CountedState | null, after: CountedState | null): void {
    if (before) this.count(before, -1);
    if (after) this.count(after, 1);
  }

  private count(row: CountedState, delta: number): void {
    this.changes.push({ webhookId: row.webhookId, key: row.processStatus, delta });
    const kept = keptStateOf(row);
    if (kept) this.changes.push({ webhookId: row.webhookId, key: kept, delta });
  }

  /**
   * Rows that were Waiting ended in Error with their attempts as they were (a deleted
   * webhook's, each told by its webhook id, attempts and allowed attempts).
   */
  waitingFailed(
    rows: readonly { webhook_id: string; attempts: number; max_attempts: number }[],
  ): void {
    for (const row of rows) {
      const counted = {
        webhookId: row.webhook_id,
        attempts: row.attempts,
        maxAttempts: row.max_attempts,
      };
      this.change(
        { ...counted, processStatus: ProcessStatus.Waiting },
        { ...counted, processStatus: ProcessStatus.Error },
      );
    }
  }

  /** A position to go back to with {@link rewind}. */
  mark(): number {
    return this.changes.length;
  }

  /** Forgets the changes told since `mark`. */
  rewind(mark: number): void {
    this.changes.length = mark;
  }

  /**
   * The changes added up per total, those that moved, in one order (by webhook, then status or
   * state: concurrent writers then lock the same totals in the same order), and forgets them.
   */
  takeSums(): TotalChange[] {
    const sums = new Map<string, TotalChange>();
    for (const change of this.changes) {
      const id = `${change.webhookId}\u0000${change.key}`;
      const sum = sums.get(id);
      if (sum) sum.delta += change.delta;
      else sums.set(id, { ...change });
    }
    this.changes = [];
    return [...sums.entries()]
      .filter(([, sum]) => sum.delta !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, sum]) => sum);
  }

  /**
   * Writes the changes, added up, with the transaction's statements (SQLite, synchronous: the
   * caller holds the transaction), and forgets them.
   */
  write(statements: GroupCommit): void {
    for (const { webhookId, key, delta } of this.takeSums()) {
      statements
        .get(typeof key === "number" ? ADD_TO_STATUS : ADD_TO_STATE)
        .run(webhookId, key, delta);
    }
  }
}

/** Both tables derived from the log again, in the caller's transaction. */
export async function recountTotals(db: Executor): Promise<void> {
  await db.deleteFrom("delivery_counts").execute();
  await sql`insert into delivery_counts (webhook_id, process_status, count)
    select webhook_id, process_status, count(*) from deliveries
    group by webhook_id, process_status`.execute(db);
  await db.deleteFrom("delivery_state_counts").execute();
  await sql`insert into delivery_state_counts (webhook_id, state, count)
    select webhook_id, ${SPLIT_STATE}, count(*) from deliveries
    where (${SPLIT_STATE}) in ('retrying', 'exhausted') group by 1, 2`.execute(db);
}

/** The webhook's deliveries in `status` (all of them when undefined), from `delivery_counts`. */
export async function keptStatusCount(
  db: Executor,
  webhookId: string,
  status: number | undefined,
): Promise<number> {
  let counts = db
    .selectFrom("delivery_counts")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("count"), eb.lit(0)).as("total"))
    .where("webhook_id", "=", webhookId);
  if (status !== undefined) counts = counts.where("process_status", "=", status);
  const counted = await counts.executeTakeFirstOrThrow();
  return Number(counted.total);
}

/** The webhook's `retrying` or `exhausted` deliveries, from `delivery_state_counts`. */
export async function keptStateCount(
  db: Executor,
  webhookId: string,
  state: KeptState,
): Promise<number> {
  // A sum: on PostgreSQL a total is kept in several rows (postgres/totals.ts).
  const row = await db
    .selectFrom("delivery_state_counts")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("count"), eb.lit(0)).as("total"))
    .where("webhook_id", "=", webhookId)
    .where("state", "=", state)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}
