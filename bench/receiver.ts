/**
 * The local receiver, a process of its own (`Bun.serve` on 127.0.0.1, port 0). It answers
 * every POST `200 {"ok":true}`, counts unique deliveries by their `webhook-id` header, and
 * records event-to-receiver latency: arrival time minus the `fields.sentAt` the load generator
 * put in the event (both `performance.timeOrigin + performance.now()`, one machine clock).
 *
 * In hold mode it keeps requests open until hold mode is switched off, which parks Hookpost's
 * deliveries while ingest alone is measured.
 */

import { serveRpc } from "./rpc.ts";
import { nowMs, Recorder, type Summary } from "./stats.ts";

export interface ReceiverStats {
  /** Every request since the last reset, duplicates included. */
  requests: number;
  /** Requests minus repeated `webhook-id` values since the last reset. */
  unique: number;
  duplicates: number;
  /** Arrival of the first and the last unique delivery (ms, machine clock), or null. */
  firstAt: number | null;
  lastAt: number | null;
  /** Arrival − `fields.sentAt` of unique deliveries (ms). */
  latency: Summary | null;
  /** Requests without a usable `fields.sentAt`. */
  unparsed: number;
  /** The most unique deliveries that arrived within any 1,000 ms (a rate limit's window). */
  mostInASecond: number;
  held: number;
}

let seen = new Set<string>();
let requests = 0;
let duplicates = 0;
let unparsed = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
const latency = new Recorder();
/** Arrivals of the last second, from `windowHead` on: what `mostInASecond` counts. */
let window: number[] = [];
let windowHead = 0;
let mostInASecond = 0;

function countInWindow(arrival: number): void {
  window.push(arrival);
  while ((window[windowHead] ?? arrival) <= arrival - 1000) windowHead++;
  mostInASecond = Math.max(mostInASecond, window.length - windowHead);
  if (windowHead > 10_000) {
    window = window.slice(windowHead);
    windowHead = 0;
  }
}
let holding = false;
let held: Array<() => void> = [];
let server: ReturnType<typeof Bun.serve> | null = null;

const OK_BODY = '{"ok":true}';
const OK_HEADERS = { "content-type": "application/json" };

function sentAtOf(body: string): number | null {
  try {
    const parsed = JSON.parse(body) as { fields?: { sentAt?: unknown } };
    const sentAt = parsed.fields?.sentAt;
    return typeof sentAt === "number" ? sentAt : null;
  } catch {
    return null;
  }
}

async function receive(request: Request): Promise<Response> {
  const body = await request.text();
  const arrival = nowMs();
  requests++;
  const id = request.headers.get("webhook-id");
  if (id !== null && seen.has(id)) {
    duplicates++;
  } else {
    if (id !== null) seen.add(id);
    firstAt ??= arrival;
    lastAt = arrival;
    countInWindow(arrival);
    const sentAt = sentAtOf(body);
    if (sentAt === null) unparsed++;
    else latency.add(arrival - sentAt);
  }
  if (holding) await new Promise<void>((resolve) => held.push(resolve));
  return new Response(OK_BODY, { headers: OK_HEADERS });
}

export const handlers = {
  start(): { url: string; pid: number } {
    server ??= Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: receive });
    return { url: `http://127.0.0.1:${server.port}`, pid: process.pid };
  },
  /** Hold mode on: answer nothing until it is switched off (then answer everything held). */
  hold(args: { on: boolean }): { released: number } {
    holding = args.on;
    const released = held.length;
    if (!holding) {
      for (const resolve of held) resolve();
      held = [];
    }
    return { released: holding ? 0 : released };
  },
  reset(): { ok: true } {
    seen = new Set();
    requests = 0;
    duplicates = 0;
    unparsed = 0;
    firstAt = null;
    lastAt = null;
    latency.clear();
    window = [];
    windowHead = 0;
    mostInASecond = 0;
    return { ok: true };
  },
  stats(): ReceiverStats {
    return {
      requests,
      unique: requests - duplicates,
      duplicates,
      firstAt,
      lastAt,
      latency: latency.summary(),
      unparsed,
      mostInASecond,
      held: held.length,
    };
  },
};

export type ReceiverApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
