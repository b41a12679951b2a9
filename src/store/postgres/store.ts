/**
 * The delivery store's PostgreSQL adapter (the interface and its contract: delivery-store.ts).
 * Any number of nodes share the database, so:
 * - taking work writes a lease (queue.ts), and a dead node's leases run out;
 * - an outcome is written only over the lease it was taken with (outcomes.ts);
 * - new Waiting deliveries are announced after their commit on the `hookpost_due` channel
 *   (announcer.ts), so every node looks at them at once, not at its next tick;
 * - events and outcomes are group-committed (batch.ts): those that arrive together are written
 *   in one transaction, with one statement per table;
 * - the totals are spread over rows (totals.ts), and a success's mark on its webhook is written
 *   apart (success-health.ts), so writers rarely wait for each other's locks.
 * Whatever is not about concurrency — the log's queries, retention's deletes, the rows written
 * for an event — is the same Kysely code as SQLite's (log.ts, retention.ts, deliveries.ts).
 */

import { sql } from "kysely";
import type { Executor } from "../../db/database.ts";
import {
  allWebhooksGenerationQuery,
  WebhookDerived,
  workspaceGenerationQuery,
} from "../../db/webhook-generation.ts";
import type { FailureHook } from "../../deliveries/failure.ts";
import { ProcessStatus } from "../../deliveries/status.ts";
import {
  type Candidate,
  candidatesOf,
  enabledWebhooksQuery,
} from "../../events/enabled-webhooks.ts";
import { newId } from "../../ids.ts";
import type { Logger } from "../../log.ts";
import { Tally } from "../counts.ts";
import { enqueueDeliveries, type NewDelivery, type NewEvent } from "../deliveries.ts";
import {
  type Acceptance,
  type AttemptRecord,
  type DeliveryStore,
  type EventBuilder,
  HOLD_TAKING_MS,
  HOLD_UNRECORDED_MS,
  type QueueState,
  type Recorded,
  type Removed,
  type Taken,
  type Want,
} from "../delivery-store.ts";
import {
  acceptedOf,
  type EventContentOf,
  findAcceptedEvent,
  readEventContents,
} from "../events.ts";
import {
  type AttemptRow,
  countDeliveryLog,
  type DeliveryLogFilter,
  type DeliveryRow,
  findDelivery,
  findDeliveryOfWebhook,
  hasDeliveryLog,
  type InFlightOf,
  type LogPosition,
  listAttemptsOfDelivery,
  listDeliveryLog,
  listLatestDeliveryPerEvent,
} from "../log.ts";
import { attemptFailureOf, outcomeOf, tallyOutcome } from "../outcomes.ts";
import {
  type DispatchableWebhook,
  type DueDelivery,
  dispatchableWebhooksQuery,
  FAILED_ROW,
  failedAsGone,
  failWaitingOfWebhook,
  notLeasedAt,
} from "../queue.ts";
import { applyRetentionIn } from "../retention.ts";
import {
  readDeliveryStats,
  readGroupedAttemptStats,
  type StatsRange,
  type WebhookStatsRows,
} from "../stats.ts";
import { DUE_CHANNEL, DueAnnouncer } from "./announcer.ts";
import { TransactionBatcher } from "./batch.ts";
import { type HealthChange, recordWebhookHealth, updateDeliveryOutcomes } from "./outcomes.ts";
import {
  heldBy,
  isLeased,
  type Lease,
  leasedOf,
  leaseRunningAt,
  moveLease,
  nextDueAfter,
  takeLeased,
} from "./queue.ts";
import { SuccessHealth } from "./success-health.ts";
import { writeTally } from "./totals.ts";

/** A unique index refused a row: another transaction wrote the same idempotency key first. */
function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && "errno" in error && error.errno === "23505";
}

/** Rows as readers see them: a Waiting delivery with a running lease is Processing. */
function seenAll(rows: DeliveryRow[], inFlight: InFlightOf): DeliveryRow[] {
  const flying = new Set(inFlight.ids);
  return rows.map((row) =>
    row.process_status === ProcessStatus.Waiting && flying.has(row.id)
      ? { ...row, process_status: ProcessStatus.Processing }
      : row,
  );
}

export interface PostgresStoreOptions {
  /** This node's name in the leases it writes (unique per process). */
  nodeId: string;
  /** How long past its webhook's timeout a lease runs. */
  leaseMarginMs: number;
  log?: Logger;
}

/** An event to accept, as `acceptEvent` is given it. */
interface IngestRequest {
  workspace: string;
  idempotencyKey: string | undefined;
  build: EventBuilder;
}

