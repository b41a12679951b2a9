/**
 * Fan-out: 100 webhooks all matching; E events POSTed (closed loop, concurrency 4), each
 * becoming 100 deliveries. Deliveries/s from the first event sent to the last delivery
 * received, and the time to deliver all 100 × E. Baseline: the plain fetch loop's rate (the
 * most a loop of plain fetches to the same receiver managed at the bench's concurrency).
 */

import {
  type BenchContext,
  eventTarget,
  hookpostEnv,
  round1,
  waitForDeliveries,
} from "../context.ts";
import { dbPathIn, HookpostApi, startHookpost } from "../hookpost.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { baselines } from "./baselines.ts";

const EVENT_CONCURRENCY = 4;

export async function fanout(context: BenchContext): Promise<void> {
  const { options, loadgen, receiver, report } = context;
  const base = await baselines(context);
  const dir = makeTempDir("fanout");
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
  });
  try {
    const api = new HookpostApi(server.url, context.apiKey);
    const webhooks = options.fanoutWebhooks;
    for (let i = 0; i < webhooks; i++) {
      await api.createWebhook(`${context.receiverUrl}/fanout/${i}`, { name: `fan-out ${i}` });
    }
    const target = eventTarget(server.url, context.apiKey);

    // Warm-up: one event, all its deliveries.
    await receiver.call("reset", {});
    await loadgen.call("closed", { target, concurrency: 1, requests: 1 });
    await waitForDeliveries(context, webhooks, options.drainBoundMs);

    await receiver.call("reset", {});
    const run = await loadgen.call("closed", {
      target,
      concurrency: EVENT_CONCURRENCY,
      requests: options.fanoutEvents,
    });
    const expected = run.ok * webhooks;
    const delivered = await waitForDeliveries(context, expected, options.drainBoundMs);
    const seconds = ((delivered.lastAt ?? run.startedAt) - run.startedAt) / 1000;
    const rate = seconds > 0 ? delivered.unique / seconds : 0;
    report.raw.fanout = { ingest: run, receiver: delivered, deliveriesPerSecond: rate, seconds };
    report.add({
      section: "fan-out",
      name: `deliveries/s, 1 event → ${webhooks} webhooks`,
      unit: "dlv/s",
      value: round1(rate),
      baseline: base.plainFetch.rate,
      baselineName: "plain fetch",
      detail:
        `${delivered.unique}/${expected} delivered${delivered.complete ? "" : " (INCOMPLETE: time bound)"}; ` +
        `ingest of a ${webhooks}-webhook event p50 ${run.latency?.p50} ms, p99 ${run.latency?.p99} ms`,
    });
    report.add({
      section: "fan-out",
      name: `time to deliver ${webhooks} × ${run.ok}`,
      unit: "s",
      value: Math.round(seconds * 100) / 100,
      detail: `event→receiver p50 ${delivered.latency?.p50} ms, p99 ${delivered.latency?.p99} ms`,
    });
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}
