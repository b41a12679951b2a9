/**
 * Hookpost on PostgreSQL (`HOOKPOST_DATABASE_URL`) in the ingest and end-to-end sections: one
 * node, and two nodes — two server processes of the real CLI on one database, as a cluster
 * runs. Each measurement gets a fresh database (as each SQLite measurement gets a fresh file),
 * dropped after it, or at cleanup if the run is stopped half-way. When the server does not
 * answer, or `--no-postgres` is given, the rows are left out and a note under the table says why.
 */

import { createTestDatabase, postgresProblem } from "../../test/helpers/postgres.ts";
import { type BenchContext, hookpostEnv, profileDirOf } from "../context.ts";
import { type HookpostServer, startHookpost } from "../hookpost.ts";
import type { BenchOptions } from "../options.ts";
import { atCleanup } from "../processes.ts";
import type { Report } from "../report.ts";

/** The cluster sizes measured: one node, and two nodes on one database. */
const POSTGRES_NODES = [1, 2] as const;
export type NodeCount = (typeof POSTGRES_NODES)[number];

/** "PostgreSQL, 1 node" / "PostgreSQL, 2 nodes" for figure names. */
export function nodesLabel(nodes: NodeCount): string {
  return `PostgreSQL, ${nodes} node${nodes === 1 ? "" : "s"}`;
}

/** The URL without its password, for notes. */
function shown(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/**
 * The admin URL the PostgreSQL rows use, or null (with a note in the report saying why) when
 * they are skipped: `--no-postgres`, or the server does not answer.
 */
export async function usablePostgres(
  options: BenchOptions,
  report: Report,
): Promise<string | null> {
  const url = options.postgresUrl;
  let problem = "--no-postgres";
  if (url !== null) {
    const why = await postgresProblem(url);
    if (why === null) return url;
    problem = `${shown(url)} is not usable: ${why}`;
  }
  const note = `PostgreSQL rows skipped (${problem})`;
  report.notes.push(note);
  process.stderr.write(`${note}\n`);
  return null;
}

/** The nodes' URLs, in start order. */
export type NodeUrls = readonly [string, ...string[]];

/**
 * Runs `work` on a fresh database of the server at `adminUrl`, then drops it (at cleanup too,
 * if the run is stopped half-way).
 */
export async function withBenchDatabase<T>(
  adminUrl: string,
  work: (databaseUrl: string) => Promise<T>,
): Promise<T> {
  const database = await createTestDatabase({ adminUrl, prefix: "hookpost_bench" });
  const forget = atCleanup(() => database.drop());
  try {
    return await work(database.url);
  } finally {
    forget();
    await database.drop();
  }
}

/**
 * Runs `work`, recording a failure as `label`'s error instead of throwing it, so that the
 * section goes on (PostgreSQL out of connections for one measurement, say); null then.
 */
export async function recordingFailure<T>(
  context: BenchContext,
  label: string,
  work: () => Promise<T>,
): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    context.report.errors.push({ section: label, error: text });
    process.stderr.write(`${label} failed: ${text}\n`);
    return null;
  }
}

/**
 * Runs `measure` against `nodes` fresh Hookpost servers on one fresh database, then stops them
 * and drops the database. The nodes start one after the other, so the first one migrates the
 * empty database and the second finds it migrated.
 */
function withNodes(
  context: BenchContext,
  adminUrl: string,
  nodes: NodeCount,
  section: string,
  measure: (urls: NodeUrls) => Promise<void>,
): Promise<void> {
  return withBenchDatabase(adminUrl, async (databaseUrl) => {
    const servers: HookpostServer[] = [];
    try {
      for (let node = 1; node <= nodes; node++) {
        servers.push(
          await startHookpost({
            databaseUrl,
            apiKey: context.apiKey,
            env: hookpostEnv(context),
            cpuProfileDir: profileDirOf(context, `${section}-postgres-${nodes}n-node${node}`),
          }),
        );
      }
      const [first, ...others] = servers.map((server) => server.url);
      if (first === undefined) throw new Error("no node started");
      await measure([first, ...others]);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
}

/**
 * Runs `measure` (which reports its rows) once per cluster size of {@link POSTGRES_NODES}, each
 * against fresh nodes on a fresh database; nothing when the PostgreSQL rows are skipped. A
 * failure — a server out of connections, say — is recorded as that cluster's error and the
 * section goes on, so the SQLite rows of the next event size are still measured.
 */
export async function onEachCluster(
  context: BenchContext,
  section: string,
  measure: (nodes: NodeCount, urls: NodeUrls) => Promise<void>,
): Promise<void> {
  const { postgresUrl } = context;
  if (postgresUrl === null) return;
  for (const nodes of POSTGRES_NODES) {
    await recordingFailure(context, `${section} on ${nodesLabel(nodes)}`, () =>
      withNodes(context, postgresUrl, nodes, section, (urls) => measure(nodes, urls)),
    );
  }
}
