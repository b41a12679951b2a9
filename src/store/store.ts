/**
 * The delivery store's SQLite adapter (the interface and its contract: delivery-store.ts). One
 * server owns the file (db/server-lock.ts), so taking work writes nothing — what is in flight is
 * kept in memory (in-flight.ts) — and the totals are kept by the store, not by triggers
 * (counts.ts). The common writes join the group-committed batch (group-commit.ts) and run as
 * prepared statements; the rarer ones run in Kysely transactions on the same connection.
 *
 * A column of these tables is added in a migration, `db/database.ts` (its type) and here.
 */

import type { SQLQueryBindings } from "bun:sqlite";
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import {
  allWebhooksGeneration,
  type GenerationOf,
  WebhookDerived,
} from "../db/webhook-generation.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { EnabledWebhooks } from "../events/enabled-webhooks.ts";
import { newId } from "../ids.ts";
import { Tally } from "./counts.ts";
import {
  enqueueDeliveries,
  insertEventNow,
  type NewDelivery,
  type NewEvent,
  reportBornFailed,
} from "./deliveries.ts";
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
} from "./delivery-store.ts";
import {
  acceptedOf,
  type EventContentOf,
  findAcceptedEventNow,
  readEventContents,
} from "./events.ts";
import type { GroupCommit } from "./group-commit.ts";
import { InFlight } from "./in-flight.ts";
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
} from "./log.ts";
import {
  attemptFailureOf,
  insertAttemptNow,
  type Outcome,
  outcomeOf,
  tallyOutcome,
  updateDeliveryOutcomeNow,
  updateWebhookHealthNow,
} from "./outcomes.ts";
import {
  type DispatchableWebhook,
  type DueDelivery,
  dispatchableWebhooksQuery,
  dueDeliveryNow,
  dueRowsNow,
  failIfWebhookGoneNow,
  failWaitingOfDeletedWebhooksNow,
  failWaitingOfWebhook,
  nextDueAfterNow,
  orderedHeadNow,
} from "./queue.ts";
import { StartWindows } from "./rate-limit.ts";
import { applyRetentionIn } from "./retention.ts";
import {
  type AttemptSample,
  AttemptTally,
  attemptSamplesQuery,
  deliveryStatsQuery,
  deliveryStatsRows,
  partsOf,
  type StatsRange,
  type WebhookStatsRows,
} from "./stats.ts";

/** Thrown inside a recording transaction to roll it back: the row is no longer Waiting. */
class NoLongerWaiting extends Error {}

/**
 * How much of a stats range one read batch covers: a day (a 1h or 24h window in one batch, a
 * month in 31), so that a long window does not hold the server up for all of its rows at once.
 */
const STATS_READ_SPAN_MS = 86_400_000;

/** Thrown by the fast recording path: the webhook is gone, the failure path must run. */
class WebhookGone extends Error {}

export class SqliteDeliveryStore implements DeliveryStore {
  /** The deliveries being attempted now: Waiting in their rows, Processing to readers. */
  private readonly inFlight = new InFlight();
  /** The starts of rate-limited webhooks' attempts within their window. */
  private readonly starts = new StartWindows();
  /** Until when nothing is taken, after an outcome could not be stored. */
  private takingHeldUntil = 0;
  /** The enabled webhooks of each workspace, for ingestion. */
  private readonly enabled: EnabledWebhooks;
  /** The enabled webhooks with what sending needs, for the scheduler. */
  private readonly dispatchable = new WebhookDerived<"all", readonly DispatchableWebhook[]>();
  private readonly allGeneration: GenerationOf<"all">;

  constructor(
    readonly db: Executor,
    private readonly statements: GroupCommit,
    /** Told, inside the transaction, when a delivery ends in Error (the mail outbox). */
    private readonly onDeliveryFailed?: FailureHook,
  ) {
    this.enabled = new EnabledWebhooks(db, statements);
    this.allGeneration = allWebhooksGeneration(db, statements);
  }

