/**
 * A webhook generation per workspace, beside the global one of 0005. Ingestion keeps each
 * workspace's enabled webhooks in memory; with only the global number, a change in any
 * workspace made every workspace read its list again, so one tenant's `PUT` cost another
 * tenant's next event the reload of all its webhooks (2.4–3.1 s for 40 webhooks of 75,000
 * content types each, before those were bounded). Now each workspace's number moves only when
 * one of its own webhooks is created, deleted or changed in a column that 0005 watches; the
 * global number stays for the scheduler, whose list spans every workspace.
 * A missing row means no webhook of that workspace was written since: readers do not cache
 * without one, so the up seeds a row for every workspace that has webhooks.
 */

import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

/** Random rather than incremented, like 0005's: a rolled-back change cannot repeat a value. */
function bump(workspace: "old" | "new"): string {
  return `insert into webhook_generation_by_workspace (workspace, value)
    values (${workspace}.workspace, random())
    on conflict (workspace) do update set value = excluded.value`;
}

/** The columns of 0005's update trigger: what matching, building or sending reads. */
export const WATCHED_COLUMNS = [
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

const TRIGGERS = [
  "webhook_generation_by_workspace_insert",
  "webhook_generation_by_workspace_delete",
  "webhook_generation_by_workspace_update",
];

export async function up(db: AnyDatabase): Promise<void> {
  await sql`create table webhook_generation_by_workspace (
    workspace text primary key,
    value integer not null
  )`.execute(db);
  await sql`insert into webhook_generation_by_workspace (workspace, value)
    select workspace, random() from webhooks group by workspace`.execute(db);
  await sql`create trigger webhook_generation_by_workspace_insert after insert on webhooks
    begin ${sql.raw(bump("new"))}; end`.execute(db);
  await sql`create trigger webhook_generation_by_workspace_delete after delete on webhooks
    begin ${sql.raw(bump("old"))}; end`.execute(db);
  const changed = WATCHED_COLUMNS.map((column) => `old.${column} is not new.${column}`).join(
    " or ",
  );
  // Both workspaces when a row moves from one to another (nothing does that today).
  await sql`create trigger webhook_generation_by_workspace_update
    after update of ${sql.raw(WATCHED_COLUMNS.join(", "))} on webhooks when ${sql.raw(changed)}
    begin ${sql.raw(bump("old"))}; ${sql.raw(bump("new"))}; end`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const trigger of TRIGGERS) {
    await sql`drop trigger if exists ${sql.raw(trigger)}`.execute(db);
  }
  await db.schema.dropTable("webhook_generation_by_workspace").ifExists().execute();
}
