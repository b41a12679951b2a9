/**
 * The PostgreSQL schema (migrations-postgres/) against the SQLite one it mirrors: a fresh SQLite
 * file migrated to the latest is the reference, read through its pragmas, and PostgreSQL must
 * have every table, column (same nullability, integer or text alike), foreign key and index of it; the PostgreSQL-only
 * additions are named here. Also the migrator under concurrent starts and down to nothing, and
 * the webhook generation triggers with their notifications. Skipped without a PostgreSQL server.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Kysely, Migrator, NO_MIGRATIONS, sql } from "kysely";
import { postgresMigrations } from "../../migrations-postgres/index.ts";
import { openStore } from "../../src/db/connect.ts";
import type { Database } from "../../src/db/database.ts";
import { migrateToLatest } from "../../src/db/migrator.ts";
import { openPostgres, type PostgresHandle } from "../../src/db/postgres/connect.ts";
import { migratePostgresToLatest } from "../../src/db/postgres/migrator.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/receiver.ts";
import { tempDir } from "../helpers/test-app.ts";

/** Columns and indexes PostgreSQL has beyond SQLite's (see migrations-postgres/0001_init.ts). */
/** PostgreSQL's own columns, with their shape (store/postgres/queue.ts, store/postgres/totals.ts). */
const POSTGRES_ONLY_COLUMNS = {
  "deliveries.lease_owner": "null text",
  "delivery_counts.shard": "not null smallint",
  "delivery_state_counts.shard": "not null smallint",
  // The rate limit's starts, which SQLite's one server keeps in memory.
  "webhook_starts.started_at": "not null integer",
  "webhook_starts.webhook_id": "not null text",
};
const POSTGRES_ONLY_INDEXES = ["deliveries_leased"];

/** Kysely's bookkeeping, present in both and not part of our schema. */
const isOurs = (table: string) => !table.startsWith("kysely_") && !table.startsWith("sqlite_");

interface Schema {
  /** `table.column` → `null`/`not null` and its storage class, e.g. `not null integer`. */
  columns: Map<string, string>;
  /** `table.column -> table.column on delete RULE`. */
  foreignKeys: string[];
  /** Index name → `table unique? partial?`. */
  indexes: Map<string, string>;
}

const columnShape = (nullable: boolean, storage: string) =>
  `${nullable ? "null" : "not null"} ${storage}`;

/** PostgreSQL's column types by the SQLite storage class they stand for. */
const STORAGE_OF_POSTGRES_TYPE: Record<string, string> = {
  integer: "integer",
  bigint: "integer",
  text: "text",
};

const indexShape = (table: string, unique: boolean, partial: boolean) =>
  `${table}${unique ? " unique" : ""}${partial ? " partial" : ""}`;

