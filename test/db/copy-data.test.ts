/**
 * `hookpost copy-data --to postgres://…` as an operator runs it: a SQLite deployment built
 * through the real app (webhooks of two workspaces, keys, a content type, deliveries sent,
 * retrying, exhausted, failed and pending, attempts, a pending failure notice, a mail state),
 * copied by a `bun src/main.ts` child process into a fresh PostgreSQL database and compared
 * table by table, row for row. A second run, an unmigrated file and a file a server holds are
 * refused with exit code 1 and nothing written. Skipped without a PostgreSQL server.
 */

import { Database as SqliteDatabase } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Migrator, sql } from "kysely";
import { migrations } from "../../migrations/index.ts";
import { postgresMigrations } from "../../migrations-postgres/index.ts";
import { openStore } from "../../src/db/connect.ts";
import { COPIED_TABLES } from "../../src/db/copy-data.ts";
import { openPostgres } from "../../src/db/postgres/connect.ts";
import { migratePostgresToLatest } from "../../src/db/postgres/migrator.ts";
import { acquireServerLock } from "../../src/db/server-lock.ts";
import { deliveryState } from "../../src/deliveries/status.ts";
import { recordMailFailure } from "../../src/mail/repository.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/postgres.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, tempDir } from "../helpers/test-app.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
/** Content types added to the fixture: more than two of the copy's pages (500 rows each). */
const MANY_CONTENT_TYPES = 1234;

type Row = Record<string, unknown>;

