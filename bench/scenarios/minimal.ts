/**
 * The minimal programs (bench/minimal-server.ts on SQLite, bench/minimal-postgres-server.ts on
 * PostgreSQL): Hookpost's durable work for one webhook and nothing else, measured in the same
 * run with the same load generator, receiver, event sizes and concurrency as Hookpost. Each
 * measurement gets a fresh database: ingest alone runs it without an endpoint (the deliveries
 * stay Waiting, as Hookpost's are parked), end to end delivers to the receiver. Hookpost's rows
 * give their ratio to the program on the same store: what Hookpost costs beyond the work itself.
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
import type { MinimalPostgresApi } from "../minimal-postgres-server.ts";
import type { MinimalApi } from "../minimal-server.ts";
import type { EventSize } from "../options.ts";
import { makeTempDir, removeTempDir } from "../processes.ts";
import { Worker } from "../rpc.ts";
import { baselines } from "./baselines.ts";
import { recordingFailure, withBenchDatabase } from "./postgres.ts";

/** Where a minimal program keeps its rows: a SQLite file, or a database on a PostgreSQL server. */
export type MinimalStore = { kind: "sqlite" } | { kind: "postgres"; adminUrl: string };

export const SQLITE: MinimalStore = { kind: "sqlite" };

/** The program's name in figures and details. */
function programName(kind: MinimalStore["kind"]): string {
  return kind === "sqlite" ? "minimal program" : "minimal program on PostgreSQL";
}

/** Its key in the report's raw measurements, e.g. `minimalIngest-1k`, `minimalPostgresE2e-1k`. */
function rawKey(store: MinimalStore, figure: "Ingest" | "E2e", size: EventSize): string {
  return `minimal${store.kind === "sqlite" ? "" : "Postgres"}${figure}-${size}`;
}

/**
 * Runs `measure` with the PostgreSQL store, when the PostgreSQL rows are measured; its failure
 * is recorded as the section's error, and the section goes on. Null when it did not run.
 */
export function onMinimalPostgres<T>(
  context: BenchContext,
  section: string,
  measure: (store: MinimalStore) => Promise<T>,
): Promise<T | null> {
  const adminUrl = context.postgresUrl;
  if (adminUrl === null) return Promise.resolve(null);
  return recordingFailure(context, `${section} ${programName("postgres")}`, () =>
    measure({ kind: "postgres", adminUrl }),
  );
}

/** Runs `measure` against a fresh minimal program, delivering to `endpoint` unless null. */
async function withMinimal<T>(
  context: BenchContext,
  store: MinimalStore,
  endpoint: string | null,
  measure: (url: string) => Promise<T>,
): Promise<T> {
  if (store.kind === "postgres") {
    return withBenchDatabase(store.adminUrl, async (databaseUrl) => {
      const program = Worker.spawn<MinimalPostgresApi>(
        "minimal-postgres-server.ts",
        programName(store.kind),
      );
      try {
        const { url } = await program.call("start", {
          databaseUrl,
          apiKey: context.apiKey,
          endpoint,
        });
        return await measure(url);
      } finally {
        await program.close();
      }
    });
  }
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
export async function minimalIngest(
  context: BenchContext,
  size: EventSize,
  store: MinimalStore,
): Promise<Rounds> {
  const base = await baselines(context, size);
  const rounds = await withMinimal(context, store, null, (url) =>
    measureRounds(context, eventTarget(url, context.apiKey, size)),
  );
  const run = rounds.median;
  context.report.raw[rawKey(store, "Ingest", size)] = { rounds };
  const errors = run.failed > 0 ? `; ${run.failed} failed ${JSON.stringify(run.statuses)}` : "";
  context.report.add({
    section: "baseline",
    name: `${programName(store.kind)} ingest alone, ${sizeLabel(size)}, C=${context.options.concurrency}`,
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
  store: MinimalStore,
): Promise<DeliveryRun> {
  const base = await baselines(context, size);
  const path = store.kind === "sqlite" ? "minimal" : "minimal-postgres";
  const run = await withMinimal(context, store, `${context.receiverUrl}/${path}`, (url) =>
    measureDelivery(context, eventTarget(url, context.apiKey, size)),
  );
  context.report.raw[rawKey(store, "E2e", size)] = run;
  const { halfDelivered } = run;
  context.report.add({
    section: "baseline",
    name: `${programName(store.kind)} e2e, ${sizeLabel(size)}, C=${context.options.concurrency}`,
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

/**
 * "0.42× the minimal program (1,234 ev/s)", "0.30× the minimal program on PostgreSQL (…)", for
 * a Hookpost row's detail.
 */
export function minimalRatio(
  value: number,
  minimal: number,
  unit: string,
  kind: MinimalStore["kind"],
): string {
  const ratio = minimal > 0 ? `${(value / minimal).toFixed(2)}×` : "—";
  return `${ratio} the ${programName(kind)} (${Math.round(minimal).toLocaleString("en-US")} ${unit})`;
}
