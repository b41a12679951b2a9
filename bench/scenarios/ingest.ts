/**
 * Ingest: `POST /events` with one matching webhook, closed-loop at the bench's concurrency,
 * against the bare insert server. Deliveries are parked while it runs — the receiver holds
 * the first requests open, so the scheduler has its per-webhook limit in flight and claims
 * nothing more — so the figure is the cost of accepting an event (transaction, matching,
 * rendering the body, the scheduler's wake-up), not of delivering it (that is end to end).
 */

import {
  type BenchContext,
  eventTarget,
  hookpostEnv,
  measureRounds,
  profileDirOf,
  spread,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { baselines } from "./baselines.ts";

export async function ingest(context: BenchContext): Promise<void> {
  const { options, receiver, report } = context;
  const base = await baselines(context);
  const dir = makeTempDir("ingest");
  const profileDir = profileDirOf(context, "ingest");
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
    const rounds = await measureRounds(context, eventTarget(server.url, context.apiKey));
    const run = rounds.median;
    report.raw.ingest = { rounds, held: (await receiver.call("stats", {})).held };
    const c = options.concurrency;
    const errors = run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
    report.add({
      section: "ingest",
      name: `POST /events, 1 webhook, C=${c}`,
      unit: "ev/s",
      value: run.rate,
      baseline: base.insert.rate,
      baselineName: "insert server",
      target: { kind: "atLeast", ratio: 0.6 },
      detail: `${spread(rounds)}, deliveries parked${errors}`,
    });
    report.add({
      section: "ingest",
      name: "response time p50",
      unit: "ms",
      value: run.latency?.p50 ?? null,
      baseline: base.insert.latency?.p50 ?? null,
      baselineName: "insert server",
    });
    report.add({
      section: "ingest",
      name: "response time p99",
      unit: "ms",
      value: run.latency?.p99 ?? null,
      baseline: base.insert.latency?.p99 ?? null,
      baselineName: "insert server",
      detail: `max ${run.latency?.max} ms`,
    });
  } finally {
    await receiver.call("hold", { on: false });
    await server.stop();
    removeTempDir(dir);
    if (profileDir) report.raw.ingestProfileDir = profileDir;
  }
}
