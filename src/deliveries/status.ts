/** WebhookProcessStatus (seed 000). */

import type { FailureReason } from "./failure.ts";
import type { DeliveryState } from "./model.ts";

export const ProcessStatus = {
  Error: -1,
  Waiting: 0,
  Processing: 1,
  Sent: 2,
} as const;
export type ProcessStatusValue = (typeof ProcessStatus)[keyof typeof ProcessStatus];

/**
 * What an attempt's result means for its delivery (`scheduler/outcome.ts` decides it, the store
 * records it): Sent, Waiting again until `nextAttemptAt`, or Error.
 */
export type Decision =
  | { kind: "sent" }
  | { kind: "retry"; nextAttemptAt: number }
  | { kind: "failed"; reason: Exclude<FailureReason, "render"> };

/** The process status a decision leaves its delivery in. */
export function statusOfDecision(decision: Decision): ProcessStatusValue {
  if (decision.kind === "sent") return ProcessStatus.Sent;
  return decision.kind === "retry" ? ProcessStatus.Waiting : ProcessStatus.Error;
}

/** Seed 004's lifecycle state, derived from the process status and the attempts made. */
export function deliveryState(row: {
  process_status: number;
  attempts: number;
  max_attempts: number;
}): DeliveryState {
  switch (row.process_status) {
    case ProcessStatus.Waiting:
      return row.attempts === 0 ? "pending" : "retrying";
    case ProcessStatus.Processing:
      return "processing";
    case ProcessStatus.Sent:
      return "success";
    default:
      return row.attempts >= row.max_attempts ? "exhausted" : "failed";
  }
}
