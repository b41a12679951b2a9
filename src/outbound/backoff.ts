/**
 * When to try again (SPEC §6.2): exponential backoff with ±20 % jitter, capped, and a
 * receiver's `Retry-After` honoured on 429 and 503 within the same cap. Pure functions: the
 * caller passes the clock and the random source.
 */

export interface BackoffPolicy {
  /** The first delay (`HOOKPOST_RETRY_BASE_MS`). */
  baseMs: number;
  /** No delay is longer than this (`HOOKPOST_RETRY_MAX_DELAY_MS`). */
  maxDelayMs: number;
}

const JITTER = 0.2;

/**
 * The delay before attempt `failedAttempts + 1`, after `failedAttempts` (≥ 1) failures:
 * base × 2^(failedAttempts − 1), moved by up to ±20 %, never above the cap.
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  failedAttempts: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2^exponent overflows to Infinity long after the cap applies; Math.min handles it.
  const raw = Math.min(policy.baseMs * 2 ** exponent, policy.maxDelayMs);
  const jittered = raw * (1 - JITTER + 2 * JITTER * random());
  return Math.round(Math.min(jittered, policy.maxDelayMs));
}

/**
 * A `Retry-After` value as a delay in ms: delta-seconds (`120`) or an HTTP date. Null when the
 * header is absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its day and month ("Wed, 21 Oct 2026 07:28:00 GMT"); a bare number such
  // as "-5" is not one, though Date.parse would read it as a year.
  if (!/[a-z]/i.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Status codes whose `Retry-After` is honoured. */
export function honoursRetryAfter(status: number | null): boolean {
  return status === 429 || status === 503;
}

/**
 * The delay before the next attempt: the receiver's `Retry-After` when it sent one on 429/503
 * (within the cap), otherwise exponential backoff. A webhook's `retrySchedule` (delays in ms
 * here) replaces both the backoff and the cap: its delay for this retry, exactly (the last one
 * past its end), and `Retry-After` within its largest delay.
 */
export function nextDelay(
  policy: BackoffPolicy,
  failedAttempts: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
  scheduleMs: readonly number[] | null = null,
): number {
  if (scheduleMs !== null && scheduleMs.length > 0) {
    if (retryAfterMs !== null) return Math.min(retryAfterMs, Math.max(...scheduleMs));
    const index = Math.min(Math.max(0, failedAttempts - 1), scheduleMs.length - 1);
    return scheduleMs[index] ?? 0;
  }
  if (retryAfterMs !== null) return Math.min(retryAfterMs, policy.maxDelayMs);
  return backoffDelay(policy, failedAttempts, random);
}
