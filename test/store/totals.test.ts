/**
 * The delivery log's kept totals (`delivery_counts`, `delivery_state_counts`) against the rows,
 * after every path that changes a delivery's status. Since migration 0013 no trigger keeps them:
 * the store tells a Tally each row's state before and after, and writes the sums at the end of
 * the transaction (src/store/counts.ts). A path that forgets to tell it, or tells it wrong,
 * leaves totals that `recountTotals` would not derive from the rows — and a log API whose
 * `total` disagrees with the items it lists, since those totals answer its counts.
 *
 * One app is driven through the steps in order; each test is a step and checks after it.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Executor } from "../../src/db/database.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { recountTotals } from "../../src/store/counts.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

/** Rows of both tables with a count, as `webhook status|state: count` lines, sorted. */
type Totals = string[];

interface LogItem {
  id: string;
  state: string;
  processStatus: number;
  attempts: number;
  lastError: string | null;
}

interface LogPage {
  items: LogItem[];
  total: number;
}

const STATES = ["pending", "processing", "retrying", "success", "failed", "exhausted"] as const;
const STATUSES = [
  ProcessStatus.Error,
  ProcessStatus.Waiting,
  ProcessStatus.Processing,
  ProcessStatus.Sent,
];

/** 1,000 × the event's fields: with a 2 KB field the body passes the 1 MiB bound (issue 13). */
const REPEATED_FIELDS = Array.from({ length: 1000 }, () => "{{fields}}");

/** Far beyond any step: a delivery due later than this counts as parked. */
const PARKED_AFTER_MS = 30_000;

/** Thrown inside the recount's transaction to roll it back once both sides are read. */
class Recounted extends Error {
  constructor(
    readonly kept: Totals,
    readonly derived: Totals,
  ) {
    super("recount rolled back");
  }
}

/** A receiver that keeps each request open until `release` answers it. */
interface HeldReceiver {
  target: Receiver;
  release(answer: () => Response): void;
}

function heldReceiver(): HeldReceiver {
  const { promise, resolve } = Promise.withResolvers<() => Response>();
  const target = startReceiver(async () => (await promise)());
  return { target, release: resolve };
}

