/**
 * Per-webhook delivery counts by status, kept by triggers, so the delivery log's `total` is a
 * lookup rather than a count over a log that may hold millions of rows. Also indexes for the
 * log filtered by content type and event type (newest first) and by status-code range.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await sql`create table delivery_counts (
    webhook_id text not null,
    process_status integer not null,
    count integer not null,
    primary key (webhook_id, process_status)
  ) without rowid`.execute(db);
  await sql`insert into delivery_counts (webhook_id, process_status, count)
    select webhook_id, process_status, count(*) from deliveries group by webhook_id, process_status`.execute(
    db,
  );
  await sql`create trigger delivery_counts_insert after insert on deliveries begin
    insert into delivery_counts (webhook_id, process_status, count)
      values (new.webhook_id, new.process_status, 1)
      on conflict (webhook_id, process_status) do update set count = count + 1;
  end`.execute(db);
  await sql`create trigger delivery_counts_update after update of process_status on deliveries
    when old.process_status <> new.process_status begin
    update delivery_counts set count = count - 1
      where webhook_id = old.webhook_id and process_status = old.process_status;
    insert into delivery_counts (webhook_id, process_status, count)
      values (new.webhook_id, new.process_status, 1)
      on conflict (webhook_id, process_status) do update set count = count + 1;
  end`.execute(db);
  await sql`create trigger delivery_counts_delete after delete on deliveries begin
    update delivery_counts set count = count - 1
      where webhook_id = old.webhook_id and process_status = old.process_status;
  end`.execute(db);
  await db.schema
    .createIndex("deliveries_log_by_type")
    .on("deliveries")
    .columns(["webhook_id", "content_type", "event_type", "created_at", "id"])
    .execute();
  // Counting the log by status-code range.
  await db.schema
    .createIndex("deliveries_log_by_code")
    .on("deliveries")
    .columns(["webhook_id", "response_status_code"])
    .execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_log_by_code").execute();
  await db.schema.dropIndex("deliveries_log_by_type").execute();
  for (const trigger of [
    "delivery_counts_insert",
    "delivery_counts_update",
    "delivery_counts_delete",
  ]) {
    await sql`drop trigger if exists ${sql.raw(trigger)}`.execute(db);
  }
  await db.schema.dropTable("delivery_counts").ifExists().execute();
}
