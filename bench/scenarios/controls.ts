/**
 * Delivery controls (issue 16): the end-to-end rate of one webhook with each control beside the
 * same webhook unrestricted, each on a fresh SQLite server: E events POSTed (closed loop at the
 * bench's concurrency), then every one drained; deliveries/s = delivered / (last arrival − first
 * request).
 * - **unrestricted**: as the e2e section, with a fixed number of events;
 * - **ordered** (`ordered: true`): one delivery at a time, each waiting for the outcome of the
 *   one before to be recorded: bound by a round trip to the receiver plus a recording;
 * - **rate-limited** (`rateLimitPerSecond`): the most arrivals within any second must not
 *   pass the limit (the whole run's rate includes the first window's burst, so it is above).
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

/** The limit of the rate-limited webhook: well under what the unrestricted one reaches. */
const RATE_LIMIT = 500;

interface ControlRun {
  rate: number;
  delivered: number;
  accepted: number;
  seconds: number;
  p50: number | null;
  p99: number | null;
  mostInASecond: number;
}

async function deliverWith(
  context: BenchContext,
  settings: Record<string, unknown>,
  events: number,
): Promise<ControlRun> {
  const { options, loadgen, receiver } = context;
  const dir = makeTempDir("controls");
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
  });
  try {
    const api = new HookpostApi(server.url, context.apiKey);
    await api.createWebhook(`${context.receiverUrl}/controls`, settings);
    const target = eventTarget(server.url, context.apiKey);
    await receiver.call("reset", {});
    const run = await loadgen.call("closed", {
      target,
      concurrency: options.concurrency,
      requests: events,
    });
    const delivered = await waitForDeliveries(context, run.ok, options.drainBoundMs);
    const seconds = ((delivered.lastAt ?? run.startedAt) - run.startedAt) / 1000;
    return {
      rate: seconds > 0 ? delivered.unique / seconds : 0,
      delivered: delivered.unique,
      accepted: run.ok,
      seconds,
      p50: delivered.latency?.p50 ?? null,
      p99: delivered.latency?.p99 ?? null,
      mostInASecond: delivered.mostInASecond,
    };
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
}

export async function controls(context: BenchContext): Promise<void> {
  const { options, report } = context;
  const events = options.controlEvents;
  const unrestricted = await deliverWith(context, {}, events);
  const ordered = await deliverWith(context, { ordered: true }, events);
  const limited = await deliverWith(context, { rateLimitPerSecond: RATE_LIMIT }, events);
  report.raw.controls = { unrestricted, ordered, limited, rateLimit: RATE_LIMIT };
  const detail = (run: ControlRun) =>
    `${run.delivered}/${run.accepted} delivered in ${run.seconds.toFixed(1)} s; ` +
    `event→receiver p50 ${run.p50} ms, p99 ${run.p99} ms`;
  report.add({
    section: "controls",
    name: `deliveries/s of one unrestricted webhook, ${events} events, C=${options.concurrency}`,
    unit: "dlv/s",
    value: round1(unrestricted.rate),
    detail: detail(unrestricted),
  });
  report.add({
    section: "controls",
    name: `deliveries/s of one ordered webhook, ${events} events, C=${options.concurrency}`,
    unit: "dlv/s",
    value: round1(ordered.rate),
    baseline: round1(unrestricted.rate),
    baselineName: "unrestricted",
    detail: `one at a time; ${detail(ordered)}`,
  });
  report.add({
    section: "controls",
    name: `deliveries/s of one webhook limited to ${RATE_LIMIT}/s, ${events} events, C=${options.concurrency}`,
    unit: "dlv/s",
    value: round1(limited.rate),
    baseline: round1(unrestricted.rate),
    baselineName: "unrestricted",
    detail: `over the whole run, the first window's burst included; ${detail(limited)}`,
  });
  report.add({
    section: "controls",
    name: `the most deliveries within any second to the webhook limited to ${RATE_LIMIT}/s`,
    unit: "dlv",
    value: limited.mostInASecond,
    baseline: RATE_LIMIT,
    baselineName: "its limit",
    target: { kind: "below", value: RATE_LIMIT + 1 },
    detail: `arrivals at the receiver; the unrestricted webhook's most in a second: ${unrestricted.mostInASecond}`,
  });
}
