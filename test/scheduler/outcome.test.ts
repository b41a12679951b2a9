/** The outcome decision and the recorded headers' masking: pure functions, with injected time and randomness. */

import { describe, expect, test } from "bun:test";
import type { AttemptResult } from "../../src/outbound/sender.ts";
import { decideOutcome, maskHeaders } from "../../src/scheduler/outcome.ts";

const policy = { baseMs: 1000, maxDelayMs: 60_000 };

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
