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
import type { Executor } from "./database.ts";

/** The generation a cached value of `key` was read at, or undefined when there is none. */
export type GenerationOf<K> = (key: K) => number | undefined;

/** The one number that moves with any webhook of any workspace. */
export function allWebhooksGenerationQuery(db: Executor) {
  return db.selectFrom("webhook_generation").select("value").where("id", "=", 1);
}

/** The number that moves only with the webhooks of `workspace`. */
export function workspaceGenerationQuery(db: Executor, workspace: string) {
  return db
    .selectFrom("webhook_generation_by_workspace")
    .select("value")
    .where("workspace", "=", workspace);
}

/** {@link allWebhooksGenerationQuery}, read synchronously (SQLite, inside a batch). */
export function allWebhooksGeneration<K>(db: Executor, statements: GroupCommit): GenerationOf<K> {
  const query = allWebhooksGenerationQuery(db).compile();
  return () => statements.rows(query)[0]?.value;
}

/** {@link workspaceGenerationQuery}, read synchronously (SQLite, inside a batch). */
export function workspaceWebhooksGeneration(
  db: Executor,
  statements: GroupCommit,
): GenerationOf<string> {
  // Compiled once: only the workspace, its one parameter, changes.
  const text = workspaceGenerationQuery(db, "").compile().sql;
  return (workspace) => {
    const row = statements.get(text).get(workspace) as { value: number } | null;
    return row?.value;
  };
}

/**
 * Values read from the webhooks table, one per key, each kept until the generation it was read
 * at moves. The generation is read by the caller, inside the transaction that uses the value.
 *
 * @example
 * const lists = new WebhookDerived<string, Candidate[]>();
 * lists.at("default", generationOf("default"), () => readList("default"));
 */
export class WebhookDerived<K, T> {
  private readonly entries = new Map<K, { generation: number; value: T }>();

  /** The value kept for `key` if it was read at `generation`. */
  private kept(key: K, generation: number | undefined): T | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.generation === generation ? entry.value : undefined;
  }

  /** Keeps `value`, read at `generation`, for `key`; returns it. */
  private keep(key: K, generation: number | undefined, value: T): T {
    // Without a generation (its row missing) nothing can say when to read again: no cache.
    if (generation === undefined) this.entries.delete(key);
    else this.entries.set(key, { generation, value });
    return value;
  }

  /** The value for `key` at `generation`, read with `load` unless kept. Synchronous. */
  at(key: K, generation: number | undefined, load: () => T): T {
    return this.kept(key, generation) ?? this.keep(key, generation, load());
  }

  /** {@link at} with a load that awaits (PostgreSQL). */
  async loadedAt(key: K, generation: number | undefined, load: () => Promise<T>): Promise<T> {
    return this.kept(key, generation) ?? this.keep(key, generation, await load());
  }
}