  /**
   * Runs `work` in the caller's Kysely transaction with a tally of its own, written (with the
   * transaction's prepared statements) once the work is done, so the totals commit or roll back
   * with it. The group-committed batches use the batch's tally instead.
   */
  private async tallied<T>(work: (tally: Tally) => T | Promise<T>): Promise<T> {
    const tally = new Tally();
    const result = await work(tally);
    tally.write(this.statements);
    return result;
  }

  // — Events —

  /**
   * Writes an event and its deliveries in one transaction, or finds the event sent before under
   * the same idempotency key. The common case joins the group-committed batch; an event with a
   * delivery born in Error runs again in a Kysely transaction, where the failure hook writes.
   */
  async acceptEvent(
    workspace: string,
    idempotencyKey: string | undefined,
    build: EventBuilder,
  ): Promise<Acceptance> {
    const write = (tally: Tally, failuresAllowed: boolean) => {
      if (idempotencyKey !== undefined) {
        const before = findAcceptedEventNow(this.db, this.statements, workspace, idempotencyKey);
        if (before) return { accepted: before, duplicate: true, failed: [] };
      }
      const now = Date.now();
      const eventId = newId("evt", now);
      const { event, deliveries } = build(eventId, now, this.enabled.of(workspace));
      const failed = deliveries.filter((row) => row.process_status === ProcessStatus.Error);
      if (failed.length > 0 && !failuresAllowed) return null;
      insertEventNow(this.statements, tally, event, deliveries);
      return { accepted: acceptedOf(eventId, deliveries), duplicate: false, failed };
    };
    const fast = await this.statements.exclusive(() => write(this.statements.tally, false));
    const written =
      fast ??
      (await this.db.transaction().execute((trx) =>
        // Prepared statements on the same connection run inside this open transaction.
        this.tallied(async (tally) => {
          const result = write(tally, true);
          if (!result) throw new Error("an event with failed deliveries was refused twice");
          await reportBornFailed(trx, result.failed, this.onDeliveryFailed);
          return result;
        }),
      ));
    return { accepted: written.accepted, duplicate: written.duplicate };
  }

  /**
   * New deliveries (a retry, a replay, a sample, with the sample's event) in the caller's
   * transaction; a delivery born in Error is reported to the failure hook there.
   */
  async enqueue(trx: Executor, rows: readonly NewDelivery[], event?: NewEvent): Promise<void> {
    if (event) await trx.insertInto("events").values(event).execute();
    await this.tallied((tally) => enqueueDeliveries(trx, tally, rows, this.onDeliveryFailed));
  }

  /** The content of events `ids`, read in one query (see events.ts). */
  eventContents(db: Executor, ids: readonly string[]): Promise<EventContentOf> {
    return readEventContents(db, ids);
  }

  // — The queue —

  dispatchableWebhooks(): Promise<readonly DispatchableWebhook[]> {
    return this.statements.read(() =>
      this.dispatchable.at("all", this.allGeneration("all"), () =>
        this.statements.rows(dispatchableWebhooksQuery(this.db).compile()),
      ),
    );
  }

