/**
 * The deliveries being attempted right now, kept in memory instead of a claim written per
 * delivery: one server owns the database file (src/db/server-lock.ts), so nothing else takes
 * work from it, and a delivery stays Waiting in the log until its outcome is recorded. If the
 * process dies mid-attempt, the delivery is simply still Waiting at the next start
 * (at-least-once). The log shows a Waiting delivery in this set as Processing.
 */

export interface InFlightDelivery {
  webhookId: string;
  /** Its row id, by which the queue skips it. */
  row: number;
  /** Attempts made before this one (the row's `attempts`): pending or retrying underneath. */
  attempts: number;
}

export class InFlight {
  private readonly byId = new Map<string, InFlightDelivery>();
  private readonly rows = new Set<number>();
  private readonly byWebhook = new Map<string, Set<string>>();

  add(id: string, delivery: InFlightDelivery): void {
    this.byId.set(id, delivery);
    this.rows.add(delivery.row);
    let ids = this.byWebhook.get(delivery.webhookId);
    if (!ids) {
      ids = new Set();
      this.byWebhook.set(delivery.webhookId, ids);
    }
    ids.add(id);
  }

  remove(id: string): void {
    const delivery = this.byId.get(id);
    if (!delivery) return;
    this.byId.delete(id);
    this.rows.delete(delivery.row);
    const ids = this.byWebhook.get(delivery.webhookId);
    ids?.delete(id);
    if (ids?.size === 0) this.byWebhook.delete(delivery.webhookId);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  hasRow(row: number): boolean {
    return this.rows.has(row);
  }

  /** Deliveries in flight, overall. */
  get size(): number {
    return this.byId.size;
  }

  /** How many of one webhook's deliveries are in flight. */
  countOf(webhookId: string): number {
    return this.byWebhook.get(webhookId)?.size ?? 0;
  }

  /** The ids in flight for one webhook (empty when none). */
  idsOf(webhookId: string): string[] {
    return [...(this.byWebhook.get(webhookId) ?? [])];
  }

  /** Every id in flight. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** How many of the webhook's deliveries in flight had no attempt before (pending underneath). */
  firstAttemptsOf(webhookId: string): number {
    let count = 0;
    for (const id of this.byWebhook.get(webhookId) ?? []) {
      if (this.byId.get(id)?.attempts === 0) count++;
    }
    return count;
  }
}