/**
 * Transactions of each kind (events, outcomes) running at once: enough to keep PostgreSQL's
 * commits overlapping, few enough to leave the pool's other connections to everything else.
 */
const BATCHES_AT_ONCE = 4;

export class PostgresDeliveryStore implements DeliveryStore {
  /** The deliveries this node has in flight, with the lease each was taken with. */
  private readonly leases = new Map<string, Lease>();
  private readonly enabled = new WebhookDerived<string, readonly Candidate[]>();
  private readonly dispatchable = new WebhookDerived<"all", readonly DispatchableWebhook[]>();
  /** Until when nothing is taken, after an outcome could not be stored. */
  private takingHeldUntil = 0;
  private readonly ingest: TransactionBatcher<IngestRequest, Acceptance>;
  private readonly outcomes: TransactionBatcher<
    { record: AttemptRecord; held: Lease },
    Recorded | null
  >;
  private readonly announcer: DueAnnouncer;
  private readonly successes: SuccessHealth;

  constructor(
    readonly db: Executor,
    private readonly options: PostgresStoreOptions,
    /** Told, inside the transaction, when a delivery ends in Error (the mail outbox). */
    private readonly onDeliveryFailed?: FailureHook,
  ) {
    this.ingest = new TransactionBatcher(
      db,
      (trx, batch) => this.writeEvents(trx, batch),
      BATCHES_AT_ONCE,
    );
    this.outcomes = new TransactionBatcher(
      db,
      (trx, batch) => this.writeOutcomes(trx, batch),
      BATCHES_AT_ONCE,
    );
    this.announcer = new DueAnnouncer(db, options.log);
    this.successes = new SuccessHealth(db, options.log);
  }

  /** Runs `work` with a tally of its own, written in the same transaction once it is done. */
  private async tallied<T>(trx: Executor, work: (tally: Tally) => T | Promise<T>): Promise<T> {
    const tally = new Tally();
    const result = await work(tally);
    await writeTally(trx, tally);
    return result;
  }

  /** Tells every node, at commit, that these webhooks have new Waiting deliveries. */
  private async announceDueAtCommit(trx: Executor, rows: readonly NewDelivery[]): Promise<void> {
    const ids = [
      ...new Set(
        rows
          .filter((row) => (row.process_status ?? ProcessStatus.Waiting) === ProcessStatus.Waiting)
          .map((row) => row.webhook_id),
      ),
    ];
    if (ids.length > 0) await sql`select pg_notify(${DUE_CHANNEL}, ${ids.join(",")})`.execute(trx);
  }

  // — Events —

  async acceptEvent(
    workspace: string,
    idempotencyKey: string | undefined,
    build: EventBuilder,
  ): Promise<Acceptance> {
    const request = { workspace, idempotencyKey, build };
    let acceptance: Acceptance;
    try {
      acceptance = await this.ingest.add(request);
    } catch (error) {
      // The same key accepted by another connection meanwhile: its answer is this one's.
      if (idempotencyKey === undefined || !isUniqueViolation(error)) throw error;
      acceptance = await this.ingest.add(request);
    }
    if (!acceptance.duplicate) {
      this.announcer.announce(acceptance.accepted.deliveries.map((row) => row.webhookId));
    }
    return acceptance;
  }

  /**
   * Writes a batch of events (batch.ts): each is found by its idempotency key or built against
   * its workspace's enabled webhooks as the transaction sees them; then one insert of the events,
   * one of their deliveries, one of the totals.
   */
  private async writeEvents(trx: Executor, requests: readonly IngestRequest[]) {
    const acceptances: Acceptance[] = [];
    const events: NewEvent[] = [];
    const deliveries: NewDelivery[] = [];
    /** Keys accepted earlier in this batch: a repeat gets their answer. */
    const batchKeys = new Map<string, Acceptance["accepted"]>();
    const webhooks = new Map<string, readonly Candidate[]>();
    for (const { workspace, idempotencyKey, build } of requests) {
      const key = idempotencyKey === undefined ? null : `${workspace}\u0000${idempotencyKey}`;
      if (key !== null && idempotencyKey !== undefined) {
        const before =
          batchKeys.get(key) ?? (await findAcceptedEvent(trx, workspace, idempotencyKey));
        if (before) {
          acceptances.push({ accepted: before, duplicate: true });
          continue;
        }
      }
      let candidates = webhooks.get(workspace);
      if (!candidates) {
        candidates = await this.enabledOf(trx, workspace);
        webhooks.set(workspace, candidates);
      }
      const now = Date.now();
      const eventId = newId("evt", now);
      const built = build(eventId, now, candidates);
      events.push(built.event);
      deliveries.push(...built.deliveries);
      const accepted = acceptedOf(eventId, built.deliveries);
      if (key !== null) batchKeys.set(key, accepted);
      acceptances.push({ accepted, duplicate: false });
    }
    if (events.length > 0) await trx.insertInto("events").values(events).execute();
    await this.tallied(trx, (tally) =>
      enqueueDeliveries(trx, tally, deliveries, this.onDeliveryFailed),
    );
    return acceptances;
  }

