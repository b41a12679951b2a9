/** WebhookProcessStatus (seed 000). */

import type { FailureReason } from "./failure.ts";

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
