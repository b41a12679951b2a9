/**
 * Writing new deliveries, the one way every path does it (ingest, source plugins, retry,
 * replay, generate-sample): a prepared statement per row on the ingest hot path, or inserts in
 * chunks that stay under SQLite's limit on bound parameters. Either way the kept totals hear of
 * every row, and a delivery born in Error (its template failed to render) is reported to the
 * failure hook in the same transaction, so its owners hear about it like any other failure.
 */

import type { SQLQueryBindings } from "bun:sqlite";
import type { Insertable } from "kysely";
import type { DeliveryTable, EventTable, Executor } from "../db/database.ts";
import type { DeliveryFailure, FailureHook } from "../deliveries/failure.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import type { CountedState, Tally } from "./counts.ts";
import type { GroupCommit } from "./group-commit.ts";

export type NewDelivery = Insertable<DeliveryTable>;
export type NewEvent = Insertable<EventTable>;

/** Rows per INSERT: 26 columns × 500 rows stays well under SQLite's 32,766 parameters. */
const INSERT_CHUNK = 500;

/** What the kept totals know of a new row. */
function countedOf(row: NewDelivery): CountedState {
  return {
    webhookId: row.webhook_id,
    processStatus: row.process_status ?? ProcessStatus.Waiting,
    attempts: row.attempts ?? 0,
    maxAttempts: row.max_attempts,
  };
}

/** `INSERT INTO table (keys of row) VALUES (?, …)` for one row, prepared once per shape. */
function insertRowNow(statements: GroupCommit, table: string, row: object): void {
  const columns = Object.keys(row);
  const sql = `insert into ${table} (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})`;
  statements.get(sql).run(...(Object.values(row) as SQLQueryBindings[]));
}

/**
 * An event and its deliveries, with prepared statements (synchronous; the caller holds the
 * transaction, whose totals `tally` keeps).
 */
export function insertEventNow(
  statements: GroupCommit,
  tally: Tally,
  event: NewEvent,
  deliveries: readonly NewDelivery[],
): void {
  insertRowNow(statements, "events", event);
  for (const row of deliveries) {
    insertRowNow(statements, "deliveries", row);
    tally.change(null, countedOf(row));
  }
}

/** New deliveries in the caller's Kysely transaction, with their failures reported. */
export async function enqueueDeliveries(
  trx: Executor,
  tally: Tally,
  rows: readonly NewDelivery[],
  onFailed?: FailureHook,
): Promise<void> {
  for (let index = 0; index < rows.length; index += INSERT_CHUNK) {
    await trx
      .insertInto("deliveries")
      .values(rows.slice(index, index + INSERT_CHUNK))
      .execute();
  }
  for (const row of rows) tally.change(null, countedOf(row));
  await reportBornFailed(trx, rows, onFailed);
}

/** Tells the failure hook about each delivery born in Error, in the caller's transaction. */
export async function reportBornFailed(
  trx: Executor,
  rows: readonly NewDelivery[],
  onFailed?: FailureHook,
): Promise<void> {
  if (!onFailed) return;
  for (const row of rows) {
    if (row.process_status === ProcessStatus.Error) await onFailed(trx, failureOf(row));
  }
}

/** A delivery born in Error (its template failed to render), as the failure hook hears it. */
function failureOf(row: NewDelivery): DeliveryFailure {
  return {
    workspace: row.workspace,
    webhookId: row.webhook_id,
    deliveryId: row.id,
    deliveryCreatedAt: row.created_at,
    reason: "render",
    attempts: 0,
    statusCode: null,
    error: row.last_error ?? null,
    at: row.created_at,
  };
}
