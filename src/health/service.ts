/**
 * Whether the database can be written, checked the cheap way: take the write lock and let it
 * go (`BEGIN IMMEDIATE; ROLLBACK`), which writes nothing. A database another process keeps
 * locked, or that became read-only, fails every write with a 500 while `select 1` still
 * works; this check fails with it. The connection is the store's own, shared with group
 * commit and Kysely, so the check never blocks: the lock is tried with a busy timeout of 0, a
 * lock held by another process is tried again a few times over 250 ms between event-loop
 * turns, and nothing is tried inside someone else's transaction. The check writes nothing, so
 * a disk that fills up is seen only when a write fails.
 */

import type { Database } from "bun:sqlite";

/** How long the check waits for a transaction of this server's own to end before it gives up. */
const OWN_TRANSACTION_WAIT_MS = 1000;

/**
 * How long a write lock held by another process (a `hookpost keys` command, a backup) is waited
 * out, in short non-blocking retries, before the database is called unwritable: a brief lock
 * must not make a load balancer pull the node.
 */
const FOREIGN_LOCK_GRACE_MS = 250;
const FOREIGN_LOCK_RETRY_MS = 10;

function busyTimeoutOf(sqlite: Database): number {
  const row = sqlite.query("PRAGMA busy_timeout").get() as { timeout?: number } | null;
  return row?.timeout ?? 0;
}

function isBusy(error: unknown): boolean {
  return error instanceof Error && "code" in error && String(error.code).startsWith("SQLITE_BUSY");
}

/** Takes and releases the write lock without waiting; null, or the error that stopped it. */
function tryWriteLock(sqlite: Database): unknown {
  // Synchronous: nothing else can use the connection until the timeout is back.
  const busyTimeout = busyTimeoutOf(sqlite);
  sqlite.exec("PRAGMA busy_timeout = 0");
  try {
    sqlite.exec("BEGIN IMMEDIATE");
    sqlite.exec("ROLLBACK");
    return null;
  } catch (error) {
    return error;
  } finally {
    sqlite.exec(`PRAGMA busy_timeout = ${busyTimeout}`);
  }
}

/** Null when the database can be written; otherwise why not, in SQLite's words. */
export async function databaseWriteProblem(sqlite: Database): Promise<string | null> {
  const lockDeadline = Date.now() + FOREIGN_LOCK_GRACE_MS;
  for (;;) {
    // Kysely keeps a transaction open across awaits; a BEGIN now would fail with "cannot start
    // a transaction within a transaction". Its transactions are short: wait for the end.
    const deadline = Date.now() + OWN_TRANSACTION_WAIT_MS;
    while (sqlite.inTransaction) {
      if (Date.now() > deadline) {
        return `a transaction has been open for more than ${OWN_TRANSACTION_WAIT_MS} ms`;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const error = tryWriteLock(sqlite);
    if (error === null) return null;
    if (!isBusy(error) || Date.now() > lockDeadline) {
      return error instanceof Error ? error.message : String(error);
    }
    await Bun.sleep(FOREIGN_LOCK_RETRY_MS);
  }
}