  /** The workspace's enabled webhooks as the transaction sees them, kept until one changes. */
  private async enabledOf(trx: Executor, workspace: string): Promise<readonly Candidate[]> {
    const generation = (await workspaceGenerationQuery(trx, workspace).executeTakeFirst())?.value;
    return this.enabled.loadedAt(workspace, generation, async () =>
      candidatesOf(await enabledWebhooksQuery(trx, workspace).execute()),
    );
  }

  async enqueue(trx: Executor, rows: readonly NewDelivery[], event?: NewEvent): Promise<void> {
    if (event) await trx.insertInto("events").values(event).execute();
    await this.tallied(trx, (tally) => enqueueDeliveries(trx, tally, rows, this.onDeliveryFailed));
    // Inside the caller's transaction, whose commit this cannot see: the notification goes out
    // at that commit (a retry, a replay, a sample are rare; see announcer.ts).
    await this.announceDueAtCommit(trx, rows);
  }

  eventContents(db: Executor, ids: readonly string[]): Promise<EventContentOf> {
    return readEventContents(db, ids);
  }

  // — The queue —

  async dispatchableWebhooks(): Promise<readonly DispatchableWebhook[]> {
    const generation = (await allWebhooksGenerationQuery(this.db).executeTakeFirst())?.value;
    return this.dispatchable.loadedAt("all", generation, () =>
      dispatchableWebhooksQuery(this.db).execute(),
    );
  }

  async take(now: number, wants: readonly Want[], free: number): Promise<Taken> {
    const taken: Taken = { deliveries: [], nextDueAt: new Map() };
    if (now < this.takingHeldUntil) return taken;
    let left = free;
    for (const want of wants) {
      if (left <= 0) break;
      const room = Math.min(want.room, left);
      if (room <= 0) continue;
      // Each take reckons from the clock as it starts (the tick's time may be older): a
      // lease from when it is written, and a rate limit's start from when it is made.
      const at = Math.max(now, Date.now());
      const until = at + want.webhook.timeout_seconds * 1000 + this.options.leaseMarginMs;
      const owner = this.options.nodeId;
      let took: Awaited<ReturnType<typeof takeLeased>>;
      try {
        took = await takeLeased(this.db, want, room, { owner, now: at, until });
      } catch (error) {
        // What earlier webhooks' takes leased is this node's now: it must be sent.
        if (taken.deliveries.length === 0) throw error;
        this.options.log?.warn("taking work failed part-way; sending what was taken", {
          webhookId: want.webhook.id,
          error: String(error),
        });
        return taken;
      }
      const { taken: leased, limited, nextAt } = took;
      for (const delivery of leased) {
        this.leases.set(delivery.id, { owner, until });
        taken.deliveries.push([want.webhook, delivery]);
      }
      left -= leased.length;
      if (nextAt !== null) {
        // The rate limit or the order holds the webhook back until then.
        taken.nextDueAt.set(want.webhook.id, nextAt);
      } else if (leased.length < room && !limited) {
        // Nothing more is due: when something will be (a retry's time, or a lease's end).
        // Not knowing is no loss: the webhook is simply looked at again.
        const next = await nextDueAfter(this.db, want.webhook.id, at).catch(() => undefined);
        if (next !== undefined) {
          taken.nextDueAt.set(want.webhook.id, next ?? Number.POSITIVE_INFINITY);
        }
      }
    }
    return taken;
  }

  private leaseOf(delivery: DueDelivery): Lease {
    const lease = this.leases.get(delivery.id);
    if (!lease) throw new Error(`delivery ${delivery.id} is not in flight on this node`);
    return lease;
  }