/** The schema of a fresh SQLite file migrated to the latest. */
async function sqliteSchema(): Promise<Schema> {
  const dir = tempDir("hookpost-pg-schema-");
  const store = openStore(join(dir, "reference.db"));
  try {
    await migrateToLatest(store.db);
    const schema: Schema = { columns: new Map(), foreignKeys: [], indexes: new Map() };
    const tables = store.sqlite
      .query<{ name: string }, []>("select name from sqlite_master where type = 'table'")
      .all()
      .map((row) => row.name)
      .filter(isOurs);
    for (const table of tables) {
      const columns = store.sqlite
        .query<{ name: string; type: string; notnull: number; pk: number }, []>(
          `pragma table_info(${table})`,
        )
        .all();
      // SQLite lets a text primary key hold NULL; PostgreSQL's primary keys are NOT NULL, and
      // no row of ours has a NULL key, so a key column counts as not null.
      for (const column of columns) {
        schema.columns.set(
          `${table}.${column.name}`,
          columnShape(column.notnull === 0 && column.pk === 0, column.type.toLowerCase()),
        );
      }
      const foreignKeys = store.sqlite
        .query<{ from: string; table: string; to: string; on_delete: string }, []>(
          `pragma foreign_key_list(${table})`,
        )
        .all();
      for (const key of foreignKeys) {
        schema.foreignKeys.push(
          `${table}.${key.from} -> ${key.table}.${key.to} on delete ${key.on_delete}`,
        );
      }
      const indexes = store.sqlite
        .query<{ name: string; unique: number; partial: number }, []>(`pragma index_list(${table})`)
        .all()
        .filter((index) => !index.name.startsWith("sqlite_autoindex_"));
      for (const index of indexes) {
        schema.indexes.set(index.name, indexShape(table, index.unique === 1, index.partial === 1));
      }
    }
    return schema;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The schema of a migrated PostgreSQL database, in the shape of {@link sqliteSchema}'s. */
async function postgresSchema(db: Kysely<Database>): Promise<Schema> {
  const schema: Schema = { columns: new Map(), foreignKeys: [], indexes: new Map() };
  const columns = await sql<{
    table_name: string;
    column_name: string;
    is_nullable: string;
    data_type: string;
  }>`
    select table_name, column_name, is_nullable, data_type from information_schema.columns
    where table_schema = 'public'`.execute(db);
  for (const column of columns.rows.filter((row) => isOurs(row.table_name))) {
    schema.columns.set(
      `${column.table_name}.${column.column_name}`,
      columnShape(
        column.is_nullable === "YES",
        STORAGE_OF_POSTGRES_TYPE[column.data_type] ?? column.data_type,
      ),
    );
  }
  const foreignKeys = await sql<{ key: string }>`
    select conrelid::regclass || '.' || a.attname || ' -> ' || confrelid::regclass || '.'
      || fa.attname || ' on delete ' || case confdeltype
        when 'c' then 'CASCADE' when 'n' then 'SET NULL' when 'r' then 'RESTRICT'
        else 'NO ACTION' end as key
    from pg_constraint
    join pg_attribute a on a.attrelid = conrelid and a.attnum = conkey[1]
    join pg_attribute fa on fa.attrelid = confrelid and fa.attnum = confkey[1]
    where contype = 'f' and connamespace = 'public'::regnamespace`.execute(db);
  schema.foreignKeys = foreignKeys.rows.map((row) => row.key);
  const indexes = await sql<{ name: string; table: string; unique: boolean; partial: boolean }>`
    select i.relname as name, t.relname as table, indisunique as unique,
      indpred is not null as partial
    from pg_index join pg_class i on i.oid = indexrelid join pg_class t on t.oid = indrelid
    where t.relnamespace = 'public'::regnamespace`.execute(db);
  for (const index of indexes.rows) {
    schema.indexes.set(index.name, indexShape(index.table, index.unique, index.partial));
  }
  return schema;
}

/** Names of our tables in the database (Kysely's own left out). */
async function ourTables(db: Kysely<Database>): Promise<string[]> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public'`.execute(db);
  return tables.rows.map((row) => row.table_name).filter(isOurs);
}

const available = await postgresAvailable();

describe.skipIf(!available)("the PostgreSQL schema", () => {
  let database: TestDatabase;
  let postgres: PostgresHandle;

  beforeAll(async () => {
    database = await createTestDatabase();
    postgres = openPostgres(database.url, { max: 3 });
    await migratePostgresToLatest(postgres.db);
  });

  afterAll(async () => {
    await postgres?.close();
    await database?.drop();
  });

  test("has every table and column of SQLite's, with the same nullability and kind", async () => {
    const reference = await sqliteSchema();
    const actual = await postgresSchema(postgres.db);
    const expected = new Map(reference.columns);
    for (const [column, shape] of Object.entries(POSTGRES_ONLY_COLUMNS))
      expected.set(column, shape);
    expect(Object.fromEntries([...actual.columns].sort())).toEqual(
      Object.fromEntries([...expected].sort()),
    );
  });

  test("has SQLite's foreign keys with the same ON DELETE, and its indexes by name", async () => {
    const reference = await sqliteSchema();
    const actual = await postgresSchema(postgres.db);
    expect(actual.foreignKeys.toSorted()).toEqual(reference.foreignKeys.toSorted());
    for (const [name, shape] of reference.indexes) {
      expect(`${name}: ${actual.indexes.get(name)}`).toBe(`${name}: ${shape}`);
    }
    for (const name of POSTGRES_ONLY_INDEXES) {
      expect(actual.indexes.get(name)).toBe(indexShape("deliveries", false, true));
    }
  });

  test("three nodes migrating at once all succeed, and the migrations apply once", async () => {
    const fresh = await createTestDatabase();
    const nodes = [1, 2, 3].map(() => openPostgres(fresh.url, { max: 1 }));
    try {
      const applied = await Promise.all(nodes.map((node) => migratePostgresToLatest(node.db)));
      expect(applied.flat()).toEqual(Object.keys(postgresMigrations));
      const runs = await sql<{ name: string }>`select name from kysely_migration`.execute(
        nodes[0]?.db ?? postgres.db,
      );
      expect(runs.rows.map((row) => row.name)).toEqual(Object.keys(postgresMigrations));
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
      await fresh.drop();
    }
  });

  test("migrating down to nothing leaves none of our tables, and up again works", async () => {
    const fresh = await createTestDatabase();
    const node = openPostgres(fresh.url, { max: 1 });
    try {
      await migratePostgresToLatest(node.db);
      const provider = { getMigrations: async () => postgresMigrations };
      const { error } = await new Migrator({ db: node.db, provider }).migrateTo(NO_MIGRATIONS);
      expect(error).toBeUndefined();
      expect(await ourTables(node.db)).toEqual([]);
      const functions = await sql<{ proname: string }>`select proname from pg_proc
        where pronamespace = 'public'::regnamespace`.execute(node.db);
      expect(functions.rows).toEqual([]);
      expect(await migratePostgresToLatest(node.db)).toEqual(Object.keys(postgresMigrations));
      expect((await ourTables(node.db)).length).toBeGreaterThan(0);
    } finally {
      await node.close();
      await fresh.drop();
    }
  });

  describe("webhook generations", () => {
    const T0 = Date.UTC(2026, 0, 1);
    const notified: string[] = [];
    let unlisten: () => Promise<void>;

    /** The global generation and the workspace's. */
    async function generations(workspace: string): Promise<(number | undefined)[]> {
      const global = await sql<{ value: number }>`select value from webhook_generation
        where id = 1`.execute(postgres.db);
      const own = await sql<{ value: number }>`select value from webhook_generation_by_workspace
        where workspace = ${workspace}`.execute(postgres.db);
      return [global.rows[0]?.value, own.rows[0]?.value];
    }

    async function addWebhook(id: string, workspace: string): Promise<void> {
      await postgres.db
        .insertInto("workspaces")
        .values({ name: workspace, created_at: T0 })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
      await postgres.db
        .insertInto("webhooks")
        .values({
          id,
          workspace,
          name: id,
          description: null,
          endpoint: "https://example.com/hook",
          secret: "whsec_test",
          event_types: "[]",
          custom_payload: null,
          error_email_to: null,
          max_attempts: null,
          last_delivered_at: null,
          created_at: T0,
          last_modified: T0,
        })
        .execute();
    }

    beforeAll(async () => {
      const subscription = await postgres.sql.listen("hookpost_webhooks", (payload) => {
        notified.push(payload);
      });
      unlisten = () => subscription.unlisten();
    });

    afterAll(async () => {
      await unlisten?.();
    });

    test("creating a webhook moves both generations and notifies its workspace", async () => {
      const before = await generations("alpha");
      await addWebhook("wh_alpha", "alpha");
      const after = await generations("alpha");
      expect(after[0]).not.toBe(before[0]);
      expect(before[1]).toBeUndefined();
      expect(typeof after[1]).toBe("number");
      await waitFor("the notice of alpha", () => notified.includes("alpha"));
    });

    test("changing a watched column moves both; a health column moves neither", async () => {
      await addWebhook("wh_beta", "beta");
      await addWebhook("wh_gamma", "gamma");
      await waitFor("the notices of beta and gamma", () =>
        ["beta", "gamma"].every((workspace) => notified.includes(workspace)),
      );
      notified.length = 0;

      const start = await generations("beta");
      await postgres.db
        .updateTable("webhooks")
        .set({ fail_count: 3, health_status: "failing", last_delivered_at: T0 + 1 })
        .where("id", "=", "wh_beta")
        .execute();
      // Writing a watched column with the value it has is no change either.
      await postgres.db
        .updateTable("webhooks")
        .set({ endpoint: "https://example.com/hook" })
        .where("id", "=", "wh_beta")
        .execute();
      expect(await generations("beta")).toEqual(start);

      await postgres.db
        .updateTable("webhooks")
        .set({ endpoint: "https://example.com/other" })
        .where("id", "=", "wh_beta")
        .execute();
      const moved = await generations("beta");
      expect(moved[0]).not.toBe(start[0]);
      expect(moved[1]).not.toBe(start[1]);
      await postgres.db.deleteFrom("webhooks").where("id", "=", "wh_gamma").execute();
      // Notices arrive in commit order: had the health update notified, "beta" would come twice.
      await waitFor("the notice of gamma", () => notified.includes("gamma"));
      expect(notified).toEqual(["beta", "gamma"]);
    });
  });
});
