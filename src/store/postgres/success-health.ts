/**
 * A webhook's `last_delivered_at` on PostgreSQL, written apart from the outcomes' transactions,
 * at most once a second per webhook. The row is shared by every attempt of every node: an
 * update inside each outcome's transaction held its lock until that commit was flushed, and
 * every other outcome of the webhook queued behind it. (The failures in a row and the health
 * are written with the outcomes, and only when they change: outcomes.ts.)
 */

import type { Executor } from "../../db/database.ts";
import type { Logger } from "../../log.ts";
import { markWebhookDelivered } from "./outcomes.ts";

/** How stale `last_delivered_at` may be left on PostgreSQL (see the file's header). */
const LAST_DELIVERED_PRECISION_MS = 1000;

export class SuccessHealth {
  /** Per webhook, the latest success not yet written, and the timer that will write it. */
  private readonly pending = new Map<
    string,
    { latest: number; timer: ReturnType<typeof setTimeout> }
  >();
  /** Per webhook, when its last write was. */
  private readonly writtenAt = new Map<string, number>();

  constructor(
    private readonly db: Executor,
    private readonly log?: Logger,
  ) {}

  /** A delivery of the webhook succeeded at `at` (its outcome committed). */
  delivered(webhookId: string, at: number): void {
    const waiting = this.pending.get(webhookId);
    if (waiting) {
      waiting.latest = Math.max(waiting.latest, at);
      return;
    }
    const due = (this.writtenAt.get(webhookId) ?? 0) + LAST_DELIVERED_PRECISION_MS;
    const timer = setTimeout(() => void this.write(webhookId), Math.max(0, due - Date.now()));
    timer.unref();
    this.pending.set(webhookId, { latest: at, timer });
  }

  private async write(webhookId: string): Promise<void> {
    const waiting = this.pending.get(webhookId);
    if (!waiting) return;
    this.pending.delete(webhookId);
    this.writtenAt.set(webhookId, Date.now());
    await markWebhookDelivered(this.db, webhookId, waiting.latest).catch((error: unknown) => {
      this.log?.warn("could not record a webhook's latest success", {
        webhookId,
        error: String(error),
      });
    });
  }

  /** Writes every success still waiting for its second, now (before the database closes). */
  async flush(): Promise<void> {
    const webhookIds = [...this.pending.keys()];
    for (const webhookId of webhookIds) clearTimeout(this.pending.get(webhookId)?.timer);
    await Promise.all(webhookIds.map((webhookId) => this.write(webhookId)));
  }
}
