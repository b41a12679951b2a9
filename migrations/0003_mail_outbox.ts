/**
 * The failure-mail outbox (SPEC §7): a failure notice is a row, written in the transaction that
 * fails the delivery, so a crash before the mail is sent loses nothing. `mail_state` keeps, per
 * webhook, when the last mail went out (the throttle) and the SMTP retry backoff.
 *
 * Also: the status-filtered delivery log index gains `id`, the log's newest-first tie-break, so
 * `?status=` pages come straight from the index.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable("failure_notices")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) => col.notNull())
    .addColumn("webhook_id", "text", (col) => col.notNull())
    .addColumn("delivery_id", "text", (col) => col.notNull())
    .addColumn("kind", "text", (col) => col.notNull())
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    .addColumn("attempts", "integer", (col) => col.notNull())
    .addColumn("occurred_at", "integer", (col) => col.notNull())
    // When the delivery was created: replay windows are on creation time.
    .addColumn("delivery_created_at", "integer", (col) => col.notNull())
    // Snapshots taken at failure time, so a mail can still be written after the webhook changed.
    .addColumn("recipients", "text", (col) => col.notNull())
    .addColumn("webhook_label", "text", (col) => col.notNull())
    .addColumn("endpoint_host", "text", (col) => col.notNull())
    .addColumn("mailed_at", "integer")
    .execute();
  await sql`create index failure_notices_pending on failure_notices (webhook_id, occurred_at) where mailed_at is null`.execute(
    db,
  );

  await db.schema
    .createTable("mail_state")
    .addColumn("webhook_id", "text", (col) => col.primaryKey())
    .addColumn("last_sent_at", "integer")
    .addColumn("failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .execute();

  await db.schema.dropIndex("deliveries_log_by_status").execute();
  await db.schema
    .createIndex("deliveries_log_by_status")
    .on("deliveries")
    .columns(["webhook_id", "process_status", "created_at", "id"])
    .execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_log_by_status").execute();
  await db.schema
    .createIndex("deliveries_log_by_status")
    .on("deliveries")
    .columns(["webhook_id", "process_status", "created_at"])
    .execute();
  await db.schema.dropTable("mail_state").ifExists().execute();
  await db.schema.dropTable("failure_notices").ifExists().execute();
}
