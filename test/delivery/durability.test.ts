/**
 * What the delivery engine promises when things go wrong (SPEC §6.2, §10): a `kill -9` in the
 * middle of deliveries loses no accepted delivery, a graceful stop finishes what it can and puts
 * the rest back, one hanging endpoint cannot take more than its share of the workers, and leases
 * left behind by a dead attempt are picked up again. Real receivers on loopback, real SQLite,
 * and for the kill a real `hookpost serve` child process.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { openStore, type Store } from "../../src/db/connect.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { startServerProcess } from "../helpers/process-server.ts";
import {
  type Receiver,
  type ReceiverHandler,
  startReceiver,
  waitFor,
} from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import {
  createTestApp,
  describeOnSqlite,
  LOOPBACK_DELIVERY,
  otherConnection,
  type TestApp,
  tempDir,
} from "../helpers/test-app.ts";

const ENGINE_ENV = {
  ...LOOPBACK_DELIVERY,
  HOOKPOST_RETRY_BASE_MS: "40",
  HOOKPOST_RETRY_MAX_DELAY_MS: "400",
};

/** Cleanups of the running test, run last-registered first, whether the test passed or not. */
const cleanups: (() => unknown)[] = [];

function defer(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

afterEach(async () => {
  const errors: unknown[] = [];
  for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
});

function receiver(handler?: ReceiverHandler): Receiver {
  const started = startReceiver(handler);
  defer(() => started.stop());
  return started;
}

async function testApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestApp({ ...ENGINE_ENV, ...env });
  defer(() => t.close());
  return t;
}

/** A promise the test resolves when it chooses: a receiver awaits it to hold requests open. */
function hold() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { released: promise, release: () => resolve() };
}

/** Counts the requests a receiver is still answering, and the most at any one moment. */
function openRequests() {
  const counter = { now: 0, max: 0 };
  const track = async (answer: () => Promise<Response>): Promise<Response> => {
    counter.now++;
    counter.max = Math.max(counter.max, counter.now);
    try {
      return await answer();
    } finally {
      counter.now--;
    }
  };
  return { counter, track };
}

const ok = () => Response.json({ ok: true });

/**
 * A receiver that answers after 150 ms (long enough that a second request would overlap if
 * one were allowed) and notes, for each request, how many were open when it arrived, itself
 * included.
 */
function overlapReceiver(answer: () => Response) {
  const open = openRequests();
  const openAtArrival: number[] = [];
  const target = receiver(() =>
    open.track(async () => {
      openAtArrival.push(open.counter.now);
      await Bun.sleep(150);
      return answer();
    }),
  );
  return { target, openAtArrival };
}

const down = () => new Response("down", { status: 500 });

interface Accepted {
  eventId: string;
  deliveries: { webhookId: string; deliveryId: string }[];
}

let contentCounter = 0;

/** Publishes one event through the in-process app and returns its delivery ids. */
async function publish(t: TestApp, contentType: string): Promise<string[]> {
  contentCounter++;
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType, contentId: `c_${contentCounter}` },
  });
  expect(response.status).toBe(202);
  return (response.body as Accepted).deliveries.map((delivery) => delivery.deliveryId);
}

async function publishMany(t: TestApp, contentType: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(...(await publish(t, contentType)));
  expect(ids).toHaveLength(count);
  return ids;
}

function deliveryRows(db: Store["db"], ids: string[]) {
  return db
    .selectFrom("deliveries")
    .select(["id", "process_status", "attempts"])
    .where("id", "in", ids)
    .execute();
}

function attemptRows(db: Store["db"], ids: string[]) {
  return db
    .selectFrom("attempts")
    .select(["delivery_id", "number", "status_code", "error"])
    .where("delivery_id", "in", ids)
    .execute();
}

