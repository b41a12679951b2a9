/**
 * `GET /webhooks/{id}/stats` (issue 17) on either backend: real deliveries to a real receiver
 * on loopback (some answered 200, some 500 until they are exhausted, one held in flight), then
 * the counts per interval, the totals and the latency percentiles checked against the rows the
 * scheduler wrote; the duration buckets and percentiles on attempts of known durations; the
 * window's intervals; who may read it (400, 401, 404); and the plans: each query one range of
 * one index, read from the index alone (SQLite's plan; PostgreSQL's with sequential scans
 * priced out, as its planner scans a table this small whole).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CompiledQuery, sql } from "kysely";
import type { WebhookStats } from "../../src/deliveries/model.ts";
import { getWebhookStats, percentile, statsRange } from "../../src/deliveries/stats.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import {
  attemptSamplesQuery,
  deliveryStatsQuery,
  groupedAttemptStatsQuery,
  partsOf,
} from "../../src/store/stats.ts";
import { queryPlan } from "../helpers/query-plans.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import {
  createTestApp,
  QUICK_RETRIES,
  sqliteOf,
  TEST_BACKEND,
  type TestApp,
} from "../helpers/test-app.ts";
import { deliveryOf, publish } from "./helpers.ts";

const MINUTE_MS = 60_000;
/** Error, Waiting, Processing, Sent: each counted apart. */
const ALL_STATUS_COUNT = Object.keys(ProcessStatus).length;

/** The nearest-rank percentile of `durations`: what the stats approximate. */
function exactPercentile(durations: number[], fraction: number): number | null {
  if (durations.length === 0) return null;
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1] ?? null;
}

/** The stated precision: exact below 100 ms, otherwise within 5 %. */
function expectWithinPrecision(actual: number | null, exact: number | null): void {
  if (exact === null || actual === null) {
    expect(actual).toBe(exact);
    return;
  }
  if (exact < 100) expect(actual).toBe(exact);
  else expect(Math.abs(actual - exact)).toBeLessThanOrEqual(exact * 0.05);
}

