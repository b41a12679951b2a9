/**
 * A fresh Hookpost app per test: its own SQLite file in a temporary folder, a captured log, a
 * write and a read key of workspace `default`, and a write key of another workspace `other`.
 */

import { describe, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { createApiKey } from "../../src/api-keys/service.ts";
import { type App, type AppOptions, createApp } from "../../src/app.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { isSqlite, openStore, type Store } from "../../src/db/connect.ts";
import type { Database } from "../../src/db/database.ts";
import { openPostgres } from "../../src/db/postgres/connect.ts";
import { createLogger } from "../../src/log.ts";
import { createTestDatabase } from "./postgres.ts";

export interface TestKeys {
  write: string;
  read: string;
  /** A write key of another workspace, `other`. */
  other: string;
}

export interface TestApp {
  app: App;
  keys: TestKeys;
  dir: string;
  /** Every log line written so far. */
  logLines: string[];
  /** Sends a request through `app.handle` (no socket). */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  key?: string | null;
  /** Serialised as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as is. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body: unknown;
}

/** Settings for delivering to a receiver on loopback, the scheduler looking every 20 ms. */
export const LOOPBACK_DELIVERY = {
  HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32",
  HOOKPOST_TICK_MS: "20",
} as const;

/** {@link LOOPBACK_DELIVERY} with retries tens of milliseconds apart, at most 4 attempts. */
export const QUICK_RETRIES = {
  ...LOOPBACK_DELIVERY,
  HOOKPOST_RETRY_BASE_MS: "40",
  HOOKPOST_RETRY_MAX_DELAY_MS: "400",
  HOOKPOST_MAX_ATTEMPTS: "4",
} as const;

export function tempDir(prefix = "hookpost-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    HOOKPOST_DB_PATH: join(dir, "hookpost.db"),
    HOOKPOST_PORT: "0",
    HOOKPOST_HOST: "127.0.0.1",
    HOOKPOST_PLUGINS_DIR: join(dir, "plugins"),
    ...env,
  });
}

export async function readResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export function buildRequest(
  base: string,
  method: string,
  path: string,
  options: RequestOptions = {},
) {
  const headers = new Headers(options.headers);
  if (options.key) headers.set("x-api-key", options.key);
  let body: string | undefined = options.rawBody;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return new Request(`${base}${path}`, { method, headers, body });
}

/**
 * The backend the suite runs on: SQLite unless `HOOKPOST_TEST_BACKEND=postgres`, which gives
 * each test app a database of its own on the test PostgreSQL server (`test/helpers/postgres.ts`).
 * One suite, run twice by `.ci/run`.
 */
export const TEST_BACKEND: "sqlite" | "postgres" =
  process.env.HOOKPOST_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";

/**
 * `describe` and `test` for SQLite's own mechanisms (its locks, query plans, group commit):
 * skipped when the suite runs on PostgreSQL, whose own are tested in test/db/postgres-*.
 */
export const describeOnSqlite = describe.skipIf(TEST_BACKEND !== "sqlite");
export const testOnSqlite = test.skipIf(TEST_BACKEND !== "sqlite");

export async function createTestApp(
  env: Record<string, string> = {},
  options: Pick<AppOptions, "resolver"> = {},
): Promise<TestApp> {
  const dir = tempDir();
  const logLines: string[] = [];
  // A database of its own, unless the test reopens one (reopenEnv).
  const database =
    TEST_BACKEND === "postgres" && env.HOOKPOST_DATABASE_URL === undefined
      ? await createTestDatabase()
      : null;
  const config = testConfig(dir, database ? { HOOKPOST_DATABASE_URL: database.url, ...env } : env);
  let app: App;
  try {
    app = await createApp(config, {
      log: createLogger("debug", (line) => logLines.push(line)),
      announce: (text) => logLines.push(text),
      ...options,
    });
  } catch (error) {
    await database?.drop();
    throw error;
  }
  const [write, read, other] = await Promise.all([
    createApiKey(app.store.db, { workspace: "default", access: "write" }),
    createApiKey(app.store.db, { workspace: "default", access: "read" }),
    createApiKey(app.store.db, { workspace: "other", access: "write" }),
  ]);
  return {
    app,
    dir,
    logLines,
    keys: { write: write.key, read: read.key, other: other.key },
    async request(method, path, options) {
      const response = await app.handle(buildRequest("http://localhost", method, path, options));
      return readResponse(response);
    },
    async close() {
      await app.stop();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The settings that make {@link createTestApp} open `app`'s database again (after a stop). */
export function reopenEnv(app: App): Record<string, string> {
  const { databaseUrl, dbPath } = app.config;
  return databaseUrl === null
    ? { HOOKPOST_DB_PATH: dbPath }
    : { HOOKPOST_DB_PATH: dbPath, HOOKPOST_DATABASE_URL: databaseUrl };
}

/**
 * A connection of its own to the app's database, as another process (the CLI, another node)
 * would have; the caller closes it.
 */
export function otherConnection(app: App): { db: Kysely<Database>; close(): Promise<void> } {
  const { databaseUrl, dbPath } = app.config;
  return databaseUrl === null ? openStore(dbPath) : openPostgres(databaseUrl, { max: 1 });
}

/**
 * The app's SQLite store, for the tests of SQLite's own mechanisms (its file lock, its query
 * plans, its group commit); throws on another backend.
 */
export function sqliteOf(app: App): Store {
  const store = app.store;
  if (!isSqlite(store)) throw new Error("this test needs the SQLite backend");
  return store;
}
