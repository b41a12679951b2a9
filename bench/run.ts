/**
 * The benchmark (`npm run bench`, `npm run bench:quick`): starts the receiver and the load
 * generator as processes of their own, runs each section against a fresh Hookpost server
 * (the real CLI) on loopback, and prints one table — every figure beside a baseline measured
 * in the same run on the same machine, their ratio and the target — and writes it as JSON to
 * bench/results/. See bench/README.md for what each figure means and how it is measured.
 */

import type { BenchContext } from "./context.ts";
import { newApiKey } from "./hookpost.ts";
import type { LoadgenApi } from "./loadgen.ts";
import { parseOptions, type Section, USAGE } from "./options.ts";
import { cleanup, installCleanupHandlers, isClosing } from "./processes.ts";
import type { ReceiverApi } from "./receiver.ts";
import { Report } from "./report.ts";
import { Worker } from "./rpc.ts";
import { controls } from "./scenarios/controls.ts";
import { endToEnd } from "./scenarios/e2e.ts";
import { fanout } from "./scenarios/fanout.ts";
import { ingest } from "./scenarios/ingest.ts";
import { logQuery } from "./scenarios/log-query.ts";
import { memory } from "./scenarios/memory.ts";
import { usablePostgres } from "./scenarios/postgres.ts";

const RUNNERS: Record<Section, (context: BenchContext) => Promise<void>> = {
  ingest,
  e2e: endToEnd,
  fanout,
  memory,
  logquery: logQuery,
  controls,
};

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function main(): Promise<number> {
  const options = parseOptions(Bun.argv.slice(2));
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  installCleanupHandlers(options.timeLimitMs);
  const began = performance.now();
  const report = new Report(options);
  log(`${options.mode} mode: ${[...options.sections].join(", ")}`);
  const receiver = Worker.spawn<ReceiverApi>("receiver.ts", "receiver");
  const loadgen = Worker.spawn<LoadgenApi>("loadgen.ts", "load generator");
  try {
    const { url: receiverUrl } = await receiver.call("start", {});
    const context: BenchContext = {
      options,
      report,
      loadgen,
      receiver,
      receiverUrl,
      apiKey: newApiKey(),
      // The ingest, end-to-end, delivery-controls and log query (its stats) sections have rows
      // on PostgreSQL.
      postgresUrl:
        options.sections.has("ingest") ||
        options.sections.has("e2e") ||
        options.sections.has("controls") ||
        options.sections.has("logquery")
          ? await usablePostgres(options, report)
          : null,
      baselines: {},
      shared: {},
    };
    // Memory reports the RSS the e2e section sampled, so it runs after it.
    for (const section of ["ingest", "e2e", "fanout", "memory", "logquery", "controls"] as const) {
      if (!options.sections.has(section) || isClosing()) continue;
      const sectionBegan = performance.now();
      log(`${section}…`);
      try {
        await RUNNERS[section](context);
      } catch (error) {
        const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
        report.errors.push({ section, error: text });
        log(`${section} failed: ${text}`);
      }
      log(`${section} done in ${((performance.now() - sectionBegan) / 1000).toFixed(1)} s`);
    }
  } finally {
    await Promise.all([receiver.close(), loadgen.close()]);
    await cleanup();
  }
  console.log(`\nHookpost benchmark, ${options.mode} mode\n`);
  console.log(report.table());
  const path = report.write();
  console.log(
    `\nwritten to ${path} (and latest.json) in ${((performance.now() - began) / 1000).toFixed(0)} s`,
  );
  return report.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await cleanup();
    process.exit(2);
  },
);
