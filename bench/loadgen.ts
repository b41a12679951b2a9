/**
 * The load generator, a process of its own. Three modes, all over keep-alive `fetch`:
 *
 * - `closed`: C workers, each sending its next request when the previous one answered, for a
 *   duration and/or a number of requests: the maximum rate at that concurrency.
 * - `open`: requests scheduled at a fixed offered rate, sent on time whether or not earlier
 *   ones have answered; latency counts from the scheduled moment, so a stalled server cannot
 *   hide its stall by slowing the generator down (no coordinated omission).
 * - `walk`: one request after another following the answer's `nextCursor` (the log's cursor).
 *
 * Event bodies carry `fields.sentAt`, the moment the request was due, for the receiver, and
 * enough text in `fields.body` to make the fields JSON about 1 KB or 8 KB (the target's size).
 *
 * A target may name several URLs (the nodes of a cluster): in `closed`, worker i always sends to
 * URL i mod n, as a publisher keeps its connection to one node; in `open`, request k goes to
 * URL k mod n.
 */

import { type EventSize, FIELDS_BYTES } from "./options.ts";
import { serveRpc } from "./rpc.ts";
import { nowMs, Recorder, type Summary } from "./stats.ts";

/**
 * What each request carries: `event` is a `POST /events` body; `envelope` is what Hookpost
 * sends to a receiver (same shape, size and headers, unsigned), for the plain-fetch baseline.
 */
export type BodyKind = "event" | "envelope" | "none";

export interface Target {
  /** One URL, or several spread over as the module's header says. */
  url: string | readonly string[];
  method: "GET" | "POST";
  headers: Record<string, string>;
  body: BodyKind;
  /** Size of the event's fields for `event` and `envelope` bodies (default 1k). */
  eventSize?: EventSize;
}

export interface LoadResult {
  /** When the first request was due (ms, machine clock). */
  startedAt: number;
  /** From the first request due to the last answer. */
  elapsedMs: number;
  sent: number;
  /** 2xx answers. */
  ok: number;
  failed: number;
  /** Answers (2xx) per second over `elapsedMs`. */
  rate: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  latency: Summary | null;
}

export interface OpenResult extends LoadResult {
  offeredRate: number;
  /** Requests not sent because `maxInFlight` were already waiting (the target fell behind). */
  skipped: number;
}

const WEBHOOK_ID = "wh_01kaqz3k2mq4v9f7r2c8tb6n";
const SIGNATURE_HEX = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e1d6d3a5";
const SIGNATURE_B64 = "v1,K5Z7lmVKbO5hPkMQa2Lq0Yk9tD2c3VdGyqWn1r8sZxA=";
const DELIVERY_SUFFIX = "0000000000000000000000";

/** The fields JSON besides `body`, with the widest `n` and `sentAt` a run produces. */
const FIELDS_OVERHEAD = '{"title":"Benchmark article 0000000","body":"","sentAt":1800000000000.123}'
  .length;

/** Prose that fills `fields.body` up to the size (plain ASCII: no escaping in JSON). */
function filler(bytes: number): string {
  const words = "The quick brown fox jumps over the lazy dog while the editors publish. ";
  return words.repeat(Math.ceil(bytes / words.length)).slice(0, Math.max(0, bytes));
}

const FILLERS: Record<EventSize, string> = {
  "1k": filler(FIELDS_BYTES["1k"] - FIELDS_OVERHEAD),
  "8k": filler(FIELDS_BYTES["8k"] - FIELDS_OVERHEAD),
};

function fieldsJson(n: number, sentAt: number, size: EventSize): string {
  return `{"title":"Benchmark article ${n}","body":"${FILLERS[size]}","sentAt":${sentAt}}`;
}

function eventBody(n: number, sentAt: number, size: EventSize): string {
  return (
    `{"eventType":0,"contentType":"article","contentId":"c_${n}",` +
    `"fields":${fieldsJson(n, sentAt, size)},"translations":{"it":"Articolo ${n}"}}`
  );
}

function deliveryId(n: number): string {
  const digits = String(n);
  return `dlv_${DELIVERY_SUFFIX.slice(digits.length)}${digits}`;
}

/** Hookpost's content envelope for the same event, byte for byte in shape and size. */
function envelopeBody(n: number, sentAt: number, size: EventSize): string {
  return (
    `{"eventType":0,"contentId":"c_${n}","contentType":"article",` +
    `"fields":${fieldsJson(n, sentAt, size)},` +
    `"translations":{"it":"Articolo ${n}"},"webhookId":"${WEBHOOK_ID}",` +
    `"deliveryId":"${deliveryId(n)}","timestamp":"${new Date(sentAt).toISOString()}"}`
  );
}

/** The headers Hookpost sends with a delivery, with fixed (unchecked) signature values. */
function envelopeHeaders(n: number, sentAt: number): Record<string, string> {
  const t = Math.floor(sentAt / 1000);
  return {
    "content-type": "application/json",
    "user-agent": "Hookpost/0.1.0",
    "contit-signature": `t=${t},s=${SIGNATURE_HEX}`,
    "webhook-id": deliveryId(n),
    "webhook-timestamp": String(t),
    "webhook-signature": SIGNATURE_B64,
  };
}

let counter = 0;

function requestInit(target: Target, sentAt: number): RequestInit {
  const n = ++counter;
  const size = target.eventSize ?? "1k";
  switch (target.body) {
    case "event":
      return { method: target.method, headers: target.headers, body: eventBody(n, sentAt, size) };
    case "envelope":
      return {
        method: target.method,
        headers: { ...target.headers, ...envelopeHeaders(n, sentAt) },
        body: envelopeBody(n, sentAt, size),
      };
    case "none":
      return { method: target.method, headers: target.headers };
  }
}

