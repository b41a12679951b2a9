/**
 * A real PostgreSQL server for the tests of the PostgreSQL backend: `HOOKPOST_TEST_POSTGRES_URL`
 * (an account that may create databases), by default the local server's `postgres` superuser.
 * Each test file makes databases of its own with unique names and drops them, so files running
 * side by side, or a run killed half-way, never see each other's data.
 */

import { randomBytes } from "node:crypto";
import { SQL } from "bun";

/** The URL of the server's maintenance database, where test databases are created and dropped. */
export function postgresAdminUrl(): string {
  return process.env.HOOKPOST_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Runs `work` on a one-connection client of the admin URL, then closes it. */
async function withAdmin<T>(work: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL(postgresAdminUrl(), { max: 1, connectionTimeout: 2 });
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

/** Whether the server answers within a couple of seconds; test files skip when it does not. */
export async function postgresAvailable(): Promise<boolean> {
  try {
    return await withAdmin(async (sql) => (await sql`select 1 as one`).length === 1);
  } catch {
    return false;
  }
}

export interface TestDatabase {
  /** The URL of the new, empty database. */
  url: string;
  /** Drops the database, closing any connection a test left open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database with a name no other call uses. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hookpost_test_${process.pid}_${randomBytes(6).toString("hex")}`;
  await withAdmin((sql) => sql.unsafe(`create database "${name}"`));
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await withAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}
