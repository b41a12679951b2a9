/**
 * Runs the statically imported migrations (`migrations/index.ts`) up to the latest. The result
 * handling — names applied, or one error naming the migration that failed — is shared with the
 * PostgreSQL migrations (src/db/postgres/migrator.ts).
 */

import { type Kysely, type Migration, Migrator } from "kysely";
import { migrations } from "../../migrations/index.ts";
import type { Database } from "./database.ts";

function migratorOf(db: Kysely<Database>, available: Record<string, Migration>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => available } });
}

/**
 * Applies every pending migration of `available` with Kysely's Migrator (which holds its lock
 * for the run); returns the names applied now. Throws on failure.
 */
export async function applyMigrations(
  db: Kysely<Database>,
  available: Record<string, Migration>,
): Promise<string[]> {
  const { error, results } = await migratorOf(db, available).migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === "Error");
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? "(unknown)"} failed: ${reason}`);
  }
  return (results ?? []).map((result) => result.migrationName);
}

/** Applies every pending SQLite migration; returns the names applied now. Throws on failure. */
export function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  return applyMigrations(db, migrations);
}

/** The SQLite migrations not yet applied to `db`, in run order; writes nothing. */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const known = await migratorOf(db, migrations).getMigrations();
  return known.filter((migration) => migration.executedAt === undefined).map(({ name }) => name);
}
