/**
 * End to end: events POSTed to Hookpost and delivered to the local receiver while ingest
 * runs (nothing parked), at each event size, beside the BullMQ peer doing the same.
 *
 * 1. Maximum: closed-loop ingest at the bench's concurrency for the measured duration, then
 *    wait until every accepted event has reached the receiver. Sustained deliveries/s =
 *    delivered / (last arrival − first request), against the combined limit of the two
 *    baselines, 1 / (1/insert rate + 1/plain-fetch rate), and against the peer's; the
 *    detail gives its ratio to the minimal program's, measured the same way.
 * 2. Latency: open-loop at half that maximum; event-to-receiver latency (arrival − the
 *    event's `fields.sentAt`) p50/p99, against the plain fetch loop at the same offered rate
 *    measured the same way at the same receiver, and the peer at half its own maximum.
 *
 * The server's RSS is sampled every 100 ms through both: the "RSS under load" figure (of the
 * 1 KB run, the size the target is set for). The server is stopped before the plain fetch
 * loop runs.
 *
 * The maximum and the latency are measured the same way on PostgreSQL with one node and with
 * two nodes on one database (bench/scenarios/postgres.ts): the load generator's publishers are
 * split between the nodes, and the receiver counts the deliveries either node sends.
 */

import {
  type Baselines,
  type BenchContext,
  type DeliveryRun,
  deliveryDetail,
  eventTarget,
  hookpostEnv,
  measureDelivery,
  profileDirOf,
  round1,
  sizeLabel,
  waitForDeliveries,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { peakRssMb, RssSampler } from "../rss.ts";
import { baselines } from "./baselines.ts";
import { minimalDelivery, minimalRatio, onMinimalPostgres, SQLITE } from "./minimal.ts";
import { peerDelivery } from "./peer.ts";
import { type NodeCount, type NodeUrls, nodesLabel, onEachCluster } from "./postgres.ts";

/**
 * One webhook at the receiver, created on the first of `urls` (one server, or the nodes of a
 * cluster sharing a database), then {@link measureDelivery} with the events spread over them all.
 */
async function deliverThrough(
  context: BenchContext,
  urls: NodeUrls,
  size: EventSize,
): Promise<DeliveryRun> {
  const api = new HookpostApi(urls[0], context.apiKey);
  await api.createWebhook(`${context.receiverUrl}/e2e`);
  return measureDelivery(context, eventTarget(urls, context.apiKey, size));
}

async function endToEndAt(context: BenchContext, size: EventSize): Promise<void> {
  const { options, loadgen, receiver, report } = context;
  const base = await baselines(context, size);
  const peer = await peerDelivery(context, size);
  const minimal = await minimalDelivery(context, size, SQLITE);
  const minimalPostgres = await onMinimalPostgres(context, `e2e-${size}`, (store) =>
    minimalDelivery(context, size, store),
  );
  const dir = makeTempDir("e2e");
  const profileDir = profileDirOf(context, `e2e-${size}`);
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
    cpuProfileDir: profileDir,
  });
  const sampler = new RssSampler(server.pid);
  let sqlite: DeliveryRun;
  try {
    sampler.start();
    const run = await deliverThrough(context, [server.url], size);
    sqlite = run;
    const { peakMb, samples } = sampler.stop();
    const hwm = peakRssMb(server.pid);
    // The baseline runs as the other baselines do: with no Hookpost process around (an idle
    // server still collects garbage after the load, which showed up in the baseline's tail).
    await server.stop();
    await Bun.sleep(500);

    await receiver.call("reset", {});
    const plain = await loadgen.call("open", {
      target: {
        url: `${context.receiverUrl}/plain`,
        method: "POST",
        headers: {},
        body: "envelope",
        eventSize: size,
      },
      rate: run.halfRate,
      durationMs: options.halfRateMs,
    });
    const plainDelivered = await waitForDeliveries(context, plain.ok, options.drainBoundMs);
    report.raw[`e2e-${size}`] = { run, plain, plainReceiver: plainDelivered };

    const label = sizeLabel(size);
    const { half, halfDelivered, halfRate } = run;
    report.add({
      section: "e2e",
      name: `deliveries/s while ingesting, ${label}, C=${options.concurrency}`,
      unit: "dlv/s",
      value: round1(run.maxRate),
      baseline: round1(base.combinedLimit),
      baselineName: "combined limit",
      target: { kind: "atLeast", ratio: 0.5 },
      peer: peer === null ? null : round1(peer.maxRate),
      peerTarget: { kind: "atLeast", ratio: 2 },
      detail: `${minimalRatio(run.maxRate, minimal.maxRate, "dlv/s", "sqlite")}; ${deliveryDetail(run)}`,
    });
    const achieved = Math.round((half.ok / options.halfRateMs) * 1000);
    report.add({
      section: "e2e",
      name: `event→receiver p50 at ${halfRate} ev/s, ${label}`,
      unit: "ms",
      value: halfDelivered.latency?.p50 ?? null,
      baseline: plainDelivered.latency?.p50 ?? null,
      baselineName: "plain fetch",
      peer: peer?.halfDelivered.latency?.p50 ?? null,
      detail: `offered ${halfRate}/s (half the max), ${half.ok} accepted (~${achieved}/s), ${halfDelivered.unique} delivered, ${half.skipped} skipped; the peer at half its own max (${peer?.halfRate ?? "—"}/s)`,
    });
    report.add({
      section: "e2e",
      name: `event→receiver p99 at ${halfRate} ev/s, ${label}`,
      unit: "ms",
      value: halfDelivered.latency?.p99 ?? null,
      baseline: plainDelivered.latency?.p99 ?? null,
      baselineName: "plain fetch",
      target: { kind: "below", value: 50 },
      peer: peer?.halfDelivered.latency?.p99 ?? null,
      detail: `max ${halfDelivered.latency?.max} ms; the minimal program ${minimal.halfDelivered.latency?.p99} ms at ${minimal.halfRate} ev/s; ingest response p50 ${half.latency?.p50} ms, p99 ${half.latency?.p99} ms`,
    });
    if (context.shared.loadRssMb === undefined) {
      context.shared.loadRssMb = peakMb;
      context.shared.loadRssDetail = `peak of ${samples} samples (100 ms) through the ${label} e2e runs; VmHWM ${hwm} MB`;
    }
  } finally {
    sampler.stop();
    await server.stop();
    removeTempDir(dir);
    if (profileDir) report.raw[`e2eProfileDir-${size}`] = profileDir;
  }
  await onEachCluster(context, `e2e-${size}`, async (nodes, urls) => {
    const run = await deliverThrough(context, urls, size);
    reportPostgresDelivery(context, size, nodes, run, base, peer, sqlite, minimalPostgres);
  });
}

