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
  /** Per webhook: the latest success not yet written, and when the last write was. */
  private readonly webhooks = new Map<string, { latest: number | null; writtenAt: number }>();
  /** The pending writes' timers, by webhook. */
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly db: Executor,
    private readonly log?: Logger,
  ) {}

  /** A delivery of the webhook succeeded at `at` (its outcome committed). */
  delivered(webhookId: string, at: number): void {
    const entry = this.webhooks.get(webhookId);
    if (entry && entry.latest !== null) {
      entry.latest = Math.max(entry.latest, at);
      return;
    }
    const writtenAt = entry?.writtenAt ?? 0;
    const state = { latest: at, writtenAt };
    this.webhooks.set(webhookId, state);
    const wait = Math.max(0, writtenAt + LAST_DELIVERED_PRECISION_MS - Date.now());
    const timer = setTimeout(() => void this.write(webhookId), wait);
    timer.unref();
    this.timers.set(webhookId, timer);
  }

  private async write(webhookId: string): Promise<void> {
    this.timers.delete(webhookId);
    const state = this.webhooks.get(webhookId);
    if (!state || state.latest === null) return;
    const at = state.latest;
    state.latest = null;
    state.writtenAt = Date.now();
    await markWebhookDelivered(this.db, webhookId, at).catch((error: unknown) => {
      this.log?.warn("could not record a webhook's latest success", {
        webhookId,
        error: String(error),
      });
    });
  }

  /** Writes every success still waiting for its second, now (before the database closes). */
  async flush(): Promise<void> {
    const waiting = [...this.timers.entries()];
    for (const [, timer] of waiting) clearTimeout(timer);
    await Promise.all(waiting.map(([webhookId]) => this.write(webhookId)));
  }
}
