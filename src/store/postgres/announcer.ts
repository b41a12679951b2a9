/**
 * Tells every node of the cluster that webhooks have new Waiting deliveries, on the
 * `hookpost_due` channel, so the node with free slots sends them at once rather than at its next
 * tick. Sent after the deliveries' commit, and once for all the commits of a turn of the event
 * loop: PostgreSQL holds one server-wide lock on its notification queue from a notifying
 * transaction's commit until its log is flushed, so a `NOTIFY` inside every ingest transaction
 * made those commits queue one behind the other instead of sharing a flush.
 *
 * A notification that cannot be sent is not retried: the other nodes still find the work at
 * their next full look at the queue (`scheduler.ts`), and this node was woken directly.
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import type { Logger } from "../../log.ts";

/** The channel on which new Waiting deliveries are announced: their webhooks' ids. */
export const DUE_CHANNEL = "hookpost_due";

/** PostgreSQL's limit on a notification's payload is 8000 bytes; past this, "everything". */
const MAX_DUE_PAYLOAD = 7000;

export class DueAnnouncer {
  private readonly pending = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly db: Executor,
    private readonly log?: Logger,
  ) {}

  /** Announces, soon, that these webhooks have new Waiting deliveries (already committed). */
  announce(webhookIds: Iterable<string>): void {
    for (const id of webhookIds) this.pending.add(id);
    if (this.scheduled || this.pending.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const payload = [...this.pending].join(",");
      this.pending.clear();
      sql`select pg_notify(${DUE_CHANNEL}, ${payload.length > MAX_DUE_PAYLOAD ? "" : payload})`
        .execute(this.db)
        .catch((error: unknown) => {
          this.log?.warn("could not announce new deliveries to the other nodes", {
            error: String(error),
          });
        });
    });
  }
}
