/**
 * Delivery controls per webhook (issue 16), as webhook columns:
 * - `ordered` (0/1): one delivery at a time, in the order the events were accepted;
 * - `rate_limit_per_second`: at most that many attempts start in any one-second window;
 * - `retry_schedule`: JSON array of delays in seconds replacing the exponential backoff;
 * - `previous_secret` and `previous_secret_until`: a secret rotated with a grace period keeps
 *   signing beside the new one until then;
 * - `failing_since`: when the webhook's current streak of failed attempts began (null while it
 *   has none), from which auto-disable reckons.
 *
 * The generation triggers (0005, 0010) are created again with the columns sending reads
 * (`failing_since` is health, written on every failure, and stays out like `fail_count`).
 * The ordered queue reads `deliveries_log_by_status` (webhook, status, created_at, id): the
 * oldest Waiting delivery of a webhook is its first entry there, so no index is added.
 */

import { type Kysely, sql } from "kysely";
import { WATCHED_COLUMNS } from "./0010_webhook_generation_by_workspace.ts";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

/** The columns this migration adds that sending reads: the generations move with them too. */
export const DELIVERY_CONTROL_COLUMNS = [
  "ordered",
  "rate_limit_per_second",
  "retry_schedule",
  "previous_secret",
  "previous_secret_until",
];

const BUMP_ALL = "update webhook_generation set value = random() where id = 1";
function bumpWorkspace(row: "old" | "new"): string {
  return `insert into webhook_generation_by_workspace (workspace, value)
    values (${row}.workspace, random())
    on conflict (workspace) do update set value = excluded.value`;
}

async function createUpdateTriggers(db: AnyDatabase, columns: readonly string[]): Promise<void> {
  const changed = columns.map((column) => `old.${column} is not new.${column}`).join(" or ");
  await sql`drop trigger if exists webhook_generation_update`.execute(db);
  await sql`drop trigger if exists webhook_generation_by_workspace_update`.execute(db);
  await sql`create trigger webhook_generation_update after update of ${sql.raw(columns.join(", "))}
    on webhooks when ${sql.raw(changed)} begin ${sql.raw(BUMP_ALL)}; end`.execute(db);
  await sql`create trigger webhook_generation_by_workspace_update
    after update of ${sql.raw(columns.join(", "))} on webhooks when ${sql.raw(changed)}
    begin ${sql.raw(bumpWorkspace("old"))}; ${sql.raw(bumpWorkspace("new"))}; end`.execute(db);
}

export async function up(db: AnyDatabase): Promise<void> {
  await sql`alter table webhooks add column ordered integer not null default 0`.execute(db);
  await sql`alter table webhooks add column rate_limit_per_second integer`.execute(db);
  await sql`alter table webhooks add column retry_schedule text`.execute(db);
  await sql`alter table webhooks add column previous_secret text`.execute(db);
  await sql`alter table webhooks add column previous_secret_until integer`.execute(db);
  await sql`alter table webhooks add column failing_since integer`.execute(db);
  // A webhook already failing starts its streak now: auto-disable does not act on the past.
  await sql`update webhooks set failing_since = ${Date.now()} where fail_count > 0`.execute(db);
  await createUpdateTriggers(db, [...WATCHED_COLUMNS, ...DELIVERY_CONTROL_COLUMNS]);
}

export async function down(db: AnyDatabase): Promise<void> {
  await createUpdateTriggers(db, WATCHED_COLUMNS);
  for (const column of [...DELIVERY_CONTROL_COLUMNS, "failing_since"]) {
    await sql`alter table webhooks drop column ${sql.raw(column)}`.execute(db);
  }
}
