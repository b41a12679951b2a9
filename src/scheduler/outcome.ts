/**
 * What an attempt's result means for its delivery (SPEC §6.2), as a pure decision: Sent on any
 * 2xx; Error when the receiver answered `410 Gone` (and the webhook is disabled) or the
 * attempts are used up; otherwise Waiting again after a backoff delay.
 */

import type { Decision } from "../deliveries/status.ts";
import {
  type BackoffPolicy,
  honoursRetryAfter,
  nextDelay,
  parseRetryAfter,
} from "../outbound/backoff.ts";
import { type AttemptResult, isSuccessStatus } from "../outbound/sender.ts";
import { isCredentialHeader } from "../webhooks/credentials.ts";

export interface DecisionInput {
  result: AttemptResult;
  /** The number of the attempt just made (1 for the first). */
  attemptNumber: number;
  maxAttempts: number;
  now: number;
  policy: BackoffPolicy;
  /** The webhook's `retrySchedule` in ms, which replaces the policy; null for the policy. */
  scheduleMs?: readonly number[] | null;
  random?: () => number;
}

export function decideOutcome(input: DecisionInput): Decision {
  const { result } = input;
  if (isSuccessStatus(result.statusCode)) return { kind: "sent" };
  if (result.statusCode === 410) return { kind: "failed", reason: "gone" };
  if (input.attemptNumber >= input.maxAttempts) return { kind: "failed", reason: "exhausted" };
  const retryAfterMs = honoursRetryAfter(result.statusCode)
    ? parseRetryAfter(result.retryAfter, input.now)
    : null;
  const delay = nextDelay(
    input.policy,
    input.attemptNumber,
    retryAfterMs,
    input.random,
    input.scheduleMs,
  );
  return { kind: "retry", nextAttemptAt: input.now + delay };
}

/** The request headers as recorded with an attempt: values of credential headers masked. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      isCredentialHeader(name) ? "********" : value,
    ]),
  );
}
