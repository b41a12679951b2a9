/**
 * The same-run baselines: the bare insert server (one SQLite INSERT per request) and the
 * plain fetch loop (the load generator POSTing a delivery-sized envelope straight to the
 * receiver), both closed-loop at the bench's concurrency, warm-up first, median of rounds;
 * once per event size, since both move bytes.
 */

import { join } from "node:path";
import type { BaselineInsertApi } from "../baseline-insert-server.ts";
import {
  type Baselines,
  type BenchContext,
  measureRounds,
  round1,
  sizeLabel,
  sleep,
  spread,
} from "../context.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { Worker } from "../rpc.ts";
import { RssSampler, rssMb } from "../rss.ts";

async function measureInsertServer(
  context: BenchContext,
  eventSize: EventSize,
): Promise<Baselines["insert"]> {
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
      eventSize,
    });
    const { peakMb } = sampler.stop();
    context.report.raw[`insertServer-${eventSize}`] = { rounds, idleRssMb, peakRssMb: peakMb };
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

async function measurePlainFetch(
  context: BenchContext,
  eventSize: EventSize,
): Promise<Baselines["plainFetch"]> {
  const rounds = await measureRounds(context, {
    url: `${context.receiverUrl}/plain`,
    method: "POST",
    headers: {},
    body: "envelope",
    eventSize,
  });
  context.report.raw[`plainFetch-${eventSize}`] = { rounds };
  const run = rounds.median;
  if (run.ok === 0) throw new Error(`plain fetch: no request succeeded ${JSON.stringify(run)}`);
  return { rate: run.rate, latency: run.latency, spread: spread(rounds) };
}

/**
 * Measures both baselines once per run and event size, and reports them and the combined
 * limit.
 */
export async function baselines(
  context: BenchContext,
  eventSize: EventSize = "1k",
): Promise<Baselines> {
  const known = context.baselines[eventSize];
  if (known) return known;
  const insert = await measureInsertServer(context, eventSize);
  const plainFetch = await measurePlainFetch(context, eventSize);
  const combinedLimit = 1 / (1 / insert.rate + 1 / plainFetch.rate);
  const measured = { insert, plainFetch, combinedLimit };
  context.baselines[eventSize] = measured;
  const c = context.options.concurrency;
  const size = sizeLabel(eventSize);
  context.report.add({
    section: "baseline",
    name: `bare insert server, ${size}, C=${c}`,
    unit: "req/s",
    value: insert.rate,
    detail: `p50 ${insert.latency?.p50} ms, p99 ${insert.latency?.p99} ms; ${insert.spread}`,
  });
  context.report.add({
    section: "baseline",
    name: `plain fetch loop, ${size}, C=${c}`,
    unit: "req/s",
    value: plainFetch.rate,
    detail: `p50 ${plainFetch.latency?.p50} ms, p99 ${plainFetch.latency?.p99} ms; ${plainFetch.spread}`,
  });
  context.report.add({
    section: "baseline",
    name: `combined limit, ${size}`,
    unit: "req/s",
    value: round1(combinedLimit),
    detail: "1 / (1/insert rate + 1/plain-fetch rate)",
  });
  return measured;
}
