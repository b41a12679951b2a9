/**
 * Every PostgreSQL migration, imported statically so that `bun build --compile` bundles them
 * into the executable. Names sort in run order; add a new file and one line here. The SQLite
 * migrations (`migrations/`) are a separate history: a change to the schema is written once
 * for each backend.
 */

import type { Migration } from "kysely";
import * as m0001 from "./0001_init.ts";
import * as m0002 from "./0002_delivery_controls.ts";
import * as m0003 from "./0003_attempts_by_webhook.ts";

export const postgresMigrations: Record<string, Migration> = {
  "0001_init": m0001,
  "0002_delivery_controls": m0002,
  "0003_attempts_by_webhook": m0003,
};
