/**
 * The delivery log's `state` filter (seed 004): an index to page by state, and kept counts for
 * its totals. Four of the six states split a process status by the attempts made: Waiting is
 * `pending` before its first attempt and `retrying` after one; Error is `exhausted` once its
 * attempts reach `max_attempts` and `failed` before (a template that could not be rendered, a
 * `410 Gone`). Processing and Sent are whole statuses, which `deliveries_log_by_status` and
 * `delivery_counts` already serve.
 *
 * `deliveries_log_by_state` is keyed on the state as an expression, so each of `retrying`,
 * `failed` and `exhausted` is one range of it, newest first, however lopsided the split. Only rows
 * in those three states have an entry (the expression is null for the others, and the filter's
 * `expression = state` implies the `is not null`), so a new delivery — `pending` — writes no entry
 * and one that succeeds at its first attempt never has one: only failed attempts pay for it.
 * `pending` pages through `deliveries_log_by_status` (Waiting) with `attempts = 0`. The expression
 * must stay the one `src/deliveries/repository.ts` queries with, token for token: SQLite matches
 * an indexed expression by its structure (test/deliveries/log-indexes.test.ts checks the plans).
 *
 * `delivery_state_counts` counts, per webhook, the `retrying` and `exhausted` deliveries, kept by
 * triggers like `delivery_counts`; `pending` and `failed` are their status's count minus those.
 * Counting those two rather than the other two keeps ingest free of it: a new delivery is
 * `pending`, or `failed` when its template cannot be rendered. On 1,000,000 rows (82 % Sent,
 * 10 % retrying, 8 % exhausted), walking the status index and reading every row's attempts took
 * 130–270 ms per page or count; the index pages in 0.1 ms but counts 100,000 entries in 7 ms,
 * most of a request's 10 ms budget; the kept count is one lookup.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

const STATE = sql`case process_status
  when 0 then case when attempts > 0 then 'retrying' end
  when -1 then case when attempts >= max_attempts then 'exhausted' else 'failed' end
end`;

/** The kept state of the trigger's `old` or `new` row: retrying, exhausted, or null. */
function keptState(row: "old" | "new") {
  const column = (name: string) => sql.raw(`${row}.${name}`);
  return sql`(case
    when ${column("process_status")} = 0 and ${column("attempts")} > 0 then 'retrying'
    when ${column("process_status")} = -1
      and ${column("attempts")} >= ${column("max_attempts")} then 'exhausted'
  end)`;
}

const ADD_NEW = sql`insert into delivery_state_counts (webhook_id, state, count)
  select new.webhook_id, ${keptState("new")}, 1 where ${keptState("new")} is not null
  on conflict (webhook_id, state) do update set count = count + 1`;
const REMOVE_OLD = sql`update delivery_state_counts set count = count - 1
  where webhook_id = old.webhook_id and state = ${keptState("old")}`;

export async function up(db: AnyDatabase): Promise<void> {
  await sql`create index deliveries_log_by_state
    on deliveries (webhook_id, (${STATE}), created_at, id)
    where (${STATE}) is not null`.execute(db);

  await sql`create table delivery_state_counts (
    webhook_id text not null,
    state text not null,
    count integer not null,
    primary key (webhook_id, state)
  ) without rowid`.execute(db);
  await sql`insert into delivery_state_counts (webhook_id, state, count)
    select webhook_id, ${STATE}, count(*) from deliveries
    where (${STATE}) in ('retrying', 'exhausted') group by 1, 2`.execute(db);
  await sql`create trigger delivery_state_counts_insert after insert on deliveries
    when ${keptState("new")} is not null begin ${ADD_NEW}; end`.execute(db);
  await sql`create trigger delivery_state_counts_update
    after update of process_status, attempts, max_attempts, webhook_id on deliveries
    when ${keptState("old")} is not ${keptState("new")} or old.webhook_id <> new.webhook_id
    begin ${REMOVE_OLD}; ${ADD_NEW}; end`.execute(db);
  await sql`create trigger delivery_state_counts_delete after delete on deliveries
    when ${keptState("old")} is not null begin ${REMOVE_OLD}; end`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const trigger of [
    "delivery_state_counts_insert",
    "delivery_state_counts_update",
    "delivery_state_counts_delete",
  ]) {
    await sql`drop trigger if exists ${sql.raw(trigger)}`.execute(db);
  }
  await db.schema.dropTable("delivery_state_counts").ifExists().execute();
  await db.schema.dropIndex("deliveries_log_by_state").execute();
}
