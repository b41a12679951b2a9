/**
 * What a successful attempt tells its webhook's row on PostgreSQL — failCount back to 0,
 * healthStatus `working`, lastDeliveredAt — written apart from the outcome's transaction, at
 * most once a second per webhook. The row is shared by every attempt of every node: an update
 * inside each outcome's transaction held its lock until that commit was flushed, and every
 * other outcome of the webhook queued behind it. Failures still update it in their own
 * transaction (outcomes.ts), since the failing limit reads the count.
 *
 * The write is conditional: it changes the row only when it would show something new, so a
 * stream of successes costs one cheap statement a second, not a lock per attempt.
 */

import type { Executor } from "../../db/database.ts";
import type { Logger } from "../../log.ts";
import { markWebhookSucceeded } from "./outcomes.ts";

/** How stale `last_delivered_at` may be left on PostgreSQL (see the file's header). */
export const LAST_DELIVERED_PRECISION_MS = 1000;

export class SuccessHealth {
  /** Per webhook: the latest success not yet written, and when the last write was. */
  private readonly webhooks = new Map<string, { latest: number | null; writtenAt: number }>();

  constructor(
    private readonly db: Executor,
    private readonly log?: Logger,
  ) {}

  /** A delivery of the webhook succeeded at `at` (its outcome committed). */
  succeeded(webhookId: string, at: number): void {
    const entry = this.webhooks.get(webhookId);
    if (entry && entry.latest !== null) {
      entry.latest = Math.max(entry.latest, at);
      return;
    }
    const writtenAt = entry?.writtenAt ?? 0;
    const state = { latest: at, writtenAt };
    this.webhooks.set(webhookId, state);
    const wait = Math.max(0, writtenAt + LAST_DELIVERED_PRECISION_MS - Date.now());
    const timer = setTimeout(() => this.write(webhookId), wait);
    timer.unref();
  }

  private write(webhookId: string): void {
    const state = this.webhooks.get(webhookId);
    if (!state || state.latest === null) return;
    const at = state.latest;
    state.latest = null;
    state.writtenAt = Date.now();
    markWebhookSucceeded(this.db, webhookId, at).catch((error: unknown) => {
      this.log?.warn("could not record a webhook's latest success", {
        webhookId,
        error: String(error),
      });
    });
  }
}
