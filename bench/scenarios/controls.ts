/**
 * Delivery controls (issue 16): the end-to-end rate of one webhook with each control beside the
 * same webhook unrestricted, on SQLite and on PostgreSQL with one node and with two. On each
 * server (or cluster), one control at a time: a webhook with it, E events POSTed (closed loop at
 * the bench's concurrency, spread over the nodes), every one drained, then the webhook disabled
 * before the next; deliveries/s = delivered / (last arrival − first request).
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
import { type NodeUrls, nodesLabel, onEachCluster } from "./postgres.ts";

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

const CONTROLS = {
  unrestricted: {},
  ordered: { ordered: true },
  limited: { rateLimitPerSecond: RATE_LIMIT },
} as const;

type Control = keyof typeof CONTROLS;

/** One webhook with `settings` on the nodes `urls`: E events in, all drained, then it is disabled. */
async function deliverWith(
  context: BenchContext,
  urls: NodeUrls,
  control: Control,
): Promise<ControlRun> {
  const { options, loadgen, receiver } = context;
  const api = new HookpostApi(urls[0], context.apiKey);
  const id = await api.createWebhook(`${context.receiverUrl}/controls/${control}`, {
    name: control,
    ...CONTROLS[control],
  });
  try {
    await receiver.call("reset", {});
    const run = await loadgen.call("closed", {
      target: eventTarget(urls, context.apiKey),
      concurrency: options.concurrency,
      requests: options.controlEvents,
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
    await api.disableWebhook(id);
  }
}

/** The three controls on one server or cluster, and their rows, labelled `on`. */
async function measureControls(context: BenchContext, urls: NodeUrls, on: string): Promise<void> {
  const { options, report } = context;
  const events = options.controlEvents;
  const runs: Record<Control, ControlRun> = {
    unrestricted: await deliverWith(context, urls, "unrestricted"),
    ordered: await deliverWith(context, urls, "ordered"),
    limited: await deliverWith(context, urls, "limited"),
  };
  report.raw[`controls ${on}`] = { ...runs, rateLimit: RATE_LIMIT };
  const { unrestricted, ordered, limited } = runs;
  const detail = (run: ControlRun) =>
    `${run.delivered}/${run.accepted} delivered in ${run.seconds.toFixed(1)} s; ` +
    `event→receiver p50 ${run.p50} ms, p99 ${run.p99} ms`;
  const scope = `${on}, ${events} events, C=${options.concurrency}`;
  report.add({
    section: "controls",
    name: `deliveries/s of one unrestricted webhook, ${scope}`,
    unit: "dlv/s",
    value: round1(unrestricted.rate),
    detail: detail(unrestricted),
  });
  report.add({
    section: "controls",
    name: `deliveries/s of one ordered webhook, ${scope}`,
    unit: "dlv/s",
    value: round1(ordered.rate),
    baseline: round1(unrestricted.rate),
    baselineName: "unrestricted",
    detail: `one at a time; ${detail(ordered)}`,
  });
  report.add({
    section: "controls",
    name: `deliveries/s of one webhook limited to ${RATE_LIMIT}/s, ${scope}`,
    unit: "dlv/s",
    value: round1(limited.rate),
    baseline: round1(unrestricted.rate),
    baselineName: "unrestricted",
    detail: `over the whole run, the first window's burst included; ${detail(limited)}`,
  });
  report.add({
    section: "controls",
    name: `the most deliveries within any second, limited to ${RATE_LIMIT}/s, ${on}`,
    unit: "dlv",
    value: limited.mostInASecond,
    baseline: RATE_LIMIT,
    baselineName: "its limit",
    target: { kind: "below", value: RATE_LIMIT + 1 },
    detail: `arrivals at the receiver; the unrestricted webhook's most in a second: ${unrestricted.mostInASecond}`,
  });
}

export async function controls(context: BenchContext): Promise<void> {
  const dir = makeTempDir("controls");
  const server = await startHookpost({
    dbPath: dbPathIn(dir),
    apiKey: context.apiKey,
    env: hookpostEnv(context),
  });
  try {
    await measureControls(context, [server.url], "SQLite");
  } finally {
    await server.stop();
    removeTempDir(dir);
  }
  await onEachCluster(context, "controls", (nodes, urls) =>
    measureControls(context, urls, nodesLabel(nodes)),
  );
}
