/**
 * `GET /metrics` as a contract: the Prometheus text format (families, cumulative buckets,
 * escaping), the counters the scheduler feeds, and the queue gauges: read from the store's kept
 * totals without reading the backlog itself, with the deliveries in flight as Processing.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import type { Insertable } from "kysely";
import type { DeliveryTable } from "../../src/db/database.ts";
import { ProcessStatus, type ProcessStatusValue } from "../../src/deliveries/status.ts";
import { authPlugin } from "../../src/http/auth.ts";
import { metricsRoutes, PROMETHEUS_CONTENT_TYPE } from "../../src/metrics/index.ts";
import {
  Exposition,
  escapeLabelValue,
  formatValue,
  Histogram,
  Metrics,
} from "../../src/metrics/metrics.ts";
import { OutboundGuard } from "../../src/outbound/outbound-guard.ts";
import { ReceiverAuthenticator } from "../../src/outbound/receiver-auth.ts";
import { TemplaterRegistry } from "../../src/plugin-host/templaters.ts";
import type { Services } from "../../src/services.ts";
import { recountTotals } from "../../src/store/counts.ts";
import type { DeliveryStore, QueueState } from "../../src/store/delivery-store.ts";
import { SqliteDeliveryStore } from "../../src/store/store.ts";
import { USER_AGENT, VERSION } from "../../src/version.ts";
import { takeDueOf } from "../deliveries/helpers.ts";
import { queryPlan, recordingKysely } from "../helpers/query-plans.ts";
import { createTestApp, sqliteOf, type TestApp, testOnSqlite } from "../helpers/test-app.ts";

/** The value of one series (`name` or `name{labels}`) in an exposition text. */
function seriesValue(text: string, series: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

let opened: TestApp[] = [];
afterEach(async () => {
  await Promise.all(opened.map((app) => app.close()));
  opened = [];
});

async function openApp(): Promise<TestApp> {
  const app = await createTestApp();
  opened.push(app);
  return app;
}

let sequence = 0;
function deliveryRow(
  processStatus: ProcessStatusValue,
  createdAt: number,
  webhookId = "wh_metrics",
): Insertable<DeliveryTable> {
  sequence += 1;
  return {
    id: `dlv_metrics_${sequence}`,
    workspace: "default",
    webhook_id: webhookId,
    event_id: `evt_metrics_${sequence}`,
    retry_of: null,
    event_type: 1,
    content_type: "article",
    content_id: `content-${sequence}`,
    fields: "{}",
    translations: "[]",
    custom_payload: null,
    body: "{}",
    process_status: processStatus,
    attempts: 0,
    max_attempts: 5,
    next_attempt_at: createdAt,
    lease_until: null,
    response_status_code: null,
    response_message: null,
    last_error: null,
    duration_ms: null,
    signature: null,
    created_at: createdAt,
    updated_at: createdAt,
  };
}

/** Rows written by hand, and the kept totals the queue gauges read derived from them again. */
async function insertDeliveries(
  testApp: TestApp,
  rows: Insertable<DeliveryTable>[],
): Promise<void> {
  const { db } = testApp.app.store;
  await db.insertInto("deliveries").values(rows).execute();
  await recountTotals(db);
}

/** Takes the webhook's `count` oldest due deliveries in flight, as the scheduler does. */
async function takeInFlight(
  store: DeliveryStore,
  webhookId: string,
  count: number,
): Promise<string[]> {
  // No such webhook exists (so no scheduler takes its deliveries): the store is told of one.
  const webhook = {
    id: webhookId,
    workspace: "default",
    endpoint: "https://example.com/",
    secret: "",
    headers: "{}",
    timeout_seconds: 10,
    auth: "{}",
    fail_count: 0,
    previous_secret: null,
    previous_secret_until: null,
    ordered: 0,
    rate_limit_per_second: null,
    retry_schedule: null,
  };
  return (await takeDueOf(store, webhook, count)).map((delivery) => delivery.id);
}

/** The queue state of a database with no delivery, for tests of the in-memory counters. */
const EMPTY_QUEUE: QueueState = { waiting: 0, oldestWaitingCreatedAt: null, processing: 0 };

/** A Services object for one test app, with a Metrics instance the test holds. */
function servicesOf(testApp: TestApp, metrics: Metrics): Services {
  const { config, log, store } = testApp.app;
  const guard = new OutboundGuard({
    allowPrivateTargets: config.allowPrivateTargets,
    allowedCidrs: config.allowedCidrs,
  });
  return {
    config,
    db: store.db,
    store: testApp.app.services.store,
    log,
    auth: authPlugin(store.keyByHash),
    plugins: testApp.app.services.plugins,
    templaters: new TemplaterRegistry(),
    guard,
    authenticator: new ReceiverAuthenticator(guard, USER_AGENT),
    wake: () => undefined,
    metrics,
  };
}

describe("the Prometheus text format", () => {
  test("a counter is a HELP line, a TYPE line and one line per labelled sample", () => {
    const text = new Exposition()
      .counter("jobs_total", "Jobs done.", [
        { labels: { result: "ok" }, value: 3 },
        { labels: { result: "failed", queue: "mail" }, value: 0 },
      ])
      .toString();
    expect(text).toBe(
      [
        "# HELP jobs_total Jobs done.",
        "# TYPE jobs_total counter",
        'jobs_total{result="ok"} 3',
        'jobs_total{result="failed",queue="mail"} 0',
        "",
      ].join("\n"),
    );
  });

  test("a gauge given a number has no labels, and the text ends with a line feed", () => {
    const text = new Exposition().gauge("depth", "Queue depth.", 1.5).toString();
    expect(text).toBe("# HELP depth Queue depth.\n# TYPE depth gauge\ndepth 1.5\n");
  });

  test("histogram buckets are cumulative and le=+Inf equals the count", () => {
    const histogram = new Histogram([0.1, 1, 10]);
    for (const value of [0.05, 0.1, 0.5, 2, 20]) histogram.observe(value);
    const text = new Exposition().histogram("wait_seconds", "Wait.", histogram).toString();
    expect(text).toBe(
      [
        "# HELP wait_seconds Wait.",
        "# TYPE wait_seconds histogram",
        'wait_seconds_bucket{le="0.1"} 2',
        'wait_seconds_bucket{le="1"} 3',
        'wait_seconds_bucket{le="10"} 4',
        'wait_seconds_bucket{le="+Inf"} 5',
        "wait_seconds_sum 22.65",
        "wait_seconds_count 5",
        "",
      ].join("\n"),
    );
  });

  test("an empty histogram still lists every bucket at zero", () => {
    const text = new Exposition().histogram("h", "H.", new Histogram([1, 2])).toString();
    expect(text).toContain('h_bucket{le="1"} 0\nh_bucket{le="2"} 0\nh_bucket{le="+Inf"} 0\n');
    expect(text).toContain("h_sum 0\nh_count 0\n");
  });

  test("label values escape backslash, double quote and line feed", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = new Exposition()
      .gauge("info", "Info.", [{ labels: { path: 'C:\\dir "x"\nend' }, value: 1 }])
      .toString();
    expect(text).toContain('info{path="C:\\\\dir \\"x\\"\\nend"} 1\n');
  });

  test("help text escapes backslash and line feed but not double quotes", () => {
    const text = new Exposition().gauge("g", 'Two\nlines with \\ and "quotes".', 0).toString();
    expect(text.split("\n")[0]).toBe('# HELP g Two\\nlines with \\\\ and "quotes".');
  });

  test("special values are written as Prometheus reads them", () => {
    expect(formatValue(Number.POSITIVE_INFINITY)).toBe("+Inf");
    expect(formatValue(Number.NEGATIVE_INFINITY)).toBe("-Inf");
    expect(formatValue(Number.NaN)).toBe("NaN");
    expect(formatValue(0.005)).toBe("0.005");
    expect(formatValue(42)).toBe("42");
  });
});

