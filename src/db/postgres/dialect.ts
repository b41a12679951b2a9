/**
 * A Kysely dialect over Bun's built-in PostgreSQL client (`import { SQL } from "bun"`): no npm
 * driver, no native addon, so it bundles into the compiled executable. Kysely's own PostgreSQL
 * adapter, introspector and query compiler do the SQL; this file only runs the compiled text on
 * a connection reserved from Bun's pool, and returns `int8` and `numeric` values as numbers.
 *
 * Bun hands `int8` (and `numeric`) back as strings, because not every one fits a JS number. Ours
 * do — times are integer milliseconds, counts are `count(*)` — and every query of the app is
 * written against `number` (src/db/database.ts), so they become numbers here. One that does not
 * fit throws rather than silently rounding.
 */

import type { ReservedSQL, SQL } from "bun";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";

/** PostgreSQL type OIDs that Bun returns as strings and this dialect turns into numbers. */
const NUMERIC_TYPES = new Map([
  [20, "int8"],
  [1700, "numeric"],
]);

/** Commands whose row count Kysely reports as `numAffectedRows`, as its `pg` driver does. */
const WRITE_COMMANDS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/**
 * `value` (Bun's text of an `int8` or `numeric`) as a number; throws when the number would not
 * be exact, so that a count or a time is never silently rounded.
 */
function numberFromPostgres(value: string, column: string, typeName: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || Math.abs(number) > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `${typeName} column "${column}" holds ${value}, beyond what a JS number holds exactly (Number.MAX_SAFE_INTEGER)`,
    );
  }
  return number;
}

/** One connection reserved from Bun's pool for as long as Kysely holds it. */
class BunPostgresConnection implements DatabaseConnection {
  constructor(readonly reserved: ReservedSQL) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.reserved.unsafe<Record<string, unknown>[]>(compiledQuery.sql, [
      ...compiledQuery.parameters,
    ]);
    const converted = (result.columns ?? []).flatMap((column) => {
      const typeName = NUMERIC_TYPES.get(column.type);
      return typeName === undefined ? [] : [{ name: column.name, typeName }];
    });
    for (const { name, typeName } of converted) {
      for (const row of result) {
        const value = row[name];
        if (typeof value === "string") row[name] = numberFromPostgres(value, name, typeName);
      }
    }
    return {
      numAffectedRows:
        result.command !== null && WRITE_COMMANDS.has(result.command)
          ? BigInt(result.affectedRows)
          : undefined,
      // A plain array: Bun's carries the result's metadata (count, command…) as properties.
      rows: Array.from(result) as R[],
    };
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    // A stream needs a server-side cursor; nothing in Hookpost streams, it pages by key.
    throw new Error("streaming queries are not supported by the Bun PostgreSQL dialect");
  }
}

/** A savepoint statement on a name Kysely was given, quoted as an identifier. */
function savepointQuery(command: string, savepointName: string): CompiledQuery {
  return CompiledQuery.raw(`${command} "${savepointName.replaceAll('"', '""')}"`);
}

class BunPostgresDriver implements Driver {
  constructor(private readonly sql: SQL) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new BunPostgresConnection(await this.sql.reserve());
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    const options = [
      settings.isolationLevel && `isolation level ${settings.isolationLevel}`,
      settings.accessMode,
    ].filter(Boolean);
    await connection.executeQuery(CompiledQuery.raw(["start transaction", ...options].join(" ")));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(savepointQuery("savepoint", savepointName));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(savepointQuery("rollback to savepoint", savepointName));
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(savepointQuery("release savepoint", savepointName));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await (connection as BunPostgresConnection).reserved.release();
  }

  async destroy(): Promise<void> {
    await this.sql.close();
  }
}

/**
 * Kysely on Bun's PostgreSQL client. The dialect owns the pool: `db.destroy()` closes it.
 *
 * @example
 * const sql = new SQL("postgres://postgres@127.0.0.1:5432/hookpost", { max: 10 });
 * const db = new Kysely<Database>({ dialect: new BunPostgresDialect(sql) });
 * await db.selectFrom("webhooks").selectAll().execute();
 * await db.destroy();
 */
export class BunPostgresDialect implements Dialect {
  constructor(private readonly sql: SQL) {}

  createDriver(): Driver {
    return new BunPostgresDriver(this.sql);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
