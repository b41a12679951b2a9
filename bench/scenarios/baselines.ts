/**
 * The same-run baselines: the bare insert server (one SQLite INSERT per request) and the
 * plain fetch loop (the load generator POSTing a delivery-sized envelope straight to the
 * receiver), both closed-loop at the bench's concurrency, warm-up first, median of rounds.
 */

import { join } from "node:path";
import type { BaselineInsertApi } from "../baseline-insert-server.ts";
import {
  type Baselines,
  type BenchContext,
  measureRounds,
  round1,
  sleep,
  spread,
} from "../context.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { Worker } from "../rpc.ts";
import { RssSampler, rssMb } from "../rss.ts";

async function measureInsertServer(context: BenchContext): Promise<Baselines["insert"]> {
  const dir = makeTempDir("insert");
  const server = Worker.spawn<BaselineInsertApi>("baseline-insert-server.ts", "insert server");
  try {
    const { url, pid } = await server.call("start", { dbPath: join(dir, "baseline.db") });
    await sleep(context.options.idleSettleMs);
    const idleRssMb = rssMb(pid);
    const sampler = new RssSampler(pid).start();
    const rounds = await measureRounds(context, {
      url: `${url}/events`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "event",
    });
    const { peakMb } = sampler.stop();
    context.report.raw.insertServer = { rounds, idleRssMb, peakRssMb: peakMb };
    const run = rounds.median;
    if (run.ok === 0) throw new Error(`insert server: no request succeeded ${JSON.stringify(run)}`);
    return {
      rate: run.rate,
      latency: run.latency,
      idleRssMb,
      peakRssMb: peakMb,
      spread: spread(rounds),
    };
  } finally {
    await server.close();
    removeTempDir(dir);
  }
}

async function measurePlainFetch(context: BenchContext): Promise<Baselines["plainFetch"]> {
  const rounds = await measureRounds(context, {
    url: `${context.receiverUrl}/plain`,
    method: "POST",
    headers: {},
    body: "envelope",
  });
  context.report.raw.plainFetch = { rounds };
  const run = rounds.median;
  if (run.ok === 0) throw new Error(`plain fetch: no request succeeded ${JSON.stringify(run)}`);
  return { rate: run.rate, latency: run.latency, spread: spread(rounds) };
}

/** Measures both baselines once per run and reports them and the combined limit. */
export async function baselines(context: BenchContext): Promise<Baselines> {
  if (context.baselines) return context.baselines;
  const insert = await measureInsertServer(context);
  const plainFetch = await measurePlainFetch(context);
  const combinedLimit = 1 / (1 / insert.rate + 1 / plainFetch.rate);
  context.baselines = { insert, plainFetch, combinedLimit };
  const c = context.options.concurrency;
  context.report.add({
    section: "baseline",
    name: `bare insert server, C=${c}`,
    unit: "req/s",
    value: insert.rate,
    detail: `p50 ${insert.latency?.p50} ms, p99 ${insert.latency?.p99} ms; ${insert.spread}`,
  });
  context.report.add({
    section: "baseline",
    name: `plain fetch loop, C=${c}`,
    unit: "req/s",
    value: plainFetch.rate,
    detail: `p50 ${plainFetch.latency?.p50} ms, p99 ${plainFetch.latency?.p99} ms; ${plainFetch.spread}`,
  });
  context.report.add({
    section: "baseline",
    name: "combined limit",
    unit: "req/s",
    value: round1(combinedLimit),
    detail: "1 / (1/insert rate + 1/plain-fetch rate)",
  });
  return context.baselines;
}
