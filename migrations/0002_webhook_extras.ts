/**
 * Webhook features of seeds 001 and 002: receiver authentication (`auth`, JSON text of
 * `{type, …credentials}`), the `slot` (`published` or `preview`) and `languages` (JSON text of
 * a string array, empty = every language) a webhook listens to; and the slot and language an
 * event was published with.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .alterTable("webhooks")
    .addColumn("auth", "text", (col) => col.notNull().defaultTo('{"type":"none"}'))
    .execute();
  await db.schema
    .alterTable("webhooks")
    .addColumn("slot", "text", (col) =>
      col.notNull().defaultTo("published").check(sql`slot in ('published', 'preview')`),
    )
    .execute();
  await db.schema
    .alterTable("webhooks")
    .addColumn("languages", "text", (col) => col.notNull().defaultTo("[]"))
    .execute();
  await db.schema
    .alterTable("events")
    .addColumn("slot", "text", (col) =>
      col.notNull().defaultTo("published").check(sql`slot in ('published', 'preview')`),
    )
    .execute();
  await db.schema.alterTable("events").addColumn("language", "text").execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.alterTable("events").dropColumn("language").execute();
  await db.schema.alterTable("events").dropColumn("slot").execute();
  await db.schema.alterTable("webhooks").dropColumn("languages").execute();
  await db.schema.alterTable("webhooks").dropColumn("slot").execute();
  await db.schema.alterTable("webhooks").dropColumn("auth").execute();
}
