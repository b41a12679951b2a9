/**
 * Runs the PostgreSQL migrations (`migrations-postgres/index.ts`) up to the latest. Kysely's
 * Migrator holds a PostgreSQL advisory lock for the run, so nodes that start together migrate
 * one after the other: the first applies, the others find nothing left to do.
 */

import type { Kysely } from "kysely";
import { postgresMigrations } from "../../../migrations-postgres/index.ts";
import type { Database } from "../database.ts";
import { applyMigrations } from "../migrator.ts";

/** Applies every pending PostgreSQL migration; returns the names applied now. Throws on failure. */
export function migratePostgresToLatest(db: Kysely<Database>): Promise<string[]> {
  return applyMigrations(db, postgresMigrations);
}
