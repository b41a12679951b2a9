/**
 * What is read from the webhooks table on every event and every scheduler tick, kept in memory
 * until the table changes. Triggers give `webhook_generation` a new value whenever a webhook is
 * created or deleted, or a column that matching, building or sending a delivery reads really
 * changes (migration 0005). Each read first looks at that value — one row, inside the
 * transaction that uses the result — so a change made by any connection (this process's API,
 * the scheduler disabling a webhook on `410 Gone`, another process) is seen by the next read.
 */

import type { StatementCache } from "./statement-cache.ts";

const GENERATION_SQL = "select value from webhook_generation where id = 1";

export class WebhookDerived<K, T> {
  private generation: number | undefined;
  private readonly values = new Map<K, T>();

  constructor(
    private readonly statements: StatementCache,
    private readonly load: (key: K) => T,
  ) {}

  /** The value for `key` as the current transaction sees the webhooks. Synchronous. */
  get(key: K): T {
    const row = this.statements.get(GENERATION_SQL).get() as { value: number } | null;
    if (row?.value !== this.generation) {
      this.values.clear();
      this.generation = row?.value;
    }
    let value = this.values.get(key);
    if (value === undefined) {
      value = this.load(key);
      // Without a generation (its row missing) nothing can say when to read again: no cache.
      if (row) this.values.set(key, value);
    }
    return value;
  }
}
