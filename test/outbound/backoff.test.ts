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
