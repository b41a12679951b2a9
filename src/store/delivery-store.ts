/**
 * The delivery store's interface: the one place that reads or writes events, deliveries,
 * attempts, the queue and the log's totals (issue 14), as two adapters (issue 15):
 * - SQLite (`store.ts`): one server owns the file, so taking work writes nothing (the server
 *   keeps what is in flight in memory, `in-flight.ts`) and writes are group-committed;
 * - PostgreSQL (`postgres/store.ts`): any number of nodes share the database, so taking work
 *   writes a lease (`FOR UPDATE SKIP LOCKED`), and a dead node's leases run out.
 * Its methods speak the domain — accept an event with its deliveries, take due work, record an
 * attempt, read the log, apply retention — and hide how. Both keep the same rows: a delivery
 * stays Waiting until its outcome is recorded, and readers see the ones in flight as
 * Processing.
 *
 * Where each thing happens:
 * - an event is written by {@link DeliveryStore.acceptEvent};
 * - a delivery is taken by {@link DeliveryStore.take}, sent by the scheduler's dispatcher, and
 *   recorded by {@link DeliveryStore.recordAttempt};
 * - the log is read by the `count`/`list`/`find` methods (log.ts, shared by both), and its
 *   stats by {@link DeliveryStore.stats} (stats.ts, shared by both);
 * - old rows go in {@link DeliveryStore.applyRetention} (retention.ts, shared by both).
 */

import type { Executor } from "../db/database.ts";
import type { Decision } from "../deliveries/status.ts";
import type { Candidate } from "../events/enabled-webhooks.ts";
import type { NewDelivery, NewEvent } from "./deliveries.ts";
import type { AcceptedEvent, EventContentOf } from "./events.ts";
import type { AttemptRow, DeliveryLogFilter, DeliveryRow, LogPosition } from "./log.ts";
import type { DispatchableWebhook, DueDelivery } from "./queue.ts";
import type { StatsRange, WebhookStatsRows } from "./stats.ts";

/**
 * What an event is written as: built inside the transaction, once its id and time are known,
 * from the workspace's enabled webhooks as that transaction sees them.
 */
export type EventBuilder = (
  eventId: string,
  now: number,
  webhooks: readonly Candidate[],
) => { event: NewEvent; deliveries: NewDelivery[] };

export interface Acceptance {
  accepted: AcceptedEvent;
  /** True when the idempotency key was seen before and nothing new was written. */
  duplicate: boolean;
}

/** One attempt, as it is recorded. */
export interface AttemptRecord {
  delivery: DueDelivery;
  decision: Decision;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  /** What the delivery shows as the receiver's answer. */
  responseMessage: string | null;
  /** The request headers as recorded (credentials masked), as JSON. */
  requestHeaders: string;
  signature: string;
  now: number;
}

/** What recording an attempt stored. */
export interface Recorded {
  /** The decision as stored: a retry whose webhook was deleted meanwhile became a failure. */
  decision: Decision;
  error: string | null;
  /** The webhook's failed attempts in a row now; null when the webhook is gone. */
  failCount: number | null;
}

/**
 * How long a delivery whose attempt went wrong (its outcome could not be stored — the disk full,
 * say — or the attempt threw) stays in flight before it may be taken again: long enough not to
 * resend in a tight loop. Either adapter's `hold`.
 */
export const HOLD_UNRECORDED_MS = 60_000;
/** After an outcome could not be stored, how long nothing new is taken (either adapter). */
export const HOLD_TAKING_MS = 5_000;

/** The queue's size, for /metrics. */
export interface QueueState {
  waiting: number;
  /** `created_at` (ms) of the oldest Waiting delivery not in flight, or null when none waits. */
  oldestWaitingCreatedAt: number | null;
  /** Deliveries in flight (on PostgreSQL: on every node, as their leases say). */
  processing: number;
}

/** The totals retention removed in one run. */
export interface Removed {
  deliveries: number;
  events: number;
  notices: number;
}

/**
 * The window a webhook's `rateLimitPerSecond` is reckoned over, by either adapter: at most that
 * many attempts start (are taken) in any window this long. A second and 5 % more: a request
 * reaches its receiver a few ms after its start, by a delay that varies (more under load), and
 * the margin keeps that jitter from putting one more than the limit into a second at the
 * receiver's end.
 */
export const RATE_WINDOW_MS = 1050;

/**
 * How many of a webhook's due deliveries the scheduler would take now. Beyond the limits here,
 * the store applies the webhook's own controls, across the cluster on PostgreSQL: an `ordered`
 * webhook gives its oldest Waiting delivery or nothing (nothing while that one is not due or is
 * in flight), and `rate_limit_per_second` bounds the starts in any {@link RATE_WINDOW_MS}.
 */
export interface Want {
  webhook: DispatchableWebhook;
  /** At most this many, from this node's free slots for the webhook. */
  room: number;
  /** This node's attempts of the webhook in flight (slots taken, until the receiver answers). */
  busy: number;
  /**
   * The webhook's limit of attempts in flight, and the smaller one while it keeps failing
   * (`failingAfter` failed attempts in a row or more). On PostgreSQL these hold across the
   * cluster: the store counts every node's leases and reads the webhook's failures in a row.
   */
  limit: number;
  failingLimit: number;
  failingAfter: number;
}

