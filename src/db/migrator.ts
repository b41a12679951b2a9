/**
 * Runs the statically imported migrations (`migrations/index.ts`) up to the latest.
 */

import { type Kysely, type MigrationProvider, Migrator } from "kysely";
import { migrations } from "../../migrations/index.ts";
import type { Database } from "./database.ts";

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** Applies every pending migration; returns the names applied now. Throws on failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === "Error");
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? "(unknown)"} failed: ${reason}`);
  }
  return (results ?? []).map((result) => result.migrationName);
}