  /**
   * Takes due work in one synchronous unit, read in the batch with whatever else is queued
   * (nothing is written: the deliveries taken are marked in flight in memory). Nothing is taken
   * for a while after an outcome could not be stored (see recordAttempt).
   */
  take(now: number, wants: readonly Want[], free: number): Promise<Taken> {
    if (now < this.takingHeldUntil)
      return Promise.resolve({ deliveries: [], nextDueAt: new Map() });
    let marked: string[] = [];
    const unmark = () => {
      for (const id of marked) this.inFlight.remove(id);
      marked = [];
    };
    return this.statements
      .read(() => {
        // A batch may run its work a second time (GroupCommit.flush): what the first run
        // marked is forgotten first, so the second starts from what the database says.
        unmark();
        const taken: Taken = { deliveries: [], nextDueAt: new Map() };
        let left = free;
        for (const want of wants) {
          if (left <= 0) break;
          const webhookId = want.webhook.id;
          const allowed = this.controlled(want.webhook, now, Math.min(want.room, left), Date.now());
          if (allowed.nextAt !== null) taken.nextDueAt.set(webhookId, allowed.nextAt);
          const room = allowed.room;
          if (room <= 0) continue;
          const claimed =
            allowed.head === undefined
              ? this.takeDueNow(webhookId, now, room)
              : this.takeHeadNow(webhookId, allowed.head);
          for (const delivery of claimed) {
            marked.push(delivery.id);
            taken.deliveries.push([want.webhook, delivery]);
          }
          left -= claimed.length;
          if (claimed.length < room && !taken.nextDueAt.has(webhookId)) {
            taken.nextDueAt.set(
              webhookId,
              nextDueAfterNow(this.statements, webhookId, now) ?? Number.POSITIVE_INFINITY,
            );
          }
        }
        return taken;
      })
      .then((taken) => {
        // Starts count once the batch has run for good (it may run its work twice), at the
        // time they are handed to the dispatcher: a start reckoned earlier than it happens
        // would leave the window early.
        const startedAt = Date.now();
        for (const [webhook] of taken.deliveries) {
          if (webhook.rate_limit_per_second !== null) this.starts.record(webhook.id, startedAt, 1);
        }
        return taken;
      })
      .catch((error: unknown) => {
        // Nothing was taken after all.
        unmark();
        throw error;
      });
  }

  /**
   * How many of the webhook's deliveries its controls let this take have, of `room`, and when
   * they hold it back, until when: its rate limit's starts, and for an ordered webhook one at a
   * time, none while the oldest Waiting one is in flight (taken, or held after a failure) — the
   * slot it frees comes back once its outcome is recorded — or not due yet. For an ordered
   * webhook with room, `head` is the row to take (null: nothing waits).
   */
  private controlled(
    webhook: DispatchableWebhook,
    now: number,
    room: number,
    clock: number,
  ): { room: number; nextAt: number | null; head?: number | null } {
    let allowed = room;
    if (webhook.rate_limit_per_second !== null && allowed > 0) {
      // The window is reckoned at the clock's time, not the tick's: the tick may be older.
      const rate = this.starts.allowance(webhook.id, webhook.rate_limit_per_second, clock);
      if (rate.nextAt !== null) return rate;
      allowed = Math.min(allowed, rate.room);
    }
    if (webhook.ordered !== 1 || allowed <= 0) return { room: allowed, nextAt: null };
    if (this.inFlight.countOf(webhook.id) > 0) return { room: 0, nextAt: null };
    const head = orderedHeadNow(this.statements, webhook.id);
    if (head !== null && head.next_attempt_at > now) {
      return { room: 0, nextAt: head.next_attempt_at };
    }
    return { room: 1, nextAt: null, head: head?.row ?? null };
  }

  /**
   * An ordered webhook's head of the line, due (checked by `controlled`), marked in flight;
   * none when nothing waits (`row` null).
   */
  private takeHeadNow(webhookId: string, row: number | null): DueDelivery[] {
    if (row === null) return [];
    const delivery = dueDeliveryNow(this.statements, row);
    if (!delivery) return [];
    this.inFlight.add(delivery.id, { webhookId, row: delivery.row, attempts: delivery.attempts });
    return [delivery];
  }

  /**
   * Takes up to `limit` of the webhook's due deliveries that are not in flight, oldest due
   * first, and marks them in flight (synchronous, inside a batch; nothing is written).
   */
  private takeDueNow(webhookId: string, now: number, limit: number): DueDelivery[] {
    const flying = this.inFlight.countOf(webhookId);
    // Each with its SQLite row id, which `deliveries_due` holds (see dueRowsNow).
    const taken: (DueDelivery & { row: number })[] = [];
    for (const row of dueRowsNow(this.statements, webhookId, now, limit + flying)) {
      if (taken.length === limit) break;
      if (this.inFlight.hasRow(row)) continue;
      const delivery = dueDeliveryNow(this.statements, row);
      if (delivery) taken.push(delivery);
    }
    // Marked only once every read succeeded: a read that throws leaves nothing marked.
    for (const delivery of taken) {
      this.inFlight.add(delivery.id, { webhookId, row: delivery.row, attempts: delivery.attempts });
    }
    return taken;
  }

