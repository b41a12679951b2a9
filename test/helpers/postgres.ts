/**
 * A real PostgreSQL server for the tests of the PostgreSQL backend: `HOOKPOST_TEST_POSTGRES_URL`
 * (an account that may create databases), by default the local server's `postgres` superuser.
 * Each test file makes databases of its own with unique names and drops them, so files running
 * side by side, or a run killed half-way, never see each other's data. The benchmark makes its
 * databases the same way (bench/scenarios/postgres.ts), under a prefix and admin URL of its own.
 */

import { randomBytes } from "node:crypto";
import { SQL } from "bun";

/** The URL of the server's maintenance database, where test databases are created and dropped. */
export function postgresAdminUrl(): string {
  return process.env.HOOKPOST_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Runs `work` on a one-connection client of `adminUrl`, then closes it. */
async function withAdmin<T>(adminUrl: string, work: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL(adminUrl, { max: 1, connectionTimeout: 2 });
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

/**
 * Why the server at `adminUrl` cannot be used (it does not answer within a couple of seconds,
 * or refuses the account), or null when it answers.
 */
export async function postgresProblem(adminUrl = postgresAdminUrl()): Promise<string | null> {
  try {
    const rows = await withAdmin(adminUrl, (sql) => sql`select 1 as one`);
    return rows.length === 1 ? null : "select 1 returned no row";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Whether the server answers within a couple of seconds; test files skip when it does not. */
export async function postgresAvailable(): Promise<boolean> {
  return (await postgresProblem()) === null;
}

export interface TestDatabase {
  /** The URL of the new, empty database. */
  url: string;
  /** Drops the database, closing any connection a test left open to it. */
  drop(): Promise<void>;
}

export interface DatabaseOptions {
  /** The account that creates and drops it (default {@link postgresAdminUrl}). */
  adminUrl?: string;
  /** The start of its name (default `hookpost_test`); the process id and a random tail follow. */
  prefix?: string;
}

/** Creates an empty database with a name no other call uses. */
export async function createTestDatabase(options: DatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? postgresAdminUrl();
  const name = `${options.prefix ?? "hookpost_test"}_${process.pid}_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (sql) => sql.unsafe(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await withAdmin(adminUrl, (sql) =>
        sql.unsafe(`drop database if exists "${name}" with (force)`),
      );
    },
  };
}
