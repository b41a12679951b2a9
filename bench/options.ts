/**
 * The run's settings: quick mode (a smoke run, about four minutes) or full mode (the real
 * figures, about twelve), plus a few flags. `bun bench/run.ts --help` lists them.
 */

import { join } from "node:path";
import { postgresAdminUrl } from "../test/helpers/postgres.ts";

export const SECTIONS = ["ingest", "e2e", "fanout", "memory", "logquery", "controls"] as const;
export type Section = (typeof SECTIONS)[number];

/** Event sizes: the JSON of an event's `fields`, about 1 KB (the default) or 8 KB. */
export const EVENT_SIZES = ["1k", "8k"] as const;
export type EventSize = (typeof EVENT_SIZES)[number];

/** Bytes of `fields` JSON each size stands for. */
export const FIELDS_BYTES: Record<EventSize, number> = { "1k": 1024, "8k": 8192 };

/** The concurrent publishers of every closed-loop figure unless `--concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 64;

export interface BenchOptions {
  mode: "quick" | "full";
  /** Concurrency of the closed-loop load (Hookpost, the peer, the insert baseline, the fetch loop). */
  concurrency: number;
  /** Event sizes the ingest and end-to-end sections run at, each with its own baselines. */
  eventSizes: EventSize[];
  /** Run the BullMQ + Redis peer beside Hookpost (skipped anyway when redis-server is missing). */
  peer: boolean;
  /**
   * The PostgreSQL server for the ingest and end-to-end rows on PostgreSQL: an account that may
   * create databases, at its maintenance database. Null: `--no-postgres` (the rows are skipped,
   * as they are anyway when the server does not answer).
   */
  postgresUrl: string | null;
  /** HOOKPOST_CONCURRENCY for the server under test; undefined = Hookpost's default (64). */
  hookpostConcurrency: number | undefined;
  /** Closed-loop warm-up before each measured run (ms). */
  warmupMs: number;
  /** Each measured closed-loop figure (ms), split into `rounds` runs. */
  measureMs: number;
  /** Runs per closed-loop figure; the median counts. */
  rounds: number;
  /** The open-loop run at half the maximum rate (ms). */
  halfRateMs: number;
  /** The most to wait for accepted events to reach the receiver after a run (ms). */
  drainBoundMs: number;
  fanoutWebhooks: number;
  fanoutEvents: number;
  /** Events each run of the delivery-controls section POSTs. */
  controlEvents: number;
  /** Waiting deliveries seeded for the memory figure. */
  backlogRows: number;
  /** Delivery log rows seeded for the log query figure. */
  logRows: number;
  /** Requests per log query combination (after 5 warm-up requests). */
  logRequests: number;
  /** Time bound per log query combination (ms). */
  logComboMs: number;
  /** The small load served while RSS is measured with and without the backlog. */
  smallLoadRate: number;
  smallLoadMs: number;
  /** How long a freshly started server is left alone before its idle RSS is read (ms). */
  idleSettleMs: number;
  sections: Set<Section>;
  /** Write CPU profiles of the server under the ingest and end-to-end loads. */
  profile: boolean;
  outDir: string;
  /** The whole run is stopped (and cleaned up) after this long. */
  timeLimitMs: number;
}

export const USAGE = `Usage: bun bench/run.ts [--quick] [options]

  --quick                  smoke run (about 4 min): short runs, 100,000-row tables
  --only=a,b               sections to run: ${SECTIONS.join(", ")} (default: all)
  --concurrency=N          closed-loop concurrency for Hookpost, the peer and the baselines (64)
  --event-size=1k|8k|1k,8k event sizes of the ingest and end-to-end sections (both)
  --no-peer                skip the BullMQ + Redis peer
  --postgres-url=URL       PostgreSQL server for the rows on PostgreSQL, an account that may
                           create databases (HOOKPOST_TEST_POSTGRES_URL, else
                           postgres://postgres@127.0.0.1:5432/postgres)
  --no-postgres            skip the rows on PostgreSQL (skipped anyway if it does not answer)
  --hookpost-concurrency=N HOOKPOST_CONCURRENCY of the server under test (Hookpost's default)
  --rows=N                 rows for the backlog and the log query (quick 100,000; full 1,000,000)
  --profile                CPU profiles of the server under the ingest and end-to-end loads
                           (markdown + .cpuprofile in bench/results/profiles/)
  --out=DIR                where results go (bench/results)
`;

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer`);
  return value;
}

export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    flags.set(match[1], match[2] ?? "");
  }
  if (flags.has("help")) return "help";
  const known = [
    "quick",
    "full",
    "only",
    "concurrency",
    "event-size",
    "no-peer",
    "postgres-url",
    "no-postgres",
    "hookpost-concurrency",
    "rows",
    "profile",
    "out",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  }
  const quick = flags.has("quick");
  const sections = new Set<Section>();
  for (const name of (flags.get("only") || SECTIONS.join(",")).split(",")) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}`);
    sections.add(name as Section);
  }
  const eventSizes: EventSize[] = [];
  for (const name of (flags.get("event-size") || EVENT_SIZES.join(",")).split(",")) {
    const size = EVENT_SIZES.find((known) => known === name);
    if (!size) throw new Error(`unknown event size ${name} (${EVENT_SIZES.join(", ")})`);
    if (!eventSizes.includes(size)) eventSizes.push(size);
  }
  const rows = flags.has("rows")
    ? positiveInteger("--rows", flags.get("rows") ?? "")
    : quick
      ? 100_000
      : 1_000_000;
  const hookpostConcurrency = flags.get("hookpost-concurrency");
  return {
    mode: quick ? "quick" : "full",
    concurrency: flags.has("concurrency")
      ? positiveInteger("--concurrency", flags.get("concurrency") ?? "")
      : DEFAULT_CONCURRENCY,
    eventSizes,
    peer: !flags.has("no-peer"),
    postgresUrl: flags.has("no-postgres") ? null : flags.get("postgres-url") || postgresAdminUrl(),
    hookpostConcurrency: hookpostConcurrency
      ? positiveInteger("--hookpost-concurrency", hookpostConcurrency)
      : undefined,
    warmupMs: quick ? 1000 : 2000,
    measureMs: quick ? 3000 : 10_000,
    rounds: quick ? 1 : 3,
    halfRateMs: quick ? 3000 : 10_000,
    drainBoundMs: quick ? 20_000 : 60_000,
    fanoutWebhooks: 100,
    fanoutEvents: quick ? 10 : 100,
    controlEvents: quick ? 1000 : 5000,
    backlogRows: rows,
    logRows: rows,
    logRequests: quick ? 100 : 300,
    logComboMs: quick ? 3000 : 10_000,
    smallLoadRate: quick ? 100 : 200,
    smallLoadMs: quick ? 2000 : 5000,
    idleSettleMs: quick ? 2000 : 3000,
    sections,
    profile: flags.has("profile"),
    outDir: flags.get("out") || join(import.meta.dir, "results"),
    timeLimitMs: quick ? 10 * 60_000 : 30 * 60_000,
  };
}
