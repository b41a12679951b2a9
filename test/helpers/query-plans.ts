/**
 * What SQLite plans for the queries code under test runs: a Kysely on the app's own handle that
 * records every query it runs, and a statement's plan, its steps in order.
 */

import type { Database as BunDatabase, SQLQueryBindings } from "bun:sqlite";
import { type CompiledQuery, Kysely, SqliteDialect } from "kysely";
import type { Store } from "../../src/db/connect.ts";
import type { Database } from "../../src/db/database.ts";

/**
 * A second Kysely on the store's handle, recording the queries run through it. Not to be
 * destroyed: that would close the handle the app still owns.
 */
export function recordingKysely(store: Store): { db: Kysely<Database>; executed: CompiledQuery[] } {
  const executed: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: store.statements.asKyselyDatabase() }),
    log: (event) => {
      if (event.level === "query") executed.push(event.query);
    },
  });
  return { db, executed };
}

/**
 * SQLite's plan of `sql` with `parameters` bound, its steps in order. The statement is
 * finalized after: an EXPLAIN of an UPDATE left open keeps the connection from committing.
 */
export function queryPlan(
  sqlite: BunDatabase,
  sql: string,
  parameters: readonly unknown[] = [],
): string[] {
  const statement = sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  try {
    return (statement.all(...(parameters as SQLQueryBindings[])) as { detail: string }[]).map(
      (row) => row.detail,
    );
  } finally {
    statement.finalize();
  }
}
