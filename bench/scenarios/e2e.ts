/**
 * End to end: events POSTed to Hookpost, delivered to the local receiver.
 *
 * 1. Maximum: closed-loop ingest at the bench's concurrency for the measured duration, then
 *    wait until every accepted event has reached the receiver. Sustained deliveries/s =
 *    delivered / (last arrival − first request), against the combined limit of the two
 *    baselines, 1 / (1/insert rate + 1/plain-fetch rate).
 * 2. Latency: open-loop at half that maximum; event-to-receiver latency (arrival − the
 *    event's `fields.sentAt`) p50/p99, against the plain fetch loop at the same offered rate
 *    measured the same way at the same receiver.
 *
 * The server's RSS is sampled every 100 ms through both: the "RSS under load" figure. The
 * server is stopped before the plain fetch loop runs.
 */

import {
  type BenchContext,
  eventTarget,
  hookpostEnv,
  profileDirOf,
  round1,
  waitForDeliveries,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { peakRssMb, RssSampler } from "../rss.ts";
import { baselines } from "./baselines.ts";

export async function endToEnd(context: BenchContext): Promise<void> {
  const { options, loadgen, receiver, report } = context;
  const base = await baselines(context);
  const dir = makeTempDir("e2e");
  const profileDir = profileDirOf(context, "e2e");
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
    cpuProfileDir: profileDir,
  });
  const sampler = new RssSampler(server.pid);
  try {
    const api = new HookpostApi(server.url, context.apiKey);
    await api.createWebhook(`${context.receiverUrl}/e2e`);
    const target = eventTarget(server.url, context.apiKey);
    const c = options.concurrency;
    sampler.start();

    // Warm-up, drained before measuring.
    await receiver.call("reset", {});
    const warm = await loadgen.call("closed", {
      target,
      concurrency: c,
      durationMs: options.warmupMs,
    });
    await waitForDeliveries(context, warm.ok, options.drainBoundMs);

    // 1. Maximum sustained rate.
    await receiver.call("reset", {});
    const max = await loadgen.call("closed", {
      target,
      concurrency: c,
      durationMs: options.measureMs,
    });
    const maxDelivered = await waitForDeliveries(context, max.ok, options.drainBoundMs);
    const lastAt = maxDelivered.lastAt ?? max.startedAt;
    const maxRate =
      lastAt > max.startedAt ? (maxDelivered.unique / (lastAt - max.startedAt)) * 1000 : 0;
    const drainSeconds = Math.max(0, (lastAt - max.startedAt - max.elapsedMs) / 1000);
    report.raw.e2eMax = { ingest: max, receiver: maxDelivered, deliveriesPerSecond: maxRate };
    report.add({
      section: "e2e",
      name: `deliveries/s, ingest C=${c}`,
      unit: "dlv/s",
      value: round1(maxRate),
      baseline: round1(base.combinedLimit),
      baselineName: "combined limit",
      target: { kind: "atLeast", ratio: 0.5 },
      detail:
        `${maxDelivered.unique}/${max.ok} delivered${maxDelivered.complete ? "" : " (INCOMPLETE: time bound)"}` +
        `, ingest ran at ${Math.round(max.rate)} ev/s for ${(max.elapsedMs / 1000).toFixed(1)} s, ` +
        `backlog drained ${drainSeconds.toFixed(1)} s later; ${maxDelivered.duplicates} duplicates`,
    });

    // 2. Latency at half the maximum, against the plain fetch loop at the same rate.
    const rate = Math.max(1, Math.round(maxRate / 2));
    await receiver.call("reset", {});
    const half = await loadgen.call("open", { target, rate, durationMs: options.halfRateMs });
    const halfDelivered = await waitForDeliveries(context, half.ok, options.drainBoundMs);
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
      },
      rate,
      durationMs: options.halfRateMs,
    });
    const plainDelivered = await waitForDeliveries(context, plain.ok, options.drainBoundMs);
    report.raw.e2eHalfRate = {
      rate,
      ingest: half,
      receiver: halfDelivered,
      plain,
      plainReceiver: plainDelivered,
    };
    const achieved = Math.round((half.ok / options.halfRateMs) * 1000);
    report.add({
      section: "e2e",
      name: `event→receiver p50 at ${rate} ev/s`,
      unit: "ms",
      value: halfDelivered.latency?.p50 ?? null,
      baseline: plainDelivered.latency?.p50 ?? null,
      baselineName: "plain fetch",
      detail: `offered ${rate}/s (half the max), ${half.ok} accepted (~${achieved}/s), ${halfDelivered.unique} delivered, ${half.skipped} skipped`,
    });
    report.add({
      section: "e2e",
      name: `event→receiver p99 at ${rate} ev/s`,
      unit: "ms",
      value: halfDelivered.latency?.p99 ?? null,
      baseline: plainDelivered.latency?.p99 ?? null,
      baselineName: "plain fetch",
      target: { kind: "below", value: 50 },
      detail: `max ${halfDelivered.latency?.max} ms; ingest response p50 ${half.latency?.p50} ms, p99 ${half.latency?.p99} ms`,
    });
    context.shared.loadRssMb = peakMb;
    context.shared.loadRssDetail = `peak of ${samples} samples (100 ms) through the e2e runs; VmHWM ${hwm} MB`;
  } finally {
    sampler.stop();
    await server.stop();
    removeTempDir(dir);
    if (profileDir) report.raw.profileDir = profileDir;
  }
}
