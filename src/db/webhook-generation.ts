/**
 * What is read from the webhooks table on every event and every scheduler tick, kept in memory
 * until the webhooks it was read from change. Triggers give a generation number a new value
 * whenever a webhook is created or deleted, or a column that matching, building or sending a
 * delivery reads really changes: one number for all webhooks (migration 0005, for the
 * scheduler's list of every workspace) and one per workspace (migration 0010, for ingestion,
 * so that one tenant's changes never make another tenant's next event read its list again).
 * Each read first looks at the number — one row, inside the transaction that uses the result —
 * so a change made by any connection (this process's API, the scheduler disabling a webhook
 * on `410 Gone`, another process) is seen by the next read.
 */

import type { GroupCommit } from "../store/group-commit.ts";

/** The generation a cached value of `key` was read at, or undefined when there is none. */
export type GenerationOf<K> = (key: K) => number | undefined;

/** The one number that moves with any webhook of any workspace. */
export function allWebhooksGeneration<K>(statements: GroupCommit): GenerationOf<K> {
  return () => {
    const row = statements.get("select value from webhook_generation where id = 1").get() as {
      value: number;
    } | null;
    return row?.value;
  };
}

/** The number that moves only with the webhooks of the workspace given as the key. */
export function workspaceWebhooksGeneration(statements: GroupCommit): GenerationOf<string> {
  return (workspace) => {
    const row = statements
      .get("select value from webhook_generation_by_workspace where workspace = ?")
      .get(workspace) as { value: number } | null;
    return row?.value;
  };
}

/**
 * Values read from the webhooks table, one per key, each kept until the generation it was read
 * at moves.
 *
 * @example
 * const lists = new WebhookDerived(workspaceWebhooksGeneration(statements), readList);
 * lists.get("default"); // read once, then from memory until a webhook of "default" changes
 */
export class WebhookDerived<K, T> {
  private readonly entries = new Map<K, { generation: number; value: T }>();

  constructor(
    private readonly generationOf: GenerationOf<K>,
    private readonly load: (key: K) => T,
  ) {}

  /** The value for `key` as the current transaction sees the webhooks. Synchronous. */
  get(key: K): T {
    const generation = this.generationOf(key);
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.generation === generation) return entry.value;
    const value = this.load(key);
    // Without a generation (its row missing) nothing can say when to read again: no cache.
    if (generation === undefined) this.entries.delete(key);
    else this.entries.set(key, { generation, value });
    return value;
  }
}