describe("the kept totals equal what the rows derive, along every status change", () => {
  let t: TestApp;
  let db: Executor;
  const receivers: Receiver[] = [];
  /** Released at the end whatever happened, so a failed step does not hold up the shutdown. */
  const heldReceivers: HeldReceiver[] = [];
  /** Webhook names by id, so a difference in totals reads as which webhook it is. */
  const names = new Map<string, string>();
  const hooks: Record<string, string> = {};
  /** Delivery ids of step 1, by webhook name. */
  const firstDeliveries: Record<string, string | undefined> = {};
  /** Before the deliveries of step 3: retention's cutoff in step 5. */
  let beforeStep3 = 0;

  const receiver = (target: Receiver) => {
    receivers.push(target);
    return target;
  };

  const held = () => {
    const holding = heldReceiver();
    receiver(holding.target);
    heldReceivers.push(holding);
    return holding;
  };

  async function hook(name: string, fields: Record<string, unknown>): Promise<void> {
    const { id } = await createWebhook(t, fields);
    names.set(id, name);
    hooks[name] = id;
  }

  const idOf = (name: string) => {
    const id = hooks[name];
    if (!id) throw new Error(`no webhook ${name}`);
    return id;
  };

  async function totalsIn(executor: Executor): Promise<Totals> {
    const name = (id: string) => names.get(id) ?? id;
    // Summed per total: PostgreSQL spreads a total over rows (store/postgres/totals.ts).
    const statuses = await executor
      .selectFrom("delivery_counts")
      .select(["webhook_id", "process_status", (eb) => eb.fn.sum<number>("count").as("count")])
      .groupBy(["webhook_id", "process_status"])
      .execute();
    const states = await executor
      .selectFrom("delivery_state_counts")
      .select(["webhook_id", "state", (eb) => eb.fn.sum<number>("count").as("count")])
      .groupBy(["webhook_id", "state"])
      .execute();
    return [
      ...statuses
        .filter((row) => Number(row.count) !== 0)
        .map((row) => `${name(row.webhook_id)} status ${row.process_status}: ${row.count}`),
      ...states
        .filter((row) => Number(row.count) !== 0)
        .map((row) => `${name(row.webhook_id)} ${row.state}: ${row.count}`),
    ].sort();
  }

  /**
   * The kept totals, and the totals `recountTotals` derives from the rows — read in one
   * transaction, rolled back, so the recount never repairs what the store kept.
   */
  async function keptAndDerived(): Promise<{ kept: Totals; derived: Totals }> {
    try {
      await db.transaction().execute(async (trx) => {
        const kept = await totalsIn(trx);
        await recountTotals(trx);
        throw new Recounted(kept, await totalsIn(trx));
      });
    } catch (error) {
      if (error instanceof Recounted) return { kept: error.kept, derived: error.derived };
      throw error;
    }
    throw new Error("the recount was not rolled back");
  }

  async function expectTotalsMatchRows(): Promise<Totals> {
    const { kept, derived } = await keptAndDerived();
    expect(kept).toEqual(derived);
    return kept;
  }

  async function logPage(webhook: string, query: string): Promise<LogPage> {
    const response = await t.request("GET", `/webhooks/${webhook}/events?pageSize=100${query}`, {
      key: t.keys.read,
    });
    expect(response.status).toBe(200);
    return response.body as LogPage;
  }

  /**
   * The log API agrees with itself: for every state and status, the `total` (answered by the
   * kept totals) is the number of items listed with it. Returns the webhook's deliveries by state.
   */
  async function logByState(name: string): Promise<Record<string, number>> {
    const webhook = idOf(name);
    const all = await logPage(webhook, "");
    expect(all.total).toBe(all.items.length);
    const byState: Record<string, number> = {};
    for (const item of all.items) byState[item.state] = (byState[item.state] ?? 0) + 1;
    for (const state of STATES) {
      const page = await logPage(webhook, `&state=${state}`);
      const expected = byState[state] ?? 0;
      expect({ name, state, total: page.total, listed: page.items.length }).toEqual({
        name,
        state,
        total: expected,
        listed: expected,
      });
      expect(page.items.every((item) => item.state === state)).toBe(true);
    }
    for (const status of STATUSES) {
      const page = await logPage(webhook, `&status=${status}`);
      const listed = all.items.filter((item) => item.processStatus === status).length;
      expect({ name, status, total: page.total }).toEqual({ name, status, total: listed });
    }
    return byState;
  }

  /** Sum of the kept count of `status` over every webhook. */
  async function keptStatusTotal(status: number): Promise<number> {
    const row = await db
      .selectFrom("delivery_counts")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("count"), eb.lit(0)).as("total"))
      .where("process_status", "=", status)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /**
   * Nothing in flight, and no delivery of an enabled webhook due before long: the scheduler has
   * nothing left to change in this step.
   */
  function quiet(what: string): Promise<true> {
    return waitFor(
      what,
      async () => {
        if (t.app.services.store.inFlightCount > 0) return false;
        const due = await db
          .selectFrom("deliveries as d")
          .innerJoin("webhooks as w", "w.id", "d.webhook_id")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where("d.process_status", "=", ProcessStatus.Waiting)
          .where("w.enabled", "=", 1)
          .where("d.next_attempt_at", "<", Date.now() + PARKED_AFTER_MS)
          .executeTakeFirstOrThrow();
        return Number(due.count) === 0;
      },
      5_000,
    );
  }

  async function publish(contentType: string, fields: Record<string, unknown> = {}) {
    const response = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType, contentId: `${contentType}-1`, fields },
    });
    expect(response.status).toBe(202);
    const body = response.body as { deliveries: { webhookId: string; deliveryId: string }[] };
    return body.deliveries;
  }

  async function post(path: string, json?: unknown) {
    const response = await t.request("POST", path, { key: t.keys.write, json });
    expect({ path, status: response.status, text: response.text }).toMatchObject({
      status: 200,
    });
    return response.body;
  }

  async function row(id: string) {
    return db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    t = await createTestApp({
      ...LOOPBACK_DELIVERY,
      HOOKPOST_RETRY_BASE_MS: "40",
      // Far above a step, so a Retry-After of an hour parks a delivery as retrying.
      HOOKPOST_RETRY_MAX_DELAY_MS: "60000",
      HOOKPOST_MAX_ATTEMPTS: "4",
    });
    db = t.app.store.db;
    const ok = receiver(startReceiver());
    const flaky = receiver(
      startReceiver((_request, index) => new Response("no", { status: index === 0 ? 500 : 200 })),
    );
    const busy = receiver(
      startReceiver(
        () => new Response("later", { status: 503, headers: { "retry-after": "3600" } }),
      ),
    );
    const failing = receiver(startReceiver(() => new Response("no", { status: 500 })));
    const gone = receiver(startReceiver(() => new Response("gone", { status: 410 })));
    const article = { article: [0] };
    await hook("ok", { endpoint: ok.url, eventTypes: { ...article, big: [0] } });
    await hook("flaky", { endpoint: flaky.url, eventTypes: article });
    await hook("busy", { endpoint: busy.url, eventTypes: article });
    await hook("failing", { endpoint: failing.url, eventTypes: article, maxAttempts: 2 });
    await hook("manual", { endpoint: failing.url, eventTypes: article, retryPolicy: "manual" });
    await hook("gone", { endpoint: gone.url, eventTypes: article });
    await hook("broken", {
      endpoint: ok.url,
      eventTypes: { big: [0] },
      useCustomPayload: true,
      customPayload: REPEATED_FIELDS,
    });
    const content = await t.request("PUT", "/content-types/article", {
      key: t.keys.write,
      json: { name: "Article", fields: ["title"] },
    });
    expect(content.status).toBe(200);
  });

  afterAll(async () => {
    for (const holding of heldReceivers) holding.release(() => new Response("bye"));
    await t.close();
    for (const target of receivers) await target.stop();
  });

  test("1. ingest: every delivery counted Waiting, one born in Error (render failed)", async () => {
    // One event to six webhooks in a group-committed batch; one whose body fails to render for
    // `broken`, written in a transaction of its own with its failure reported.
    const article = await publish("article");
    const big = await publish("big", { text: "a".repeat(2_000) });
    for (const { webhookId, deliveryId } of article) {
      firstDeliveries[names.get(webhookId) ?? webhookId] = deliveryId;
    }
    firstDeliveries.broken = big.find((d) => d.webhookId === idOf("broken"))?.deliveryId;
    expect(article).toHaveLength(6);
    expect(big).toHaveLength(2);
    // Counted from what was published, not from the rows: fails if the tally is not written.
    expect(await keptStatusTotal(ProcessStatus.Waiting)).toBe(7);
    expect(await keptStatusTotal(ProcessStatus.Error)).toBe(1);
    await expectTotalsMatchRows();
    expect(await logByState("ok")).toEqual({ pending: 2 });
    expect(await logByState("broken")).toEqual({ failed: 1 });
  });

  test("2. the scheduler's outcomes: sent, retried then sent, retrying, exhausted, gone", async () => {
    await t.app.start();
    await quiet("every first attempt's outcome");
    const totals = await expectTotalsMatchRows();
    expect(totals).toContain("busy retrying: 1");
    expect(totals).toContain("failing exhausted: 1");
    expect(totals).toContain("manual exhausted: 1");
    const expected: Record<string, Record<string, number>> = {
      ok: { success: 2 },
      flaky: { success: 1 },
      busy: { retrying: 1 },
      failing: { exhausted: 1 },
      manual: { exhausted: 1 },
      gone: { failed: 1 },
      broken: { failed: 1 },
    };
    for (const [name, states] of Object.entries(expected)) {
      expect({ name, states: await logByState(name) }).toEqual({ name, states });
    }
    expect((await row(firstDeliveries.flaky ?? "")).attempts).toBe(2);
    expect((await row(firstDeliveries.failing ?? "")).attempts).toBe(2);
    beforeStep3 = Date.now();
  });

  test("3. a manual retry, a replay and generate-sample", async () => {
    const retry = (name: string, deliveryId: string | undefined) =>
      post(`/webhooks/${idOf(name)}/events/${deliveryId}/retry`);
    await retry("ok", firstDeliveries.ok);
    await retry("manual", firstDeliveries.manual);
    // Stored no body: the retry renders again and is born in Error again.
    const reborn = (await retry("broken", firstDeliveries.broken)) as LogItem;
    expect(reborn.state).toBe("failed");
    const replayed = (await post(`/webhooks/${idOf("ok")}/replay`, {
      since: "2000-01-01T00:00:00Z",
    })) as { replayed: number };
    expect(replayed.replayed).toBe(2);
    await post(`/webhooks/${idOf("ok")}/generate-sample/article`);
    // `gone` was disabled by its 410: these wait, untaken, until step 4 deletes it.
    await retry("gone", firstDeliveries.gone);
    await post(`/webhooks/${idOf("gone")}/generate-sample/article`);
    await quiet("the retries, replays and sample to be sent");
    await expectTotalsMatchRows();
    const expected: Record<string, Record<string, number>> = {
      ok: { success: 6 },
      manual: { exhausted: 2 },
      broken: { failed: 2 },
      gone: { failed: 1, pending: 2 },
    };
    for (const [name, states] of Object.entries(expected)) {
      expect({ name, states: await logByState(name) }).toEqual({ name, states });
    }
  });

  test("4. deleting webhooks fails their Waiting deliveries, pending and retrying", async () => {
    for (const name of ["gone", "busy"]) {
      const response = await t.request("DELETE", `/webhooks/${idOf(name)}`, { key: t.keys.write });
      expect(response.status).toBeLessThan(300);
    }
    const totals = await expectTotalsMatchRows();
    expect(totals.some((line) => line.startsWith("busy retrying"))).toBe(false);
    expect(await logByState("gone")).toEqual({ failed: 3 });
    expect(await logByState("busy")).toEqual({ failed: 1 });
    const { items } = await logPage(idOf("gone"), "&status=-1");
    const deleted = items.filter((item) => item.lastError === "webhook deleted before delivery");
    expect(deleted).toHaveLength(2);
  });

  test("5. retention removes finished deliveries older than the cutoff", async () => {
    // The cutoff falls between step 2 and step 3, so only the first deliveries are old; the
    // scheduler's own run (once a minute, counted in days) would not reach them in this test.
    const removed = await t.app.services.store.applyRetention(beforeStep3, () => false);
    expect(removed.deliveries).toBe(8);
    const totals = await expectTotalsMatchRows();
    for (const name of ["flaky", "failing", "busy"]) {
      expect(totals.filter((line) => line.startsWith(`${name} `))).toEqual([]);
    }
    const expected: Record<string, Record<string, number>> = {
      ok: { success: 4 },
      flaky: {},
      failing: {},
      manual: { exhausted: 1 },
      broken: { failed: 1 },
      gone: { failed: 2 },
    };
    for (const [name, states] of Object.entries(expected)) {
      expect({ name, states: await logByState(name) }).toEqual({ name, states });
    }
  });

  test("6. in flight: Waiting in the row and the totals, processing in the log", async () => {
    const holding = held();
    await hook("held", { endpoint: holding.target.url, eventTypes: { held: [0] } });
    const [delivery] = await publish("held");
    await waitFor("the attempt to reach the receiver", () => holding.target.requests.length === 1);
    const totals = await expectTotalsMatchRows();
    expect(totals).toContain(`held status ${ProcessStatus.Waiting}: 1`);
    expect((await row(delivery?.deliveryId ?? "")).process_status).toBe(ProcessStatus.Waiting);
    expect(await logByState("held")).toEqual({ processing: 1 });
    expect((await logPage(idOf("held"), "&state=processing")).total).toBe(1);
    expect((await logPage(idOf("held"), "&state=pending")).total).toBe(0);
    expect((await logPage(idOf("held"), `&status=${ProcessStatus.Waiting}`)).total).toBe(0);
    holding.release(() => Response.json({ ok: true }));
    await quiet("the held delivery to be recorded");
    await expectTotalsMatchRows();
    expect(await logByState("held")).toEqual({ success: 1 });
  });

  test("7. in flight while its webhook is deleted: the retry it earned becomes a failure", async () => {
    const holding = held();
    await hook("deleted", { endpoint: holding.target.url, eventTypes: { deleted: [0] } });
    const [delivery] = await publish("deleted");
    await waitFor("the attempt to reach the receiver", () => holding.target.requests.length === 1);
    const response = await t.request("DELETE", `/webhooks/${idOf("deleted")}`, {
      key: t.keys.write,
    });
    expect(response.status).toBeLessThan(300);
    // Spared by the deletion: its own outcome ends it.
    expect(await logByState("deleted")).toEqual({ processing: 1 });
    await expectTotalsMatchRows();
    holding.release(() => new Response("no", { status: 500 }));
    await waitFor(
      "the outcome to be recorded",
      async () => (await row(delivery?.deliveryId ?? "")).process_status === ProcessStatus.Error,
      5_000,
    );
    await expectTotalsMatchRows();
    expect(await logByState("deleted")).toEqual({ failed: 1 });
  });
});
