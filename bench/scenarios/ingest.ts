/**
 * Ingest alone: `POST /events` with one matching webhook, closed-loop at the bench's
 * concurrency, at each event size, against the bare insert server and the BullMQ peer's
 * ingest alone, with its ratio to the minimal program's ingest alone in the detail.
 * Deliveries are parked while it runs — the receiver holds the first requests open, so the
 * scheduler has its per-webhook limit in flight and claims nothing more — so the figure is the
 * cost of accepting an event (transaction, matching, rendering the body, the scheduler's
 * wake-up), not of delivering it (end to end measures both together).
 *
 * The same is measured on PostgreSQL with one node and with two nodes on one database, the
 * load generator's publishers split between them (bench/scenarios/postgres.ts).
 */

import {
  type Baselines,
  type BenchContext,
  eventTarget,
  hookpostEnv,
  measureRounds,
  profileDirOf,
  type Rounds,
  sizeLabel,
  spread,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import type { LoadResult } from "../loadgen.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { baselines } from "./baselines.ts";
import { minimalIngest, minimalRatio, onMinimalPostgres, SQLITE } from "./minimal.ts";
import { peerIngest } from "./peer.ts";
import { type NodeCount, type NodeUrls, nodesLabel, onEachCluster } from "./postgres.ts";

/** What {@link parkedIngest} measured: the rounds, and the deliveries the receiver held. */
interface ParkedRun {
  rounds: Rounds;
  held: number;
}

/**
 * Ingest alone against running servers (one, or the nodes of a cluster sharing a database):
 * one webhook at the receiver, which holds its requests while the closed loop runs and lets
 * them go after.
 */
async function parkedIngest(
  context: BenchContext,
  urls: NodeUrls,
  size: EventSize,
): Promise<ParkedRun> {
  const { receiver } = context;
  const api = new HookpostApi(urls[0], context.apiKey);
  await api.createWebhook(`${context.receiverUrl}/ingest`, { timeoutSeconds: 60 });
  await receiver.call("hold", { on: true });
  try {
    const rounds = await measureRounds(context, eventTarget(urls, context.apiKey, size));
    return { rounds, held: (await receiver.call("stats", {})).held };
  } finally {
    await receiver.call("hold", { on: false });
  }
}

/** "; 3 failed {…}" when some requests were not accepted. */
function failures(run: LoadResult): string {
  return run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
}

async function ingestAt(context: BenchContext, size: EventSize): Promise<void> {
  const { options, report } = context;
  const base = await baselines(context, size);
  const peer = (await peerIngest(context, size))?.median ?? null;
  const minimal = (await minimalIngest(context, size, SQLITE)).median;
  const minimalPostgres =
    (
      await onMinimalPostgres(context, `ingest-${size}`, (store) =>
        minimalIngest(context, size, store),
      )
    )?.median ?? null;
  const dir = makeTempDir("ingest");
  const profileDir = profileDirOf(context, `ingest-${size}`);
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
    cpuProfileDir: profileDir,
  });
  let sqliteRate: number;
  try {
    const parked = await parkedIngest(context, [server.url], size);
    const { rounds } = parked;
    const run = rounds.median;
    sqliteRate = run.rate;
    report.raw[`ingest-${size}`] = parked;
    const label = `${sizeLabel(size)}, C=${options.concurrency}`;
    report.add({
      section: "ingest alone",
      name: `POST /events, 1 webhook, ${label}`,
      unit: "ev/s",
      value: run.rate,
      baseline: base.insert.rate,
      baselineName: "insert server",
      target: { kind: "atLeast", ratio: 0.6 },
      peer: peer?.rate ?? null,
      detail: `${spread(rounds)}, deliveries parked; ${minimalRatio(run.rate, minimal.rate, "ev/s", "sqlite")}${failures(run)}`,
    });
    report.add({
      section: "ingest alone",
      name: `response time p50, ${label}`,
      unit: "ms",
      value: run.latency?.p50 ?? null,
      baseline: base.insert.latency?.p50 ?? null,
      baselineName: "insert server",
      peer: peer?.latency?.p50 ?? null,
      detail: `minimal program ${minimal.latency?.p50} ms`,
    });
    report.add({
      section: "ingest alone",
      name: `response time p99, ${label}`,
      unit: "ms",
      value: run.latency?.p99 ?? null,
      baseline: base.insert.latency?.p99 ?? null,
      baselineName: "insert server",
      peer: peer?.latency?.p99 ?? null,
      detail: `max ${run.latency?.max} ms; minimal program ${minimal.latency?.p99} ms`,
    });
  } finally {
    await server.stop();
    removeTempDir(dir);
    if (profileDir) report.raw[`ingestProfileDir-${size}`] = profileDir;
  }
  await onEachCluster(context, `ingest-${size}`, async (nodes, urls) => {
    const parked = await parkedIngest(context, urls, size);
    reportPostgresIngest(context, size, nodes, parked, base, peer, sqliteRate, minimalPostgres);
  });
}

/** The row of ingest alone on PostgreSQL, beside the same baseline and peer as SQLite's. */
function reportPostgresIngest(
  context: BenchContext,
  size: EventSize,
  nodes: NodeCount,
  parked: ParkedRun,
  base: Baselines,
  peer: LoadResult | null,
  sqliteRate: number,
  minimal: LoadResult | null,
): void {
  const { rounds, held } = parked;
  const run = rounds.median;
  context.report.raw[`ingest-${size}-postgres-${nodes}n`] = parked;
  context.report.add({
    section: "ingest alone",
    name: `POST /events on ${nodesLabel(nodes)}, 1 webhook, ${sizeLabel(size)}, C=${context.options.concurrency}`,
    unit: "ev/s",
    value: run.rate,
    baseline: base.insert.rate,
    baselineName: "insert server",
    peer: peer?.rate ?? null,
    detail:
      `${spread(rounds)}, deliveries parked (${held} held); ${(run.rate / sqliteRate).toFixed(2)}× ` +
      `Hookpost on SQLite${minimal === null ? "" : `, ${minimalRatio(run.rate, minimal.rate, "ev/s", "postgres")}`}; response p50 ${run.latency?.p50} ms, p99 ${run.latency?.p99} ms` +
      failures(run),
  });
}

export async function ingest(context: BenchContext): Promise<void> {
  for (const size of context.options.eventSizes) await ingestAt(context, size);
}
