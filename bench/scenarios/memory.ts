/**
 * Memory: the server's RSS (VmRSS from /proc) idle, under load, and with a backlog of Waiting
 * deliveries (1,000,000 in full mode).
 *
 * One database, two webhooks pointing at the receiver: `main` (served the small load) and
 * `backlog`. The server is started twice on it with the same webhooks — before and after the
 * backlog is seeded — and each time left idle, its RSS read, then given the same small
 * open-loop load (RSS peak sampled every 100 ms, event-to-receiver latency recorded). The
 * backlog's deliveries belong to the enabled `backlog` webhook and are due in one day, so they
 * stay Waiting while the scheduler keeps querying them (see seed.ts).
 *
 * "Under load" is the peak through the end-to-end runs (the e2e section), against the bare
 * insert server's peak under its own closed-loop load.
 */

import {
  type BenchContext,
  eventTarget,
  hookpostEnv,
  sleep,
  waitForDeliveries,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { RssSampler, rssMb } from "../rss.ts";
import { seedDeliveries } from "../seed.ts";
import type { Summary } from "../stats.ts";
import { baselines } from "./baselines.ts";

interface Phase {
  startupMs: number;
  idleRssMb: number | null;
  loadRssMb: number;
  latency: Summary | null;
  delivered: number;
  accepted: number;
}

async function phase(context: BenchContext, dbPath: string): Promise<Phase> {
  const { options, loadgen, receiver } = context;
  const server = await startHookpost({ dbPath, apiKey: context.apiKey, env: hookpostEnv(context) });
  try {
    await sleep(options.idleSettleMs);
    const idleRssMb = rssMb(server.pid);
    await receiver.call("reset", {});
    const sampler = new RssSampler(server.pid).start();
    const run = await loadgen.call("open", {
      target: eventTarget(server.url, context.apiKey),
      rate: options.smallLoadRate,
      durationMs: options.smallLoadMs,
    });
    const delivered = await waitForDeliveries(context, run.ok, options.drainBoundMs);
    const { peakMb } = sampler.stop();
    return {
      startupMs: server.startupMs,
      idleRssMb,
      loadRssMb: peakMb,
      latency: delivered.latency,
      delivered: delivered.unique,
      accepted: run.ok,
    };
  } finally {
    await server.stop();
  }
}

export async function memory(context: BenchContext): Promise<void> {
  const { options, report } = context;
  const base = await baselines(context);
  const dir = makeTempDir("memory");
  const dbPath = dbPathIn(dir);
  try {
    // Set up the two webhooks, then measure without and with the backlog.
    const setup = await startHookpost({
      dbPath,
      apiKey: context.apiKey,
      env: hookpostEnv(context),
    });
    let backlogWebhook: string;
    try {
      const api = new HookpostApi(setup.url, context.apiKey);
      await api.createWebhook(`${context.receiverUrl}/memory`, { name: "main" });
      // Its own content type: the small load's events must reach `main` only.
      backlogWebhook = await api.createWebhook(`${context.receiverUrl}/backlog`, {
        name: "backlog",
        eventTypes: { backlog: [0] },
      });
    } finally {
      await setup.stop();
    }
    const without = await phase(context, dbPath);
    const seeded = await seedDeliveries({
      dbPath,
      workspace: "default",
      webhookId: backlogWebhook,
      kind: "backlog",
      rows: options.backlogRows,
      now: Date.now(),
    });
    const withBacklog = await phase(context, dbPath);
    report.raw.memory = { without, withBacklog, seeded };

    const rows = options.backlogRows.toLocaleString("en-US");
    report.add({
      section: "memory",
      name: "RSS idle",
      unit: "MB",
      value: without.idleRssMb,
      baseline: base.insert.idleRssMb,
      baselineName: "insert server idle",
      detail: `${options.idleSettleMs / 1000} s after start`,
    });
    report.add({
      section: "memory",
      name: "RSS under load (peak)",
      unit: "MB",
      value: context.shared.loadRssMb ?? null,
      baseline: base.insert.peakRssMb,
      baselineName: "insert server under load",
      target: { kind: "below", value: 150 },
      detail: context.shared.loadRssDetail ?? "run the e2e section to measure it",
    });
    report.add({
      section: "memory",
      name: `RSS idle, ${rows} waiting`,
      unit: "MB",
      value: withBacklog.idleRssMb,
      baseline: without.idleRssMb,
      baselineName: "no backlog",
      target: { kind: "atMost", ratio: 1.15 },
      detail: `startup ${withBacklog.startupMs} ms (without: ${without.startupMs} ms); seeded in ${(seeded.ms / 1000).toFixed(1)} s, db ${seeded.dbMb} MB`,
    });
    report.add({
      section: "memory",
      name: `RSS at ${options.smallLoadRate} ev/s, ${rows} waiting`,
      unit: "MB",
      value: withBacklog.loadRssMb,
      baseline: without.loadRssMb,
      baselineName: "no backlog",
      target: { kind: "atMost", ratio: 1.15 },
      detail: `${withBacklog.delivered}/${withBacklog.accepted} delivered`,
    });
    report.add({
      section: "memory",
      name: `event→receiver p99 at ${options.smallLoadRate} ev/s, ${rows} waiting`,
      unit: "ms",
      value: withBacklog.latency?.p99 ?? null,
      baseline: without.latency?.p99 ?? null,
      baselineName: "no backlog",
      detail: `p50 ${withBacklog.latency?.p50} ms (without: ${without.latency?.p50} ms)`,
    });
  } finally {
    removeTempDir(dir);
  }
}