/** Resolves once every one of `ids` is Sent; fails at the deadline naming how many are not. */
async function allSent(db: Store["db"], ids: string[], timeoutMs = 15_000): Promise<void> {
  let last = "";
  await waitFor(
    `all ${ids.length} deliveries to be Sent`,
    async () => {
      const rows = await deliveryRows(db, ids);
      const pending = rows.filter((row) => row.process_status !== ProcessStatus.Sent);
      last = `${rows.length} rows, ${pending.length} not Sent`;
      return rows.length === ids.length && pending.length === 0;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (${last})`);
  });
}

/** The `webhook-id` headers (delivery ids) a receiver got, in order, duplicates kept. */
function receivedIds(target: Receiver): string[] {
  return target.requests.map((request) => request.headers.get("webhook-id") ?? "(none)");
}

function randomAlphanumerics(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}

describe("a crash", () => {
  test("kill -9 during deliveries loses none: after a restart every accepted delivery arrives", async () => {
    const dir = tempDir("hookpost-durability-");
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, "hookpost.db");
    const key = `hpk_${randomAlphanumerics(40)}`;
    // Concurrency 8 is 2 per webhook: with 300 ms answers, 50 deliveries take seconds, so the
    // kill lands while most are still Waiting and two are in flight.
    const env = { ...ENGINE_ENV, HOOKPOST_API_KEY: key, HOOKPOST_CONCURRENCY: "8" };
    const slow = openRequests();
    const target = receiver(() =>
      slow.track(async () => {
        await Bun.sleep(300);
        return ok();
      }),
    );

    const first = await startServerProcess({ dbPath, env });
    defer(() => first.kill());
    const created = await first.request("PUT", "/webhooks", {
      key,
      json: { endpoint: `${target.url}/hook`, eventTypes: { article: [0] } },
    });
    expect(created.status).toBe(200);
    const accepted: string[] = [];
    for (let i = 0; i < 50; i++) {
      const response = await first.request("POST", "/events", {
        key,
        json: { eventType: 0, contentType: "article", contentId: `c${i}`, id: `evt-${i}` },
      });
      expect(response.status).toBe(202);
      accepted.push(...(response.body as Accepted).deliveries.map((d) => d.deliveryId));
    }
    expect(new Set(accepted).size).toBe(50);

    await waitFor(
      "a few deliveries received and one still unanswered",
      () => target.requests.length >= 4 && slow.counter.now > 0,
      15_000,
    );
    await first.kill("SIGKILL");
    expect(first.proc.signalCode).toBe("SIGKILL");

    const store = openStore(dbPath);
    defer(() => store.close());
    const atKill = await deliveryRows(store.db, accepted);
    expect(atKill).toHaveLength(50);
    // Taking a delivery writes nothing: one in flight at the kill is still Waiting in its row.
    expect(atKill.every((row) => row.process_status !== ProcessStatus.Processing)).toBe(true);
    const sentAtKill = new Set(
      atKill.filter((row) => row.process_status === ProcessStatus.Sent).map((row) => row.id),
    );
    // In flight at the kill: it reached the receiver, and its outcome was not stored.
    const inFlightAtKill = new Set(receivedIds(target).filter((id) => !sentAtKill.has(id)));
    // The kill really interrupted work: something was in flight and not everything was done.
    expect(inFlightAtKill.size).toBeGreaterThan(0);
    expect(sentAtKill.size).toBeLessThan(50);

    target.handle(ok);
    const second = await startServerProcess({ dbPath, env });
    defer(() => second.kill());
    await waitFor(
      "every accepted delivery id to reach the receiver",
      () => {
        const seen = new Set(receivedIds(target));
        return accepted.every((id) => seen.has(id));
      },
      20_000,
    );
    await allSent(store.db, accepted, 20_000);

    const received = receivedIds(target);
    const counts = new Map<string, number>();
    for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
    // Nothing but accepted deliveries arrived; at-least-once allows repeats, but only of the
    // deliveries that were in flight at the kill — one recorded as Sent is never sent again.
    expect([...counts.keys()].sort()).toEqual([...accepted].sort());
    const repeated = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
    for (const id of repeated) expect(inFlightAtKill.has(id)).toBe(true);
    // The attempt cut off by the kill was never recorded: each delivery has one attempt, a 200.
    const attempts = await attemptRows(store.db, accepted);
    expect(attempts).toHaveLength(50);
    expect(attempts.every((attempt) => attempt.status_code === 200)).toBe(true);

    expect(await second.kill("SIGTERM")).toBe(0);
  }, 40_000);
});

describe("a graceful stop", () => {
  test("app.stop() lets an attempt in flight finish and records it as Sent", async () => {
    const t = await testApp();
    const stopping = hold();
    const target = receiver(async () => {
      // Answers only once the stop has begun, and then takes another 200 ms.
      await stopping.released;
      await Bun.sleep(200);
      return ok();
    });
    await createWebhook(t, { endpoint: target.url, eventTypes: { graceful: [0] } });
    await t.app.start();
    const [deliveryId] = await publish(t, "graceful");
    if (!deliveryId) throw new Error("no delivery");
    await waitFor("the attempt to reach the receiver", () => target.requests.length === 1);

    const stopped = t.app.stop();
    stopping.release();
    await stopped;

    const store = otherConnection(t.app);
    defer(() => store.close());
    const [row] = await deliveryRows(store.db, [deliveryId]);
    expect(row).toMatchObject({
      process_status: ProcessStatus.Sent,
      attempts: 1,
    });
    const attempts = await attemptRows(store.db, [deliveryId]);
    expect(attempts).toEqual([
      { delivery_id: deliveryId, number: 1, status_code: 200, error: null },
    ]);
  });

  test("an attempt still unanswered after the grace period is aborted and back to Waiting", async () => {
    const t = await testApp();
    const never = hold();
    defer(() => never.release());
    const target = receiver(async () => {
      await never.released;
      return ok();
    });
    await createWebhook(t, { endpoint: target.url, eventTypes: { hanging: [0] } });
    // Published before any scheduler runs, so it waits for the one built here.
    const [deliveryId] = await publish(t, "hanging");
    if (!deliveryId) throw new Error("no delivery");
    const { db, store, config, log, authenticator, metrics } = t.app.services;
    const scheduler = new Scheduler({
      store,
      config,
      log,
      authenticator,
      metrics,
      shutdownGraceMs: 300,
    });
    defer(() => scheduler.stop());
    await scheduler.start();
    await waitFor("the attempt to reach the receiver", () => target.requests.length === 1);
    // Waiting in its row, Processing to readers while its attempt runs.
    const [claimed] = await deliveryRows(db, [deliveryId]);
    expect(claimed?.process_status).toBe(ProcessStatus.Waiting);
    expect((await store.findDelivery(db, deliveryId))?.process_status).toBe(
      ProcessStatus.Processing,
    );

    await scheduler.stop();

    expect(scheduler.inFlight).toBe(0);
    const [row] = await deliveryRows(db, [deliveryId]);
    expect(row).toMatchObject({
      process_status: ProcessStatus.Waiting,
      attempts: 0,
    });
    expect(await attemptRows(db, [deliveryId])).toEqual([]);
    expect((await store.findDelivery(db, deliveryId))?.process_status).toBe(ProcessStatus.Waiting);

    // Back to Waiting means delivered by the next scheduler, as the same delivery.
    target.handle(ok);
    const next = new Scheduler({
      store,
      config,
      log,
      authenticator,
      metrics,
      shutdownGraceMs: 300,
    });
    defer(() => next.stop());
    await next.start();
    await allSent(db, [deliveryId]);
    expect(receivedIds(target)).toEqual([deliveryId, deliveryId]);
    expect(await attemptRows(db, [deliveryId])).toEqual([
      { delivery_id: deliveryId, number: 1, status_code: 200, error: null },
    ]);
  });
});

describe("fairness", () => {
  test("a hanging endpoint holds at most its share (2 of 8) while a fast one gets everything through", async () => {
    const t = await testApp({ HOOKPOST_CONCURRENCY: "8" });
    const slowGate = hold();
    defer(() => slowGate.release());
    const slowOpen = openRequests();
    const slow = receiver(() =>
      slowOpen.track(async () => {
        await slowGate.released;
        return ok();
      }),
    );
    const fastOpen = openRequests();
    const fast = receiver(() => fastOpen.track(async () => ok()));
    await createWebhook(t, {
      endpoint: slow.url,
      eventTypes: { slowtype: [0] },
      timeoutSeconds: 30,
    });
    await createWebhook(t, { endpoint: fast.url, eventTypes: { fasttype: [0] } });
    await t.app.start();

    const slowIds = await publishMany(t, "slowtype", 20);
    const fastIds = await publishMany(t, "fasttype", 20);
    await allSent(t.app.store.db, fastIds);

    expect(new Set(receivedIds(fast))).toEqual(new Set(fastIds));
    // All the while the slow endpoint had exactly its two requests open, no more.
    expect(slowOpen.counter.max).toBe(2);
    expect(slow.requests).toHaveLength(2);
    expect(fastOpen.counter.max).toBeLessThanOrEqual(2);
    // Two in flight (Processing to readers), the other 18 Waiting.
    const { store } = t.app.services;
    const slowRows = await Promise.all(slowIds.map((id) => store.findDelivery(t.app.store.db, id)));
    const processing = slowRows.filter((row) => row?.process_status === ProcessStatus.Processing);
    const waiting = slowRows.filter((row) => row?.process_status === ProcessStatus.Waiting);
    expect([processing.length, waiting.length]).toEqual([2, 18]);

    slowGate.release();
    await allSent(t.app.store.db, slowIds);
    expect(slowOpen.counter.max).toBe(2);
    expect(new Set(receivedIds(slow))).toEqual(new Set(slowIds));
  });

  test("an endpoint that keeps failing is held to one attempt at a time until it succeeds again", async () => {
    // Concurrency 8: 2 per webhook, 1 for a webhook whose last 3 attempts failed.
    const t = await testApp({ HOOKPOST_CONCURRENCY: "8" });
    let failing = true;
    const { target, openAtArrival } = overlapReceiver(() => (failing ? down() : ok()));
    await createWebhook(t, {
      endpoint: target.url,
      eventTypes: { flaky: [0] },
      retryPolicy: "manual",
    });
    const ids = await publishMany(t, "flaky", 16);
    await t.app.start();

    // Two at a time at first; once three have failed, one at a time.
    await waitFor("eight failed attempts", () => openAtArrival.length >= 8, 15_000);
    expect(openAtArrival.slice(0, 2)).toEqual([1, 2]);
    expect(Math.max(...openAtArrival.slice(4, 8))).toBe(1);

    // One success and it is back to two at a time.
    failing = false;
    await waitFor("every delivery attempted", () => openAtArrival.length === ids.length, 15_000);
    expect(Math.max(...openAtArrival.slice(10))).toBe(2);
  });

  test("enabling a failing webhook again clears its count: two at a time at once", async () => {
    const t = await testApp({ HOOKPOST_CONCURRENCY: "8" });
    const { target, openAtArrival } = overlapReceiver(down);
    const webhook = await createWebhook(t, {
      endpoint: target.url,
      eventTypes: { flaky: [0] },
      retryPolicy: "manual",
    });
    await publishMany(t, "flaky", 12);
    await t.app.start();
    await waitFor("five failed attempts", () => openAtArrival.length >= 5, 15_000);
    expect(openAtArrival[4]).toBe(1);
    const toggle = (action: string) =>
      t.request("POST", `/webhooks/${webhook.id}/${action}`, { key: t.keys.write });
    expect((await toggle("disable")).status).toBe(200);
    await waitFor("nothing in flight", () => t.app.scheduler.inFlight === 0, 15_000);
    const before = openAtArrival.length;
    expect((await toggle("enable")).status).toBe(200);
    await waitFor("two more attempts", () => openAtArrival.length >= before + 2, 15_000);
    expect(openAtArrival[before + 1]).toBe(2);
  });

  test("a webhook already failing when the server starts (its failCount) starts at one attempt at a time", async () => {
    const t = await testApp({ HOOKPOST_CONCURRENCY: "8" });
    const { target, openAtArrival } = overlapReceiver(ok);
    const webhook = await createWebhook(t, { endpoint: target.url, eventTypes: { flaky: [0] } });
    await t.app.store.db
      .updateTable("webhooks")
      .set({ fail_count: 5, health_status: "failing" })
      .where("id", "=", webhook.id)
      .execute();
    const ids = await publishMany(t, "flaky", 8);
    await t.app.start();
    await allSent(t.app.store.db, ids);
    // The first alone; after its success, two at a time.
    expect(openAtArrival.slice(0, 2)).toEqual([1, 1]);
    expect(Math.max(...openAtArrival.slice(2))).toBe(2);
  });
});

describeOnSqlite("taking work", () => {
  test("writes nothing: a delivery's row changes once, when its outcome is stored", async () => {
    // Concurrency 4: one attempt at a time to the webhook, so the second delivery is taken
    // while the first is in flight or just answered.
    const t = await testApp({ HOOKPOST_CONCURRENCY: "4" });
    const target = receiver(ok);
    await createWebhook(t, { endpoint: target.url, eventTypes: { serial: [0] } });
    const ids = await publishMany(t, "serial", 2);
    // Every change of a delivery's state, in the order the database saw it.
    await sql`create table status_log (seq integer primary key, id text, status integer)`.execute(
      t.app.store.db,
    );
    await sql`create trigger status_logged after update of process_status on deliveries
      begin insert into status_log (id, status) values (new.id, new.process_status); end`.execute(
      t.app.store.db,
    );
    await t.app.start();
    await allSent(t.app.store.db, ids);

    const { rows } = await sql<{ id: string; status: number }>`
      select id, status from status_log order by seq`.execute(t.app.store.db);
    // Deliveries are taken earliest due first; the two may share a millisecond, so ask the log.
    const first = rows[0]?.id ?? "none";
    const second = ids.find((id) => id !== first) ?? "none";
    expect(rows).toEqual([
      { id: first, status: ProcessStatus.Sent },
      { id: second, status: ProcessStatus.Sent },
    ]);
  });
});
