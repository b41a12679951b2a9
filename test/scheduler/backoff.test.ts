/** Backoff, Retry-After and the outcome decision: pure functions, with injected time and randomness. */

import { describe, expect, test } from "bun:test";
import { backoffDelay, nextDelay, parseRetryAfter } from "../../src/scheduler/backoff.ts";
import { decideOutcome, maskHeaders } from "../../src/scheduler/outcome.ts";
import type { AttemptResult } from "../../src/scheduler/sender.ts";

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

function result(statusCode: number | null, extra: Partial<AttemptResult> = {}): AttemptResult {
  return {
    statusCode,
    error: statusCode !== null && statusCode < 300 ? null : "failed",
    responseBody: null,
    statusText: null,
    retryAfter: null,
    durationMs: 5,
    aborted: false,
    ...extra,
  };
}

describe("decideOutcome", () => {
  const base = { maxAttempts: 3, now: 1_000_000, policy, random: () => 0.5 };
  test("2xx is sent, whatever the attempt number", () => {
    expect(decideOutcome({ ...base, result: result(204), attemptNumber: 3 })).toEqual({
      kind: "sent",
    });
  });
  test("410 fails at once", () => {
    expect(decideOutcome({ ...base, result: result(410), attemptNumber: 1 })).toEqual({
      kind: "failed",
      reason: "gone",
    });
  });
  test("a failure with attempts left is retried after the backoff", () => {
    expect(decideOutcome({ ...base, result: result(500), attemptNumber: 2 })).toEqual({
      kind: "retry",
      nextAttemptAt: 1_002_000,
    });
    expect(decideOutcome({ ...base, result: result(null), attemptNumber: 1 })).toEqual({
      kind: "retry",
      nextAttemptAt: 1_001_000,
    });
  });
  test("Retry-After counts on 429 and 503 only", () => {
    const ask = { retryAfter: "30" };
    expect(decideOutcome({ ...base, result: result(429, ask), attemptNumber: 1 })).toEqual({
      kind: "retry",
      nextAttemptAt: 1_030_000,
    });
    expect(decideOutcome({ ...base, result: result(503, ask), attemptNumber: 1 })).toEqual({
      kind: "retry",
      nextAttemptAt: 1_030_000,
    });
    expect(decideOutcome({ ...base, result: result(500, ask), attemptNumber: 1 })).toEqual({
      kind: "retry",
      nextAttemptAt: 1_001_000,
    });
  });
  test("the last attempt's failure is exhausted", () => {
    expect(decideOutcome({ ...base, result: result(500), attemptNumber: 3 })).toEqual({
      kind: "failed",
      reason: "exhausted",
    });
    expect(decideOutcome({ ...base, result: result(301), attemptNumber: 3 })).toEqual({
      kind: "failed",
      reason: "exhausted",
    });
  });
});

describe("maskHeaders", () => {
  test("masks credential headers and keeps the rest", () => {
    expect(
      maskHeaders({
        authorization: "Bearer abc",
        "x-api-key": "k",
        cookie: "a=b",
        "x-auth-token": "t",
        "x-functions-key": "f",
        "Ocp-Apim-Subscription-Key": "o",
        "x-tenant": "blue",
        "x-monkey": "not a credential",
        "webhook-signature": "v1,xyz",
      }),
    ).toEqual({
      authorization: "********",
      "x-api-key": "********",
      cookie: "********",
      "x-auth-token": "********",
      "x-functions-key": "********",
      "Ocp-Apim-Subscription-Key": "********",
      "x-tenant": "blue",
      "x-monkey": "not a credential",
      "webhook-signature": "v1,xyz",
    });
  });
});