/** What one {@link DeliveryStore.take} took. */
export interface Taken {
  deliveries: [DispatchableWebhook, DueDelivery][];
  /**
   * For each webhook that had room left over (nothing more due now), when its next delivery
   * falls due (+Infinity when none waits), or for one its rate limit or order holds back, when
   * that lets the next one go: the scheduler need not look before then, unless told of new work.
   */
  nextDueAt: Map<string, number>;
}

export interface DeliveryStore {
  /** The Kysely handle every query of the log and of the features runs on. */
  readonly db: Executor;

  // — Events —

  /**
   * Writes an event and its deliveries in one transaction, or finds the event sent before
   * under the same idempotency key; a delivery born in Error is reported to the failure hook
   * in that transaction.
   */
  acceptEvent(
    workspace: string,
    idempotencyKey: string | undefined,
    build: EventBuilder,
  ): Promise<Acceptance>;

  /**
   * New deliveries (a retry, a replay, a sample, with the sample's event) in the caller's
   * transaction; a delivery born in Error is reported to the failure hook there.
   */
  enqueue(trx: Executor, rows: readonly NewDelivery[], event?: NewEvent): Promise<void>;

  /** The content of events `ids`, read in one query (see events.ts). */
  eventContents(db: Executor, ids: readonly string[]): Promise<EventContentOf>;

  // — The queue —

  /** The enabled webhooks with what sending needs, read again only after a webhook changed. */
  dispatchableWebhooks(): Promise<readonly DispatchableWebhook[]>;

  /**
   * Takes due deliveries, oldest due first, webhook by webhook in the order given: for each at
   * most its room, and `free` in all. Each taken delivery must end in {@link recordAttempt},
   * {@link release} or {@link hold}.
   */
  take(now: number, wants: readonly Want[], free: number): Promise<Taken>;

  /**
   * A taken delivery goes back to the queue unattempted (shutdown aborted it) — or ends in
   * Error if its webhook was deleted while it was in flight.
   */
  release(delivery: DueDelivery): Promise<void>;

  /**
   * Keeps a taken delivery in flight for a minute, then releases it: its attempt went wrong in
   * a way that may well repeat (its outcome could not be stored, or the attempt threw).
   */
  hold(delivery: DueDelivery): Promise<void>;

  /**
   * The Waiting deliveries of webhooks deleted meanwhile that nobody has in flight end in
   * Error (`WEBHOOK_GONE`): those a deletion spared because they were in flight, whose
   * process then died before recording their outcome.
   */
  sweepDeletedWebhooks(now: number): Promise<number>;

  /**
   * A deleted webhook's Waiting deliveries end in Error (`WEBHOOK_GONE`), in the caller's
   * transaction; those in flight record their own outcome.
   */
  failWaitingOfWebhook(trx: Executor, webhookId: string, now: number): Promise<number>;

  /** This process's deliveries in flight. */
  readonly inFlightCount: number;

  // — Outcomes —

  /**
   * Records an attempt: the delivery's new state, the attempt row, the webhook's health, and
   * for a failure the failure hook's notice, in one transaction. Resolves null when the row
   * was no longer this attempt's to record (nothing recorded). When storing fails, the
   * delivery is held (see {@link hold}) and the error thrown.
   */
  recordAttempt(record: AttemptRecord): Promise<Recorded | null>;

  // — The log —

  /** How many of the webhook's deliveries match `filter` (the caller checked the workspace). */
  countLog(db: Executor, webhookId: string, filter: DeliveryLogFilter): Promise<number>;
  /** A page of the webhook's log, newest first (see log.ts). */
  listLog(
    db: Executor,
    webhookId: string,
    filter: DeliveryLogFilter,
    page: { limit: number; offset?: number; after?: LogPosition },
  ): Promise<DeliveryRow[]>;
  /** Whether the webhook has any delivery in the workspace (its log outlives it). */
  hasLog(db: Executor, workspace: string, webhookId: string): Promise<boolean>;
  findDelivery(db: Executor, id: string): Promise<DeliveryRow | undefined>;
  findDeliveryOfWebhook(
    db: Executor,
    workspace: string,
    webhookId: string,
    deliveryId: string,
  ): Promise<DeliveryRow | undefined>;
  attemptsOf(db: Executor, deliveryId: string): Promise<AttemptRow[]>;
  /** Per event with a delivery of the webhook in the window, its latest one (see log.ts). */
  latestPerEvent(
    db: Executor,
    workspace: string,
    webhookId: string,
    window: { since: number; until: number },
    limit: number,
  ): Promise<DeliveryRow[]>;

  /**
   * The webhook's deliveries created in `range` per interval and status, and its attempts
   * started in it per interval and duration bucket (see stats.ts; the caller checked the
   * workspace). Deliveries in flight count in their rows' status, Waiting. Read outside any
   * transaction: a long window need not hold back the writers, and SQLite's adapter reads it
   * an interval at a time, letting the event loop run between them.
   */
  stats(webhookId: string, range: StatsRange): Promise<WebhookStatsRows>;

  /** The queue's size from the kept totals, for /metrics. */
  queueState(): Promise<QueueState>;

  // — Retention —

  /**
   * Deletes what is older than `cutoff` — finished deliveries with their attempts, events no
   * delivery refers to any more, failure notices already mailed — in batches, each its own
   * transaction. `stopping` ends the run between batches.
   */
  applyRetention(cutoff: number, stopping: () => boolean): Promise<Removed>;

  /**
   * Writes what the store still holds to write on its own (on PostgreSQL, the latest successes'
   * `lastDeliveredAt`): at shutdown, once the scheduler has stopped, before the database closes.
   */
  flush(): Promise<void>;
}
