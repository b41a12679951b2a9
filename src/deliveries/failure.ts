/**
 * A delivery that ended in Error, and the hook told about it: the seam where failure mail
 * (SPEC §7) hooks in. The scheduler calls it when attempts are used up or a receiver answers
 * `410 Gone`; enqueueing calls it for a delivery born in Error (its template failed to render).
 */

import type { Executor } from "../db/database.ts";

/** Why a delivery ended in Error. */
export type FailureReason = "exhausted" | "gone" | "render";

export interface DeliveryFailure {
  workspace: string;
  webhookId: string;
  deliveryId: string;
  /** When the delivery was created (ms): the mail says how long it has been failing. */
  deliveryCreatedAt: number;
  reason: FailureReason;
  attempts: number;
  statusCode: number | null;
  error: string | null;
  at: number;
}

/**
 * Called inside the transaction that moves a delivery to Error (and, for `410 Gone`, disables
 * its webhook), so whatever it writes — an outbox row — commits or rolls back with the failure.
 */
export type FailureHook = (trx: Executor, failure: DeliveryFailure) => Promise<void>;
