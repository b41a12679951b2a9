/**
 * What every scenario shares: the options, the report, the load generator and receiver
 * processes, the API key, and the same-run baselines once measured; plus small helpers.
 */

import { join } from "node:path";
import type { LoadgenApi, LoadResult, OpenResult, Target } from "./loadgen.ts";
import type { BenchOptions, EventSize } from "./options.ts";
import type { ReceiverApi, ReceiverStats } from "./receiver.ts";
import type { Report } from "./report.ts";
import type { Worker } from "./rpc.ts";
import type { Summary } from "./stats.ts";

export interface Baselines {
  /** The bare insert server under the closed-loop load at the bench's concurrency. */
  insert: {
    rate: number;
    latency: Summary | null;
    idleRssMb: number | null;
    peakRssMb: number;
    spread: string;
  };
  /** The load generator POSTing envelopes straight to the receiver at the same concurrency. */
  plainFetch: { rate: number; latency: Summary | null; spread: string };
  /** 1 / (1/insert rate + 1/plain-fetch rate). */
  combinedLimit: number;
}

export interface BenchContext {
  options: BenchOptions;
  report: Report;
  loadgen: Worker<LoadgenApi>;
  receiver: Worker<ReceiverApi>;
  receiverUrl: string;
  apiKey: string;
  /**
   * The PostgreSQL server's admin URL for the rows on PostgreSQL, once it answered; null when
   * they are skipped (the report's notes say why).
   */
  postgresUrl: string | null;
  /** Measured once per event size, the first time a section needs them. */
  baselines: Partial<Record<EventSize, Baselines>>;
  /** Figures one section measures and another reports (RSS under the end-to-end load). */
  shared: {
    loadRssMb?: number;
    loadRssDetail?: string;
  };
}

/** HOOKPOST_* settings of every server under test. */
export function hookpostEnv(context: BenchContext): Record<string, string> {
  const env: Record<string, string> = {};
  const { hookpostConcurrency } = context.options;
  if (hookpostConcurrency !== undefined) env.HOOKPOST_CONCURRENCY = String(hookpostConcurrency);
  return env;
}

/** Where a section's server writes its CPU profile, when `--profile` asks for one. */
export function profileDirOf(context: BenchContext, section: string): string | undefined {
  const { options } = context;
  if (!options.profile) return undefined;
  const stamp = new Date().toISOString().replaceAll(":", "-");
  return join(options.outDir, "profiles", `${stamp}-${section}`);
}

/**
 * `POST /events` on a Hookpost server (or the peer's ingest server, which checks the same
 * header), or spread over the nodes of a cluster, with event bodies carrying `fields.sentAt`.
 */
export function eventTarget(
  url: string | readonly string[],
  apiKey: string,
  eventSize: EventSize = "1k",
): Target {
  return {
    url: typeof url === "string" ? `${url}/events` : url.map((node) => `${node}/events`),
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    body: "event",
    eventSize,
  };
}

/** "1 KB" / "8 KB" for figure names. */
export function sizeLabel(size: EventSize): string {
  return `${size.slice(0, -1)} KB`;
}

export interface Delivered extends ReceiverStats {
  /** Whether `expected` unique deliveries arrived before the bound. */
  complete: boolean;
}

/**
 * Polls the receiver until `expected` unique deliveries have arrived since its last reset, or
 * `boundMs` has passed.
 */
export async function waitForDeliveries(
  context: BenchContext,
  expected: number,
  boundMs: number,
): Promise<Delivered> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const stats = await context.receiver.call("stats", {});
    if (stats.unique >= expected) return { ...stats, complete: true };
    if (Date.now() > deadline) return { ...stats, complete: false };
    await Bun.sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return Bun.sleep(ms);
}

export const round1 = (value: number) => Math.round(value * 10) / 10;

/** What {@link measureDelivery} found for one dispatcher (Hookpost or the peer). */
export interface DeliveryRun {
  /** Closed-loop ingest during the maximum run. */
  max: LoadResult;
  maxDelivered: Delivered;
  /** Unique deliveries / (last arrival − first request): ingest and delivery together. */
  maxRate: number;
  /** Deliveries that had arrived when the closed loop stopped, per second of the loop. */
  duringIngestRate: number;
  /** Seconds from the end of the loop to the last arrival. */
  drainSeconds: number;
  /** The open-loop rate: half of `maxRate`. */
  halfRate: number;
  half: OpenResult;
  halfDelivered: Delivered;
}

