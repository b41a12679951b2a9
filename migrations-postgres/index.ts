/**
 * Every PostgreSQL migration, imported statically so that `bun build --compile` bundles them
 * into the executable. Names sort in run order; add a new file and one line here. The SQLite
 * migrations (`migrations/`) are a separate history: a change to the schema is written once
 * for each backend.
 */

import type { Migration } from "kysely";
import * as m0001 from "./0001_init.ts";

export const postgresMigrations: Record<string, Migration> = {
  "0001_init": m0001,
};
