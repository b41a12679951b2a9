/**
 * Whether the database can be written, checked the cheap way: take the write lock and let it
 * go (`BEGIN IMMEDIATE; ROLLBACK`), which writes nothing. A database another process keeps
 * locked, or that became read-only, fails every write with a 500 while `select 1` still
 * works; this check fails with it. The connection is the store's own, shared with group
 * commit and Kysely, so the check never waits: not for the lock (the busy timeout is 0 for
 * that one statement) and not inside someone else's transaction.
 */

import type { Database } from "bun:sqlite";

/** How long the check waits for a transaction of this server's own to end before it gives up. */
const OWN_TRANSACTION_WAIT_MS = 1000;

function busyTimeoutOf(sqlite: Database): number {
  const row = sqlite.query("PRAGMA busy_timeout").get() as { timeout?: number } | null;
  return row?.timeout ?? 0;
}

/** Null when the database can be written; otherwise why not, in SQLite's words. */
export async function databaseWriteProblem(sqlite: Database): Promise<string | null> {
  // Kysely keeps a transaction open across awaits; a BEGIN now would fail with "cannot start
  // a transaction within a transaction". Its transactions are short: wait for the end.
  const deadline = Date.now() + OWN_TRANSACTION_WAIT_MS;
  while (sqlite.inTransaction) {
    if (Date.now() > deadline) {
      return `a transaction has been open for more than ${OWN_TRANSACTION_WAIT_MS} ms`;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // Synchronous from here on: nothing else can use the connection until the timeout is back.
  const busyTimeout = busyTimeoutOf(sqlite);
  sqlite.exec("PRAGMA busy_timeout = 0");
  try {
    sqlite.exec("BEGIN IMMEDIATE");
    sqlite.exec("ROLLBACK");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    sqlite.exec(`PRAGMA busy_timeout = ${busyTimeout}`);
  }
}
