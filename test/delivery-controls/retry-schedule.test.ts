/**
 * `retrySchedule` (issue 16) against a real receiver on loopback, with the real scheduler: the
 * receipts are the schedule's gaps apart, the delivery gets the schedule's length plus one
 * attempts and ends exhausted, and a receiver's `Retry-After` counts only up to the largest delay.
 * Plus `maxAttemptsOf`, which gives a new delivery its attempts.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { maxAttemptsOf } from "../../src/deliveries/build.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

/** How much earlier than its delay a receipt may come (clock reads), in ms. */
const EARLY = 50;
/** How much later than its delay a receipt may come on a slow, busy machine, in ms. */
const LATE = 1500;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(answer: () => Response): Promise<{ t: TestApp; receiver: Receiver }> {
  const receiver = startReceiver(answer);
  cleanups.push(() => receiver.stop());
  // The server's own backoff would retry within 40 ms, and stop after 10 attempts.
  const t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    HOOKPOST_RETRY_BASE_MS: "40",
    HOOKPOST_RETRY_MAX_DELAY_MS: "400",
    HOOKPOST_MAX_ATTEMPTS: "10",
  });
  cleanups.push(() => t.close());
  await t.app.start();
  return { t, receiver };
}

async function publish(t: TestApp): Promise<string> {
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "article", contentId: "c1" },
  });
  const id = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]?.deliveryId;
  if (!id) throw new Error(`no delivery: ${response.text}`);
  return id;
}

interface LogEntry {
  processStatus: number;
  state: string;
  attempts: number;
  maxAttempts: number;
  responseStatusCode: number | null;
}

async function logEntry(t: TestApp, webhookId: string, deliveryId: string): Promise<LogEntry> {
  const response = await t.request("GET", `/webhooks/${webhookId}/events/${deliveryId}`, {
    key: t.keys.read,
  });
  return response.body as LogEntry;
}

/** The gaps between consecutive receipts, in ms. */
function gapsOf(receiver: Receiver): number[] {
  return receiver.requests
    .slice(1)
    .map((request, i) => request.at - (receiver.requests[i]?.at ?? 0));
}

function expectGap(gap: number | undefined, delayMs: number): void {
  expect(gap).toBeGreaterThanOrEqual(delayMs - EARLY);
  expect(gap).toBeLessThan(delayMs + LATE);
}

describe("retrySchedule end to end", () => {
  test("[1, 2]: three attempts, 1 s then 2 s apart, then exhausted with attempts = maxAttempts = 3", async () => {
    const { t, receiver } = await setUp(() => new Response("broken", { status: 500 }));
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: [1, 2],
    });
    const deliveryId = await publish(t);
    const done = await waitFor(
      "the delivery to end in Error",
      async () => {
        const entry = await logEntry(t, id, deliveryId);
        return entry.processStatus === -1 && entry;
      },
      15_000,
    );
    expect(done).toMatchObject({ state: "exhausted", attempts: 3, maxAttempts: 3 });
    expect(done.responseStatusCode).toBe(500);
    expect(receiver.requests).toHaveLength(3);
    const [first, second] = gapsOf(receiver);
    expectGap(first, 1000);
    expectGap(second, 2000);
    // Nothing more comes once it is exhausted (the server's default would allow 10).
    await Bun.sleep(500);
    expect(receiver.requests).toHaveLength(3);
  });

  test("Retry-After: 100 on a 503 waits the largest delay (2 s), not 100 s", async () => {
    const { t, receiver } = await setUp(
      () => new Response("busy", { status: 503, headers: { "retry-after": "100" } }),
    );
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: [1, 2],
    });
    const deliveryId = await publish(t);
    await waitFor("three attempts", () => receiver.requests.length >= 3, 15_000);
    const [first, second] = gapsOf(receiver);
    expectGap(first, 2000);
    expectGap(second, 2000);
    const done = await waitFor("the delivery to end in Error", async () => {
      const entry = await logEntry(t, id, deliveryId);
      return entry.processStatus === -1 && entry;
    });
    expect(done).toMatchObject({ state: "exhausted", attempts: 3, maxAttempts: 3 });
  });

  test("a schedule changed by PUT counts from the next retry on", async () => {
    const { t, receiver } = await setUp(() => new Response("broken", { status: 500 }));
    const endpoint = `${receiver.url}/hooks`;
    const { id } = await createWebhook(t, { endpoint, retrySchedule: [2, 5, 5] });
    const deliveryId = await publish(t);
    await waitFor("the first attempt", () => receiver.requests.length >= 1);
    const put = await t.request("PUT", "/webhooks", {
      key: t.keys.write,
      json: { id, endpoint, retrySchedule: [1, 1, 1] },
    });
    expect(put.status).toBe(200);
    await waitFor("four attempts", () => receiver.requests.length >= 4, 15_000);
    const [first, second, third] = gapsOf(receiver);
    // The first retry was due before the change; the later ones follow the new schedule.
    expectGap(first, 2000);
    expectGap(second, 1000);
    expectGap(third, 1000);
    // The delivery keeps the attempts it was made with (the old schedule's 4).
    const done = await waitFor("the delivery to end in Error", async () => {
      const entry = await logEntry(t, id, deliveryId);
      return entry.processStatus === -1 && entry;
    });
    expect(done).toMatchObject({ state: "exhausted", attempts: 4, maxAttempts: 4 });
  });

  test("a success within the schedule is Sent, with the attempts it took", async () => {
    const { t, receiver } = await setUp(() => new Response("broken", { status: 500 }));
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: [1, 1, 1],
    });
    receiver.handle((_request, index) =>
      index === 0 ? new Response("broken", { status: 500 }) : Response.json({ ok: true }),
    );
    const deliveryId = await publish(t);
    const done = await waitFor(
      "the delivery to be Sent",
      async () => {
        const entry = await logEntry(t, id, deliveryId);
        return entry.processStatus === 2 && entry;
      },
      15_000,
    );
    expect(done).toMatchObject({ state: "success", attempts: 2, maxAttempts: 4 });
    expectGap(gapsOf(receiver)[0], 1000);
  });
});

describe("maxAttemptsOf", () => {
  const webhook = (fields: {
    policy?: "automatic" | "manual";
    schedule?: number[];
    max?: number | null;
  }) => ({
    retry_policy: fields.policy ?? "automatic",
    retry_schedule: fields.schedule ? JSON.stringify(fields.schedule) : null,
    max_attempts: fields.max ?? null,
  });

  test("a schedule gives its length plus one, whatever maxAttempts says", () => {
    expect(maxAttemptsOf(webhook({ schedule: [5, 300, 1800, 7200] }), 10)).toBe(5);
    expect(maxAttemptsOf(webhook({ schedule: [1], max: 9 }), 10)).toBe(2);
  });

  test("without one: the webhook's maxAttempts, else the server's default", () => {
    expect(maxAttemptsOf(webhook({ max: 3 }), 10)).toBe(3);
    expect(maxAttemptsOf(webhook({}), 10)).toBe(10);
  });

  test("the manual policy is one attempt, schedule or not", () => {
    expect(maxAttemptsOf(webhook({ policy: "manual", schedule: [1, 2] }), 10)).toBe(1);
  });
});
