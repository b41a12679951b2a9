/**
 * Opens the SQLite file with the pragmas Hookpost relies on: WAL (readers never wait for the
 * writer), synchronous=NORMAL (durable across a process crash, fast), foreign keys, a busy
 * timeout so the CLI and a running server can share the file, and temporary data in memory.
 */

import { Database as SqliteDatabase } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Kysely, SqliteDialect } from "kysely";
import { sqliteKeyByHash } from "../api-keys/service.ts";
import { databaseWriteProblem } from "../health/service.ts";
import { GroupCommit } from "../store/group-commit.ts";
import { SqliteDeliveryStore } from "../store/store.ts";
import type { Backend, Leadership } from "./backend.ts";
import type { Database } from "./database.ts";
import { migrateToLatest } from "./migrator.ts";

export interface Store extends Backend {
  readonly kind: "sqlite";
  /** The raw handle, for the few hot paths that use prepared statements. */
  sqlite: SqliteDatabase;
  /** Prepared statements by SQL text, shared by Kysely and the hot paths. */
  statements: GroupCommit;
}

/** Whether `backend` is a SQLite store (with its file handle and group commit). */
export function isSqlite(backend: Backend): backend is Store {
  return backend.kind === "sqlite";
}

/** The one server that owns the file (db/server-lock.ts) runs the singleton work. */
const ALWAYS_LEADS: Leadership = { leads: () => true, stop: async () => undefined };

/** Opens (creating if needed) the database at `path`; `:memory:` works for quick tests. */
export function openStore(path: string): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  sqlite.exec("PRAGMA foreign_keys = ON");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  // Statement journals (every write that fires a trigger or runs inside a savepoint opens one)
  // stay in memory instead of a temp file per statement: a quarter of a delivery insert's cost.
  sqlite.exec("PRAGMA temp_store = MEMORY");
  const statements = new GroupCommit(sqlite);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: statements.asKyselyDatabase() }),
  });
  let closed = false;
  return {
    kind: "sqlite",
    location: path,
    sqlite,
    statements,
    db,
    migrate: () => migrateToLatest(db),
    deliveryStore: (onDeliveryFailed) => new SqliteDeliveryStore(db, statements, onDeliveryFailed),
    keyByHash: sqliteKeyByHash(db, statements),
    writeProblem: () => databaseWriteProblem(sqlite),
    // One server owns the file, and SQLite has one writer: a transaction is enough.
    serialized: (_name, work) => db.transaction().execute(work),
    leadership: () => ALWAYS_LEADS,
    // Nobody else writes the file.
    watchDue: async () => async () => undefined,
    async close() {
      if (closed) return;
      closed = true;
      // Kysely's destroy closes the bun:sqlite handle through the dialect's driver.
      await db.destroy();
    },
  };
}
