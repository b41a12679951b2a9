/**
 * Two partial indexes go: `deliveries_waiting` (created_at of Waiting rows) and
 * `deliveries_leased` (lease_until of Processing rows). Every delivery paid for them three
 * times — an entry at ingest, moved from one to the other by its claim, removed by its outcome
 * — yet they only served a scrape of /metrics, the once-a-second look for expired leases and
 * the reset at startup.
 * Both now start from `delivery_counts` (which webhooks have Waiting or Processing rows) and
 * search `deliveries_log_by_status` (webhook_id, process_status, created_at) per webhook.
 *
 * Since a Processing row is now found only through its count, the counts' update trigger also
 * follows a row moved to another webhook (nothing does that today; hand-written SQL might).
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

/** The counts' update trigger: one off the old (webhook, status), one on the new. */
async function replaceCountsUpdateTrigger(db: AnyDatabase, firesOn: string): Promise<void> {
  await sql`drop trigger delivery_counts_update`.execute(db);
  await sql`create trigger delivery_counts_update ${sql.raw(firesOn)} begin
    update delivery_counts set count = count - 1
      where webhook_id = old.webhook_id and process_status = old.process_status;
    insert into delivery_counts (webhook_id, process_status, count)
      values (new.webhook_id, new.process_status, 1)
      on conflict (webhook_id, process_status) do update set count = count + 1;
  end`.execute(db);
}

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_waiting").execute();
  await db.schema.dropIndex("deliveries_leased").execute();
  await replaceCountsUpdateTrigger(
    db,
    `after update of process_status, webhook_id on deliveries
    when old.process_status <> new.process_status or old.webhook_id <> new.webhook_id`,
  );
}

export async function down(db: AnyDatabase): Promise<void> {
  await replaceCountsUpdateTrigger(
    db,
    `after update of process_status on deliveries
    when old.process_status <> new.process_status`,
  );
  await sql`create index deliveries_waiting on deliveries (created_at) where process_status = 0`.execute(
    db,
  );
  await sql`create index deliveries_leased on deliveries (lease_until) where process_status = 1`.execute(
    db,
  );
}
