/**
 * One `hookpost serve` per database file. The server keeps state about the file in memory
 * (which deliveries are in flight), so a second server on the same file must not start.
 *
 * The lock is an OS file lock held by a small second SQLite file next to the database,
 * `<database>-serve.lock`: in exclusive locking mode, SQLite keeps the POSIX lock a write took
 * until the connection closes. The OS drops it when the process dies, however it dies (kill -9
 * included), so there is never a stale lock to clean up and no pid to second-guess; SQLite also
 * tracks its locks per file across connections of one process, so two servers in one process
 * conflict as well. Bun has no flock() without a native addon; this uses only bun:sqlite.
 */

import { SQLiteError, Database as SqliteDatabase } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Another server holds the database file. */
export class ServerLockError extends Error {
  override name = "ServerLockError";
}

export interface ServerLock {
  /** The lock file's absolute path. */
  readonly path: string;
  /** Releases the lock (closes its connection). Safe to call twice. */
  release(): void;
}

export function serverLockPath(dbPath: string): string {
  return `${resolve(dbPath)}-serve.lock`;
}

/**
 * Takes the lock of the database at `dbPath`, or throws {@link ServerLockError} at once when
 * another server holds it. An in-memory database belongs to its connection alone: no lock.
 */
export function acquireServerLock(dbPath: string): ServerLock | null {
  if (dbPath === ":memory:") return null;
  const path = serverLockPath(dbPath);
  // The database's folder may not exist yet: the lock comes before the database is opened.
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path, { create: true });
  try {
    // Refuse at once rather than queue behind the running server.
    sqlite.exec("PRAGMA busy_timeout = 0");
    sqlite.exec("PRAGMA locking_mode = EXCLUSIVE");
    // An empty exclusive transaction takes the EXCLUSIVE lock, which the locking mode then
    // keeps after COMMIT; nothing is written, so no journal file appears beside the lock.
    sqlite.exec("BEGIN EXCLUSIVE");
    sqlite.exec("COMMIT");
  } catch (error) {
    sqlite.close();
    if (error instanceof SQLiteError && error.code === "SQLITE_BUSY") {
      throw new ServerLockError(
        `another hookpost server is already running on ${resolve(dbPath)} (it holds ${path}); ` +
          "stop it first, or point this one at another database",
      );
    }
    throw error;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      sqlite.close();
    },
  };
}
