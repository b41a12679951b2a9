/**
 * Writing new deliveries, the one way every path does it (ingest, source plugins, retry,
 * replay, generate-sample): inserts in chunks that stay under SQLite's limit on bound
 * parameters, and reports a delivery born in Error (its template failed to render) to the
 * failure hook in the same transaction, so its owners hear about it like any other failure.
 */

import type { Insertable } from "kysely";
import type { DeliveryTable, Executor } from "../db/database.ts";
import type { DeliveryFailure, FailureHook } from "./failure.ts";
import { insertDeliveries } from "./repository.ts";
import { ProcessStatus } from "./status.ts";

/** Rows per INSERT: 26 columns × 500 rows stays well under SQLite's 32,766 parameters. */
const INSERT_CHUNK = 500;

export async function enqueueDeliveries(
  trx: Executor,
  rows: readonly Insertable<DeliveryTable>[],
  onFailed?: FailureHook,
): Promise<void> {
  for (let index = 0; index < rows.length; index += INSERT_CHUNK) {
    await insertDeliveries(trx, rows.slice(index, index + INSERT_CHUNK));
  }
  if (!onFailed) return;
  for (const row of rows) {
    if (row.process_status === ProcessStatus.Error) await onFailed(trx, failureOf(row));
  }
}

/** A delivery born in Error (its template failed to render), as the failure hook hears it. */
export function failureOf(row: Insertable<DeliveryTable>): DeliveryFailure {
  return {
    workspace: row.workspace,
    webhookId: row.webhook_id,
    deliveryId: row.id,
    reason: "render",
    attempts: 0,
    statusCode: null,
    error: row.last_error ?? null,
    at: row.created_at,
  };
}

/** The distinct webhooks of new rows, for the scheduler's wake-up call. */
export function webhooksOf(rows: readonly { webhook_id: string }[]): string[] {
  return [...new Set(rows.map((row) => row.webhook_id))];
}
