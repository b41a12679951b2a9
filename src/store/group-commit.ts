/**
 * The store's group commit: work queued in one turn of the event loop runs in one transaction
 * ({@link GroupCommit.exclusive}), because a commit writes every touched page and many small
 * transactions cost far more than one larger one. It also keeps the prepared statements, by their
 * SQL text (least recently used ones are finalized once the cache is full), for its own work and
 * for Kysely, whose SQLite dialect it serves (`asKyselyDatabase`): preparing is a large share of a
 * small query's cost. Batch work tells {@link GroupCommit.tally} how the log's totals change; the
 * batch writes them, added up, before it commits.
 */

import type { Database as BunDatabase, SQLQueryBindings, Statement } from "bun:sqlite";
import type { CompiledQuery, SqliteDatabase, SqliteStatement } from "kysely";
import { Tally } from "./counts.ts";

const CACHE_SIZE = 500;

type Bindings = SQLQueryBindings[];

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** SQLite's "database is locked": another connection kept the write lock past the busy timeout. */
function isBusy(error: unknown): boolean {
  return error instanceof Error && "code" in error && String(error.code).startsWith("SQLITE_BUSY");
}

function ok(value: unknown): Outcome {
  return { ok: true, value };
}

interface QueuedWork {
  work: () => unknown;
  /** When the batch runs isolated, writes get a savepoint of their own; reads need none. */
  writes: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private readonly statements = new Map<string, Statement>();
  /** The kept totals' changes of the batch running now: written before it commits. */
  readonly tally = new Tally();

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
   * The rows of a Kysely query, compiled once by the caller, run with the prepared statement
   * for its text (synchronous): one definition of a query serves both backends.
   */
  rows<R>(query: CompiledQuery<R>): R[] {
    return this.get(query.sql).all(...(query.parameters as Bindings)) as R[];
  }

  /**
   * Runs `work` (synchronous) inside a transaction once no Kysely transaction is open — Kysely
   * awaits between a transaction's statements, and these must not land inside one. Work queued
   * in the same turn of the event loop shares one transaction (group commit: a commit writes
   * every touched index page, so many small transactions cost far more than one larger one);
   * one item's failure rolls back only that item (see `flush`). Resolves after the commit.
   */
  exclusive<T>(work: () => T): Promise<T> {
    return this.enqueue(work, true);
  }

  /**
   * Runs `work` (synchronous, reading only) in the next batch of {@link exclusive}, without a
   * savepoint. A read on its own opens and closes a read transaction — file locks taken and
   * released, a handful of system calls — which costs a busy server far more than the read;
   * inside the batch it shares the transaction that is open anyway.
   */
  read<T>(work: () => T): Promise<T> {
    return this.enqueue(work, false);
  }

  private enqueue<T>(work: () => T, writes: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Work that comes after close (a held delivery's release timer, say) fails at once.
      if (this.closed) {
        reject(new Error("the database is closed"));
        return;
      }
      this.queue.push({ work, writes, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private readonly queue: QueuedWork[] = [];
  private flushing = false;
  private closed = false;

  private async flush(): Promise<void> {
    while (!this.closed && this.sqlite.inTransaction) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.closed) {
      // Closed between the work's arrival and this turn: nothing can run it any more.
      this.flushing = false;
      for (const item of this.queue.splice(0)) item.reject(new Error("the database is closed"));
      return;
    }
    const batch = this.queue.splice(0);
    this.flushing = false;
    let outcomes: Outcome[];
    try {
      // Optimistic first: no savepoints. Work fails rarely (a row changed meanwhile, the file busy), so
      // when an item throws the whole batch is rolled back and run again, each item isolated
      // in its own savepoint. Work must therefore be safe to run twice: it reads the database
      // again, and whatever it changes in memory it puts back before its second run.
      outcomes = this.sqlite.transaction(() => {
        const done = batch.map((item) => ok(item.work()));
        this.tally.write(this);
        return done;
      })();
    } catch (error) {
      this.tally.rewind(0);
      // Another connection holds the write lock past the busy timeout: every write would wait
      // that long again, one after the other. They fail now; reads need no write lock.
      outcomes = isBusy(error) ? this.readsAlone(batch, error) : this.runIsolated(batch);
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    });
  }

  /** The batch again, each item in its own savepoint; if even that cannot commit, reads alone. */
  private runIsolated(batch: QueuedWork[]): Outcome[] {
    try {
      return this.sqlite.transaction(() => {
        const done = batch.map((item) => this.isolated(item));
        this.tally.write(this);
        return done;
      })();
    } catch (error) {
      this.tally.rewind(0);
      // The commit itself failed (the file full, say): nothing of the batch is stored.
      return this.readsAlone(batch, error);
    }
  }

  /** Writes fail with `error`; reads are answered in a transaction of their own. */
  private readsAlone(batch: QueuedWork[], error: unknown): Outcome[] {
    const reads = batch.filter((item) => !item.writes);
    let answers: Outcome[];
    try {
      answers = this.sqlite.transaction(() => reads.map((item) => this.isolated(item)))();
    } catch (readError) {
      answers = reads.map(() => ({ ok: false, error: readError }));
    }
    return batch.map((item) =>
      item.writes ? { ok: false, error } : (answers.shift() ?? { ok: false, error }),
    );
  }

  /** Runs one item so that its failure undoes only its own writes. */
  private isolated(item: QueuedWork): Outcome {
    if (!item.writes) {
      try {
        return ok(item.work());
      } catch (error) {
        return { ok: false, error };
      }
    }
    this.get("savepoint work").run();
    const mark = this.tally.mark();
    try {
      const value = item.work();
      this.get("release work").run();
      return ok(value);
    } catch (error) {
      this.tally.rewind(mark);
      this.get("rollback to work").run();
      this.get("release work").run();
      return { ok: false, error };
    }
  }

  close(): void {
    this.closed = true;
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