  async release(delivery: DueDelivery): Promise<void> {
    const lease = this.leaseOf(delivery);
    try {
      await this.db.transaction().execute(async (trx) => {
        const now = Date.now();
        const gone = await this.tallied(trx, async (tally) => {
          const failed = await trx
            .updateTable("deliveries")
            .set({ ...failedAsGone(now), lease_owner: null, lease_until: null })
            .where("id", "=", delivery.id)
            .where(heldBy(lease))
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom("webhooks").select("id").whereRef("id", "=", "webhook_id"))),
            )
            .returning(FAILED_ROW)
            .execute();
          tally.waitingFailed(failed);
          return failed.length > 0;
        });
        if (!gone) await moveLease(trx, delivery.id, lease, { until: now, keep: false });
      });
    } finally {
      this.leases.delete(delivery.id);
    }
  }

  async hold(delivery: DueDelivery): Promise<void> {
    const lease = this.leaseOf(delivery);
    // The lease runs a minute more, then the delivery is due again, to any node.
    const until = Date.now() + HOLD_UNRECORDED_MS;
    this.leases.delete(delivery.id);
    await moveLease(this.db, delivery.id, lease, { until, keep: true });
  }

  async sweepDeletedWebhooks(now: number): Promise<number> {
    return this.db.transaction().execute((trx) =>
      this.tallied(trx, async (tally) => {
        const failed = await trx
          .updateTable("deliveries")
          .set({ ...failedAsGone(now), lease_owner: null, lease_until: null })
          .where("webhook_id", "in", (query) =>
            query
              .selectFrom("delivery_counts as c")
              .select("c.webhook_id")
              .where("c.process_status", "=", sql.lit(ProcessStatus.Waiting))
              .where("c.count", "<>", sql.lit(0))
              .where(({ not, exists, selectFrom }) =>
                not(
                  exists(
                    selectFrom("webhooks as w")
                      .select("w.id")
                      .whereRef("w.id", "=", "c.webhook_id"),
                  ),
                ),
              ),
          )
          .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
          // A running lease records its own outcome.
          .where(notLeasedAt(now))
          .returning(FAILED_ROW)
          .execute();
        tally.waitingFailed(failed);
        return failed.length;
      }),
    );
  }

  failWaitingOfWebhook(trx: Executor, webhookId: string, now: number): Promise<number> {
    return this.tallied(trx, (tally) =>
      failWaitingOfWebhook(trx, tally, { webhookId, now, spared: "leased" }),
    );
  }

  get inFlightCount(): number {
    return this.leases.size;
  }

  // — Outcomes —

  async recordAttempt(record: AttemptRecord): Promise<Recorded | null> {
    const held = this.leaseOf(record.delivery);
    let recorded: Recorded | null;
    try {
      recorded = await this.outcomes.add({ record, held });
    } catch (error) {
      // Nothing more is taken for a while, and this delivery not for longer (see store.ts).
      this.takingHeldUntil = Date.now() + HOLD_TAKING_MS;
      await this.hold(record.delivery).catch(() => undefined);
      throw error;
    }
    this.leases.delete(record.delivery.id);
    if (recorded?.decision.kind === "sent") {
      this.successes.delivered(record.delivery.webhook_id, record.now);
    }
    return recorded;
  }

  /**
   * Writes a batch of outcomes (batch.ts): the webhooks' health first (outcomes.ts); then every
   * delivery over its lease in one statement, the attempts of those written in another, the
   * totals, and the failure hook's notices. An outcome whose lease was lost is not written:
   * null. Each outcome's failCount is its webhook's as the whole batch leaves it.
   */
  private async writeOutcomes(
    trx: Executor,
    batch: readonly { record: AttemptRecord; held: Lease }[],
  ): Promise<(Recorded | null)[]> {
    // Each webhook's health, as the batch's outcomes leave it, first: a retry whose webhook
    // was deleted meanwhile becomes a failure.
    const health = new Map<string, HealthChange>();
    for (const { record } of batch) {
      const webhookId = record.delivery.webhook_id;
      const change = health.get(webhookId) ?? {
        webhookId,
        succeeded: false,
        failuresAfter: 0,
        disable: false,
        at: record.now,
      };
      if (record.decision.kind === "sent") {
        change.succeeded = true;
        change.failuresAfter = 0;
      } else {
        change.failuresAfter++;
        if (record.decision.kind === "failed" && record.decision.reason === "gone") {
          change.disable = true;
        }
      }
      health.set(webhookId, change);
    }
    const failCounts = await recordWebhookHealth(trx, [...health.values()]);
    const decided = batch.map(({ record, held }) => ({
      record,
      held,
      ...outcomeOf(record, failCounts.get(record.delivery.webhook_id) ?? null),
    }));
    const written = await updateDeliveryOutcomes(trx, decided);
    const kept = decided.filter(({ row }) => written.has(row.id));
    await this.tallied(trx, async (tally) => {
      for (const { record, row } of kept) tallyOutcome(tally, record.delivery, row);
      if (kept.length > 0) {
        await trx
          .insertInto("attempts")
          .values(kept.map(({ attempt }) => attempt))
          .execute();
      }
    });
    for (const outcome of kept) {
      const { decision } = outcome.recorded;
      if (decision.kind !== "failed" || !this.onDeliveryFailed) continue;
      await this.onDeliveryFailed(trx, attemptFailureOf(outcome.record, outcome, decision.reason));
    }
    return decided.map(({ row, recorded }) => (written.has(row.id) ? recorded : null));
  }

  // — The log —

  private async inFlightOf(db: Executor, webhookId: string): Promise<InFlightOf> {
    const leased = await leasedOf(db, webhookId, Date.now());
    return {
      ids: leased.map((row) => row.id),
      firstAttempts: leased.filter((row) => row.attempts === 0).length,
    };
  }

  /** A row as readers see it: a Waiting delivery with a running lease is Processing. */
  private async seen<Row extends DeliveryRow | undefined>(db: Executor, row: Row): Promise<Row> {
    if (row?.process_status === ProcessStatus.Waiting && (await isLeased(db, row.id, Date.now()))) {
      return { ...row, process_status: ProcessStatus.Processing };
    }
    return row;
  }

  async countLog(db: Executor, webhookId: string, filter: DeliveryLogFilter): Promise<number> {
    return countDeliveryLog(db, webhookId, filter, await this.inFlightOf(db, webhookId));
  }

  async listLog(
    db: Executor,
    webhookId: string,
    filter: DeliveryLogFilter,
    page: { limit: number; offset?: number; after?: LogPosition },
  ): Promise<DeliveryRow[]> {
    const inFlight = await this.inFlightOf(db, webhookId);
    return seenAll(await listDeliveryLog(db, webhookId, filter, inFlight, page), inFlight);
  }

  hasLog(db: Executor, workspace: string, webhookId: string): Promise<boolean> {
    return hasDeliveryLog(db, workspace, webhookId);
  }

  async findDelivery(db: Executor, id: string): Promise<DeliveryRow | undefined> {
    return this.seen(db, await findDelivery(db, id));
  }

  async findDeliveryOfWebhook(
    db: Executor,
    workspace: string,
    webhookId: string,
    deliveryId: string,
  ): Promise<DeliveryRow | undefined> {
    return this.seen(db, await findDeliveryOfWebhook(db, workspace, webhookId, deliveryId));
  }

  attemptsOf(db: Executor, deliveryId: string): Promise<AttemptRow[]> {
    return listAttemptsOfDelivery(db, deliveryId);
  }

  async latestPerEvent(
    db: Executor,
    workspace: string,
    webhookId: string,
    window: { since: number; until: number },
    limit: number,
  ): Promise<DeliveryRow[]> {
    const rows = await listLatestDeliveryPerEvent(db, workspace, webhookId, window, limit);
    return seenAll(rows, await this.inFlightOf(db, webhookId));
  }

  /** The webhook's stats rows for `range` (see stats.ts), the attempts grouped by the server. */
  async stats(webhookId: string, range: StatsRange): Promise<WebhookStatsRows> {
    const [deliveries, attempts] = await Promise.all([
      readDeliveryStats(this.db, webhookId, range),
      readGroupedAttemptStats(this.db, webhookId, range),
    ]);
    return { deliveries, attempts };
  }

  async queueState(): Promise<QueueState> {
    const now = Date.now();
    const counted = await this.db
      .selectFrom("delivery_counts")
      .select((eb) => eb.fn.sum<number | null>("count").as("waiting"))
      .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
      .executeTakeFirstOrThrow();
    const processing = await this.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .where(leaseRunningAt(now))
      .executeTakeFirstOrThrow();
    const oldest = await this.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.min<number | null>("created_at").as("createdAt"))
      .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
      .where(notLeasedAt(now))
      .executeTakeFirstOrThrow();
    return {
      waiting: Math.max(0, (counted.waiting ?? 0) - processing.count),
      oldestWaitingCreatedAt: oldest.createdAt,
      processing: processing.count,
    };
  }

  // — Retention —

  flush(): Promise<void> {
    return this.successes.flush();
  }

  applyRetention(cutoff: number, stopping: () => boolean): Promise<Removed> {
    return applyRetentionIn(
      (work) => this.db.transaction().execute(work),
      (trx, work) => this.tallied(trx, work),
      cutoff,
      stopping,
    );
  }
}
