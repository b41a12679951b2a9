/**
 * `attempts.webhook_id` and `attempts_by_webhook`, as SQLite's 0015 (`migrations/`): a
 * webhook's attempts started in a window, for `GET /webhooks/{id}/stats` (issue 17). The index
 * is keyed on (webhook_id, started_at) and INCLUDEs the status code and duration, so the stats
 * are an index-only scan; SQLite, which has no INCLUDE, keys on all four.
 */

import { type Kysely, sql } from "kysely";

// Migrations are frozen in time, so they take Kysely<any>, not the app's Database type.
// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .alterTable("attempts")
    .addColumn("webhook_id", "text", (col) => col.notNull().defaultTo(""))
    .execute();
  await sql`update attempts set webhook_id = deliveries.webhook_id
    from deliveries where deliveries.id = attempts.delivery_id`.execute(db);
  await sql`create index attempts_by_webhook on attempts (webhook_id, started_at)
    include (status_code, duration_ms)`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("attempts_by_webhook").execute();
  await db.schema.alterTable("attempts").dropColumn("webhook_id").execute();
}
