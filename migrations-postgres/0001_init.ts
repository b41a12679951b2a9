/**
 * The PostgreSQL schema, equal to the SQLite one after its migration 0013 (`migrations/`): the
 * same tables, columns, keys, foreign keys and indexes under the same names, so that the shared
 * Kysely queries run on either. Where the two differ, and why:
 * - Times (integer milliseconds) and kept counts are `bigint`; the dialect returns them as
 *   numbers (src/db/postgres/dialect.ts). Flags stay `integer` 0/1, since the queries compare
 *   them with 1 and 0; JSON columns stay `text`, written and read as the SQLite ones are.
 * - `deliveries.lease_owner` and `deliveries_leased` (PostgreSQL only): several nodes share the
 *   queue, so a delivery in flight is leased to a node until `lease_until` rather than kept in
 *   one process's memory; the index finds a webhook's leased deliveries, and the expired ones.
 * - The generation triggers (SQLite 0005 and 0010) are one plpgsql function, which also sends
 *   the workspace on the `hookpost_webhooks` channel at commit, so other nodes can hear of a
 *   change to a workspace's webhooks rather than poll its generation.
 * - The delivery totals (`delivery_counts`, `delivery_state_counts`) have no triggers: the
 *   store keeps them, as on SQLite since 0013. Each total is spread over rows by `shard`
 *   (PostgreSQL only), so concurrent writers rarely wait on one row's lock.
 */

import { type Kysely, sql } from "kysely";

// Migrations are frozen in time, so they take Kysely<any>, not the app's Database type.
// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

/** Our tables, in an order where each one only references tables before it. */
const TABLES = [
  "workspaces",
  "api_keys",
  "webhooks",
  "content_types",
  "events",
  "deliveries",
  "attempts",
  "failure_notices",
  "mail_state",
  "delivery_counts",
  "delivery_state_counts",
  "webhook_generation",
  "webhook_generation_by_workspace",
];

/** The state of a failed-at-least-once delivery, as SQLite's 0012 indexes it. */
const STATE = sql`case process_status
  when 0 then case when attempts > 0 then 'retrying' end
  when -1 then case when attempts >= max_attempts then 'exhausted' else 'failed' end
end`;

/**
 * The webhook columns whose change moves the generations (SQLite 0005 and 0010): what matching,
 * building or sending a delivery reads. Health columns change on every attempt and are left out.
 */
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

/**
 * A new generation value: random rather than incremented, like SQLite's, so a rolled-back change
 * cannot repeat a value a reader has seen; below 2^53, so the dialect returns it as a number.
 */
