/**
 * The minimal program (bench/minimal-server.ts): Hookpost's durable work for one webhook and
 * nothing else, measured in the same run with the same load generator, receiver, event sizes
 * and concurrency as Hookpost. Each measurement gets a fresh database: ingest alone runs it
 * without an endpoint (the deliveries stay Waiting, as Hookpost's are parked), end to end
 * delivers to the receiver. Hookpost's rows give their ratio to it: what Hookpost costs beyond
 * the work itself.
 */

import { join } from "node:path";
import {
  type BenchContext,
  type DeliveryRun,
  deliveryDetail,
  eventTarget,
  measureDelivery,
  measureRounds,
  type Rounds,
  round1,
  sizeLabel,
  spread,
} from "../context.ts";
import type { MinimalApi } from "../minimal-server.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { Worker } from "../rpc.ts";
import { baselines } from "./baselines.ts";

/** Runs `measure` against a fresh minimal program, delivering to `endpoint` unless null. */
async function withMinimal<T>(
  context: BenchContext,
  endpoint: string | null,
  measure: (url: string) => Promise<T>,
): Promise<T> {
  const dir = makeTempDir("minimal");
  const program = Worker.spawn<MinimalApi>("minimal-server.ts", "minimal program");
  try {
    const { url } = await program.call("start", {
      dbPath: join(dir, "minimal.db"),
      apiKey: context.apiKey,
      endpoint,
    });
    return await measure(url);
  } finally {
    await program.close();
    removeTempDir(dir);
  }
}

/** The minimal program's ingest alone at this size (deliveries stay Waiting). */
export async function minimalIngest(context: BenchContext, size: EventSize): Promise<Rounds> {
  const base = await baselines(context, size);
  const rounds = await withMinimal(context, null, (url) =>
    measureRounds(context, eventTarget(url, context.apiKey, size)),
  );
  const run = rounds.median;
  context.report.raw[`minimalIngest-${size}`] = { rounds };
  const errors = run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
  context.report.add({
    section: "baseline",
    name: `minimal program ingest alone, ${sizeLabel(size)}, C=${context.options.concurrency}`,
    unit: "ev/s",
    value: run.rate,
    baseline: base.insert.rate,
    baselineName: "insert server",
    detail: `${spread(rounds)}, deliveries parked; response p50 ${run.latency?.p50} ms, p99 ${run.latency?.p99} ms${errors}`,
  });
  return rounds;
}

/** The minimal program end to end at this size, measured as Hookpost's e2e is. */
export async function minimalDelivery(
  context: BenchContext,
  size: EventSize,
): Promise<DeliveryRun> {
  const base = await baselines(context, size);
  const run = await withMinimal(context, `${context.receiverUrl}/minimal`, (url) =>
    measureDelivery(context, eventTarget(url, context.apiKey, size)),
  );
  context.report.raw[`minimalE2e-${size}`] = run;
  const { halfDelivered } = run;
  context.report.add({
    section: "baseline",
    name: `minimal program e2e, ${sizeLabel(size)}, C=${context.options.concurrency}`,
    unit: "dlv/s",
    value: round1(run.maxRate),
    baseline: round1(base.combinedLimit),
    baselineName: "combined limit",
    detail:
      `${deliveryDetail(run)}; event→receiver p50 ${halfDelivered.latency?.p50} ms,` +
      ` p99 ${halfDelivered.latency?.p99} ms at ${run.halfRate} ev/s (half its max)`,
  });
  return run;
}

/** "0.42× the minimal program (1,234 ev/s)", for a Hookpost row's detail. */
export function minimalRatio(value: number, minimal: number, unit: string): string {
  const ratio = minimal > 0 ? `${(value / minimal).toFixed(2)}×` : "—";
  return `${ratio} the minimal program (${Math.round(minimal).toLocaleString("en-US")} ${unit})`;
}
