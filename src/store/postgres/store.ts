/**
 * The delivery store's PostgreSQL adapter (the interface and its contract: delivery-store.ts).
 * Any number of nodes share the database, so:
 * - taking work writes a lease (queue.ts), and a dead node's leases run out;
 * - an outcome is written only over the lease it was taken with (outcomes.ts);
 * - new Waiting deliveries are announced at commit on the `hookpost_due` channel, so every node
 *   looks at them at once, not at its next tick;
 * - each transaction is PostgreSQL's own: concurrent connections commit together (PostgreSQL
 *   flushes their commits in one write), so there is no batching in the process;
 * - the totals are spread over rows (totals.ts), so writers rarely wait for each other.
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
import { Tally } from "../counts.ts";
import { enqueueDeliveries, type NewDelivery, type NewEvent } from "../deliveries.ts";
import type {
  Acceptance,
  AttemptRecord,
  DeliveryStore,
  EventBuilder,
  QueueState,
  Recorded,
  Removed,
  Taken,
  Want,
} from "../delivery-store.ts";
import { type EventContentOf, findAcceptedEvent, readEventContents } from "../events.ts";
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
import {
  type DispatchableWebhook,
  type DueDelivery,
  dispatchableWebhooksQuery,
  failWaitingOfWebhook,
  WEBHOOK_GONE,
} from "../queue.ts";
import {
  deleteFinishedBefore,
  deleteMailedNoticesBefore,
  deleteOrphanEventsBefore,
} from "../retention.ts";
import { updateDeliveryOutcome, updateWebhookHealth } from "./outcomes.ts";
import { isLeased, type Lease, leasedOf, moveLease, nextDueAfter, takeLeased } from "./queue.ts";
import { writeTally } from "./totals.ts";

/** The channel on which new Waiting deliveries are announced: their webhooks' ids. */
export const DUE_CHANNEL = "hookpost_due";

/** PostgreSQL's limit on a notification's payload is 8000 bytes; past this, "everything". */
const MAX_DUE_PAYLOAD = 7000;

/** See the SQLite adapter (store.ts): how long a delivery whose attempt went wrong is held. */
const HOLD_UNRECORDED_MS = 60_000;
const HOLD_TAKING_MS = 5_000;
const RETENTION_BATCH = 1000;
const RETENTION_BATCHES_PER_RUN = 20;

/** A unique index refused a row: another transaction wrote the same idempotency key first. */
function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && "errno" in error && error.errno === "23505";
}

/** Thrown inside a recording transaction to roll it back: the lease is no longer ours. */
class LeaseLost extends Error {}

function statusOf(decision: AttemptRecord["decision"]): number {
  if (decision.kind === "sent") return ProcessStatus.Sent;
  return decision.kind === "retry" ? ProcessStatus.Waiting : ProcessStatus.Error;
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
}

export class PostgresDeliveryStore implements DeliveryStore {
  /** The deliveries this node has in flight, with the lease each was taken with. */
  private readonly leases = new Map<string, Lease>();
  private readonly enabled = new WebhookDerived<string, readonly Candidate[]>();
  private readonly dispatchable = new WebhookDerived<"all", readonly DispatchableWebhook[]>();
  /** Until when nothing is taken, after an outcome could not be stored. */
  private takingHeldUntil = 0;

  constructor(
    readonly db: Executor,
    private readonly options: PostgresStoreOptions,
    /** Told, inside the transaction, when a delivery ends in Error (the mail outbox). */
    private readonly onDeliveryFailed?: FailureHook,
  ) {}

  /** Runs `work` with a tally of its own, written in the same transaction once it is done. */
  private async tallied<T>(trx: Executor, work: (tally: Tally) => T | Promise<T>): Promise<T> {
    const tally = new Tally();
    const result = await work(tally);
    await writeTally(trx, tally);
    return result;
  }

  /** Tells every node, at commit, that these webhooks have new Waiting deliveries. */
  private async announceDue(trx: Executor, rows: readonly NewDelivery[]): Promise<void> {
    const ids = [
      ...new Set(
        rows
          .filter((row) => (row.process_status ?? ProcessStatus.Waiting) === ProcessStatus.Waiting)
          .map((row) => row.webhook_id),
      ),
    ];
    if (ids.length === 0) return;
    const payload = ids.join(",");
    await sql`select pg_notify(${DUE_CHANNEL}, ${payload.length > MAX_DUE_PAYLOAD ? "" : payload})`.execute(
      trx,
    );
  }

  // — Events —