describe("the stats of real deliveries", () => {
  let t: TestApp;
  let receiver: Receiver;
  let webhook = "";
  let stats: WebhookStats;
  let releaseHeld = () => {};
  const held = new Promise<void>((resolve) => {
    releaseHeld = resolve;
  });

  beforeAll(async () => {
    t = await createTestApp({ ...QUICK_RETRIES });
    // 200 after a few ms for `ok`, 500 for `fail` (4 attempts, then Error), `hold` held open.
    receiver = startReceiver(async (request) => {
      const { contentId } = JSON.parse(request.body) as { contentId: string };
      if (contentId.startsWith("hold")) await held;
      if (contentId.startsWith("fail")) return new Response("no", { status: 500 });
      await Bun.sleep(contentId === "ok-slow" ? 120 : 5);
      return Response.json({ ok: true });
    });
    webhook = (await createWebhook(t, { endpoint: `${receiver.url}/hook`, timeoutSeconds: 30 })).id;
    await t.app.start();
    const finished: string[] = [];
    for (const contentId of ["ok-1", "ok-2", "ok-slow", "fail-1", "fail-2"]) {
      finished.push(deliveryOf(await publish(t, { contentId }), webhook));
    }
    await waitFor("five deliveries to finish", async () => {
      const rows = await t.app.store.db
        .selectFrom("deliveries")
        .select("id")
        .where("id", "in", finished)
        .where("process_status", "in", [ProcessStatus.Sent, ProcessStatus.Error])
        .execute();
      return rows.length === finished.length;
    });
    await publish(t, { contentId: "hold-1" });
    await waitFor("the held delivery to be in flight", () =>
      receiver.requests.some((request) => request.body.includes('"hold-1"')),
    );
    const response = await t.request("GET", `/webhooks/${webhook}/stats?window=1h`, {
      key: t.keys.read,
    });
    expect(response.status).toBe(200);
    stats = response.body as WebhookStats;
  }, 30_000);

  afterAll(async () => {
    releaseHeld();
    await t.close();
    await receiver.stop();
  });

  test("totals: deliveries by their state now, the held one waiting; attempts, failed ones not 2xx", () => {
    expect(stats.totals).toEqual({
      sent: 3,
      error: 2,
      waiting: 1,
      // 3 successes, 2 × 4 attempts answered 500; the held attempt has not ended.
      attempts: 11,
      failedAttempts: 8,
    });
  });

  test("every interval of the hour, one minute each, oldest first, zeros included", () => {
    expect(stats.window).toBe("1h");
    expect(stats.intervalSeconds).toBe(60);
    expect(stats.intervals).toHaveLength(61);
    const from = Date.parse(stats.from);
    const to = Date.parse(stats.to);
    expect(from % MINUTE_MS).toBe(0);
    expect(from).toBe(Math.floor((to - 60 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS);
    stats.intervals.forEach((interval, index) => {
      expect(Date.parse(interval.from)).toBe(from + index * MINUTE_MS);
    });
    expect(to - Date.parse(stats.intervals.at(-1)?.from ?? "")).toBeLessThan(MINUTE_MS);
    const idle = stats.intervals.filter((interval) => interval.attempts === 0);
    for (const interval of idle) {
      expect(interval.p50Ms).toBeNull();
      expect(interval.p95Ms).toBeNull();
    }
  });

  test("each interval counts the deliveries created and the attempts started in it", async () => {
    const db = t.app.store.db;
    const deliveries = await db
      .selectFrom("deliveries")
      .select(["created_at", "process_status"])
      .where("webhook_id", "=", webhook)
      .execute();
    const attempts = await db
      .selectFrom("attempts as a")
      .innerJoin("deliveries as d", "d.id", "a.delivery_id")
      .select(["a.started_at", "a.duration_ms", "a.status_code"])
      .where("d.webhook_id", "=", webhook)
      .execute();
    for (const interval of stats.intervals) {
      const start = Date.parse(interval.from);
      const within = (ms: number) => ms >= start && ms < start + MINUTE_MS;
      const created = deliveries.filter((row) => within(row.created_at));
      const started = attempts.filter((row) => within(row.started_at));
      const durations = started.map((row) => row.duration_ms);
      expect(interval).toEqual({
        from: interval.from,
        sent: created.filter((row) => row.process_status === ProcessStatus.Sent).length,
        error: created.filter((row) => row.process_status === ProcessStatus.Error).length,
        waiting: created.filter((row) => row.process_status === ProcessStatus.Waiting).length,
        attempts: started.length,
        failedAttempts: started.filter((row) => row.status_code !== 200).length,
        p50Ms: interval.p50Ms,
        p95Ms: interval.p95Ms,
      });
      expectWithinPrecision(interval.p50Ms, exactPercentile(durations, 0.5));
      expectWithinPrecision(interval.p95Ms, exactPercentile(durations, 0.95));
    }
    const durations = attempts.map((row) => row.duration_ms);
    expectWithinPrecision(stats.latencyMs.p50, exactPercentile(durations, 0.5));
    expectWithinPrecision(stats.latencyMs.p95, exactPercentile(durations, 0.95));
    expectWithinPrecision(stats.latencyMs.p99, exactPercentile(durations, 0.99));
    expect(stats.latencyMs.max).toBe(Math.max(...durations));
    // The slow success is the longest attempt, so the maximum saw it.
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(120);
  });
});

describe("durations of known length", () => {
  let t: TestApp;
  let webhook = "";
  /** Durations on either side of each bucket edge, and two timeouts. */
  const DURATIONS = [0, 7, 99, 100, 104, 109, 110, 999, 1000, 1049, 1099, 15_003, 99_999, 123_456];
  const NOW = Date.UTC(2026, 4, 15, 14, 2, 11);

  beforeAll(async () => {
    t = await createTestApp();
    webhook = (await createWebhook(t)).id;
    const delivery = deliveryOf(await publish(t), webhook);
    await t.app.store.db
      .insertInto("attempts")
      .values(
        DURATIONS.map((duration, index) => ({
          id: `att_known_${index}`,
          delivery_id: delivery,
          webhook_id: webhook,
          number: index + 1,
          // One per minute, ending a minute before NOW; the last two failed.
          started_at: NOW - (DURATIONS.length - index) * MINUTE_MS,
          duration_ms: duration,
          status_code: index >= DURATIONS.length - 2 ? null : 200,
          error: null,
          response_body: null,
          request_headers: "{}",
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await t.close();
  });

  test("the store buckets them: exact below 100 ms, then two significant digits", async () => {
    const rows = await t.app.services.store.stats(webhook, statsRange("1h", NOW));
    rows.attempts.sort((a, b) => a.interval - b.interval);
    expect(rows.attempts.map((row) => row.bucket)).toEqual([
      0, 7, 99, 100, 100, 100, 110, 990, 1000, 1000, 1000, 15_000, 99_000, 120_000,
    ]);
    expect(rows.attempts.map((row) => row.longest)).toEqual(DURATIONS);
    expect(rows.attempts.map((row) => row.failed)).toEqual(
      DURATIONS.map((_, index) => (index >= DURATIONS.length - 2 ? 1 : 0)),
    );
  });

  test("each interval's percentiles are its one attempt's duration; the window's within 5 %", async () => {
    const stats = await getWebhookStats(t.app.services.store, "default", webhook, "1h", NOW);
    const busy = stats.intervals.filter((interval) => interval.attempts > 0);
    // One attempt per interval: its bucket's middle is kept to the attempt itself.
    expect(busy.map((interval) => interval.p50Ms)).toEqual(DURATIONS);
    expect(busy.map((interval) => interval.p95Ms)).toEqual(DURATIONS);
    expect(stats.totals).toMatchObject({ attempts: 14, failedAttempts: 2 });
    expect(stats.latencyMs).toEqual({
      // Rank 7 of 14 is 110 ms, alone in bucket 110–119 (whose middle, 115, is kept to it).
      p50: 110,
      p95: exactPercentile(DURATIONS, 0.95),
      p99: exactPercentile(DURATIONS, 0.99),
      max: 123_456,
    });
  });
});

describe("a month, read a day at a time", () => {
  let t: TestApp;
  let webhook = "";
  const NOW = Date.UTC(2026, 4, 15, 14, 2, 11);
  const HOUR_MS = 3_600_000;
  /** One attempt every 17 hours over 31 days: some days hold one, some two, a few none. */
  const STARTS = Array.from({ length: 44 }, (_, index) => NOW - index * 17 * HOUR_MS);

  beforeAll(async () => {
    t = await createTestApp();
    webhook = (await createWebhook(t)).id;
    const delivery = deliveryOf(await publish(t), webhook);
    await t.app.store.db
      .insertInto("attempts")
      .values(
        STARTS.map((startedAt, index) => ({
          id: `att_month_${index}`,
          delivery_id: delivery,
          webhook_id: webhook,
          number: index + 1,
          started_at: startedAt,
          duration_ms: 10 + index,
          status_code: index % 4 === 0 ? 503 : 200,
          error: null,
          response_body: null,
          request_headers: "{}",
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await t.close();
  });

  test("every attempt of the window counted once, in its day", async () => {
    const stats = await getWebhookStats(t.app.services.store, "default", webhook, "30d", NOW);
    const from = Date.parse(stats.from);
    const inWindow = STARTS.filter((startedAt) => startedAt >= from);
    expect(stats.intervals).toHaveLength(31);
    for (const interval of stats.intervals) {
      const start = Date.parse(interval.from);
      const day = inWindow.filter((ms) => ms >= start && ms < start + 24 * HOUR_MS);
      expect(interval.attempts).toBe(day.length);
    }
    expect(stats.totals.attempts).toBe(inWindow.length);
    expect(stats.totals.failedAttempts).toBe(
      STARTS.filter((ms, index) => ms >= from && index % 4 === 0).length,
    );
    expect(stats.latencyMs.max).toBe(10 + STARTS.indexOf(inWindow.at(-1) ?? 0));
  });
});

describe("percentiles from a histogram", () => {
  /** Buckets as [lower bound, attempts, shortest, longest]. */
  type Entry = [number, number, number, number];
  const histogram = (entries: Entry[]) =>
    new Map(
      entries.map(([lower, count, shortest, longest]) => [lower, { count, shortest, longest }]),
    );
  const tens: Entry[] = [
    [10, 1, 10, 10],
    [20, 1, 20, 20],
    [30, 2, 30, 30],
  ];

  test.each<[string, Entry[], number, number | null]>([
    ["nothing: null", [], 0.5, null],
    ["exact buckets: the nearest rank", tens, 0.5, 20],
    ["the top rank", tens, 0.99, 30],
    ["a wide bucket: its middle", [[1200, 5, 1201, 1299]], 0.5, 1250],
    ["a wide bucket, all below its middle: the longest", [[1200, 5, 1200, 1210]], 0.5, 1210],
    ["a wide bucket, all above its middle: the shortest", [[1200, 5, 1270, 1290]], 0.5, 1270],
    [
      "ranks count across buckets in duration order",
      [
        [500, 90, 500, 509],
        [40, 10, 40, 40],
      ],
      0.1,
      40,
    ],
  ])("%s", (_name, entries, fraction, expected) => {
    expect(percentile(histogram(entries), fraction)).toBe(expected);
  });
});

describe("the window", () => {
  const NOW = Date.UTC(2026, 11, 5, 21, 5, 12, 345);
  test.each([
    ["1h", "2026-12-05T20:05:00.000Z", 60_000, 61],
    ["24h", "2026-12-04T21:00:00.000Z", 3_600_000, 25],
    ["7d", "2026-11-28T18:00:00.000Z", 21_600_000, 29],
    ["30d", "2026-11-05T00:00:00.000Z", 86_400_000, 31],
  ] as const)("%s starts at %s, in intervals of %d ms", (window, from, intervalMs, count) => {
    const range = statsRange(window, NOW);
    expect(new Date(range.from).toISOString()).toBe(from);
    expect(range).toMatchObject({ to: NOW, intervalMs });
    expect(Math.floor((range.to - range.from) / intervalMs) + 1).toBe(count);
  });
});

describe("reading a range in parts (SQLite reads a day at a time)", () => {
  const NOW = Date.UTC(2026, 11, 5, 21, 5, 12, 345);
  const DAY_MS = 86_400_000;
  test.each([
    ["1h", 1, 61],
    ["24h", 2, 25],
    ["7d", 8, 29],
    ["30d", 31, 31],
  ] as const)("%s: %d parts of whole intervals, %d intervals", (window, parts, intervals) => {
    const range = statsRange(window, NOW);
    const days = partsOf(range, DAY_MS);
    expect(days).toHaveLength(parts);
    // Contiguous, each on an interval boundary, none longer than a day, the last ending now.
    days.forEach((part, index) => {
      expect(part.from % range.intervalMs).toBe(0);
      expect(part.to - part.from).toBeLessThan(DAY_MS);
      expect(part.from).toBe(index === 0 ? range.from : (days[index - 1]?.to ?? 0) + 1);
    });
    expect(days.at(-1)?.to).toBe(NOW);
    expect(partsOf(range, range.intervalMs)).toHaveLength(intervals);
  });
});

describe("who may read the stats", () => {
  let t: TestApp;
  let webhook = "";
  let deleted = "";

  beforeAll(async () => {
    t = await createTestApp();
    webhook = (await createWebhook(t)).id;
    deleted = (await createWebhook(t, { eventTypes: { page: [0] } })).id;
    deliveryOf(await publish(t, { contentType: "page" }), deleted);
    const removed = await t.request("DELETE", `/webhooks/${deleted}`, { key: t.keys.write });
    expect(removed.status).toBeLessThan(300);
  });
  afterAll(async () => {
    await t.close();
  });

  test("a read key, no window: the last 24 hours by the hour", async () => {
    const response = await t.request("GET", `/webhooks/${webhook}/stats`, { key: t.keys.read });
    expect(response.status).toBe(200);
    const stats = response.body as WebhookStats;
    expect(stats).toMatchObject({ webhookId: webhook, window: "24h", intervalSeconds: 3600 });
    expect(stats.intervals).toHaveLength(25);
    expect(stats.totals).toEqual({ sent: 0, error: 0, waiting: 0, attempts: 0, failedAttempts: 0 });
    expect(stats.latencyMs).toEqual({ p50: null, p95: null, p99: null, max: null });
  });

  test.each(["2h", "", "24H", "1d"])(
    "window=%s is a 400 naming window and its choices",
    async (window) => {
      const response = await t.request("GET", `/webhooks/${webhook}/stats?window=${window}`, {
        key: t.keys.read,
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: {
          details: { fields: [{ field: "window", message: "expected one of 1h, 24h, 7d, 30d" }] },
        },
      });
    },
  );

  test("an unknown webhook is a 404", async () => {
    const response = await t.request("GET", "/webhooks/wh_unknown/stats", { key: t.keys.read });
    expect(response.status).toBe(404);
  });

  test("another workspace's key sees a 404", async () => {
    for (const id of [webhook, deleted]) {
      const response = await t.request("GET", `/webhooks/${id}/stats`, { key: t.keys.other });
      expect(response.status).toBe(404);
    }
  });

  test("no key is a 401", async () => {
    const response = await t.request("GET", `/webhooks/${webhook}/stats`, { key: null });
    expect(response.status).toBe(401);
  });

  test("a deleted webhook's stats stay readable, as its log does", async () => {
    const response = await t.request("GET", `/webhooks/${deleted}/stats?window=1h`, {
      key: t.keys.read,
    });
    expect(response.status).toBe(200);
    expect((response.body as WebhookStats).totals).toMatchObject({ waiting: 0, error: 1 });
  });
});

describe("the plans", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** The plan of `query` on the app's backend, one line per step. */
  async function planOf(query: CompiledQuery): Promise<string> {
    if (TEST_BACKEND === "sqlite") {
      return queryPlan(sqliteOf(t.app).sqlite, query.sql, query.parameters).join("\n");
    }
    return t.app.store.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const plan = await trx.executeQuery<{ "QUERY PLAN": string }>(
        CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
      );
      return plan.rows.map((row) => row["QUERY PLAN"]).join("\n");
    });
  }

  const range = statsRange("30d", Date.UTC(2026, 4, 15));
  const db = () => t.app.store.db;

  test("deliveries: for each status, a range of the covering status index", async () => {
    const plan = await planOf(deliveryStatsQuery("wh_x", range).compile(db()));
    const searches = plan.split("\n").filter((step) => /deliveries/.test(step));
    expect(searches).toHaveLength(ALL_STATUS_COUNT);
    if (TEST_BACKEND === "sqlite") {
      for (const search of searches) {
        expect(search).toBe(
          "SEARCH deliveries USING COVERING INDEX deliveries_log_by_status (webhook_id=? AND process_status=? AND created_at>? AND created_at<?)",
        );
      }
    } else {
      // Which index depends on PostgreSQL's statistics, empty here (the bench shows the plan on
      // a million rows); each is keyed on the webhook, none a scan of the table.
      for (const search of searches) {
        expect(search).toMatch(/Index (Only )?Scan using deliveries_\w+ on deliveries/);
      }
    }
    expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
  });

  test("attempts: one range of attempts_by_webhook, read alone, in index order", async () => {
    const query =
      TEST_BACKEND === "sqlite"
        ? attemptSamplesQuery(db(), "wh_x", range)
        : groupedAttemptStatsQuery(db(), "wh_x", range);
    const plan = await planOf(query.compile());
    expect(plan).toMatch(
      TEST_BACKEND === "sqlite"
        ? /^SEARCH attempts USING COVERING INDEX attempts_by_webhook \(webhook_id=\? AND started_at>\? AND started_at<\?\)$/
        : /Index Only Scan using attempts_by_webhook on attempts/,
    );
  });
});
