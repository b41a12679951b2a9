/**
 * Group commit for PostgreSQL: the items that arrive while a transaction is under way are
 * written together in the next one. A commit waits for the write-ahead log to reach the disk;
 * one commit for many events or outcomes instead of one each is most of what PostgreSQL can
 * do per second (the same reason as SQLite's group commit, store/group-commit.ts). A few
 * transactions run at once, so a batch never waits long for the one before it.
 *
 * When a batch's transaction fails, each of its items runs again alone, in a transaction of its
 * own: one bad item (a unique key another node took first, a row changed meanwhile) fails only
 * itself.
 */

import type { Executor } from "../../db/database.ts";

/** Writes `items` in the caller's transaction; returns one result per item, in order. */
export type BatchWriter<Item, Result> = (
  trx: Executor,
  items: readonly Item[],
) => Promise<Result[]>;

interface Queued<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** At most this many items in one transaction. */
const MAX_BATCH = 256;

export class TransactionBatcher<Item, Result> {
  private readonly queue: Queued<Item, Result>[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly db: Executor,
    private readonly write: BatchWriter<Item, Result>,
    /** Transactions of this batcher running at once, at most. */
    private readonly parallel: number,
  ) {}

  /** Writes `item` in the next batch; resolves with its result once that batch committed. */
  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.parallel || this.queue.length === 0) return;
    this.scheduled = true;
    // What arrives in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.startBatch();
    });
  }

  private startBatch(): void {
    if (this.running >= this.parallel || this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.running++;
    void this.run(batch).finally(() => {
      this.running--;
      this.schedule();
    });
    // More than a batch waiting, and room for another transaction: start it now.
    this.schedule();
  }

  private async run(batch: Queued<Item, Result>[]): Promise<void> {
    try {
      const results = await this.db.transaction().execute((trx) =>
        this.write(
          trx,
          batch.map((queued) => queued.item),
        ),
      );
      for (const [index, queued] of batch.entries()) queued.resolve(results[index] as Result);
      return;
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
    }
    // Each alone: only the items that fail on their own fail.
    await Promise.all(
      batch.map(async (queued) => {
        try {
          const [result] = await this.db
            .transaction()
            .execute((trx) => this.write(trx, [queued.item]));
          queued.resolve(result as Result);
        } catch (error) {
          queued.reject(error);
        }
      }),
    );
  }
}
