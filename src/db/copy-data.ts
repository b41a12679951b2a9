/**
 * `hookpost copy-data --to postgres://…`: moves a SQLite deployment into an empty PostgreSQL
 * database. The SQLite file must be migrated to the latest version (the two schemas are equal
 * only then) and no server may hold it: the copy takes the server lock itself
 * (src/db/server-lock.ts), so a server cannot start on the file half-way through either.
 *
 * PostgreSQL is migrated first, then everything is copied in ONE transaction: a failure, or a
 * target that already holds data, leaves the target as it was. Tables go parents first, each
 * read in pages by its primary key, so memory stays bounded by one page whatever the size of
 * the log. The SQLite side is read inside one read transaction: WAL gives it a snapshot, so a
 * `keys create` beside the copy cannot tear it.
 *
 * The two generation tables are not copied: PostgreSQL's migration seeds the global one, and the
 * triggers on `webhooks` write a fresh value per workspace as its webhooks arrive.
 */

import type { Database as SqliteDatabase } from "bun:sqlite";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { SQL } from "bun";
import { openStore } from "./connect.ts";
import { pendingMigrations } from "./migrator.ts";
import { openPostgres } from "./postgres/connect.ts";
import { migratePostgresToLatest } from "./postgres/migrator.ts";
import { acquireServerLock } from "./server-lock.ts";

/**
 * The tables copied, each with its primary key (the paging order), so that every table comes
 * after the tables its foreign keys reference.
 */
export const COPIED_TABLES: readonly { table: string; key: readonly string[] }[] = [
  { table: "workspaces", key: ["name"] },
  { table: "api_keys", key: ["id"] },
  { table: "webhooks", key: ["id"] },
  { table: "content_types", key: ["workspace", "key"] },
  { table: "events", key: ["id"] },
  { table: "deliveries", key: ["id"] },
  { table: "attempts", key: ["id"] },
  { table: "failure_notices", key: ["id"] },
  { table: "mail_state", key: ["webhook_id"] },
  { table: "delivery_counts", key: ["webhook_id", "process_status"] },
  { table: "delivery_state_counts", key: ["webhook_id", "state"] },
];

/**
 * Rows per read and per multi-row insert: 500 rows of at most 27 columns stay far below
 * PostgreSQL's 65,535 parameters per statement, and a page of deliveries (each with its body)
 * a few megabytes.
 */
const PAGE_ROWS = 500;

/** The copy cannot start: nothing was written to PostgreSQL. */
export class CopyRefusedError extends Error {
  override name = "CopyRefusedError";
}

export interface CopiedTable {
  table: string;
  rows: number;
}

/** A row as bun:sqlite reads it: text, numbers, null (no blobs in our tables). */
type Row = Record<string, string | number | null>;

/**
 * Copies the SQLite database at `dbPath` into the empty PostgreSQL database at `url`; returns
 * the rows copied per table, once committed. Throws {@link CopyRefusedError} (or the server
 * lock's error) before writing anything when the copy must not run.
 */
export async function copyData(dbPath: string, url: string): Promise<CopiedTable[]> {
  if (!existsSync(dbPath)) throw new CopyRefusedError(`no SQLite database at ${resolve(dbPath)}`);
  const lock = acquireServerLock(dbPath);
  const store = openStore(dbPath);
  try {
    const pending = await pendingMigrations(store.db);
    if (pending.length > 0) {
      throw new CopyRefusedError(
        `the SQLite database at ${resolve(dbPath)} is not migrated to this version ` +
          `(pending: ${pending.join(", ")}); run "hookpost migrate" on it first`,
      );
    }
    const postgres = openPostgres(url, { max: 1 });
    try {
      await migratePostgresToLatest(postgres.db);
      store.sqlite.exec("begin");
      try {
        const copied = await postgres.sql.begin(async (target) => {
          await refuseUnlessEmpty(target);
          const copied: CopiedTable[] = [];
          for (const { table, key } of COPIED_TABLES) {
            let rows = 0;
            for (const page of pages(store.sqlite, table, key)) {
              await target`insert into ${target(table)} ${target(page)}`;
              rows += page.length;
            }
            copied.push({ table, rows });
          }
          return copied;
        });
        // Statistics for the planner at once: autovacuum would gather them only within a
        // minute, and a server starting meanwhile would plan for empty tables.
        await postgres.sql`analyze`;
        return copied;
      } finally {
        store.sqlite.exec("commit");
      }
    } finally {
      await postgres.close();
    }
  } finally {
    await store.close();
    lock?.release();
  }
}

/** Throws when any copied table of the target holds a row (in the copy's transaction). */
async function refuseUnlessEmpty(target: SQL): Promise<void> {
  const filled: string[] = [];
  for (const { table } of COPIED_TABLES) {
    const [row] = await target`select exists (select 1 from ${target(table)}) as filled`;
    if (row?.filled === true) filled.push(table);
  }
  if (filled.length > 0) {
    throw new CopyRefusedError(
      `the PostgreSQL database is not empty (rows in ${filled.join(", ")}); ` +
        "copy-data only copies into an empty database",
    );
  }
}

/** The rows of `table` in pages of {@link PAGE_ROWS}, in the order of its primary key. */
function* pages(sqlite: SqliteDatabase, table: string, key: readonly string[]): Generator<Row[]> {
  const keyList = key.join(", ");
  const first = sqlite.query<Row, [number]>(`select * from ${table} order by ${keyList} limit ?`);
  // Row values: (a, b) > (?, ?) resumes after the last row of the page, by the key's order.
  const next = sqlite.query<Row, (string | number | null)[]>(
    `select * from ${table} where (${keyList}) > (${key.map(() => "?").join(", ")})
     order by ${keyList} limit ?`,
  );
  let page = first.all(PAGE_ROWS);
  while (page.length > 0) {
    yield page;
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE_ROWS) return;
    page = next.all(...key.map((column) => last[column] ?? null), PAGE_ROWS);
  }
}
