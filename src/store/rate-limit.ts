/**
 * The starts of rate-limited webhooks' attempts (`rateLimitPerSecond`, issue 16) on the one
 * SQLite server, kept in memory: at most `rate` in any {@link RATE_WINDOW_MS}. (PostgreSQL keeps
 * them in `webhook_starts`, shared by the nodes; see its migration 0002.) Pure bookkeeping: the
 * caller gives the time.
 */

import { RATE_WINDOW_MS } from "./delivery-store.ts";

export class StartWindows {
  /** Per webhook, the start times within the last window, oldest first. */
  private readonly starts = new Map<string, number[]>();

  /**
   * How many attempts of the webhook may start at `now` under `rate`, and when none may, when
   * the next one can (the time its `rate`-th latest start leaves the window).
   */
  allowance(webhookId: string, rate: number, now: number): { room: number; nextAt: number | null } {
    const recent = this.recent(webhookId, now);
    if (recent.length < rate) return { room: rate - recent.length, nextAt: null };
    const bounding = recent[recent.length - rate] ?? now;
    return { room: 0, nextAt: bounding + RATE_WINDOW_MS };
  }

  /** `count` attempts of the webhook started at `now`. */
  record(webhookId: string, now: number, count: number): void {
    if (count === 0) return;
    const recent = this.recent(webhookId, now);
    for (let i = 0; i < count; i++) recent.push(now);
    this.starts.set(webhookId, recent);
  }

  /** The webhook's starts still in the window at `now` (older ones are forgotten). */
  private recent(webhookId: string, now: number): number[] {
    const all = this.starts.get(webhookId);
    if (!all) return [];
    const firstKept = all.findIndex((at) => at > now - RATE_WINDOW_MS);
    const kept = firstKept === -1 ? [] : all.slice(firstKept);
    if (kept.length === 0) this.starts.delete(webhookId);
    else this.starts.set(webhookId, kept);
    return kept;
  }
}
