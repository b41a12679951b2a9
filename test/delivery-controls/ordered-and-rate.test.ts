/**
 * Two delivery controls of issue 16 against a real receiver, on whichever backend the suite runs
 * on: an `ordered` webhook gets its deliveries one at a time in the order their events were
 * accepted, a failing one holding back the rest until it is Sent; a `rateLimitPerSecond` webhook
 * gets no more than that many attempts started in any one-second window, the rest waiting
 * rather than failing, while an unrestricted webhook beside it is not held back.
 */

import { afterEach, expect, test } from "bun:test";
import { publish } from "../deliveries/helpers.ts";
import { contentIdOf, mostInAnyWindow, RECEIPT_JITTER_MS } from "../helpers/delivery-controls.ts";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import { deferredCleanups } from "../helpers/reliability-harness.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, QUICK_RETRIES, type TestApp } from "../helpers/test-app.ts";

const defer = deferredCleanups(afterEach);

async function deliveredState(t: TestApp, webhookId: string, deliveryId: string) {
  const response = await t.request("GET", `/webhooks/${webhookId}/events/${deliveryId}`, {
    key: t.keys.read,
  });
  return response.body as { processStatus: number; attempts: number };
}

test("an ordered webhook: one at a time, in acceptance order, a failing one holding back the rest", async () => {
  let inFlight = 0;
  let mostInFlight = 0;
  let failuresOfFirst = 0;
  const receiver = startReceiver(async (request) => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    // Long enough that a second attempt in flight would overlap this one.
    await Bun.sleep(5);
    inFlight--;
    if (contentIdOf(request) === "1" && failuresOfFirst < 2) {
      failuresOfFirst++;
      return new Response("not yet", { status: 500 });
    }
    return Response.json({ ok: true });
  });
  defer(() => receiver.stop());
  const t = await createTestApp(QUICK_RETRIES);
  defer(() => t.close());
  const webhook = await createWebhook(t, { endpoint: receiver.url, ordered: true });
  // Accepted before the scheduler runs, in this order.
  const EVENTS = 8;
  for (let i = 1; i <= EVENTS; i++) await publish(t, { contentId: String(i) });
  await t.app.start();

  await waitFor("every event delivered", () => receiver.requests.length >= EVENTS + 2, 20_000);
  const order = receiver.requests.map(contentIdOf);
  expect(order).toEqual([
    "1",
    "1",
    "1",
    ...Array.from({ length: EVENTS - 1 }, (_, i) => `${i + 2}`),
  ]);
  expect(mostInFlight).toBe(1);
  const list = await t.request("GET", `/webhooks/${webhook.id}`, { key: t.keys.read });
  expect((list.body as { ordered: boolean }).ordered).toBe(true);
});

test("an ordered webhook: a delivery that ends in Error lets the next one go", async () => {
  const receiver = startReceiver((request) =>
    contentIdOf(request) === "1"
      ? new Response("never", { status: 500 })
      : Response.json({ ok: true }),
  );
  defer(() => receiver.stop());
  const t = await createTestApp({ ...QUICK_RETRIES, HOOKPOST_MAX_ATTEMPTS: "3" });
  defer(() => t.close());
  const webhook = await createWebhook(t, { endpoint: receiver.url, ordered: true });
  const first = await publish(t, { contentId: "1" });
  await publish(t, { contentId: "2" });
  await publish(t, { contentId: "3" });
  await t.app.start();
  await waitFor("the later events delivered", () => receiver.requests.length >= 5, 20_000);
  expect(receiver.requests.map(contentIdOf)).toEqual(["1", "1", "1", "2", "3"]);
  const failed = await deliveredState(t, webhook.id, first.deliveries[webhook.id] ?? "");
  expect(failed.processStatus).toBe(-1);
  expect(failed.attempts).toBe(3);
});

test("a rate-limited webhook: at most its rate starts in any second; the rest wait, none fails", async () => {
  const RATE = 4;
  const EVENTS = 12;
  const limited = startReceiver();
  const free = startReceiver();
  defer(() => limited.stop());
  defer(() => free.stop());
  const t = await createTestApp(QUICK_RETRIES);
  defer(() => t.close());
  const webhook = await createWebhook(t, { endpoint: limited.url, rateLimitPerSecond: RATE });
  await createWebhook(t, { endpoint: free.url });
  const published = [];
  for (let i = 1; i <= EVENTS; i++) published.push(await publish(t, { contentId: String(i) }));
  await t.app.start();

  await waitFor("the unrestricted webhook's deliveries", () => free.requests.length >= EVENTS);
  await waitFor(
    "the limited webhook's deliveries",
    () => limited.requests.length >= EVENTS,
    20_000,
  );
  const times = limited.requests.map((request) => request.at);
  expect(mostInAnyWindow(times, 1000 - RECEIPT_JITTER_MS)).toBeLessThanOrEqual(RATE);
  // Twelve at four a second take at least two whole windows after the first start.
  expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(2000 - RECEIPT_JITTER_MS);
  // The unrestricted webhook was not held back with it: its twelve went in under a second.
  const freeTimes = free.requests.map((request) => request.at);
  expect(Math.max(...freeTimes) - Math.min(...freeTimes)).toBeLessThan(1000);
  for (const event of published) {
    const state = await deliveredState(t, webhook.id, event.deliveries[webhook.id] ?? "");
    expect(state).toMatchObject({ processStatus: 2, attempts: 1 });
  }
});
