/**
 * The status-code index of the delivery log holds only deliveries that got an answer. A new
 * delivery has no status code yet, so its NULL entry was written at ingest and moved again by
 * the first answer; now the answer adds the only entry. The status-code filters (`>=`, `<=`)
 * imply the index's `IS NOT NULL`, so they still use it.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_log_by_code").execute();
  await sql`create index deliveries_log_by_code on deliveries (webhook_id, response_status_code)
    where response_status_code is not null`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_log_by_code").execute();
  await db.schema
    .createIndex("deliveries_log_by_code")
    .on("deliveries")
    .columns(["webhook_id", "response_status_code"])
    .execute();
}
