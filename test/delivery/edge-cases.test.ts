/**
 * The engine's rarer paths: a webhook deleted while its delivery is in flight (then a shutdown,
 * or a crash), an outcome over a row someone changed meanwhile, an attempt that throws, and a
 * delivery whose template fails — each must end somewhere definite, never Waiting or in flight
 * forever, never recorded twice, never silently.
 */

import { afterEach, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";
import { appWithPlugins, removePluginFolders, settled } from "../plugins/helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  removePluginFolders();
});

function receiverHeldUntilReleased(): { target: Receiver; release: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  const target = startReceiver(async () => {
    await promise;
    return Response.json({ ok: true });
  });
  cleanups.push(() => target.stop());
  cleanups.push(() => resolve());
  return { target, release: () => resolve() };
}

async function app(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    ...env,
  });
  cleanups.push(() => t.close());
  return t;
}

async function publishOne(t: TestApp): Promise<string> {
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "article", contentId: "c1" },
  });
  const id = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]?.deliveryId;
  if (!id) throw new Error(`nothing enqueued: ${response.text}`);
  return id;
}

function row(t: TestApp, id: string) {
  return t.app.store.db
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

test("a webhook deleted while its delivery is in flight, then a shutdown: Error, not Waiting forever", async () => {
  const t = await app();
  const { target } = receiverHeldUntilReleased();
  const webhook = await createWebhook(t, { endpoint: target.url });
  const deliveryId = await publishOne(t);
  const { store, config, log, authenticator, metrics } = t.app.services;
  const scheduler = new Scheduler({
    store,
    config,
    log,
    authenticator,
    metrics,
    shutdownGraceMs: 100,
  });
  cleanups.push(() => scheduler.stop());
  await scheduler.start();
  await waitFor("the attempt in flight", () => target.requests.length === 1);
  expect((await t.request("DELETE", `/webhooks/${webhook.id}`, { key: t.keys.write })).status).toBe(
    200,
  );
  await scheduler.stop();
  const after = await row(t, deliveryId);
  expect(after.process_status).toBe(ProcessStatus.Error);
  expect(after.last_error).toContain("webhook deleted");
});

test("an outcome over a row changed during the attempt is not recorded", async () => {
  const t = await app();
  const { target, release } = receiverHeldUntilReleased();
  await createWebhook(t, { endpoint: target.url });
  const deliveryId = await publishOne(t);
  await t.app.start();
  await waitFor("the attempt in flight", () => target.requests.length === 1);
  // As if someone (a hand-written statement, another tool) had ended the delivery meanwhile.
  await t.app.store.db
    .updateTable("deliveries")
    .set({ process_status: ProcessStatus.Error, last_error: "ended by hand" })
    .where("id", "=", deliveryId)
    .execute();
  release();
  await waitFor("the warning", () =>
    t.logLines.some((line) => line.includes("its outcome is not recorded")),
  );
  const attempts = await t.app.store.db
    .selectFrom("attempts")
    .select("id")
    .where("delivery_id", "=", deliveryId)
    .execute();
  expect(attempts).toEqual([]);
  expect(await row(t, deliveryId)).toMatchObject({
    process_status: ProcessStatus.Error,
    last_error: "ended by hand",
  });
});

test("at start, what a deleted webhook left Waiting (in flight at a crash) ends in Error", async () => {
  const t = await app();
  const webhook = await createWebhook(t, { endpoint: "http://127.0.0.1:9/never" });
  const deliveryId = await publishOne(t);
  // As if the webhook had been deleted while this delivery was in flight (the deletion spares
  // it) and the process had died before recording it: the row is still Waiting.
  await t.app.store.db.deleteFrom("webhooks").where("id", "=", webhook.id).execute();
  await t.app.start();
  const after = await row(t, deliveryId);
  expect(after).toMatchObject({
    process_status: ProcessStatus.Error,
    last_error: "webhook deleted before delivery",
  });
  // The totals moved with it.
  const total = await t.request("GET", `/webhooks/${webhook.id}/events?status=-1`, {
    key: t.keys.read,
  });
  expect((total.body as { total: number }).total).toBe(1);
  expect(t.logLines.some((line) => line.includes("deliveries of deleted webhooks left"))).toBe(
    true,
  );
});

test("an attempt that throws is held in flight, not retried in a loop, and the rest go on", async () => {
  const t = await app();
  const target = startReceiver(() => Response.json({ ok: true }));
  cleanups.push(() => target.stop());
  const broken = await createWebhook(t, { endpoint: target.url, eventTypes: { article: [0] } });
  const brokenDelivery = await publishOne(t);
  // A stored column that cannot be read: the attempt throws before it has an outcome.
  await t.app.store.db
    .updateTable("webhooks")
    .set({ auth: "not json" })
    .where("id", "=", broken.id)
    .execute();
  await t.app.start();
  await waitFor("the attempt to fail", () =>
    t.logLines.some((line) => line.includes("delivery attempt failed")),
  );
  // Held: shown in flight, and not taken again at once (it would throw again, in a loop).
  const seen = await t.app.services.store.findDelivery(t.app.store.db, brokenDelivery);
  expect(seen?.process_status).toBe(ProcessStatus.Processing);
  await createWebhook(t, { endpoint: target.url, eventTypes: { page: [0] } });
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "page", contentId: "p1" },
  });
  const healthyDelivery = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
    ?.deliveryId;
  await waitFor("the healthy webhook's delivery", () =>
    target.requests.some((request) => request.headers.get("webhook-id") === healthyDelivery),
  );
  expect(t.logLines.filter((line) => line.includes("delivery attempt failed"))).toHaveLength(1);
});

test("a delivery whose template engine fails is born in Error and reported to the failure hook", async () => {
  const t = await appWithPlugins({
    "broken.ts": `import { definePlugin } from "hookpost/plugin";
export default definePlugin({
  name: "broken",
  templaters: { broken: { render() { throw new Error("no template for you"); } } },
});`,
  });
  cleanups.push(() => t.close());
  const target = startReceiver();
  cleanups.push(() => target.stop());
  await createWebhook(t, {
    endpoint: target.url,
    useCustomPayload: true,
    templateEngine: "broken",
    customPayload: { a: 1 },
    errorEmailTo: "ops@example.com",
  });
  const deliveryId = await publishOne(t);
  const failed = await settled(t, deliveryId);
  expect(failed.process_status).toBe(ProcessStatus.Error);
  expect(failed.last_error).toContain("no template for you");
  const notices = await t.app.store.db.selectFrom("failure_notices").selectAll().execute();
  expect(notices).toMatchObject([
    { delivery_id: deliveryId, kind: "delivery_failed", attempts: 0 },
  ]);
  expect(target.requests).toHaveLength(0);
});
