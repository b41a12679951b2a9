/**
 * The delivery store (issue 14) writes less per delivery:
 * - **No claim write.** The one server that owns the file keeps which deliveries are in flight
 *   in memory, so a delivery stays Waiting (process status 0) until its outcome is recorded, and
 *   Processing is never stored. Rows an older version left Processing go back to Waiting here
 *   (at-least-once, as its startup did).
 * - **No triggers on the log.** `delivery_counts` and `delivery_state_counts` are kept by the
 *   store (src/store/counts.ts), which adds a batch's changes up and writes one upsert per total
 *   that moved; the six triggers of 0004/0009/0012 go, and both tables are derived from the log
 *   once more, so they start exact.
 * - **`deliveries_created` goes**: no query reads deliveries by `created_at` alone (retention
 *   goes by id, every log query by webhook first), yet every delivery paid an entry in it.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

const TRIGGERS = [
  "delivery_counts_insert",
  "delivery_counts_update",
  "delivery_counts_delete",
  "delivery_state_counts_insert",
  "delivery_state_counts_update",
  "delivery_state_counts_delete",
];

const STATE = sql`case process_status
  when 0 then case when attempts > 0 then 'retrying' end
  when -1 then case when attempts >= max_attempts then 'exhausted' else 'failed' end
end`;

export async function up(db: AnyDatabase): Promise<void> {
  // Only webhooks with Processing rows are searched, through deliveries_log_by_status.
  await sql`update deliveries set process_status = 0, lease_until = null
    where webhook_id in (
      select webhook_id from delivery_counts where process_status = 1 and count > 0)
    and process_status = 1`.execute(db);
  for (const trigger of TRIGGERS) await sql`drop trigger if exists ${sql.raw(trigger)}`.execute(db);
  await sql`delete from delivery_counts`.execute(db);
  await sql`insert into delivery_counts (webhook_id, process_status, count)
    select webhook_id, process_status, count(*) from deliveries
    group by webhook_id, process_status`.execute(db);
  await sql`delete from delivery_state_counts`.execute(db);
  await sql`insert into delivery_state_counts (webhook_id, state, count)
    select webhook_id, ${STATE}, count(*) from deliveries
    where (${STATE}) in ('retrying', 'exhausted') group by 1, 2`.execute(db);
  await db.schema.dropIndex("deliveries_created").ifExists().execute();
}

/** The kept state of a trigger's `old` or `new` row, as 0012 wrote it. */
function keptState(row: "old" | "new") {
  const column = (name: string) => sql.raw(`${row}.${name}`);
  return sql`(case
    when ${column("process_status")} = 0 and ${column("attempts")} > 0 then 'retrying'
    when ${column("process_status")} = -1
      and ${column("attempts")} >= ${column("max_attempts")} then 'exhausted'
  end)`;
}

/** Back to 0012: the index and the triggers (as 0004, 0009 and 0012 left them). */
export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.createIndex("deliveries_created").on("deliveries").column("created_at").execute();
  const addNewStatus = sql`insert into delivery_counts (webhook_id, process_status, count)
    values (new.webhook_id, new.process_status, 1)
    on conflict (webhook_id, process_status) do update set count = count + 1`;
  const removeOldStatus = sql`update delivery_counts set count = count - 1
    where webhook_id = old.webhook_id and process_status = old.process_status`;
  await sql`create trigger delivery_counts_insert after insert on deliveries
    begin ${addNewStatus}; end`.execute(db);
  await sql`create trigger delivery_counts_update
    after update of process_status, webhook_id on deliveries
    when old.process_status <> new.process_status or old.webhook_id <> new.webhook_id
    begin ${removeOldStatus}; ${addNewStatus}; end`.execute(db);
  await sql`create trigger delivery_counts_delete after delete on deliveries
    begin ${removeOldStatus}; end`.execute(db);
  const addNewState = sql`insert into delivery_state_counts (webhook_id, state, count)
    select new.webhook_id, ${keptState("new")}, 1 where ${keptState("new")} is not null
    on conflict (webhook_id, state) do update set count = count + 1`;
  const removeOldState = sql`update delivery_state_counts set count = count - 1
    where webhook_id = old.webhook_id and state = ${keptState("old")}`;
  await sql`create trigger delivery_state_counts_insert after insert on deliveries
    when ${keptState("new")} is not null begin ${addNewState}; end`.execute(db);
  await sql`create trigger delivery_state_counts_update
    after update of process_status, attempts, max_attempts, webhook_id on deliveries
    when ${keptState("old")} is not ${keptState("new")} or old.webhook_id <> new.webhook_id
    begin ${removeOldState}; ${addNewState}; end`.execute(db);
  await sql`create trigger delivery_state_counts_delete after delete on deliveries
    when ${keptState("old")} is not null begin ${removeOldState}; end`.execute(db);
}
