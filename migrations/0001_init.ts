/**
 * The initial schema: workspaces and their API keys, webhooks, content types, events, and the
 * delivery log with its attempts. Times are integer milliseconds since the epoch; JSON columns
 * hold text. Deliveries carry no foreign key to webhooks: deleting a webhook keeps its log.
 */

import { type Kysely, sql } from "kysely";

// Migrations are frozen in time, so they take Kysely<any>, not the app's Database type.
// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable("workspaces")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("created_at", "integer", (col) => col.notNull())
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
    .addColumn("created_at", "integer", (col) => col.notNull())
    .addColumn("revoked_at", "integer")
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
    .addColumn("last_delivered_at", "integer")
    .addColumn("health_status", "text", (col) => col.notNull().defaultTo("unknown"))
    .addColumn("created_at", "integer", (col) => col.notNull())
    .addColumn("last_modified", "integer", (col) => col.notNull())
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
    .addColumn("created_at", "integer", (col) => col.notNull())
    .addColumn("updated_at", "integer", (col) => col.notNull())
    .addPrimaryKeyConstraint("content_types_pk", ["workspace", "key"])
    .execute();

  await db.schema
    .createTable("events")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) => col.notNull())
    // The client's own id for the event: a repeated one is not enqueued twice.
    .addColumn("idempotency_key", "text")
    .addColumn("event_type", "integer", (col) => col.notNull())
    .addColumn("content_type", "text", (col) => col.notNull())
    .addColumn("content_id", "text", (col) => col.notNull())
    .addColumn("fields", "text", (col) => col.notNull())
    .addColumn("translations", "text", (col) => col.notNull())
    .addColumn("source", "text", (col) => col.notNull())
    .addColumn("created_at", "integer", (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex("events_idempotency")
    .on("events")
    .columns(["workspace", "idempotency_key"])
    .unique()
    .execute();
  await db.schema.createIndex("events_created").on("events").column("created_at").execute();

  await db.schema
    .createTable("deliveries")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("workspace", "text", (col) => col.notNull())
    .addColumn("webhook_id", "text", (col) => col.notNull())
    .addColumn("event_id", "text", (col) => col.notNull())
    .addColumn("retry_of", "text")
    .addColumn("event_type", "integer", (col) => col.notNull())
    .addColumn("content_type", "text", (col) => col.notNull())
    .addColumn("content_id", "text", (col) => col.notNull())
    .addColumn("fields", "text", (col) => col.notNull())
    .addColumn("translations", "text", (col) => col.notNull())
    .addColumn("custom_payload", "text")
    // The exact bytes every attempt sends, rendered once when the delivery is created.
    .addColumn("body", "text", (col) => col.notNull())
    .addColumn("process_status", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("max_attempts", "integer", (col) => col.notNull())
    .addColumn("next_attempt_at", "integer", (col) => col.notNull())
    .addColumn("lease_until", "integer")
    .addColumn("response_status_code", "integer")
    .addColumn("response_message", "text")
    .addColumn("last_error", "text")
    .addColumn("duration_ms", "integer")
    .addColumn("signature", "text")
    .addColumn("created_at", "integer", (col) => col.notNull())
    .addColumn("updated_at", "integer", (col) => col.notNull())
    .execute();
  // The scheduler claims per webhook (fairness): that webhook's due Waiting deliveries in time
  // order, without scanning the log.
  await sql`create index deliveries_due on deliveries (webhook_id, next_attempt_at) where process_status = 0`.execute(
    db,
  );
  // Queue depth and the oldest waiting delivery, for /metrics.
  await sql`create index deliveries_waiting on deliveries (created_at) where process_status = 0`.execute(
    db,
  );
  // Expired leases (a crash mid-attempt) go back to Waiting.
  await sql`create index deliveries_leased on deliveries (lease_until) where process_status = 1`.execute(
    db,
  );
  // The delivery log, newest first, with or without a status filter.
  await db.schema
    .createIndex("deliveries_log")
    .on("deliveries")
    .columns(["webhook_id", "created_at", "id"])
    .execute();
  await db.schema
    .createIndex("deliveries_log_by_status")
    .on("deliveries")
    .columns(["webhook_id", "process_status", "created_at"])
    .execute();
  await db.schema.createIndex("deliveries_event").on("deliveries").column("event_id").execute();
  await db.schema.createIndex("deliveries_created").on("deliveries").column("created_at").execute();

  await db.schema
    .createTable("attempts")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("delivery_id", "text", (col) =>
      col.notNull().references("deliveries.id").onDelete("cascade"),
    )
    .addColumn("number", "integer", (col) => col.notNull())
    .addColumn("started_at", "integer", (col) => col.notNull())
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
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const table of [
    "attempts",
    "deliveries",
    "events",
    "content_types",
    "webhooks",
    "api_keys",
    "workspaces",
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