  /**
   * A taken delivery goes back to the queue unattempted (shutdown aborted it) — or ends in
   * Error if its webhook was deleted while it was in flight.
   */
  release(delivery: DueDelivery): Promise<void> {
    return this.statements
      .exclusive(() => {
        failIfWebhookGoneNow(this.statements, this.statements.tally, delivery.id, Date.now());
        // In the same unit as the check, so a deletion never sees it neither in flight nor
        // failed.
        this.inFlight.remove(delivery.id);
      })
      .catch((error: unknown) => {
        // The check could not run (the file unwritable): let it go all the same; a deleted
        // webhook's leftovers are failed at the next start (sweepDeletedWebhooks).
        this.inFlight.remove(delivery.id);
        throw error;
      });
  }

  /**
   * At start: the Waiting deliveries of webhooks deleted meanwhile end in Error
   * (`WEBHOOK_GONE`) — those that were in flight when a deletion spared them, and the process
   * died before recording their outcome. Only webhooks with a Waiting total are looked at.
   */
  sweepDeletedWebhooks(now: number): Promise<number> {
    return this.statements.exclusive(() =>
      failWaitingOfDeletedWebhooksNow(this.statements, this.statements.tally, now),
    );
  }

  /**
   * Keeps a taken delivery in flight for {@link HOLD_UNRECORDED_MS}, then releases it: its
   * attempt went wrong in a way that may well repeat (its outcome could not be stored, or the
   * attempt itself threw), and taking it again at once would repeat it in a loop.
   */
  hold(delivery: DueDelivery): Promise<void> {
    const held = setTimeout(() => {
      this.release(delivery).catch(() => undefined);
    }, HOLD_UNRECORDED_MS);
    held.unref();
    return Promise.resolve();
  }

  /** Deliveries in flight, overall. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * A deleted webhook's Waiting deliveries end in Error (`WEBHOOK_GONE`), in the caller's
   * transaction; those in flight record their own outcome.
   */
  failWaitingOfWebhook(trx: Executor, webhookId: string, now: number): Promise<number> {
    const spared = this.inFlight.idsOf(webhookId);
    return this.tallied((tally) => failWaitingOfWebhook(trx, tally, { webhookId, now, spared }));
  }

  // — Outcomes —

  /**
   * Records an attempt: the delivery's new state, the attempt row, the webhook's health, and
   * for a failure the failure hook's notice, all in one transaction. Sent and retry outcomes join
   * the group-committed batch; a failure (or a retry whose webhook is gone, which becomes one)
   * runs in a Kysely transaction so the hook can write. Resolves null when the row was no longer
   * Waiting (nothing recorded). The delivery leaves the in-flight set once this settles; when
   * storing failed it stays there a while, so it is not resent at once.
   */
  async recordAttempt(record: AttemptRecord): Promise<Recorded | null> {
    let recorded: Recorded | "failure" | null = "failure";
    const notWaiting = (failure: unknown) => {
      if (failure instanceof NoLongerWaiting) return null;
      throw failure;
    };
    try {
      if (record.decision.kind !== "failed") {
        recorded = await this.statements
          .exclusive(() => this.writeAttempt(record, this.statements.tally, false).recorded)
          .catch((failure: unknown) =>
            failure instanceof WebhookGone ? "failure" : notWaiting(failure),
          );
      }
      if (recorded === "failure") {
        recorded = await this.db
          .transaction()
          .execute((trx) =>
            // Prepared statements on the same connection run inside this open transaction.
            this.tallied(async (tally) => {
              const outcome = this.writeAttempt(record, tally, true);
              const { decision } = outcome.recorded;
              if (decision.kind === "failed" && this.onDeliveryFailed) {
                await this.onDeliveryFailed(
                  trx,
                  attemptFailureOf(record, outcome, decision.reason),
                );
              }
              return outcome.recorded;
            }),
          )
          .catch(notWaiting);
      }
    } catch (error) {
      // Still Waiting in its row. Nothing more is taken for a while (the disk may be full: every
      // attempt would be sent and not stored), and this delivery not for longer, so it is not
      // resent in a loop; then it goes back as if released.
      this.takingHeldUntil = Date.now() + HOLD_TAKING_MS;
      await this.hold(record.delivery);
      throw error;
    }
    this.inFlight.remove(record.delivery.id);
    return recorded;
  }