const NEW_GENERATION = "floor(random() * 9007199254740991)::bigint";

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable("workspaces")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) =>
      col.notNull().references("workspaces.name").onDelete("cascade"),
    )
    .addColumn("access", "text", (col) => col.notNull().check(sql`access in ('read', 'write')`))
    .addColumn("key_hash", "text", (col) => col.notNull().unique())
    .addColumn("key_prefix", "text", (col) => col.notNull())
    .addColumn("label", "text")
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();

  await db.schema
    .createTable("webhooks")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) =>
      col.notNull().references("workspaces.name").onDelete("cascade"),
    )
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("description", "text")
    .addColumn("endpoint", "text", (col) => col.notNull())
    .addColumn("secret", "text", (col) => col.notNull())
    .addColumn("event_types", "text", (col) => col.notNull())
    .addColumn("use_custom_payload", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("custom_payload", "text")
    .addColumn("template_engine", "text", (col) => col.notNull().defaultTo("json"))
    .addColumn("error_email_to", "text")
    .addColumn("enabled", "integer", (col) => col.notNull().defaultTo(1))
    .addColumn("headers", "text", (col) => col.notNull().defaultTo("[]"))
    .addColumn("timeout_seconds", "integer", (col) => col.notNull().defaultTo(15))
    .addColumn("max_attempts", "integer")
    .addColumn("retry_policy", "text", (col) => col.notNull().defaultTo("automatic"))
    .addColumn("fail_count", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("last_delivered_at", "bigint")
    .addColumn("health_status", "text", (col) => col.notNull().defaultTo("unknown"))
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("last_modified", "bigint", (col) => col.notNull())
    .addColumn("auth", "text", (col) => col.notNull().defaultTo('{"type":"none"}'))
    .addColumn("slot", "text", (col) =>
      col.notNull().defaultTo("published").check(sql`slot in ('published', 'preview')`),
    )
    .addColumn("languages", "text", (col) => col.notNull().defaultTo("[]"))
    .execute();
  await db.schema
    .createIndex("webhooks_by_workspace")
    .on("webhooks")
    .columns(["workspace", "created_at"])
    .execute();

  await db.schema
    .createTable("content_types")
    .addColumn("workspace", "text", (col) =>
      col.notNull().references("workspaces.name").onDelete("cascade"),
    )
    .addColumn("key", "text", (col) => col.notNull())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("fields", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("content_types_pk", ["workspace", "key"])
    .execute();

  await db.schema
    .createTable("events")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) => col.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("event_type", "integer", (col) => col.notNull())
    .addColumn("content_type", "text", (col) => col.notNull())
    .addColumn("content_id", "text", (col) => col.notNull())
    .addColumn("fields", "text", (col) => col.notNull())
    .addColumn("translations", "text", (col) => col.notNull())
    .addColumn("source", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("slot", "text", (col) =>
      col.notNull().defaultTo("published").check(sql`slot in ('published', 'preview')`),
    )
    .addColumn("language", "text")
    .execute();
  // Only events that came with the client's own id: a repeated one is not enqueued twice.
  await sql`create unique index events_idempotency on events (workspace, idempotency_key)
    where idempotency_key is not null`.execute(db);

  await db.schema
    .createTable("deliveries")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) => col.notNull())
    .addColumn("webhook_id", "text", (col) => col.notNull())
    .addColumn("event_id", "text", (col) => col.notNull())
    .addColumn("retry_of", "text")
    .addColumn("message_id", "text")
    .addColumn("event_type", "integer", (col) => col.notNull())
    .addColumn("content_type", "text", (col) => col.notNull())
    .addColumn("content_id", "text", (col) => col.notNull())
    // Unused (src/db/database.ts DeliveryTable), kept NOT NULL as on SQLite.
    .addColumn("fields", "text", (col) => col.notNull())
    .addColumn("translations", "text", (col) => col.notNull())
    .addColumn("custom_payload", "text")
    .addColumn("body", "text", (col) => col.notNull())
    .addColumn("process_status", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("max_attempts", "integer", (col) => col.notNull())
    .addColumn("next_attempt_at", "bigint", (col) => col.notNull())
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .addColumn("response_status_code", "integer")
    .addColumn("response_message", "text")
    .addColumn("last_error", "text")
    .addColumn("duration_ms", "integer")
    .addColumn("signature", "text")
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();
  // The scheduler takes work per webhook (fairness): its due Waiting deliveries in time order.
  await sql`create index deliveries_due on deliveries (webhook_id, next_attempt_at)
    where process_status = 0`.execute(db);
  // A webhook's deliveries leased to a node, and the leases that expired with their node.
  await sql`create index deliveries_leased on deliveries (webhook_id, lease_until)
    where lease_until is not null`.execute(db);
  // The delivery log, newest first: whole, by status, by type, by status code, by state.
  await db.schema
    .createIndex("deliveries_log")
    .on("deliveries")
    .columns(["webhook_id", "created_at", "id"])
    .execute();
  await db.schema
    .createIndex("deliveries_log_by_status")
    .on("deliveries")
    .columns(["webhook_id", "process_status", "created_at", "id"])
    .execute();
  await db.schema
    .createIndex("deliveries_log_by_type")
    .on("deliveries")
    .columns(["webhook_id", "content_type", "event_type", "created_at", "id"])
    .execute();
  await sql`create index deliveries_log_by_code on deliveries (webhook_id, response_status_code)
    where response_status_code is not null`.execute(db);
  await sql`create index deliveries_log_by_state
    on deliveries (webhook_id, (${STATE}), created_at, id)
    where (${STATE}) is not null`.execute(db);
  await db.schema.createIndex("deliveries_event").on("deliveries").column("event_id").execute();

  await db.schema
    .createTable("attempts")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("delivery_id", "text", (col) =>
      col.notNull().references("deliveries.id").onDelete("cascade"),
    )
    .addColumn("number", "integer", (col) => col.notNull())
    .addColumn("started_at", "bigint", (col) => col.notNull())
    .addColumn("duration_ms", "integer", (col) => col.notNull())
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    .addColumn("response_body", "text")
    .addColumn("request_headers", "text", (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex("attempts_by_delivery")
    .on("attempts")
    .columns(["delivery_id", "number"])
    .unique()
    .execute();

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
    .addColumn("occurred_at", "bigint", (col) => col.notNull())
    .addColumn("delivery_created_at", "bigint", (col) => col.notNull())
    .addColumn("recipients", "text", (col) => col.notNull())
    .addColumn("webhook_label", "text", (col) => col.notNull())
    .addColumn("endpoint_host", "text", (col) => col.notNull())
    .addColumn("mailed_at", "bigint")
    .execute();
  await sql`create index failure_notices_pending on failure_notices (webhook_id, occurred_at)
    where mailed_at is null`.execute(db);

  await db.schema
    .createTable("mail_state")
    .addColumn("webhook_id", "text", (col) => col.primaryKey())
    .addColumn("last_sent_at", "bigint")
    .addColumn("failures", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "bigint", (col) => col.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .execute();

  // Each total is kept in up to 16 rows (`shard`), each writer adding to one of them: nodes
  // and connections writing at once then rarely wait for each other's lock on the same row.
  // Readers add the shards up.
  await sql`create table delivery_counts (
    webhook_id text not null,
    process_status integer not null,
    shard smallint not null default 0,
    count bigint not null,
    primary key (webhook_id, process_status, shard)
  )`.execute(db);
  await sql`create table delivery_state_counts (
    webhook_id text not null,
    state text not null,
    shard smallint not null default 0,
    count bigint not null,
    primary key (webhook_id, state, shard)
  )`.execute(db);

  await sql`create table webhook_generation (
    id integer primary key check (id = 1),
    value bigint not null
  )`.execute(db);
  await sql`insert into webhook_generation (id, value) values (1, ${sql.raw(NEW_GENERATION)})`.execute(
    db,
  );
  await sql`create table webhook_generation_by_workspace (
    workspace text primary key,
    value bigint not null
  )`.execute(db);
  await createGenerationTriggers(db);
  await createTakeFunction(db);
}

/**
 * `hookpost_take`: a node takes up to `p_room` of a webhook's due deliveries, leasing them to
 * `p_owner` until `p_until` (their `next_attempt_at` too, so they fall due again when the lease
 * runs out), within the webhook's limit of attempts in flight less the other nodes' running
 * leases and less `p_busy`, the attempts this node has in flight (counted by its scheduler,
 * which frees one as soon as the receiver answers) — the failing limit once its failures in a
 * row reach `p_failing_after`. One round trip
 * instead of a transaction of four: each statement of a plpgsql function sees what committed
 * before it, so the count after the advisory lock sees every take before this one. The first
 * row returned carries only `allowed`, how many the limits let this call take; the taken rows
 * follow. The lease's commit does not wait for the log's flush: a lease lost in a crash of the
 * database leaves its delivery due again, sent at least once, as ever.
 */
export async function createTakeFunction(db: AnyDatabase): Promise<void> {
  await sql`create function hookpost_take(
      p_webhook text, p_now bigint, p_until bigint, p_owner text,
      p_room integer, p_busy integer, p_limit integer, p_failing_limit integer,
      p_failing_after integer)
    returns table (id text, workspace text, webhook_id text, message_id text, body text,
      attempts integer, max_attempts integer, created_at bigint, allowed integer)
    language plpgsql volatile as $$
  declare
    failures integer;
    others integer;
    room integer;
  begin
    perform set_config('synchronous_commit', 'off', true);
    perform pg_advisory_xact_lock(hashtextextended('hookpost.take:' || p_webhook, 0));
    -- Disabled or deleted on another node since this one read its list: nothing to take.
    select w.fail_count into failures from webhooks w where w.id = p_webhook and w.enabled = 1;
    if failures is null then
      return query select null::text, null::text, null::text, null::text, null::text,
        null::integer, null::integer, null::bigint, 0;
      return;
    end if;
    select count(*) into others from deliveries d
      where d.webhook_id = p_webhook and d.process_status = 0
        and d.lease_until > p_now and d.lease_owner <> p_owner;
    room := greatest(0, least(p_room,
      (case when failures >= p_failing_after then p_failing_limit else p_limit end)
        - others - p_busy));
    return query select null::text, null::text, null::text, null::text, null::text,
      null::integer, null::integer, null::bigint, room;
    if room = 0 then
      return;
    end if;
    return query
      update deliveries as d
        set lease_owner = p_owner, lease_until = p_until, next_attempt_at = p_until
        from (
          select due.id from deliveries due
          where due.webhook_id = p_webhook and due.process_status = 0
            and due.next_attempt_at <= p_now
          order by due.next_attempt_at
          limit room
          for update skip locked
        ) as picked
        where d.id = picked.id
        returning d.id, d.workspace, d.webhook_id, d.message_id, d.body, d.attempts,
          d.max_attempts, d.created_at, null::integer;
  end
  $$`.execute(db);
}

/**
 * One function for both generations: the global one always, and the workspace of the old row,
 * the new row, or both when a row moves (nothing does that today). `pg_notify` is delivered at
 * commit, and repeats of one payload within a transaction are delivered once.
 */
async function createGenerationTriggers(db: AnyDatabase): Promise<void> {
  const bumpWorkspace = (row: "old" | "new") => `
    insert into webhook_generation_by_workspace (workspace, value)
      values (${row}.workspace, ${NEW_GENERATION})
      on conflict (workspace) do update set value = excluded.value;
    perform pg_notify('hookpost_webhooks', ${row}.workspace);`;
  await sql`create function webhook_generation_bump() returns trigger language plpgsql as $$
  begin
    update webhook_generation set value = ${sql.raw(NEW_GENERATION)} where id = 1;
    if tg_op <> 'INSERT' then ${sql.raw(bumpWorkspace("old"))}
    end if;
    if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.workspace <> old.workspace) then
      ${sql.raw(bumpWorkspace("new"))}
    end if;
    return null;
  end
  $$`.execute(db);
  await sql`create trigger webhook_generation_write after insert or delete on webhooks
    for each row execute function webhook_generation_bump()`.execute(db);
  // An update that writes a watched column without changing it moves nothing, as on SQLite.
  const changed = WATCHED_COLUMNS.map(
    (column) => `old.${column} is distinct from new.${column}`,
  ).join(" or ");
  await sql`create trigger webhook_generation_update
    after update of ${sql.raw(WATCHED_COLUMNS.join(", "))} on webhooks
    for each row when (${sql.raw(changed)}) execute function webhook_generation_bump()`.execute(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  // Dropping the webhooks table drops its triggers; the function goes after them.
  for (const table of TABLES.toReversed()) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists webhook_generation_bump()`.execute(db);
  await sql`drop function if exists hookpost_take(text, bigint, bigint, text, integer, integer, integer, integer, integer)`.execute(
    db,
  );
}