  async acceptEvent(
    workspace: string,
    idempotencyKey: string | undefined,
    build: EventBuilder,
  ): Promise<Acceptance> {
    const write = () =>
      this.db.transaction().execute(async (trx): Promise<Acceptance> => {
        if (idempotencyKey !== undefined) {
          const before = await findAcceptedEvent(trx, workspace, idempotencyKey);
          if (before) return { accepted: before, duplicate: true };
        }
        const webhooks = await this.enabledOf(trx, workspace);
        const now = Date.now();
        const eventId = newId("evt", now);
        const { event, deliveries } = build(eventId, now, webhooks);
        await this.enqueueIn(trx, deliveries, event);
        return {
          accepted: {
            eventId,
            deliveries: deliveries.map((row) => ({
              webhookId: row.webhook_id,
              deliveryId: row.id,
            })),
          },
          duplicate: false,
        };
      });
    try {
      return await write();
    } catch (error) {
      // The same key accepted by another connection meanwhile: its answer is this one's.
      if (idempotencyKey !== undefined && isUniqueViolation(error)) return write();
      throw error;
    }
  }

  /** The workspace's enabled webhooks as the transaction sees them, kept until one changes. */
  private async enabledOf(trx: Executor, workspace: string): Promise<readonly Candidate[]> {
    const generation = (await workspaceGenerationQuery(trx, workspace).executeTakeFirst())?.value;
    return (
      this.enabled.kept(workspace, generation) ??
      this.enabled.keep(
        workspace,
        generation,
        candidatesOf(await enabledWebhooksQuery(trx, workspace).execute()),
      )
    );
  }

  private async enqueueIn(
    trx: Executor,
    rows: readonly NewDelivery[],
    event?: NewEvent,
  ): Promise<void> {
    if (event) await trx.insertInto("events").values(event).execute();
    await this.tallied(trx, (tally) => enqueueDeliveries(trx, tally, rows, this.onDeliveryFailed));
    await this.announceDue(trx, rows);
  }

  enqueue(trx: Executor, rows: readonly NewDelivery[], event?: NewEvent): Promise<void> {
    return this.enqueueIn(trx, rows, event);
  }

  eventContents(db: Executor, ids: readonly string[]): Promise<EventContentOf> {
    return readEventContents(db, ids);
  }

  // — The queue —

