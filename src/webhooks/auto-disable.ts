/**
 * Auto-disable (issue 16; SPEC §7's "disabled by repeated failure"): a webhook whose attempts
 * have all failed for longer than `HOOKPOST_AUTO_DISABLE_AFTER_MS` — no success since the first
 * failure of its streak (`failing_since`) — is disabled, and a failure notice says so in the same
 * transaction. Its Waiting deliveries stay Waiting, as with a manual disable; enabling it again
 * clears the streak and resumes them. Run where the deployment's singleton work runs (the
 * leader), on the scheduler's timer.
 */

import type { Executor } from "../db/database.ts";
import type { Logger } from "../log.ts";
import { recordAutoDisableNotice } from "../mail/notices.ts";

/** Disables the webhooks failing since before `now - afterMs`; returns their ids. */
export async function disableLongFailingWebhooks(
  db: Executor,
  now: number,
  afterMs: number,
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const disabled = await trx
      .updateTable("webhooks")
      .set({ enabled: 0, health_status: "disabled", last_modified: now })
      .where("enabled", "=", 1)
      .where("failing_since", "<=", now - afterMs)
      .returning([
        "id",
        "workspace",
        "error_email_to",
        "description",
        "name",
        "endpoint",
        "fail_count",
        "failing_since",
      ])
      .execute();
    for (const webhook of disabled) {
      const failingSince = webhook.failing_since ?? now;
      await recordAutoDisableNotice(trx, { ...webhook, failing_since: failingSince }, now);
    }
    return disabled.map((webhook) => webhook.id);
  });
}

/** How often the leader looks for webhooks to disable. */
const LOOK_EVERY_MS = 1000;

/** Runs {@link disableLongFailingWebhooks} from the timer: one run at a time, at most each second. */
export class AutoDisabler {
  private running = false;
  private lastRunAt = 0;

  constructor(private readonly options: { db: Executor; log: Logger; afterMs: number }) {}

  trigger(): void {
    const now = Date.now();
    if (this.options.afterMs <= 0 || this.running || now - this.lastRunAt < LOOK_EVERY_MS) return;
    this.running = true;
    this.lastRunAt = now;
    disableLongFailingWebhooks(this.options.db, now, this.options.afterMs)
      .then((ids) => {
        for (const webhookId of ids) {
          this.options.log.warn("webhook disabled: every attempt failed for too long", {
            webhookId,
            afterMs: this.options.afterMs,
          });
        }
      })
      .catch((error: unknown) => {
        this.options.log.error("auto-disable failed", { error: String(error) });
      })
      .finally(() => {
        this.running = false;
      });
  }
}
