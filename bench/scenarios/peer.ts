/**
 * The side-by-side peer: a BullMQ + Redis dispatcher (bench/peer/), measured in the same run
 * with the same load generator, receiver, event sizes and concurrency as Hookpost. Each
 * measurement gets a fresh Redis (as Hookpost gets a fresh database): ingest alone runs the
 * ingest server without a worker (jobs wait in Redis, as Hookpost's deliveries are parked),
 * end to end runs both. When `redis-server` is not installed the peer is skipped, once said.
 */

import { randomBytes } from "node:crypto";
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
import type { EventSize } from "../options.ts";
import type { PeerIngestApi } from "../peer/ingest-server.ts";
import { redisServerPath, startRedis } from "../peer/redis.ts";
import type { PeerWorkerApi } from "../peer/worker.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { Worker } from "../rpc.ts";
import { baselines } from "./baselines.ts";

const WEBHOOK_ID = "wh_bench_peer";

/** The redis-server binary, or null (with a note in the report, once) when the peer is off. */
function redisBinary(context: BenchContext): string | null {
  if (!context.options.peer) return null;
  const binary = redisServerPath();
  const note = "peer skipped: redis-server is not installed (apt-get install redis-server)";
  if (!binary && !context.report.notes.includes(note)) {
    context.report.notes.push(note);
    process.stderr.write(`${note}\n`);
  }
  return binary;
}

/** Runs `measure` against a fresh peer (Redis, ingest server, and the worker if asked). */
async function withPeer<T>(
  context: BenchContext,
  binary: string,
  withWorker: boolean,
  measure: (url: string) => Promise<T>,
): Promise<T> {
  const dir = makeTempDir("peer");
  try {
    const redis = await startRedis(binary, dir);
    try {
      const ingest = Worker.spawn<PeerIngestApi>("peer/ingest-server.ts", "peer ingest server");
      const worker = withWorker
        ? Worker.spawn<PeerWorkerApi>("peer/worker.ts", "peer worker")
        : null;
      try {
        const { url } = await ingest.call("start", {
          redisPort: redis.port,
          apiKey: context.apiKey,
          webhookId: WEBHOOK_ID,
        });
        await worker?.call("start", {
          redisPort: redis.port,
          endpoint: `${context.receiverUrl}/peer`,
          secret: `whsec_${randomBytes(24).toString("base64")}`,
        });
        return await measure(url);
      } finally {
        await Promise.all([ingest.close(), worker?.close()]);
      }
    } finally {
      await redis.stop();
    }
  } finally {
    removeTempDir(dir);
  }
}

/** The peer's ingest alone (no worker) at this size; null when the peer is skipped. */
export async function peerIngest(context: BenchContext, size: EventSize): Promise<Rounds | null> {
  const binary = redisBinary(context);
  if (!binary) return null;
  const base = await baselines(context, size);
  const rounds = await withPeer(context, binary, false, (url) =>
    measureRounds(context, eventTarget(url, context.apiKey, size)),
  );
  const run = rounds.median;
  context.report.raw[`peerIngest-${size}`] = { rounds };
  const errors = run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
  context.report.add({
    section: "peer",
    name: `BullMQ ingest alone, ${sizeLabel(size)}, C=${context.options.concurrency}`,
    unit: "ev/s",
    value: run.rate,
    baseline: base.insert.rate,
    baselineName: "insert server",
    detail: `${spread(rounds)}, no worker running; response p50 ${run.latency?.p50} ms, p99 ${run.latency?.p99} ms${errors}`,
  });
  return rounds;
}

/** The peer end to end at this size; null when the peer is skipped. */
export async function peerDelivery(
  context: BenchContext,
  size: EventSize,
): Promise<DeliveryRun | null> {
  const binary = redisBinary(context);
  if (!binary) return null;
  const base = await baselines(context, size);
  const run = await withPeer(context, binary, true, (url) =>
    measureDelivery(context, eventTarget(url, context.apiKey, size)),
  );
  context.report.raw[`peerE2e-${size}`] = run;
  const label = sizeLabel(size);
  context.report.add({
    section: "peer",
    name: `BullMQ e2e deliveries/s, ${label}, C=${context.options.concurrency}`,
    unit: "dlv/s",
    value: round1(run.maxRate),
    baseline: round1(base.combinedLimit),
    baselineName: "combined limit",
    detail: deliveryDetail(run),
  });
  context.report.add({
    section: "peer",
    name: `BullMQ event→receiver p99 at ${run.halfRate} ev/s, ${label}`,
    unit: "ms",
    value: run.halfDelivered.latency?.p99 ?? null,
    detail: `half its max; p50 ${run.halfDelivered.latency?.p50} ms, ${run.halfDelivered.unique}/${run.half.ok} delivered, ${run.half.skipped} skipped`,
  });
  return run;
}
