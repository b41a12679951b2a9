/**
 * Log query: `GET /webhooks/{id}/events` on a webhook with a seeded log (1,000,000 rows in
 * full mode; mixed statuses, event types, content types, 30 days, with their attempts; see
 * seed.ts), one request at a time, p50/p99 per filter combination, plus a cursor walk; and
 * `GET /webhooks/{id}/stats` over each window (issue 17). The webhook is disabled, so the
 * scheduler leaves its Waiting rows alone while the queries run.
 *
 * Floor: the same first page as a bare bun:sqlite query in this process (`SELECT * … WHERE
 * webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT 20`): what the page costs without
 * HTTP, validation, the total count and JSON.
 */

import { Database } from "bun:sqlite";
import { CompiledQuery } from "kysely";
import { openPostgres } from "../../src/db/postgres/connect.ts";
import { statsRange } from "../../src/deliveries/stats.ts";
import { deliveryStatsQuery, groupedAttemptStatsQuery } from "../../src/store/stats.ts";
import { type BenchContext, hookpostEnv } from "../context.ts";
import { dbPathIn, HookpostApi, type HookpostOptions, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { seedDeliveries, seedPostgresLog } from "../seed.ts";
import { Recorder, type Summary } from "../stats.ts";
import { recordingFailure, withBenchDatabase } from "./postgres.ts";

const DAY_MS = 86_400_000;
const WARMUP_REQUESTS = 5;

/**
 * The stats windows measured, each with its p99 target: a window reads every delivery and
 * attempt in it from the indexes, so the target grows with the share of the month it holds.
 */
const STATS_TARGETS_MS: Array<[string, number]> = [
  ["1h", 10],
  ["24h", 50],
  ["7d", 500],
  ["30d", 2000],
];
const STATS_SHARE: Record<string, string> = {
  "1h": "1/720",
  "24h": "1/30",
  "7d": "1/4",
  "30d": "all",
};

interface Floor {
  firstPage: Summary | null;
  count: Summary | null;
  plans: Record<string, string[]>;
}

function time(run: () => unknown, times: number, warmups = WARMUP_REQUESTS): Summary | null {
  const recorder = new Recorder();
  for (let i = 0; i < warmups; i++) run();
  for (let i = 0; i < times; i++) {
    const began = performance.now();
    run();
    recorder.add(performance.now() - began);
  }
  return recorder.summary();
}

/** The bare first page, and (to show where time goes) the total count Hookpost adds to it. */
function measureFloor(dbPath: string, webhookId: string, times: number): Floor {
  const db = new Database(dbPath);
  try {
    const page =
      "SELECT * FROM deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT 20";
    const count = "SELECT count(*) AS total FROM deliveries WHERE webhook_id = ? AND workspace = ?";
    const pageStatement = db.prepare(page);
    const countStatement = db.prepare(count);
    const plan = (sql: string, ...params: string[]) =>
      db
        .prepare<{ detail: string }, string[]>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((row) => row.detail);
    return {
      firstPage: time(() => pageStatement.all(webhookId), times),
      count: time(() => countStatement.get(webhookId, "default"), 5, 1),
      plans: { page: plan(page, webhookId), count: plan(count, webhookId, "default") },
    };
  } finally {
    db.close();
  }
}

/**
 * Each stats window's p99 (issue 17), requests one at a time like the log's. What a window
 * reads grows with it: 1h about 1/720 of the seeded month, 30d all of it. Returns the runs.
 */
async function measureStats(
  context: BenchContext,
  url: string,
  backend: "" | " on PostgreSQL",
): Promise<Record<string, unknown>> {
  const { options, report } = context;
  const runs: Record<string, unknown> = {};
  for (const [window, limitMs] of STATS_TARGETS_MS) {
    const run = await oneAtATime(context, `${url}?window=${window}`, `stats ${window}`);
    runs[window] = run;
    const share = STATS_SHARE[window];
    report.add({
      section: "log query",
      name: `p99 stats window=${window}${backend}`,
      unit: "ms",
      value: run.latency?.p99 ?? null,
      target: { kind: "below", value: limitMs },
      detail:
        `p50 ${run.latency?.p50} ms, n=${run.latency?.count ?? 0}; ` +
        `about ${share} of ${options.logRows.toLocaleString("en-US")} deliveries and their attempts`,
    });
  }
  return runs;
}

/**
 * GETs of `url`, one at a time: a warm-up (which must answer), then the measured run of
 * `logRequests` requests or `logComboMs`, whichever ends first.
 */
async function oneAtATime(context: BenchContext, url: string, label: string) {
  const { options, loadgen } = context;
  const target = {
    url,
    method: "GET" as const,
    headers: { "x-api-key": context.apiKey },
    body: "none" as const,
  };
  const warm = await loadgen.call("closed", { target, concurrency: 1, requests: WARMUP_REQUESTS });
  if (warm.ok === 0) throw new Error(`${label}: ${JSON.stringify(warm)}`);
  return loadgen.call("closed", {
    target,
    concurrency: 1,
    requests: options.logRequests,
    durationMs: options.logComboMs,
  });
}

/**
 * The webhook whose log is seeded, made by a server started for that alone (and stopped):
 * disabled, so the seeded Waiting rows are not sent.
 */
async function createLogWebhook(context: BenchContext, server: HookpostOptions): Promise<string> {
  const setup = await startHookpost(server);
  try {
    const api = new HookpostApi(setup.url, context.apiKey);
    const webhookId = await api.createWebhook(`${context.receiverUrl}/log`, { name: "log" });
    await api.disableWebhook(webhookId);
    return webhookId;
  } finally {
    await setup.stop();
  }
}

export async function logQuery(context: BenchContext): Promise<void> {
  const { options, loadgen, report } = context;
  const dir = makeTempDir("logquery");
  const dbPath = dbPathIn(dir);
  try {
    const webhookId = await createLogWebhook(context, {
      dbPath,
      apiKey: context.apiKey,
      env: hookpostEnv(context),
    });
    const now = Date.now();
    const seeded = await seedDeliveries({
      dbPath,
      workspace: "default",
      webhookId,
      kind: "log",
      rows: options.logRows,
      now,
    });
    const floor = measureFloor(dbPath, webhookId, options.logRequests);

    const server = await startHookpost({
      dbPath,
      apiKey: context.apiKey,
      // Retention must not start deleting the seeded month while the queries run.
      env: { ...hookpostEnv(context), HOOKPOST_RETENTION_DAYS: "365" },
    });
    try {
      const headers = { "x-api-key": context.apiKey };
      const base = `${server.url}/webhooks/${webhookId}/events`;
      const iso = (ms: number) => new Date(ms).toISOString();
      const combos: Array<[string, string]> = [
        ["no filter", ""],
        ["status=-1", "status=-1"],
        // The state filter: every Waiting row of the seeded log is retrying (10 %), and every
        // Error row exhausted, so state=failed finds nothing among 8 % of the log.
        ["state=retrying", "state=retrying"],
        ["state=failed", "state=failed"],
        ["eventType=2&contentType=page", "eventType=2&contentType=page"],
        ["from/to, one day", `from=${iso(now - 15 * DAY_MS)}&to=${iso(now - 14 * DAY_MS)}`],
        ["statusCode 500–599", "statusCodeFrom=500&statusCodeTo=599"],
        ["page=500", "page=500"],
      ];
      const results: Record<string, unknown> = {};
      const rows = options.logRows.toLocaleString("en-US");
      const add = (name: string, latency: Summary | null, detail: string) =>
        report.add({
          section: "log query",
          name: `p99 ${name}`,
          unit: "ms",
          value: latency?.p99 ?? null,
          baseline: floor.firstPage?.p99 ?? null,
          baselineName: "bare SQL page",
          target: { kind: "below", value: 10 },
          detail: `p50 ${latency?.p50} ms, n=${latency?.count ?? 0}; ${detail}`,
        });
      for (const [name, query] of combos) {
        const run = await oneAtATime(context, `${base}?${query}`, `log query ${name}`);
        results[name] = run;
        const extra =
          name === "no filter" ? `; bare count(*) of the log p50 ${floor.count?.p50} ms` : "";
        add(name, run.latency, `${rows} rows${extra}`);
      }
      const walkArgs = {
        url: `${base}?pageSize=20`,
        headers,
        requests: options.logRequests,
        durationMs: options.logComboMs,
      };
      await loadgen.call("walk", { ...walkArgs, requests: WARMUP_REQUESTS });
      const walk = await loadgen.call("walk", walkArgs);
      results["cursor walk"] = walk;
      add("cursor walk", walk.latency, `${walk.pages} pages of 20 followed by nextCursor`);
      const stats = await measureStats(context, `${server.url}/webhooks/${webhookId}/stats`, "");
      report.raw.logQuery = { seeded, floor, results, stats };
    } finally {
      await server.stop();
    }
  } finally {
    removeTempDir(dir);
  }
  const { postgresUrl } = context;
  if (postgresUrl !== null) {
    await recordingFailure(context, "log query stats on PostgreSQL", () =>
      withBenchDatabase(postgresUrl, (databaseUrl) => statsOnPostgres(context, databaseUrl)),
    );
  }
}

/**
 * The stats figures on PostgreSQL: the same month of deliveries and attempts (seeded by the
 * server, seed.ts), one node, the same windows; and the plans of both queries on it, with their
 * times (EXPLAIN ANALYZE), in the JSON.
 */
async function statsOnPostgres(context: BenchContext, databaseUrl: string): Promise<void> {
  const env = { ...hookpostEnv(context), HOOKPOST_RETENTION_DAYS: "365" };
  const webhookId = await createLogWebhook(context, {
    databaseUrl,
    apiKey: context.apiKey,
    env,
  });
  const now = Date.now();
  const seeded = await seedPostgresLog({
    databaseUrl,
    workspace: "default",
    webhookId,
    rows: context.options.logRows,
    now,
  });
  const plans = await explainStats(databaseUrl, webhookId, now);
  const server = await startHookpost({ databaseUrl, apiKey: context.apiKey, env });
  try {
    const runs = await measureStats(
      context,
      `${server.url}/webhooks/${webhookId}/stats`,
      " on PostgreSQL",
    );
    context.report.raw.logQueryStatsPostgres = { seeded, plans, runs };
  } finally {
    await server.stop();
  }
}

/** EXPLAIN ANALYZE of the 30-day stats queries as PostgreSQL runs them. */
async function explainStats(
  databaseUrl: string,
  webhookId: string,
  now: number,
): Promise<Record<string, string[]>> {
  const { db, close } = openPostgres(databaseUrl, { max: 1 });
  try {
    const range = statsRange("30d", now);
    const queries = {
      deliveries: deliveryStatsQuery(webhookId, range).compile(db),
      attempts: groupedAttemptStatsQuery(db, webhookId, range).compile(),
    };
    const plans: Record<string, string[]> = {};
    for (const [name, query] of Object.entries(queries)) {
      const result = await db.executeQuery<{ "QUERY PLAN": string }>(
        CompiledQuery.raw(`explain analyze ${query.sql}`, [...query.parameters]),
      );
      plans[name] = result.rows.map((row) => row["QUERY PLAN"]);
    }
    return plans;
  } finally {
    await close();
  }
}