describe("Metrics", () => {
  test("attempts are counted by result and their durations observed in seconds", () => {
    const metrics = new Metrics();
    metrics.recordAttempt("success", 40);
    metrics.recordAttempt("success", 3_000);
    metrics.recordAttempt("failure", 15_000);
    const text = metrics.render(EMPTY_QUEUE, { inFlight: 0 });
    expect(seriesValue(text, 'hookpost_attempts_total{result="success"}')).toBe(2);
    expect(seriesValue(text, 'hookpost_attempts_total{result="failure"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_attempt_duration_seconds_bucket{le="0.05"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_attempt_duration_seconds_bucket{le="5"}')).toBe(2);
    expect(seriesValue(text, 'hookpost_attempt_duration_seconds_bucket{le="15"}')).toBe(3);
    expect(seriesValue(text, 'hookpost_attempt_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(seriesValue(text, "hookpost_attempt_duration_seconds_sum")).toBeCloseTo(18.04, 9);
    expect(seriesValue(text, "hookpost_attempt_duration_seconds_count")).toBe(3);
  });

  test("final outcomes are counted and their latency observed; a negative latency is 0", () => {
    const metrics = new Metrics();
    metrics.recordDelivery("sent", 120);
    metrics.recordDelivery("error", 7_200_000);
    metrics.recordDelivery("sent", -5);
    const text = metrics.render(EMPTY_QUEUE, { inFlight: 0 });
    expect(seriesValue(text, 'hookpost_deliveries_total{outcome="sent"}')).toBe(2);
    expect(seriesValue(text, 'hookpost_deliveries_total{outcome="error"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="0.005"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="0.25"}')).toBe(2);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="3600"}')).toBe(2);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="21600"}')).toBe(3);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(seriesValue(text, "hookpost_delivery_latency_seconds_sum")).toBeCloseTo(7200.12, 9);
  });

  test("two instances keep separate counts", () => {
    const counted = new Metrics();
    const untouched = new Metrics();
    counted.recordAttempt("failure", 10);
    const text = untouched.render(EMPTY_QUEUE, { inFlight: 0 });
    expect(seriesValue(text, 'hookpost_attempts_total{result="failure"}')).toBe(0);
  });

  test("each metric family is declared once, with its HELP and TYPE", () => {
    const text = new Metrics().render(EMPTY_QUEUE, { inFlight: 0 });
    const types = text.split("\n").filter((line) => line.startsWith("# TYPE "));
    expect(types).toEqual([
      "# TYPE hookpost_attempts_total counter",
      "# TYPE hookpost_attempt_duration_seconds histogram",
      "# TYPE hookpost_deliveries_total counter",
      "# TYPE hookpost_delivery_latency_seconds histogram",
      "# TYPE hookpost_queue_depth gauge",
      "# TYPE hookpost_deliveries_processing gauge",
      "# TYPE hookpost_oldest_waiting_age_seconds gauge",
      "# TYPE hookpost_in_flight gauge",
      "# TYPE process_resident_memory_bytes gauge",
      "# TYPE hookpost_uptime_seconds gauge",
      "# TYPE hookpost_info gauge",
    ]);
    expect(text.split("\n").filter((line) => line.startsWith("# HELP "))).toHaveLength(11);
    expect(text.endsWith("\n")).toBe(true);
  });

  testOnSqlite(
    "the queue queries read the per-webhook counts and one index entry per waiting webhook, never the rows",
    async () => {
      const testApp = await openApp();
      const { sqlite, statements } = sqliteOf(testApp.app);
      const now = Date.now();
      await insertDeliveries(testApp, [
        deliveryRow(ProcessStatus.Waiting, now - 1_000),
        deliveryRow(ProcessStatus.Waiting, now),
        deliveryRow(ProcessStatus.Sent, now),
        deliveryRow(ProcessStatus.Error, now),
      ]);
      const { db: logged, executed } = recordingKysely(sqliteOf(testApp.app));
      const store = new SqliteDeliveryStore(logged, statements);
      // One delivery in flight: the oldest Waiting one not in flight is searched past it.
      const flying = await takeInFlight(store, "wh_metrics", 1);
      await store.queueState();
      // Literals, not bound parameters, but for the ids in flight: nothing else depends on a
      // value from outside.
      expect(executed.map((query) => query.parameters)).toEqual([[], flying]);
      const plans = executed.map((query) =>
        queryPlan(sqlite, query.sql, query.parameters).join("; "),
      );
      // The counts (a row per webhook and status), and per webhook with Waiting rows a search
      // for its first one: the cost does not grow with the backlog.
      expect(plans).toEqual([
        "SCAN delivery_counts",
        "SEARCH c USING PRIMARY KEY; CORRELATED SCALAR SUBQUERY 1; SEARCH d USING COVERING INDEX deliveries_log_by_status (webhook_id=? AND process_status=?)",
      ]);
    },
  );
});

