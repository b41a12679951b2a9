/**
 * The PostgreSQL half of `npm test`: the same suite once more with `HOOKPOST_TEST_BACKEND=postgres`,
 * so every test app (test/helpers/test-app.ts) runs on a PostgreSQL database of its own — the
 * store's contract, the API's scenario tables, the delivery engine, mail, retention, the log.
 * Tests of SQLite's own mechanisms skip themselves there. Files that choose their backend
 * themselves (the PostgreSQL schema, copy-data, the cluster, the SQLite file's lock and upgrades,
 * the benchmark's minimal program on PostgreSQL) and the dashboard's browser tests ran in the
 * first half and are not run again.
 *
 * Without a PostgreSQL server at `HOOKPOST_TEST_POSTGRES_URL` (by default the local server's
 * `postgres` user on 127.0.0.1:5432), it says so, says how to run it, and exits 0.
 */

import { Glob } from "bun";
import { postgresAdminUrl, postgresAvailable } from "../test/helpers/postgres.ts";

/** Folders and files whose tests pick their backend themselves. */
const NOT_AGAIN = [
  "test/db/",
  "test/cluster/",
  "test/reliability/",
  "test/packaging/",
  "test/bench/",
  // The dashboard is a client of the API, whose backends the rest of the suite covers; its
  // browser tests run once, on SQLite (and write the README's screenshots once).
  "test/ui/",
];

async function main(): Promise<number> {
  const url = new URL(postgresAdminUrl());
  url.password = url.password ? "***" : "";
  if (!(await postgresAvailable())) {
    console.log(
      `\nPostgreSQL half SKIPPED: no PostgreSQL server answers at ${url}.\n` +
        "The SQLite half above ran in full. To run the PostgreSQL half, start PostgreSQL 15+\n" +
        "(an account that may create databases), set HOOKPOST_TEST_POSTGRES_URL if it is not\n" +
        "postgres://postgres@127.0.0.1:5432/postgres, and run: npm run test:postgres\n",
    );
    return 0;
  }
  const files = [...new Glob("test/**/*.test.ts").scanSync(".")]
    .filter((file) => !NOT_AGAIN.some((prefix) => file.startsWith(prefix)))
    .sort()
    .map((file) => `./${file}`);
  console.log(`\nPostgreSQL half: ${files.length} test files on ${url}\n`);
  // --timeout: bunfig.toml's timeout does not reach the hooks, where each test app starts.
  const run = Bun.spawn([process.execPath, "test", "--timeout", "30000", ...files], {
    env: { ...process.env, HOOKPOST_TEST_BACKEND: "postgres" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  return await run.exited;
}

process.exit(await main());
