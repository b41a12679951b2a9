/**
 * The database a Hookpost process runs on, as the rest of the app sees it: embedded SQLite (the
 * default, `db/connect.ts`) or PostgreSQL (`HOOKPOST_DATABASE_URL`, `db/postgres/backend.ts`).
 * Everything typed runs through `db` (Kysely, the same queries on both); what differs — the
 * delivery store's hot paths, the key lookup every request makes, the write check of
 * `/health`, and who runs the cluster's singleton work — is behind this interface.
 */

import type { Kysely } from "kysely";
import type { KeyByHash } from "../api-keys/service.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import type { Database } from "./database.ts";

/**
 * Whether this process runs the work that must run once for the whole deployment: the failure
 * mail's outbox, retention, the source plugins' pollers, the sweep of deleted webhooks'
 * leftovers. On SQLite the one server always does; on PostgreSQL one node at a time holds it.
 */
export interface Leadership {
  /** True while this process holds it (checked before each run of singleton work). */
  leads(): boolean;
  /** Gives it up (another node takes it over). */
  stop(): Promise<void>;
}

export interface Backend {
  readonly kind: "sqlite" | "postgres";
  /** Where the data is, for logs: the file, or the URL without its password. */
  readonly location: string;
  /** Every typed query runs here. */
  readonly db: Kysely<Database>;
  /** Applies the pending migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  /**
   * The delivery store over this database. `onDeliveryFailed` is told, inside the transaction
   * that records a failure, so the failure mail's notice commits with it.
   */
  deliveryStore(onDeliveryFailed: FailureHook): DeliveryStore;
  /** The stored API key with a hash: every request asks. */
  keyByHash: KeyByHash;
  /** Null when the database can be written now; otherwise why not, in the database's words. */
  writeProblem(): Promise<string | null>;
  /**
   * Runs `work` in a transaction that no other process runs under the same `name` at the same
   * time (start-up's key bootstrap, when nodes start together).
   */
  serialized<T>(name: string, work: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Starts taking part in the choice of who runs the singleton work. */
  leadership(): Leadership;
  /**
   * Calls `wake` whenever another process commits new Waiting deliveries (with their webhooks'
   * ids, or none for "look at all"); resolves with the call that stops it. A no-op where one
   * process owns the database.
   */
  watchDue(wake: (webhookIds?: readonly string[]) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