  /**
   * The attempt's writes (synchronous; the caller holds the transaction): the webhook's health,
   * the delivery's new state — only over the Waiting row it was taken from, else
   * {@link NoLongerWaiting} — and the attempt row. A retry whose webhook was deleted meanwhile
   * becomes a failure; when `failuresAllowed` is false that throws {@link WebhookGone} instead,
   * so the caller can run it again where the failure hook can write.
   */
  private writeAttempt(record: AttemptRecord, tally: Tally, failuresAllowed: boolean): Outcome {
    const { delivery, decision, now } = record;
    const failCount = updateWebhookHealthNow(this.statements, delivery.webhook_id, {
      success: decision.kind === "sent",
      disable: decision.kind === "failed" && decision.reason === "gone",
      now,
    });
    if (failCount === null && decision.kind === "retry" && !failuresAllowed) {
      throw new WebhookGone();
    }
    const outcome = outcomeOf(record, failCount);
    // Someone else changed the row meanwhile: this outcome must not overwrite theirs (the
    // rollback undoes the health too).
    if (!updateDeliveryOutcomeNow(this.statements, outcome.row)) throw new NoLongerWaiting();
    tallyOutcome(tally, delivery, outcome.row);
    insertAttemptNow(this.statements, outcome.attempt);
    return outcome;
  }

  // — The log —

  private inFlightOf(webhookId: string): InFlightOf {
    return {
      ids: this.inFlight.idsOf(webhookId),
      firstAttempts: this.inFlight.firstAttemptsOf(webhookId),
    };
  }

  /** A row as readers see it: a Waiting delivery in flight is Processing. */
  private seen<Row extends DeliveryRow | undefined>(row: Row): Row {
    if (row?.process_status === ProcessStatus.Waiting && this.inFlight.has(row.id)) {
      return { ...row, process_status: ProcessStatus.Processing };
    }
    return row;
  }

  /** How many of the webhook's deliveries match `filter` (the caller checked the workspace). */
  countLog(db: Executor, webhookId: string, filter: DeliveryLogFilter): Promise<number> {
    return countDeliveryLog(db, webhookId, filter, this.inFlightOf(webhookId));
  }

  /** A page of the webhook's log, newest first (see log.ts). */
  async listLog(
    db: Executor,
    webhookId: string,
    filter: DeliveryLogFilter,
    page: { limit: number; offset?: number; after?: LogPosition },
  ): Promise<DeliveryRow[]> {
    const rows = await listDeliveryLog(db, webhookId, filter, this.inFlightOf(webhookId), page);
    return rows.map((row) => this.seen(row));
  }

  /** Whether the webhook has any delivery in the workspace (its log outlives it). */
  hasLog(db: Executor, workspace: string, webhookId: string): Promise<boolean> {
    return hasDeliveryLog(db, workspace, webhookId);
  }

  async findDelivery(db: Executor, id: string): Promise<DeliveryRow | undefined> {
    return this.seen(await findDelivery(db, id));
  }

  async findDeliveryOfWebhook(
    db: Executor,
    workspace: string,
    webhookId: string,
    deliveryId: string,
  ): Promise<DeliveryRow | undefined> {
    return this.seen(await findDeliveryOfWebhook(db, workspace, webhookId, deliveryId));
  }

  attemptsOf(db: Executor, deliveryId: string): Promise<AttemptRow[]> {
    return listAttemptsOfDelivery(db, deliveryId);
  }

