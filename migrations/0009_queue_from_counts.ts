/**
 * Two partial indexes go: `deliveries_waiting` (created_at of Waiting rows) and
 * `deliveries_leased` (lease_until of Processing rows). Every delivery paid for them three
 * times — an entry at ingest, moved from one to the other by its claim, removed by its outcome
 * — yet they only served a scrape of /metrics and the once-a-second look for expired leases.
 * Both now start from `delivery_counts` (which webhooks have Waiting or Processing rows) and
 * search `deliveries_log_by_status` (webhook_id, process_status, created_at) per webhook.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_waiting").execute();
  await db.schema.dropIndex("deliveries_leased").execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await sql`create index deliveries_waiting on deliveries (created_at) where process_status = 0`.execute(
    db,
  );
  await sql`create index deliveries_leased on deliveries (lease_until) where process_status = 1`.execute(
    db,
  );
}
