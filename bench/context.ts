/**
 * What every scenario shares: the options, the report, the load generator and receiver
 * processes, the API key, and the same-run baselines once measured; plus small helpers.
 */

import { join } from "node:path";
import type { LoadgenApi, LoadResult, Target } from "./loadgen.ts";
import type { BenchOptions } from "./options.ts";
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
  baselines: Baselines | null;
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

/** `POST /events` on a Hookpost server, with event bodies carrying `fields.sentAt`. */
export function eventTarget(url: string, apiKey: string): Target {
  return {
    url: `${url}/events`,
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    body: "event",
  };
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
