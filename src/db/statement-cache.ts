/**
 * bun:sqlite behind Kysely's own SQLite dialect, with prepared statements kept and reused.
 * Kysely prepares every query it runs; preparing is a large share of a small query's cost, so
 * the statements are cached by their SQL text (least recently used ones are finalized once the
 * cache is full). The hot paths use the same cache for their hand-written statements.
 */

import type { Database as BunDatabase, SQLQueryBindings, Statement } from "bun:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";

const CACHE_SIZE = 500;

type Bindings = SQLQueryBindings[];

export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly sqlite: BunDatabase) {}

  /** The prepared statement for `sql`, made once and reused. */
  get(sql: string): Statement {
    const cached = this.statements.get(sql);
    if (cached) {
      // Most recently used last: Map iteration order is insertion order.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const statement = this.sqlite.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > CACHE_SIZE) {
      const [oldest] = this.statements;
      if (oldest) {
        this.statements.delete(oldest[0]);
        oldest[1].finalize();
      }
    }
    return statement;
  }

  /**
   * Runs `work` as one synchronous transaction, as soon as no Kysely transaction is open
   * (Kysely awaits between a transaction's statements; these must not land inside one). Nothing
   * else runs while `work` does, so the hot paths need no lock.
   */
  async exclusive<T>(work: () => T): Promise<T> {
    while (this.sqlite.inTransaction) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.sqlite.transaction(work)();
  }

  close(): void {
    for (const statement of this.statements.values()) statement.finalize();
    this.statements.clear();
    this.sqlite.close();
  }

  /** The database as Kysely's SQLite dialect expects it. */
  asKyselyDatabase(): SqliteDatabase {
    return {
      close: () => this.close(),
      prepare: (sql: string): SqliteStatement => {
        const statement = this.get(sql);
        return {
          reader: statement.columnNames.length > 0,
          all: (parameters) => statement.all(...(parameters as Bindings)),
          run: (parameters) => statement.run(...(parameters as Bindings)),
          iterate: (parameters) => statement.iterate(...(parameters as Bindings)),
        };
      },
    };
  }
}