/**
 * The rows of end to end on PostgreSQL: the maximum, beside the same combined limit and peer as
 * SQLite's (one node must reach the peer), and event→receiver p99 at half that maximum.
 */
function reportPostgresDelivery(
  context: BenchContext,
  size: EventSize,
  nodes: NodeCount,
  run: DeliveryRun,
  base: Baselines,
  peer: DeliveryRun | null,
  sqlite: DeliveryRun,
  minimal: DeliveryRun | null,
): void {
  const { options, report } = context;
  report.raw[`e2e-${size}-postgres-${nodes}n`] = run;
  const label = sizeLabel(size);
  const { half, halfDelivered, halfRate } = run;
  report.add({
    section: "e2e",
    name: `deliveries/s while ingesting on ${nodesLabel(nodes)}, ${label}, C=${options.concurrency}`,
    unit: "dlv/s",
    value: round1(run.maxRate),
    baseline: round1(base.combinedLimit),
    baselineName: "combined limit",
    peer: peer === null ? null : round1(peer.maxRate),
    ...(nodes === 1 ? { peerTarget: { kind: "atLeast", ratio: 1 } as const } : {}),
    detail:
      `${(run.maxRate / sqlite.maxRate).toFixed(2)}× Hookpost on SQLite` +
      `${minimal === null ? "" : `, ${minimalRatio(run.maxRate, minimal.maxRate, "dlv/s", "postgres")}`}; ` +
      deliveryDetail(run),
  });
  report.add({
    section: "e2e",
    name: `event→receiver p99 on ${nodesLabel(nodes)} at ${halfRate} ev/s, ${label}`,
    unit: "ms",
    value: halfDelivered.latency?.p99 ?? null,
    peer: peer?.halfDelivered.latency?.p99 ?? null,
    detail:
      `p50 ${halfDelivered.latency?.p50} ms, max ${halfDelivered.latency?.max} ms; offered ` +
      `${halfRate}/s (half its max), ${half.ok} accepted, ${halfDelivered.unique} delivered, ` +
      `${half.skipped} skipped; ingest response p50 ${half.latency?.p50} ms, p99 ` +
      `${half.latency?.p99} ms; SQLite's p99 ${sqlite.halfDelivered.latency?.p99} ms` +
      (minimal === null
        ? ""
        : `; the minimal program on PostgreSQL ${minimal.halfDelivered.latency?.p99} ms at ${minimal.halfRate} ev/s`),
  });
}

export async function endToEnd(context: BenchContext): Promise<void> {
  for (const size of context.options.eventSizes) await endToEndAt(context, size);
}