  /** Per event with a delivery of the webhook in the window, its latest one (see log.ts). */
  async latestPerEvent(
    db: Executor,
    workspace: string,
    webhookId: string,
    window: { since: number; until: number },
    limit: number,
  ): Promise<DeliveryRow[]> {
    const rows = await listLatestDeliveryPerEvent(db, workspace, webhookId, window, limit);
    return rows.map((row) => this.seen(row));
  }

  /**
   * The webhook's stats rows for `range` (see stats.ts), a day at a time, each day in a
   * group-committed batch (so the event loop runs between days, and the reads share the
   * batch's transaction). The attempts are read one row at a time into a tally: SQLite would
   * sort every one of them to group them.
   */
  async stats(webhookId: string, range: StatsRange): Promise<WebhookStatsRows> {
    const rows: WebhookStatsRows = { deliveries: [], attempts: [] };
    for (const part of partsOf(range, STATS_READ_SPAN_MS)) {
      const counts = deliveryStatsQuery(webhookId, part).compile(this.db);
      const samples = attemptSamplesQuery(this.db, webhookId, part).compile();
      // Batch work may run twice (see GroupCommit): it builds its answer afresh each time.
      const read = await this.statements.read(() => {
        const tally = new AttemptTally();
        const sampled = this.statements
          .get(samples.sql)
          .iterate(...(samples.parameters as SQLQueryBindings[]));
        for (const sample of sampled as IterableIterator<AttemptSample>) tally.add(sample);
        return {
          deliveries: deliveryStatsRows(this.statements.rows(counts)),
          attempts: tally.rows(),
        };
      });
      rows.deliveries.push(...read.deliveries);
      rows.attempts.push(...read.attempts);
    }
    return rows;
  }

  /**
   * The queue's size from the kept totals, not by counting rows: a backlog of a million would
   * otherwise be a million index entries read on every scrape. The oldest Waiting delivery is
   * found per webhook that has any, each the first entry of its Waiting range of
   * `deliveries_log_by_status`.
   */
  async queueState(): Promise<QueueState> {
    const counted = await this.db
      .selectFrom("delivery_counts")
      .select((eb) => eb.fn.sum<number | null>("count").as("waiting"))
      .where("process_status", "=", sql.lit(ProcessStatus.Waiting))
      .executeTakeFirstOrThrow();
    const flying = this.inFlight.ids();
    const oldest = await this.db
      .selectFrom("delivery_counts as c")
      .select((eb) =>
        eb.fn
          .min<number | null>(
            eb
              .selectFrom("deliveries as d")
              .select((inner) => inner.fn.min<number>("d.created_at").as("first"))
              .whereRef("d.webhook_id", "=", "c.webhook_id")
              .where("d.process_status", "=", sql.lit(ProcessStatus.Waiting))
              .$if(flying.length > 0, (query) => query.where("d.id", "not in", flying)),
          )
          .as("createdAt"),
      )
      .where("c.process_status", "=", sql.lit(ProcessStatus.Waiting))
      .where("c.count", ">", sql.lit(0))
      .executeTakeFirstOrThrow();
    return {
      // Read apart from the ids in flight, the total may lag them by a batch: never below 0.
      waiting: Math.max(0, (counted.waiting ?? 0) - flying.length),
      oldestWaitingCreatedAt: oldest.createdAt,
      processing: flying.length,
    };
  }

  // — Retention —

  /**
   * Deletes what is older than `cutoff` — finished deliveries with their attempts, events no
   * delivery refers to any more, failure notices already mailed — in batches, each its own
   * transaction, so a large backlog is worked off over several runs without holding the
   * database for long. `stopping` ends the run between batches.
   */
  /** Nothing waits: every write is in a transaction of its own or the batch's. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  applyRetention(cutoff: number, stopping: () => boolean): Promise<Removed> {
    return applyRetentionIn(
      (work) => this.db.transaction().execute(work),
      (_trx, work) => this.tallied(work),
      cutoff,
      stopping,
    );
  }
}
