/**
 * Retention finds old deliveries and events by id rather than by `created_at`: ids start with
 * their creation time (`src/ids.ts`), so "created before the cutoff" is a range of the primary
 * key. The two `created_at` indexes only served retention, yet every insert paid for them.
 */

import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema.dropIndex("deliveries_created").execute();
  await db.schema.dropIndex("events_created").execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.createIndex("events_created").on("events").column("created_at").execute();
  await db.schema.createIndex("deliveries_created").on("deliveries").column("created_at").execute();
}
