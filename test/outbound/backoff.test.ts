/** Backoff and Retry-After: pure functions, with injected time and randomness. */

import { describe, expect, test } from "bun:test";
import { backoffDelay, nextDelay, parseRetryAfter } from "../../src/outbound/backoff.ts";

const policy = { baseMs: 1000, maxDelayMs: 60_000 };

describe("backoffDelay", () => {
  test("doubles from the base with no jitter at the midpoint", () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000,
    ]);
  });

  test("jitter stays within ±20 %", () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(3200);
    expect(backoffDelay(policy, 3, () => 0.999999)).toBe(4800);
  });

  test("never exceeds the cap, even after many attempts or with upward jitter", () => {
    expect(backoffDelay(policy, 7, () => 0.999999)).toBe(60_000);
    expect(backoffDelay(policy, 2000, () => 0.5)).toBe(60_000);
    expect(backoffDelay(policy, 7, () => 0)).toBe(48_000);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-23T12:00:00Z");
  test("delta seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
  });
  test("an HTTP date, and a past date means now", () => {
    expect(parseRetryAfter("Mon, 23 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 11:00:00 GMT", now)).toBe(0);
  });
  test("absent or unreadable", () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("-5", now)).toBeNull();
  });
  test("nextDelay honours it within the cap", () => {
    expect(nextDelay(policy, 1, 5000)).toBe(5000);
    expect(nextDelay(policy, 1, 3_600_000)).toBe(60_000);
    expect(nextDelay(policy, 1, null, () => 0.5)).toBe(1000);
  });
});

describe("nextDelay with a retrySchedule", () => {
  const schedule = [1000, 5000, 2000];
  test("replaces the backoff: the schedule's delay for each retry, the last one past its end", () => {
    expect([1, 2, 3, 4, 9].map((n) => nextDelay(policy, n, null, () => 0.5, schedule))).toEqual([
      1000, 5000, 2000, 2000, 2000,
    ]);
    // No jitter: the schedule is what the webhook asked for.
    expect(nextDelay(policy, 1, null, () => 0, schedule)).toBe(1000);
    expect(nextDelay(policy, 1, null, () => 0.999999, schedule)).toBe(1000);
  });

  test("Retry-After is honoured within the schedule's largest delay, not the server's cap", () => {
    expect(nextDelay(policy, 1, 3000, () => 0.5, schedule)).toBe(3000);
    expect(nextDelay(policy, 1, 100_000, () => 0.5, schedule)).toBe(5000);
    expect(nextDelay(policy, 3, 0, () => 0.5, schedule)).toBe(0);
    // A schedule's delay may exceed the server's cap (a day against 60 s), and so may Retry-After within it.
    expect(nextDelay(policy, 1, 3_600_000, () => 0.5, [86_400_000])).toBe(3_600_000);
    expect(nextDelay(policy, 1, null, () => 0.5, [86_400_000])).toBe(86_400_000);
  });

  test("no schedule (null or empty) is the exponential backoff", () => {
    expect(nextDelay(policy, 2, null, () => 0.5, null)).toBe(2000);
    expect(nextDelay(policy, 2, null, () => 0.5, [])).toBe(2000);
  });
});