/** Counts answers and latencies of one run. */
class Tally {
  readonly latency = new Recorder();
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  ok = 0;
  failed = 0;
  sent = 0;
  lastAnswerAt = 0;

  answer(status: number, latencyMs: number, at: number): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      this.ok++;
      this.latency.add(latencyMs);
    } else {
      this.failed++;
    }
    this.lastAnswerAt = Math.max(this.lastAnswerAt, at);
  }

  error(error: unknown, at: number): void {
    this.failed++;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
    this.errors[message] = (this.errors[message] ?? 0) + 1;
    this.lastAnswerAt = Math.max(this.lastAnswerAt, at);
  }

  result(startedAt: number): LoadResult {
    const elapsedMs = Math.max(0, this.lastAnswerAt - startedAt);
    return {
      startedAt,
      elapsedMs: Math.round(elapsedMs),
      sent: this.sent,
      ok: this.ok,
      failed: this.failed,
      rate: elapsedMs > 0 ? Math.round((this.ok / elapsedMs) * 1000 * 10) / 10 : 0,
      statuses: this.statuses,
      errors: this.errors,
      latency: this.latency.summary(),
    };
  }
}

interface Answer {
  status: number;
  body: string;
}

/** The target's URL for sender `index` (a closed-loop worker or an open-loop request). */
function urlOf(target: Target, index: number): string {
  if (typeof target.url === "string") return target.url;
  const url = target.url[index % target.url.length];
  if (url === undefined) throw new Error("a target needs at least one URL");
  return url;
}

/**
 * Sends one request due at `dueAt` to the target's URL for sender `index`; null when it failed
 * without an answer.
 */
async function send(
  target: Target,
  tally: Tally,
  dueAt: number,
  index = 0,
): Promise<Answer | null> {
  tally.sent++;
  try {
    const response = await fetch(urlOf(target, index), requestInit(target, dueAt));
    const body = await response.text();
    const at = nowMs();
    tally.answer(response.status, at - dueAt, at);
    return { status: response.status, body };
  } catch (error) {
    tally.error(error, nowMs());
    return null;
  }
}

export interface ClosedArgs {
  target: Target;
  concurrency: number;
  /** Stop starting requests after this long (ms); default: no limit. */
  durationMs?: number;
  /** Stop after this many requests in all; default: no limit. */
  requests?: number;
}

async function closed(args: ClosedArgs): Promise<LoadResult> {
  if (args.durationMs === undefined && args.requests === undefined) {
    throw new Error("closed: give durationMs or requests");
  }
  const tally = new Tally();
  const startedAt = nowMs();
  const endAt = startedAt + (args.durationMs ?? Number.POSITIVE_INFINITY);
  const limit = args.requests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  const worker = async (index: number) => {
    while (issued < limit && nowMs() < endAt) {
      issued++;
      await send(args.target, tally, nowMs(), index);
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, (_, index) => worker(index)));
  return tally.result(startedAt);
}

export interface OpenArgs {
  target: Target;
  /** Offered requests per second. */
  rate: number;
  durationMs: number;
  /** Requests allowed to wait for an answer at once (default 2,000); beyond it, skipped. */
  maxInFlight?: number;
  /** How long to wait for the last answers after the schedule ends (default 30 s). */
  drainMs?: number;
}

async function open(args: OpenArgs): Promise<OpenResult> {
  const tally = new Tally();
  const interval = 1000 / args.rate;
  const maxInFlight = args.maxInFlight ?? 2000;
  const startedAt = nowMs();
  const endAt = startedAt + args.durationMs;
  const outstanding = new Set<Promise<unknown>>();
  let skipped = 0;
  let dueAt = startedAt;
  while (dueAt < endAt) {
    const now = nowMs();
    while (dueAt <= now && dueAt < endAt) {
      if (outstanding.size >= maxInFlight) {
        skipped++;
      } else {
        const request = send(args.target, tally, dueAt, tally.sent);
        outstanding.add(request);
        void request.then(() => outstanding.delete(request));
      }
      dueAt += interval;
    }
    await Bun.sleep(Math.max(0, Math.min(dueAt - nowMs(), 2)));
  }
  const drained = Promise.all(outstanding);
  await Promise.race([drained, Bun.sleep(args.drainMs ?? 30_000)]);
  return { ...tally.result(startedAt), offeredRate: args.rate, skipped };
}

export interface WalkArgs {
  /** The first page's URL; `&cursor=…` is appended for the following pages. */
  url: string;
  headers: Record<string, string>;
  requests: number;
  durationMs: number;
}

/** Follows `nextCursor` page after page (back to the first page at the end of the log). */
async function walk(args: WalkArgs): Promise<LoadResult & { pages: number; restarts: number }> {
  const tally = new Tally();
  const target: Target = { url: args.url, method: "GET", headers: args.headers, body: "none" };
  const startedAt = nowMs();
  const endAt = startedAt + args.durationMs;
  let cursor: string | null = null;
  let restarts = 0;
  for (let i = 0; i < args.requests && nowMs() < endAt; i++) {
    const url: string = cursor ? `${args.url}&cursor=${encodeURIComponent(cursor)}` : args.url;
    const answer = await send({ ...target, url }, tally, nowMs());
    if (answer?.status !== 200) throw new Error(`walk: ${answer?.status} ${answer?.body}`);
    const page = JSON.parse(answer.body) as { nextCursor: string | null };
    cursor = page.nextCursor;
    if (cursor === null) restarts++;
  }
  return { ...tally.result(startedAt), pages: tally.sent, restarts };
}

export const handlers = { closed, open, walk };

export type LoadgenApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