/** Runs `hookpost copy-data` on `dbPath` into `url` as a child process. */
async function runCopy(dbPath: string, url: string) {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("HOOKPOST_") && value !== undefined) env[name] = value;
  }
  const proc = Bun.spawn(
    [process.execPath, "src/main.ts", "copy-data", "--to", url, "--db-path", dbPath],
    { cwd: REPO_ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** A table's rows keyed and sorted by primary key (the two databases sort text differently). */
function byKey(rows: Row[], key: readonly string[]): [string, Row][] {
  return rows
    .map((row): [string, Row] => [key.map((column) => String(row[column])).join("\u0000"), row])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every copied table of the SQLite file, keyed rows per table name. */
function sqliteTables(dbPath: string): Map<string, [string, Row][]> {
  const sqlite = new SqliteDatabase(dbPath, { readonly: true });
  try {
    return new Map(
      COPIED_TABLES.map(({ table, key }) => [
        table,
        byKey(sqlite.query<Row, []>(`select * from ${table}`).all(), key),
      ]),
    );
  } finally {
    sqlite.close();
  }
}

/** The same of a PostgreSQL database, without its PostgreSQL-only `deliveries.lease_owner`. */
async function postgresTables(url: string): Promise<Map<string, [string, Row][]>> {
  const postgres = openPostgres(url, { max: 1 });
  try {
    const tables = new Map<string, [string, Row][]>();
    for (const { table, key } of COPIED_TABLES) {
      const result = await sql<Row>`select * from ${sql.table(table)}`.execute(postgres.db);
      // PostgreSQL's own columns: no lease, and every copied total in its first shard.
      const rows = result.rows.map(({ lease_owner, shard, ...row }) => {
        expect(lease_owner ?? null).toBeNull();
        expect(shard ?? 0).toBe(0);
        return row;
      });
      tables.set(table, byKey(rows, key));
    }
    return tables;
  } finally {
    await postgres.close();
  }
}

/** Names of our tables in a PostgreSQL database. */
async function postgresTableNames(url: string): Promise<string[]> {
  const postgres = openPostgres(url, { max: 1 });
  try {
    const result = await sql<{ table_name: string }>`select table_name
      from information_schema.tables where table_schema = 'public'`.execute(postgres.db);
    return result.rows.map((row) => row.table_name);
  } finally {
    await postgres.close();
  }
}

const available = await postgresAvailable();

describe.skipIf(!available)("hookpost copy-data", () => {
  const dir = tempDir("hookpost-copy-data-");
  const dbPath = join(dir, "hookpost.db");
  const receivers: Receiver[] = [];
  const databases: TestDatabase[] = [];

  /** A fresh PostgreSQL database, dropped after the file's tests. */
  async function freshDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }

  beforeAll(async () => {
    const answering = (status: number) => {
      const receiver = startReceiver(() => new Response("answer", { status }));
      receivers.push(receiver);
      return `${receiver.url}/hook`;
    };
    // Retries an hour away: a delivery that failed once stays `retrying` while the copy runs.
    const t = await createTestApp({
      ...LOOPBACK_DELIVERY,
      HOOKPOST_DB_PATH: dbPath,
      HOOKPOST_RETRY_BASE_MS: "3600000",
      HOOKPOST_RETRY_MAX_DELAY_MS: "3600000",
    });
    const content = await t.request("PUT", "/content-types/article", {
      key: t.keys.write,
      json: { name: "Article", fields: ["title", "body"] },
    });
    expect(content.status).toBe(200);
    const sent = await createWebhook(t, { endpoint: answering(200), description: "sent" });
    await createWebhook(t, {
      endpoint: answering(500),
      maxAttempts: 1,
      errorEmailTo: "ops@example.com",
    });
    await createWebhook(t, { endpoint: answering(500), maxAttempts: 3 });
    const gone = await createWebhook(t, { endpoint: answering(410) });
    await createWebhook(t, { endpoint: answering(200), slot: "preview" }, t.keys.other);
    await t.app.start();

    for (const [index, key] of [t.keys.write, t.keys.write, t.keys.other].entries()) {
      const published = await t.request("POST", "/events", {
        key,
        json: {
          id: `cms-${index}`,
          eventType: 0,
          contentType: "article",
          contentId: `c_${index}`,
          slot: key === t.keys.other ? "preview" : "published",
          fields: { title: `Title ${index}`, body: "Ünïcödé 🚀 text" },
        },
      });
      expect(published.status).toBe(202);
    }
    // A delivery of the `410` webhook published after it answered stays pending: disabled.
    await waitFor("every enabled webhook's deliveries tried, the 410 one disabled", async () => {
      const untried = await t.app.store.db
        .selectFrom("deliveries")
        .innerJoin("webhooks", "webhooks.id", "deliveries.webhook_id")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("attempts", "=", 0)
        .where("enabled", "=", 1)
        .executeTakeFirstOrThrow();
      const disabled = await t.app.store.db
        .selectFrom("webhooks")
        .select("id")
        .where("id", "=", gone.id)
        .where("enabled", "=", 0)
        .executeTakeFirst();
      return untried.count === 0 && disabled !== undefined;
    });
    // The retry of a sent delivery stays pending: the scheduler is stopped first.
    await t.app.scheduler.stop();
    const delivered = await t.app.store.db
      .selectFrom("deliveries")
      .select("id")
      .where("webhook_id", "=", sent.id)
      .executeTakeFirstOrThrow();
    const retried = await t.request("POST", `/webhooks/${sent.id}/events/${delivered.id}/retry`, {
      key: t.keys.write,
    });
    expect(retried.status).toBeLessThan(300);
    await recordMailFailure(t.app.store.db, sent.id, {
      failures: 1,
      nextAttemptAt: Date.now() + 60_000,
      error: "SMTP refused",
    });
    await t.app.stop();
    // More content types than one page of the copy holds, over both workspaces: pages resume
    // after a composite key (workspace, key).
    const sqlite = new SqliteDatabase(dbPath);
    const insert = sqlite.query(
      "insert into content_types (workspace, key, name, fields, created_at, updated_at) values (?, ?, ?, '[]', ?, ?)",
    );
    sqlite.transaction(() => {
      for (let n = 0; n < MANY_CONTENT_TYPES; n++) {
        const workspace = n % 2 === 0 ? "default" : "other";
        insert.run(workspace, `bulk-${n}`, `Bulk ${n}`, n, n);
      }
    })();
    sqlite.close();
  });

  afterAll(async () => {
    await Promise.all(receivers.map((receiver) => receiver.stop()));
    await Promise.all(databases.map((database) => database.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("the fixture holds every kind of row the copy must carry", () => {
    const tables = sqliteTables(dbPath);
    for (const { table } of COPIED_TABLES) {
      expect(`${table}: ${(tables.get(table)?.length ?? 0) > 0}`).toBe(`${table}: true`);
    }
    const states = (tables.get("deliveries") ?? []).map(([, row]) =>
      deliveryState(row as Parameters<typeof deliveryState>[0]),
    );
    for (const state of ["pending", "retrying", "success", "failed", "exhausted"] as const) {
      expect(states).toContain(state);
    }
    expect(tables.get("content_types")?.length).toBeGreaterThan(MANY_CONTENT_TYPES);
    const notices = tables.get("failure_notices") ?? [];
    expect(notices.some(([, row]) => row.mailed_at === null)).toBe(true);
  });

  test("copies every table row for row, then refuses a second run and changes nothing", async () => {
    const target = await freshDatabase();
    const first = await runCopy(dbPath, target.url);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const source = sqliteTables(dbPath);
    for (const { table } of COPIED_TABLES) {
      expect(first.stdout).toMatch(new RegExp(`^${table} +${source.get(table)?.length}$`, "m"));
    }
    const copied = await postgresTables(target.url);
    for (const { table } of COPIED_TABLES) {
      expect({ table, rows: copied.get(table) }).toEqual({ table, rows: source.get(table) });
    }
    // The generation triggers gave every workspace with webhooks a generation of its own.
    const postgres = openPostgres(target.url, { max: 1 });
    try {
      const generations = await postgres.db
        .selectFrom("webhooks")
        .select("workspace")
        .distinct()
        .where(
          "workspace",
          "not in",
          sql<string>`(select workspace from webhook_generation_by_workspace)`,
        )
        .execute();
      expect(generations).toEqual([]);
    } finally {
      await postgres.close();
    }

    const second = await runCopy(dbPath, target.url);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("the PostgreSQL database is not empty");
    expect(await postgresTables(target.url)).toEqual(copied);
  });

  test("a database with a row in every table upgrades from PostgreSQL 0001 with nothing lost", async () => {
    // The fixture copied, then migrated down to 0001: every table has rows written by the
    // app, in 0001's columns. Up again, each row keeps every column it had.
    const target = await freshDatabase();
    expect((await runCopy(dbPath, target.url)).code).toBe(0);
    const postgres = openPostgres(target.url, { max: 1 });
    try {
      const provider = { getMigrations: async () => postgresMigrations };
      const down = await new Migrator({ db: postgres.db, provider }).migrateTo("0001_init");
      expect(down.error).toBeUndefined();
      const before = await postgresTables(target.url);
      await migratePostgresToLatest(postgres.db);
      const after = await postgresTables(target.url);
      for (const { table } of COPIED_TABLES) {
        const rows = before.get(table) ?? [];
        expect(rows.length).toBeGreaterThan(0);
        const kept = (after.get(table) ?? []).map(([key, row]): [string, Row] => [
          key,
          Object.fromEntries(
            Object.keys(rows[0]?.[1] ?? {}).map((column) => [column, row[column]]),
          ),
        ]);
        expect({ table, rows: kept }).toEqual({ table, rows });
      }
      // What the upgrade derives: each attempt's webhook, and a failing webhook's streak.
      const attempts = await sql<{ orphans: number }>`select count(*)::int as orphans
        from attempts a join deliveries d on d.id = a.delivery_id
        where a.webhook_id <> d.webhook_id`.execute(postgres.db);
      expect(attempts.rows[0]?.orphans).toBe(0);
      const streaks = await postgres.db
        .selectFrom("webhooks")
        .select(["fail_count", "failing_since"])
        .execute();
      expect(streaks.some((row) => row.fail_count > 0)).toBe(true);
      for (const row of streaks) expect(row.failing_since !== null).toBe(row.fail_count > 0);
    } finally {
      await postgres.close();
    }
  });

  test("refuses a SQLite file that is not migrated to the latest version", async () => {
    const oldPath = join(dir, "old.db");
    const store = openStore(oldPath);
    const provider = { getMigrations: async () => migrations };
    const { error } = await new Migrator({ db: store.db, provider }).migrateTo(
      "0012_delivery_log_by_state",
    );
    await store.close();
    expect(error).toBeUndefined();
    const target = await freshDatabase();
    const result = await runCopy(oldPath, target.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("pending: 0013_store_keeps_totals");
    expect(await postgresTableNames(target.url)).toEqual([]);
  });

  test("refuses a SQLite file while a server holds it", async () => {
    const lock = acquireServerLock(dbPath);
    try {
      const target = await freshDatabase();
      const result = await runCopy(dbPath, target.url);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("another hookpost server is already running");
      expect(await postgresTableNames(target.url)).toEqual([]);
    } finally {
      lock?.release();
    }
  });
});