/**
 * End to end against a dispatcher that delivers to the receiver while it ingests (nothing
 * parked): a warm-up, drained; the maximum (closed loop for `measureMs`, then every accepted
 * event drained); then the open loop at half that maximum for event→receiver latency.
 */
export async function measureDelivery(context: BenchContext, target: Target): Promise<DeliveryRun> {
  const { options, loadgen, receiver } = context;
  const concurrency = options.concurrency;
  await receiver.call("reset", {});
  const warm = await loadgen.call("closed", { target, concurrency, durationMs: options.warmupMs });
  await waitForDeliveries(context, warm.ok, options.drainBoundMs);

  await receiver.call("reset", {});
  const max = await loadgen.call("closed", { target, concurrency, durationMs: options.measureMs });
  const atLoopEnd = await receiver.call("stats", {});
  const maxDelivered = await waitForDeliveries(context, max.ok, options.drainBoundMs);
  const lastAt = maxDelivered.lastAt ?? max.startedAt;
  const maxRate =
    lastAt > max.startedAt ? (maxDelivered.unique / (lastAt - max.startedAt)) * 1000 : 0;
  const duringIngestRate = max.elapsedMs > 0 ? (atLoopEnd.unique / max.elapsedMs) * 1000 : 0;
  const drainSeconds = Math.max(0, (lastAt - max.startedAt - max.elapsedMs) / 1000);

  const halfRate = Math.max(1, Math.round(maxRate / 2));
  await receiver.call("reset", {});
  const half = await loadgen.call("open", {
    target,
    rate: halfRate,
    durationMs: options.halfRateMs,
  });
  const halfDelivered = await waitForDeliveries(context, half.ok, options.drainBoundMs);
  return {
    max,
    maxDelivered,
    maxRate,
    duringIngestRate,
    drainSeconds,
    halfRate,
    half,
    halfDelivered,
  };
}

/** The maximum run's detail column: how much arrived, when, and what went wrong. */
export function deliveryDetail(run: DeliveryRun): string {
  const { max, maxDelivered } = run;
  return (
    `${maxDelivered.unique}/${max.ok} delivered${maxDelivered.complete ? "" : " (INCOMPLETE: time bound)"}` +
    `, ingest ${Math.round(max.rate)} ev/s for ${(max.elapsedMs / 1000).toFixed(1)} s` +
    ` with ${Math.round(run.duringIngestRate)} dlv/s arriving meanwhile, backlog drained` +
    ` ${run.drainSeconds.toFixed(1)} s later; ${maxDelivered.duplicates} duplicates` +
    (max.failed > 0 ? `; ${max.failed} failed ${JSON.stringify(max.statuses)}` : "")
  );
}

/** Several closed-loop runs and the one with the median rate; `rates` lists them all. */
export interface Rounds {
  median: LoadResult;
  rates: number[];
}

/**
 * A warm-up, then `options.rounds` closed-loop runs splitting `options.measureMs`; the run
 * with the median rate stands for them (this machine's neighbours make single runs noisy).
 */
export async function measureRounds(context: BenchContext, target: Target): Promise<Rounds> {
  const { options, loadgen } = context;
  const concurrency = options.concurrency;
  await loadgen.call("closed", { target, concurrency, durationMs: options.warmupMs });
  const runs: LoadResult[] = [];
  for (let i = 0; i < options.rounds; i++) {
    const durationMs = Math.round(options.measureMs / options.rounds);
    runs.push(await loadgen.call("closed", { target, concurrency, durationMs }));
  }
  runs.sort((a, b) => a.rate - b.rate);
  const median = runs[Math.floor(runs.length / 2)];
  if (!median) throw new Error("no measured run");
  return { median, rates: runs.map((run) => run.rate) };
}

/** "median of 3 runs (min–max)" for a table's detail column. */
export function spread(rounds: Rounds): string {
  if (rounds.rates.length < 2) return "1 run";
  const min = Math.round(Math.min(...rounds.rates));
  const max = Math.round(Math.max(...rounds.rates));
  return `median of ${rounds.rates.length} runs (${min}–${max})`;
}
