/**
 * Opens the database the settings name: PostgreSQL when `HOOKPOST_DATABASE_URL` is set,
 * otherwise the SQLite file at `HOOKPOST_DB_PATH`.
 */

import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Backend } from "./backend.ts";
import { openStore } from "./connect.ts";
import { openPostgresBackend } from "./postgres/backend.ts";

export function openBackend(
  config: Pick<Config, "dbPath" | "databaseUrl" | "leaseMarginMs">,
  log?: Logger,
): Backend {
  if (config.databaseUrl === null) return openStore(config.dbPath);
  return openPostgresBackend(config.databaseUrl, { leaseMarginMs: config.leaseMarginMs, log });
}
