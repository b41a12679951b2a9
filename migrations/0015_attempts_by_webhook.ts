/**
 * `attempts.webhook_id` and `attempts_by_webhook` (webhook_id, started_at, status_code,
 * duration_ms), for `GET /webhooks/{id}/stats` (issue 17): a webhook's attempts started in a
 * window, whether each succeeded and how long it took, read from the index alone. An attempt
 * belongs to no webhook otherwise but through its delivery, and a delivery created long before
 * the window (a retry ten hours later) may have attempts in it, so the deliveries' own indexes
 * cannot bound the window's attempts.
 *
 * Every attempt pays one more index entry; the stats then read one index range, never the
 * attempt rows (their bodies and headers). Existing attempts take their delivery's webhook here.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .alterTable("attempts")
    .addColumn("webhook_id", "text", (col) => col.notNull().defaultTo(""))
    .execute();
  await sql`update attempts set webhook_id = (
      select deliveries.webhook_id from deliveries where deliveries.id = attempts.delivery_id)`.execute(
    db,
  );
  await db.schema
    .createIndex("attempts_by_webhook")
    .on("attempts")
    .columns(["webhook_id", "started_at", "status_code", "duration_ms"])
    .execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("attempts_by_webhook").execute();
  await db.schema.alterTable("attempts").dropColumn("webhook_id").execute();
}
