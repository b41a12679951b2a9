/**
 * A generation number for the webhooks: triggers give it a new value whenever a webhook is
 * created or deleted, or a column that decides matching, how a delivery is built or how it is
 * sent changes. Ingestion and the scheduler keep what they read of the webhooks in memory and
 * read it again only when the number moves, so a write from any connection (another process
 * too) is seen by the next event and the next tick. Health columns (`fail_count`, `last_delivered_at`, `health_status`)
 * change on every attempt and are left out, and an update that writes a column without
 * changing it moves nothing. The new value is random, not an increment, so a
 * rolled-back change followed by another cannot repeat a value a reader has already seen.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

const BUMP = sql.raw("update webhook_generation set value = random() where id = 1");

export async function up(db: AnyDatabase): Promise<void> {
  await sql`create table webhook_generation (
    id integer primary key check (id = 1),
    value integer not null
  )`.execute(db);
  await sql`insert into webhook_generation (id, value) values (1, random())`.execute(db);
  await sql`create trigger webhook_generation_insert after insert on webhooks begin ${BUMP}; end`.execute(
    db,
  );
  await sql`create trigger webhook_generation_delete after delete on webhooks begin ${BUMP}; end`.execute(
    db,
  );
  const columns = [
    "id",
    "workspace",
    "event_types",
    "use_custom_payload",
    "custom_payload",
    "template_engine",
    "enabled",
    "max_attempts",
    "retry_policy",
    "slot",
    "languages",
    "endpoint",
    "secret",
    "headers",
    "timeout_seconds",
    "auth",
  ];
  const changed = columns.map((column) => `old.${column} is not new.${column}`).join(" or ");
  await sql`create trigger webhook_generation_update after update of ${sql.raw(columns.join(", "))}
    on webhooks when ${sql.raw(changed)} begin ${BUMP}; end`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const trigger of [
    "webhook_generation_insert",
    "webhook_generation_delete",
    "webhook_generation_update",
  ]) {
    await sql`drop trigger if exists ${sql.raw(trigger)}`.execute(db);
  }
  await db.schema.dropTable("webhook_generation").ifExists().execute();
}