  async dispatchableWebhooks(): Promise<readonly DispatchableWebhook[]> {
    const generation = (await allWebhooksGenerationQuery(this.db).executeTakeFirst())?.value;
    return (
      this.dispatchable.kept("all", generation) ??
      this.dispatchable.keep("all", generation, await dispatchableWebhooksQuery(this.db).execute())
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
      const until = now + want.webhook.timeout_seconds * 1000 + this.options.leaseMarginMs;
      const owner = this.options.nodeId;
      const { taken: leased, limited } = await takeLeased(this.db, want, room, {
        owner,
        now,
        until,
      });
      for (const delivery of leased) {
        this.leases.set(delivery.id, { owner, until });
        taken.deliveries.push([want.webhook, delivery]);
      }
      left -= leased.length;
      if (leased.length < room && !limited) {
        // Nothing more is due: when something will be (a retry's time, or a lease's end).
        const next = await nextDueAfter(this.db, want.webhook.id, now);
        taken.nextDueAt.set(want.webhook.id, next ?? Number.POSITIVE_INFINITY);
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
            .set({
              process_status: ProcessStatus.Error,
              last_error: WEBHOOK_GONE,
              response_message: WEBHOOK_GONE,
              updated_at: now,
              lease_owner: null,
              lease_until: null,
            })
            .where("id", "=", delivery.id)
            .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
            .where("lease_owner", "=", lease.owner)
            .where("lease_until", "=", lease.until)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom("webhooks").select("id").whereRef("id", "=", "webhook_id"))),
            )
            .returning(["webhook_id", "attempts", "max_attempts"])
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
          .set({
            process_status: ProcessStatus.Error,
            last_error: WEBHOOK_GONE,
            response_message: WEBHOOK_GONE,
            updated_at: now,
            lease_owner: null,
            lease_until: null,
          })
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
          .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]))
          .returning(["webhook_id", "attempts", "max_attempts"])
          .execute();
        tally.waitingFailed(failed);
        return failed.length;
      }),
    );
  }

  async failWaitingOfWebhook(trx: Executor, webhookId: string, now: number): Promise<number> {
    const spared = (await leasedOf(trx, webhookId, now)).map((row) => row.id);
    return this.tallied(trx, (tally) =>
      failWaitingOfWebhook(trx, tally, { webhookId, now, spared }),
    );
  }

  get inFlightCount(): number {
    return this.leases.size;
  }

  // — Outcomes —

  async recordAttempt(record: AttemptRecord): Promise<Recorded | null> {
    const lease = this.leaseOf(record.delivery);
    let recorded: Recorded | null;
    try {
      recorded = await this.db
        .transaction()
        .execute((trx) =>
          this.tallied(trx, (tally) => this.writeAttempt(trx, tally, record, lease)),
        );
    } catch (error) {
      if (error instanceof LeaseLost) {
        this.leases.delete(record.delivery.id);
        return null;
      }
      // Nothing more is taken for a while, and this delivery not for longer (see store.ts).
      this.takingHeldUntil = Date.now() + HOLD_TAKING_MS;
      await this.hold(record.delivery).catch(() => undefined);
      throw error;
    }
    this.leases.delete(record.delivery.id);
    return recorded;
  }

  private async writeAttempt(
    trx: Executor,
    tally: Tally,
    record: AttemptRecord,
    lease: Lease,
  ): Promise<Recorded> {
    const { delivery, now } = record;
    let { decision } = record;
    let error = record.error;
    const failCount = await updateWebhookHealth(trx, delivery.webhook_id, {
      success: decision.kind === "sent",
      disable: decision.kind === "failed" && decision.reason === "gone",
      now,
    });
    if (failCount === null && decision.kind === "retry") {
      // The webhook was deleted during the attempt: nothing will ever take a retry.
      error = `${record.error}; webhook deleted, no further attempts`;
      decision = { kind: "failed", reason: "exhausted" };
    }
    const number = delivery.attempts + 1;
    const processStatus = statusOf(decision);
    const updated = await updateDeliveryOutcome(
      trx,
      {
        id: delivery.id,
        processStatus,
        attempts: number,
        nextAttemptAt: decision.kind === "retry" ? decision.nextAttemptAt : now,
        statusCode: record.statusCode,
        responseMessage: record.responseMessage,
        lastError: error,
        durationMs: record.durationMs,
        signature: record.signature,
        now,
      },
      lease,
    );
    if (!updated) throw new LeaseLost();
    const counted = { webhookId: delivery.webhook_id, maxAttempts: delivery.max_attempts };
    tally.change(
      { ...counted, processStatus: ProcessStatus.Waiting, attempts: delivery.attempts },
      { ...counted, processStatus, attempts: number },
    );
    await trx
      .insertInto("attempts")
      .values({
        id: newId("att", now),
        delivery_id: delivery.id,
        number,
        started_at: record.startedAt,
        duration_ms: record.durationMs,
        status_code: record.statusCode,
        error: record.error,
        response_body: record.responseBody,
        request_headers: record.requestHeaders,
      })
      .execute();
    if (decision.kind === "failed" && this.onDeliveryFailed) {
      await this.onDeliveryFailed(trx, {
        workspace: delivery.workspace,
        webhookId: delivery.webhook_id,
        deliveryId: delivery.id,
        deliveryCreatedAt: delivery.created_at,
        reason: decision.reason,
        attempts: number,
        statusCode: record.statusCode,
        error,
        at: now,
      });
    }
    return { decision, error, failCount };
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
      .where("lease_until", ">", now)
      .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
      .executeTakeFirstOrThrow();
    const oldest = await this.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.min<number | null>("created_at").as("createdAt"))
      .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]))
      .executeTakeFirstOrThrow();
    return {
      waiting: Math.max(0, (counted.waiting ?? 0) - processing.count),
      oldestWaitingCreatedAt: oldest.createdAt,
      processing: processing.count,
    };
  }

  // — Retention —

  async applyRetention(cutoff: number, stopping: () => boolean): Promise<Removed> {
    const deliveries = await this.inBatches(stopping, (trx) =>
      this.tallied(trx, (tally) => deleteFinishedBefore(trx, tally, cutoff, RETENTION_BATCH)),
    );
    const events = await this.inBatches(stopping, (trx) =>
      deleteOrphanEventsBefore(trx, cutoff, RETENTION_BATCH),
    );
    const notices = await this.inBatches(stopping, (trx) =>
      deleteMailedNoticesBefore(trx, cutoff, RETENTION_BATCH),
    );
    return { deliveries, events, notices };
  }

  private async inBatches(
    stopping: () => boolean,
    deleteBatch: (trx: Executor) => Promise<number>,
  ): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < RETENTION_BATCHES_PER_RUN && !stopping(); batch++) {
      const removed = await this.db.transaction().execute(deleteBatch);
      total += removed;
      if (removed < RETENTION_BATCH) break;
    }
    return total;
  }
}
