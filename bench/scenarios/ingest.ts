/**
 * Ingest alone: `POST /events` with one matching webhook, closed-loop at the bench's
 * concurrency, at each event size, against the bare insert server and the BullMQ peer's
 * ingest alone, with its ratio to the minimal program's ingest alone in the detail.
 * Deliveries are parked while it runs — the receiver holds the first requests open, so the
 * scheduler has its per-webhook limit in flight and claims nothing more — so the figure is the
 * cost of accepting an event (transaction, matching, rendering the body, the scheduler's
 * wake-up), not of delivering it (end to end measures both together).
 */

import {
  type BenchContext,
  eventTarget,
  hookpostEnv,
  measureRounds,
  profileDirOf,
  sizeLabel,
  spread,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { baselines } from "./baselines.ts";
import { minimalIngest, minimalRatio } from "./minimal.ts";
import { peerIngest } from "./peer.ts";

async function ingestAt(context: BenchContext, size: EventSize): Promise<void> {
  const { options, receiver, report } = context;
  const base = await baselines(context, size);
  const peer = (await peerIngest(context, size))?.median ?? null;
  const minimal = (await minimalIngest(context, size)).median;
  const dir = makeTempDir("ingest");
  const profileDir = profileDirOf(context, `ingest-${size}`);
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
    cpuProfileDir: profileDir,
  });
  try {
    const api = new HookpostApi(server.url, context.apiKey);
    await api.createWebhook(`${context.receiverUrl}/ingest`, { timeoutSeconds: 60 });
    await receiver.call("hold", { on: true });
    const rounds = await measureRounds(context, eventTarget(server.url, context.apiKey, size));
    const run = rounds.median;
    report.raw[`ingest-${size}`] = { rounds, held: (await receiver.call("stats", {})).held };
    const label = `${sizeLabel(size)}, C=${options.concurrency}`;
    const errors = run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
    report.add({
      section: "ingest alone",
      name: `POST /events, 1 webhook, ${label}`,
      unit: "ev/s",
      value: run.rate,
      baseline: base.insert.rate,
      baselineName: "insert server",
      target: { kind: "atLeast", ratio: 0.6 },
      peer: peer?.rate ?? null,
      detail: `${spread(rounds)}, deliveries parked; ${minimalRatio(run.rate, minimal.rate, "ev/s")}${errors}`,
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
    await receiver.call("hold", { on: false });
    await server.stop();
    removeTempDir(dir);
    if (profileDir) report.raw[`ingestProfileDir-${size}`] = profileDir;
  }
}

export async function ingest(context: BenchContext): Promise<void> {
  for (const size of context.options.eventSizes) await ingestAt(context, size);
}
