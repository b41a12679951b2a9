/**
 * Every migration, imported statically so that `bun build --compile` bundles them into the
 * executable. Names sort in run order; add a new file and one line here.
 */

import type { Migration } from "kysely";
import * as m0001 from "./0001_init.ts";
import * as m0002 from "./0002_webhook_extras.ts";
import * as m0003 from "./0003_mail_outbox.ts";
import * as m0004 from "./0004_delivery_counts.ts";
import * as m0005 from "./0005_webhook_generation.ts";
import * as m0006 from "./0006_retention_by_id.ts";
import * as m0007 from "./0007_idempotency_keys_only.ts";
import * as m0008 from "./0008_status_code_index_answered_only.ts";
import * as m0009 from "./0009_queue_from_counts.ts";
import * as m0010 from "./0010_webhook_generation_by_workspace.ts";
import * as m0011 from "./0011_delivery_message_id.ts";
import * as m0012 from "./0012_delivery_log_by_state.ts";
import * as m0013 from "./0013_store_keeps_totals.ts";
import * as m0014 from "./0014_delivery_controls.ts";
import * as m0015 from "./0015_attempts_by_webhook.ts";

export const migrations: Record<string, Migration> = {
  "0001_init": m0001,
  "0002_webhook_extras": m0002,
  "0003_mail_outbox": m0003,
  "0004_delivery_counts": m0004,
  "0005_webhook_generation": m0005,
  "0006_retention_by_id": m0006,
  "0007_idempotency_keys_only": m0007,
  "0008_status_code_index_answered_only": m0008,
  "0009_queue_from_counts": m0009,
  "0010_webhook_generation_by_workspace": m0010,
  "0011_delivery_message_id": m0011,
  "0012_delivery_log_by_state": m0012,
  "0013_store_keeps_totals": m0013,
  "0014_delivery_controls": m0014,
  "0015_attempts_by_webhook": m0015,
};
