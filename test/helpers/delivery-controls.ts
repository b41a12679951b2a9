/** What the delivery-control tests (issue 16) read of what a receiver got. */

import type { ReceivedRequest } from "./receiver.ts";

/** The event's contentId in a delivered envelope. */
export function contentIdOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { contentId: string }).contentId;
}

/**
 * The most receipts within any `windowMs` of each other. The limit bounds the attempts' starts;
 * a receipt comes a little after its start, by a delay that varies, so windows are counted a
 * little shorter than a second.
 */
export function mostInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = times.toSorted((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let count = 0;
    for (let j = i; j < sorted.length && (sorted[j] ?? 0) < (sorted[i] ?? 0) + windowMs; j++) {
      count++;
    }
    most = Math.max(most, count);
  }
  return most;
}

/** What the tests allow between an attempt's start and its receipt. */
export const RECEIPT_JITTER_MS = 50;
