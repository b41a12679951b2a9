/**
 * The engine's rarer paths: a webhook deleted while its delivery is in flight, an attempt that
 * outlives its lease, and a delivery whose template fails — each must end somewhere definite,
 * never Waiting forever, never recorded twice, never silently.
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
  const { store, statements, config, log, authenticator, metrics } = t.app.services;
  const scheduler = new Scheduler({
    store,
    statements,
    config,
    log,
    authenticator,
    metrics,
    shutdownGraceMs: 100,
  });
  cleanups.push(() => scheduler.stop());
  scheduler.start();
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
