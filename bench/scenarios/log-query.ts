/**
 * Log query: `GET /webhooks/{id}/events` on a webhook with a seeded log (1,000,000 rows in
 * full mode; mixed statuses, event types, content types, 30 days; see seed.ts), one request
 * at a time, p50/p99 per filter combination, plus a cursor walk. The webhook is disabled, so
 * the scheduler leaves its Waiting rows alone while the queries run.
 *
 * Floor: the same first page as a bare bun:sqlite query in this process (`SELECT * … WHERE
 * webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT 20`): what the page costs without
 * HTTP, validation, the total count and JSON.
 */

import { Database } from "bun:sqlite";
import { type BenchContext, hookpostEnv } from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { seedDeliveries } from "../seed.ts";
import { Recorder, type Summary } from "../stats.ts";

const DAY_MS = 86_400_000;
const WARMUP_REQUESTS = 5;

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

export async function logQuery(context: BenchContext): Promise<void> {
  const { options, loadgen, report } = context;
  const dir = makeTempDir("logquery");
  const dbPath = dbPathIn(dir);
  try {
    const setup = await startHookpost({
      dbPath,
      apiKey: context.apiKey,
      env: hookpostEnv(context),
    });
    let webhookId: string;
    try {
      const api = new HookpostApi(setup.url, context.apiKey);
      webhookId = await api.createWebhook(`${context.receiverUrl}/log`, { name: "log" });
      await api.disableWebhook(webhookId);
    } finally {
      await setup.stop();
    }
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
        const target = {
          url: `${base}?${query}`,
          method: "GET" as const,
          headers,
          body: "none" as const,
        };
        const warm = await loadgen.call("closed", {
          target,
          concurrency: 1,
          requests: WARMUP_REQUESTS,
        });
        if (warm.ok === 0) throw new Error(`log query ${name}: ${JSON.stringify(warm)}`);
        const run = await loadgen.call("closed", {
          target,
          concurrency: 1,
          requests: options.logRequests,
          durationMs: options.logComboMs,
        });
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
      report.raw.logQuery = { seeded, floor, results };
    } finally {
      await server.stop();
    }
  } finally {
    removeTempDir(dir);
  }
}
