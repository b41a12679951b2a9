/**
 * Opens a PostgreSQL database (`HOOKPOST_DATABASE_URL=postgres://…`): one pool of Bun's built-in
 * client, shared by Kysely (every query of the app) and the few callers that need the raw client
 * (`LISTEN` for webhook changes, bulk statements).
 */

import { SQL } from "bun";
import { Kysely } from "kysely";
import type { Database } from "../database.ts";
import { BunPostgresDialect } from "./dialect.ts";

export interface PostgresHandle {
  /** The pool itself, for what Kysely does not cover (`sql.listen`). */
  sql: SQL;
  db: Kysely<Database>;
  /** Closes the pool; waits for the queries already running. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens a pool of at most `max` connections (Bun's default, 10, when not given) to `url`.
 * Connections open on first use, so a wrong URL surfaces at the first query (the migration).
 */
export function openPostgres(url: string, options: { max?: number } = {}): PostgresHandle {
  const sql = new SQL(url, options.max === undefined ? {} : { max: options.max });
  const db = new Kysely<Database>({ dialect: new BunPostgresDialect(sql) });
  let closed: Promise<void> | undefined;
  return {
    sql,
    db,
    close() {
      // Kysely's destroy closes the pool through the dialect's driver.
      closed ??= db.destroy();
      return closed;
    },
  };
}