describe("GET /metrics", () => {
  test("answers without a key, as Prometheus text 0.0.4", async () => {
    const testApp = await openApp();
    const response = await testApp.request("GET", "/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(response.text).toContain(`hookpost_info{version="${VERSION}"} 1\n`);
    expect(seriesValue(response.text, "hookpost_in_flight")).toBe(0);
    expect(seriesValue(response.text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(seriesValue(response.text, "hookpost_uptime_seconds")).toBeGreaterThanOrEqual(0);
  });

  test("an empty queue has depth 0 and an oldest waiting age of 0", async () => {
    const testApp = await openApp();
    const { text } = await testApp.request("GET", "/metrics");
    expect(seriesValue(text, "hookpost_queue_depth")).toBe(0);
    expect(seriesValue(text, "hookpost_deliveries_processing")).toBe(0);
    expect(seriesValue(text, "hookpost_oldest_waiting_age_seconds")).toBe(0);
  });

  test("queue gauges count Waiting deliveries and those in flight, and age the oldest Waiting one not in flight", async () => {
    const testApp = await openApp();
    const now = Date.now();
    const oldest = deliveryRow(ProcessStatus.Waiting, now - 7_200_000);
    const older = deliveryRow(ProcessStatus.Waiting, now - 5_000);
    await insertDeliveries(testApp, [
      deliveryRow(ProcessStatus.Waiting, now - 1_000),
      deliveryRow(ProcessStatus.Waiting, now),
      // The oldest Waiting one not in flight belongs to another webhook.
      deliveryRow(ProcessStatus.Waiting, now - 600_000, "wh_other"),
      oldest,
      older,
      // Older final rows: neither counted nor taken for the oldest waiting one.
      deliveryRow(ProcessStatus.Sent, now - 86_400_000),
      deliveryRow(ProcessStatus.Error, now - 86_400_000),
      deliveryRow(ProcessStatus.Sent, now),
    ]);
    // The two oldest due are taken for an attempt: still Waiting in their rows, Processing to
    // readers (the app is not started: no scheduler takes the others).
    await testApp.app.store.db
      .insertInto("webhooks")
      .values({
        id: "wh_metrics",
        workspace: "default",
        name: "metrics",
        description: null,
        endpoint: "https://example.com/",
        secret: "whsec_metrics",
        event_types: "{}",
        custom_payload: null,
        error_email_to: null,
        max_attempts: null,
        last_delivered_at: null,
        created_at: now,
        last_modified: now,
      })
      .execute();
    const { store } = testApp.app.services;
    const flying = await takeInFlight(store, "wh_metrics", 2);
    expect(flying.sort()).toEqual([oldest.id, older.id].sort());
    const stored = await testApp.app.store.db
      .selectFrom("deliveries")
      .select("process_status")
      .where("id", "in", flying)
      .execute();
    expect(stored.map((row) => row.process_status)).toEqual([
      ProcessStatus.Waiting,
      ProcessStatus.Waiting,
    ]);
    const { text } = await testApp.request("GET", "/metrics");
    expect(seriesValue(text, "hookpost_queue_depth")).toBe(3);
    expect(seriesValue(text, "hookpost_deliveries_processing")).toBe(2);
    const age = seriesValue(text, "hookpost_oldest_waiting_age_seconds");
    expect(age).toBeGreaterThanOrEqual(600);
    expect(age).toBeLessThan(7_200);
  });

  test("shows what was recorded on the Services' Metrics, and the attempts in flight", async () => {
    const testApp = await openApp();
    const metrics = new Metrics();
    const http = new Elysia().use(metricsRoutes(servicesOf(testApp, metrics), () => 3));
    metrics.recordAttempt("success", 200);
    metrics.recordAttempt("failure", 1_500);
    metrics.recordDelivery("sent", 250);
    const response = await http.handle(new Request("http://localhost/metrics"));
    const text = await response.text();
    expect(response.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(seriesValue(text, 'hookpost_attempts_total{result="success"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_attempts_total{result="failure"}')).toBe(1);
    expect(seriesValue(text, "hookpost_attempt_duration_seconds_count")).toBe(2);
    expect(seriesValue(text, 'hookpost_deliveries_total{outcome="sent"}')).toBe(1);
    expect(seriesValue(text, 'hookpost_deliveries_total{outcome="error"}')).toBe(0);
    expect(seriesValue(text, 'hookpost_delivery_latency_seconds_bucket{le="0.25"}')).toBe(1);
    expect(seriesValue(text, "hookpost_in_flight")).toBe(3);
  });

  test("is documented as an open text/plain Operations route", async () => {
    const testApp = await openApp();
    const { body } = await testApp.request("GET", "/swagger/json");
    const operation = (body as { paths: Record<string, { get: Record<string, unknown> }> }).paths[
      "/metrics"
    ]?.get;
    expect(operation).toMatchObject({
      tags: ["Operations"],
      summary: "Prometheus metrics",
      responses: { 200: { content: { "text/plain": { schema: { type: "string" } } } } },
    });
    expect(operation?.security).toEqual([]);
  });
});
