/**
 * The delivery scheduler (SPEC §6.2, §10). A timer ticks every `HOOKPOST_TICK_MS`, and
 * `wake()` runs a tick at once when work was enqueued or a slot freed up. A tick returns
 * expired leases to Waiting, then claims due deliveries webhook by webhook — at most
 * `HOOKPOST_CONCURRENCY` attempts in flight overall and a quarter of that per webhook, starting
 * from a different webhook each tick — so one slow or dead endpoint cannot hold back the rest.
 * A webhook whose last 3 attempts failed (any answer but 2xx, or none) gets an eighth of its
 * share, at least one, until one succeeds: endpoints that hang until their timeout take far
 * fewer slots (at the default 64, 2 each instead of 16).
 *
 * Delivery is at-least-once: a claim is a lease in the database, so whatever moment the process
 * dies, the delivery is Waiting again at the next start (or when the lease runs out).
 *
 * One attempt: sign → plugins' `beforeDelivery` hooks (then sign the final body) → send with
 * the receiver's authentication → record → decide → plugins' `afterDelivery` hooks.
 */

import type { Config } from "../config.ts";
import type { Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";
import type { StatementCache } from "../db/statement-cache.ts";
import { allWebhooksGeneration, WebhookDerived } from "../db/webhook-generation.ts";
import { messageIdOf } from "../deliveries/build.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { ReceiverAuthenticator, ReceiverCredentials } from "../outbound/receiver-auth.ts";
import { type AttemptResult, isSuccessStatus, noResponse } from "../outbound/sender.ts";
import { requestHeaders, signatureHeaders } from "../outbound/signing.ts";
import type { DeliveryContext, DeliveryResult } from "../plugin-host/api.ts";
import { type DeliveryHookChain, unsignedHeaders } from "../plugin-host/hooks.ts";
import { USER_AGENT } from "../version.ts";
import {
  type ClaimedDelivery,
  claimDueNow,
  type DispatchableWebhook,
  dispatchableWebhooks,
  insertAttemptNow,
  nextDueNow,
  releaseDeliveryNow,
  releaseExpiredLeasesNow,
  resetAllProcessingNow,
  updateDeliveryOutcomeNow,
  updateWebhookHealthNow,
} from "./fast-queries.ts";
import { type Decision, decideOutcome, maskHeaders } from "./outcome.ts";
import {
  deleteFinishedBefore,
  deleteMailedNoticesBefore,
  deleteOrphanEventsBefore,
} from "./repository.ts";

export type SchedulerConfig = Pick<
  Config,
  "tickMs" | "concurrency" | "retryBaseMs" | "retryMaxDelayMs" | "retentionDays"
>;

export interface SchedulerOptions {
  db: Executor;
  config: SchedulerConfig;
  log: Logger;
  /** Prepared statements for the per-tick and per-attempt hot paths. */
  statements: StatementCache;
  /** Sends with the webhook's receiver authentication, through the outbound guard. */
  authenticator: ReceiverAuthenticator;
  metrics: Metrics;
  onDeliveryFailed?: FailureHook;
  /**
   * Run on every timer tick, in order, not awaited: the failure mailer, the plugins' pollers.
   * Each should not throw; one that does is logged and the others still run.
   */
  timerTasks?: readonly (() => void)[];
  /** The plugins' `beforeDelivery` and `afterDelivery` hooks. */
  hooks?: DeliveryHookChain;
  /** How long shutdown waits for attempts in flight before aborting them (10 s). */
  shutdownGraceMs?: number;
}

/** A lease outlives the attempt's own timeout by this much. */
const LEASE_MARGIN_MS = 60_000;
const RETENTION_EVERY_MS = 60_000;
/** How often expired leases are looked for (they expire a minute after the timeout anyway). */
const LEASE_CHECK_EVERY_MS = 1_000;
const RETENTION_BATCH = 1000;
const RETENTION_BATCHES_PER_RUN = 20;
const DAY_MS = 86_400_000;
/** How often the scheduler forgets what it learnt about webhooks' next due times. */
const FULL_LOOK_EVERY_MS = 30_000;

/** Failed attempts in a row after which a webhook is held to the failing limit. */
const FAILING_AFTER = 3;

/** Thrown inside the recording transaction to roll it back when the lease was lost. */
class LeaseLost extends Error {}

/** Thrown by the fast recording path: the webhook is gone, the failure path must run. */
class WebhookGone extends Error {}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
}

/** The request of one attempt, ready to send, or why it cannot be sent. */
type PreparedRequest =
  | { kind: "ready"; body: string; headers: Record<string, string>; signature: string }
  | { kind: "failed"; error: string; headers: Record<string, string>; signature: string }
  | { kind: "aborted" };

export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly perWebhookLimit: number;
  /** The per-webhook limit of a failing webhook (see {@link FAILING_AFTER}). */
  private readonly failingLimit: number;
  /**
   * Each webhook's failCount (failed attempts in a row) as its last recorded attempt left it,
   * newer than the webhooks list's. Forgotten whenever the list is read again: a webhook
   * enabled again starts from its cleared count.
   */
  private readonly failuresInARow = new Map<string, number>();
  private readonly inFlightByWebhook = new Map<string, number>();
  /** Attempts in flight, by a key of their own (a delivery may be sent twice if a lease ran out). */
  private readonly running = new Map<number, InFlight>();
  private nextKey = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking: Promise<void> | null = null;
  private tickAgain = false;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private started = false;
  private rotation = 0;
  private lastRetentionAt = 0;
  /**
   * Per webhook, the earliest time it can have due work, learnt when a claim came up short;
   * absent means "look". New work clears the entry (`wake(webhookIds)`), so an idle tick costs
   * a map lookup per webhook instead of a query.
   */
  private readonly nextDueAt = new Map<string, number>();
  /** The enabled webhooks with what sending needs, read again only after a webhook changed. */
  private readonly dispatchable: WebhookDerived<"enabled", DispatchableWebhook[]>;
  private lastFullLookAt = 0;
  private lastLeaseCheckAt = 0;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.dispatchable = new WebhookDerived(allWebhooksGeneration(options.statements), () => {
      this.failuresInARow.clear();
      return dispatchableWebhooks(options.statements);
    });
    this.perWebhookLimit = Math.max(1, Math.floor(options.config.concurrency / 4));
    this.failingLimit = Math.max(1, Math.floor(this.perWebhookLimit / 8));
  }

  /** Attempts running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Returns leftovers of an earlier process to Waiting, then starts ticking. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const reset = await this.options.statements.exclusive(() =>
      resetAllProcessingNow(this.options.statements),
    );
    if (this.stopping) return;
    if (reset > 0) {
      this.options.log.warn("deliveries interrupted by the previous stop are waiting again", {
        count: reset,
      });
    }
    this.timer = setInterval(() => {
      this.kick();
      this.runTimerTasks();
    }, this.options.config.tickMs);
    this.kick();
  }

  private runTimerTasks(): void {
    for (const task of this.options.timerTasks ?? []) {
      try {
        task();
      } catch (error) {
        this.options.log.error("timer task failed", { error: String(error) });
      }
    }
  }

  /**
   * New Waiting deliveries were committed for these webhooks (for every webhook when no list
   * is given): look at them again, now.
   */
  wake(webhookIds?: readonly string[]): void {
    if (webhookIds) for (const id of webhookIds) this.nextDueAt.delete(id);
    else this.nextDueAt.clear();
    this.kick();
  }

  /** Runs a tick now (or right after the current one). */
  private kick(): void {
    if (!this.started || this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tickLoop().finally(() => {
      this.ticking = null;
    });
  }

  /**
   * Stops claiming, lets attempts in flight finish for up to the grace period, aborts the rest
   * and returns them to Waiting. The database stays open (the caller closes it).
   */
  stop(): Promise<void> {
    if (!this.stopped) this.stopped = this.drain();
    return this.stopped;
  }

  private async drain(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const pending = [...this.running.values()].map((flight) => flight.done);
    if (pending.length > 0) {
      const grace = this.options.shutdownGraceMs ?? 10_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, grace);
      });
      await Promise.race([Promise.all(pending), timedOut]);
      clearTimeout(timer);
      for (const flight of this.running.values()) flight.controller.abort();
      await Promise.all([...this.running.values()].map((flight) => flight.done));
    }
  }

  private async tickLoop(): Promise<void> {
    do {
      this.tickAgain = false;
      try {
        await this.tick();
      } catch (error) {
        this.options.log.error("scheduler tick failed", { error: String(error) });
      }
    } while (this.tickAgain && !this.stopping);
  }

  private async tick(): Promise<void> {
    const { statements } = this.options;
    const now = Date.now();
    // What the map knows is refreshed now and then, so nothing can be forgotten for long.
    if (now - this.lastFullLookAt >= FULL_LOOK_EVERY_MS) {
      this.lastFullLookAt = now;
      this.nextDueAt.clear();
    }
    if (now - this.lastRetentionAt >= RETENTION_EVERY_MS) {
      this.lastRetentionAt = now;
      await this.applyRetention(now);
    }
    // One synchronous unit, committed with whatever else is queued: expired leases back to
    // Waiting (at most once a second), then the claims, webhook by webhook.
    const checkLeases = now - this.lastLeaseCheckAt >= LEASE_CHECK_EVERY_MS;
    if (checkLeases) this.lastLeaseCheckAt = now;
    const undo: (() => void)[] = [];
    const putBack = () => {
      for (let step = undo.pop(); step; step = undo.pop()) step();
    };
    const { released, claims } = await statements
      .exclusive(() => {
        // A batch may run its work a second time (StatementCache.flush): what the first run
        // learnt in memory is undone first, so the second starts from what the database says.
        putBack();
        const released = checkLeases ? releaseExpiredLeasesNow(statements, now) : 0;
        // Forgetting what is known needs no undoing: it only makes the claims look again.
        if (released > 0) this.nextDueAt.clear();
        return { released, claims: this.claim(now, undo) };
      })
      .catch((error: unknown) => {
        // Nothing was claimed after all: what the run learnt in memory is undone too.
        putBack();
        throw error;
      });
    if (released > 0) this.options.log.warn("expired leases returned to Waiting", { released });
    for (const [webhook, delivery] of claims) this.dispatch(webhook, delivery);
  }

  /**
   * Claims due deliveries, round-robin over the webhooks, within the concurrency limits. What
   * it changes in the scheduler's memory it can undo: each change pushes its undoing onto `undo`.
   */
  private claim(now: number, undo: (() => void)[]): [DispatchableWebhook, ClaimedDelivery][] {
    const { config, statements } = this.options;
    const claims: [DispatchableWebhook, ClaimedDelivery][] = [];
    let free = config.concurrency - this.running.size;
    if (free <= 0) return claims;
    const webhooks = this.dispatchable.get("enabled");
    if (webhooks.length === 0) return claims;
    const rotation = this.rotation;
    undo.push(() => {
      this.rotation = rotation;
    });
    const start = rotation % webhooks.length;
    this.rotation = start + 1;
    for (let i = 0; i < webhooks.length && free > 0 && !this.stopping; i++) {
      const webhook = webhooks[(start + i) % webhooks.length];
      if (!webhook) continue;
      if ((this.nextDueAt.get(webhook.id) ?? 0) > now) continue;
      const busy = this.inFlightByWebhook.get(webhook.id) ?? 0;
      const room = Math.min(this.limitOf(webhook) - busy, free);
      if (room <= 0) continue;
      const leaseUntil = now + webhook.timeout_seconds * 1000 + LEASE_MARGIN_MS;
      const claimed = claimDueNow(statements, webhook.id, now, room, leaseUntil);
      for (const delivery of claimed) claims.push([webhook, delivery]);
      free -= claimed.length;
      if (claimed.length < room) {
        // Nothing more is due now: remember when something will be. (Work committed after
        // this calls wake(), which clears the entry again.)
        // Undone by forgetting: with no entry the webhook is simply looked at again.
        undo.push(() => this.nextDueAt.delete(webhook.id));
        this.nextDueAt.set(
          webhook.id,
          nextDueNow(statements, webhook.id) ?? Number.POSITIVE_INFINITY,
        );
      }
    }
    return claims;
  }

  /** How many attempts this webhook may have in flight: less while it keeps failing. */
  private limitOf(webhook: DispatchableWebhook): number {
    const failures = this.failuresInARow.get(webhook.id) ?? webhook.fail_count;
    return failures >= FAILING_AFTER ? this.failingLimit : this.perWebhookLimit;
  }

  private dispatch(webhook: DispatchableWebhook, delivery: ClaimedDelivery): void {
    const controller = new AbortController();
    const key = this.nextKey++;
    this.inFlightByWebhook.set(webhook.id, (this.inFlightByWebhook.get(webhook.id) ?? 0) + 1);
    const done = this.attempt(webhook, delivery, controller.signal)
      .catch((error: unknown) => {
        // The lease brings the delivery back if recording failed; say why.
        this.options.log.error("delivery attempt could not be recorded", {
          deliveryId: delivery.id,
          error: String(error),
        });
      })
      .finally(() => {
        this.running.delete(key);
        const left = (this.inFlightByWebhook.get(webhook.id) ?? 1) - 1;
        if (left > 0) this.inFlightByWebhook.set(webhook.id, left);
        else this.inFlightByWebhook.delete(webhook.id);
        this.kick();
      });
    this.running.set(key, { controller, done });
  }

  private async attempt(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    signal: AbortSignal,
  ): Promise<void> {
    const startedAt = Date.now();
    const context: DeliveryContext = {
      deliveryId: delivery.id,
      webhookId: webhook.id,
      workspace: delivery.workspace,
      attempt: delivery.attempts + 1,
      maxAttempts: delivery.max_attempts,
    };
    const prepared = await this.prepare(webhook, delivery, startedAt, context, signal);
    if (prepared.kind === "aborted") {
      await this.options.statements.exclusive(() =>
        releaseDeliveryNow(this.options.statements, delivery.id),
      );
      return;
    }
    let sent: { result: AttemptResult; headers: Record<string, string> };
    if (prepared.kind === "failed") {
      sent = {
        result: noResponse(prepared.error, Date.now() - startedAt),
        headers: prepared.headers,
      };
    } else {
      // Adds the receiver's Authorization (fetching an OAuth2 token first when needed).
      sent = await this.options.authenticator.send(
        webhook.id,
        readJsonColumn<ReceiverCredentials>(webhook.auth),
        {
          endpoint: webhook.endpoint,
          body: prepared.body,
          headers: prepared.headers,
          timeoutMs: webhook.timeout_seconds * 1000,
          signal,
        },
      );
    }
    const { result, headers } = sent;
    if (result.aborted) {
      await this.options.statements.exclusive(() =>
        releaseDeliveryNow(this.options.statements, delivery.id),
      );
      return;
    }
    const { decision, error } = await this.record(webhook, delivery, {
      result,
      startedAt,
      headers,
      signature: prepared.signature,
    });
    const outcome: DeliveryResult = {
      statusCode: result.statusCode,
      error,
      durationMs: result.durationMs,
      outcome: decision.kind,
      nextAttemptAt: decision.kind === "retry" ? new Date(decision.nextAttemptAt) : null,
    };
    this.options.hooks?.afterDelivery(outcome, context);
  }

  /**
   * The signed request. With `beforeDelivery` hooks, they get the unsigned request first and
   * the signatures are computed over the body they leave (with the same timestamp).
   */
  private async prepare(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    startedAt: number,
    context: DeliveryContext,
    signal: AbortSignal,
  ): Promise<PreparedRequest> {
    const timestamp = Math.floor(startedAt / 1000);
    // A retry or replay is signed as the message it resends: receivers drop the duplicate.
    const messageId = messageIdOf(delivery);
    const signed = requestHeaders(webhook, messageId, delivery.body, timestamp, USER_AGENT);
    const hooks = this.options.hooks;
    if (!hooks?.hasBeforeDelivery) {
      return { kind: "ready", body: delivery.body, ...signed };
    }
    const hooked = await hooks.beforeDelivery(
      { url: webhook.endpoint, headers: unsignedHeaders(signed.headers), body: delivery.body },
      context,
      signal,
    );
    if (hooked.kind === "aborted") return hooked;
    // The attempt record shows the headers the hooks were given.
    if (hooked.kind === "failed") return { ...hooked, ...signed };
    const signature = signatureHeaders(webhook.secret, messageId, hooked.body, timestamp);
    return {
      kind: "ready",
      body: hooked.body,
      headers: { ...hooked.headers, ...signature },
      signature: signature["contit-signature"],
    };
  }

  private async record(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    attempt: {
      result: AttemptResult;
      startedAt: number;
      headers: Record<string, string>;
      signature: string;
    },
  ): Promise<{ decision: Decision; error: string | null }> {
    const { db, config, metrics } = this.options;
    const { result } = attempt;
    const now = Date.now();
    const number = delivery.attempts + 1;
    const success = isSuccessStatus(result.statusCode);
    let decision: Decision = decideOutcome({
      result,
      attemptNumber: number,
      maxAttempts: delivery.max_attempts,
      now,
      policy: { baseMs: config.retryBaseMs, maxDelayMs: config.retryMaxDelayMs },
    });
    let error = result.error;
    let failCount: number | null = null;
    const outcome = { result, startedAt: attempt.startedAt, headers: attempt.headers };
    const written = (failuresAllowed: boolean) => () => {
      const kept = this.writeOutcome(webhook, delivery, outcome, attempt.signature, {
        decision,
        number,
        now,
        failuresAllowed,
      });
      decision = kept.decision;
      error = kept.error;
      failCount = kept.failCount;
      return true;
    };
    const lostLease = (failure: unknown) => {
      if (failure instanceof LeaseLost) return false;
      throw failure;
    };
    // Sent and retry outcomes go through the group-committed batches; a failure (or a retry
    // whose webhook is gone, which becomes one) also writes the failure hook's outbox row, in
    // a Kysely transaction so the hook can use it.
    let recorded: boolean | "failure" = "failure";
    if (decision.kind !== "failed") {
      recorded = await this.options.statements
        .exclusive(written(false))
        .catch((failure: unknown) =>
          failure instanceof WebhookGone ? "failure" : lostLease(failure),
        );
    }
    if (recorded === "failure") {
      recorded = await db
        .transaction()
        .execute(async (trx) => {
          // Prepared statements on the same connection run inside this open transaction.
          written(true)();
          if (decision.kind === "failed" && this.options.onDeliveryFailed) {
            await this.options.onDeliveryFailed(trx, {
              workspace: delivery.workspace,
              webhookId: webhook.id,
              deliveryId: delivery.id,
              reason: decision.reason,
              attempts: number,
              statusCode: result.statusCode,
              error,
              at: now,
            });
          }
          return true;
        })
        .catch(lostLease);
    }
    if (!recorded) {
      this.options.log.warn("attempt outlived its lease; its outcome is not recorded", {
        deliveryId: delivery.id,
        webhookId: webhook.id,
      });
      return { decision, error };
    }
    if (decision.kind === "retry") {
      const known = this.nextDueAt.get(webhook.id);
      if (known !== undefined && decision.nextAttemptAt < known) {
        this.nextDueAt.set(webhook.id, decision.nextAttemptAt);
      }
    }
    if (failCount !== null) this.failuresInARow.set(webhook.id, failCount);
    metrics.recordAttempt(success ? "success" : "failure", result.durationMs);
    if (decision.kind === "sent") metrics.recordDelivery("sent", now - delivery.created_at);
    if (decision.kind === "failed") {
      metrics.recordDelivery("error", now - delivery.created_at);
      this.options.log.warn("delivery failed", {
        deliveryId: delivery.id,
        webhookId: webhook.id,
        reason: decision.reason,
        attempts: number,
        statusCode: result.statusCode,
        error,
      });
      if (decision.reason === "gone") {
        this.options.log.warn("webhook disabled: the receiver answered 410 Gone", {
          webhookId: webhook.id,
        });
      }
    }
    return { decision, error };
  }

  /**
   * Writes an attempt's outcome with prepared statements (synchronous; the caller supplies the
   * transaction): the webhook's health, the delivery's new state — only while its lease is still
   * ours, else {@link LeaseLost} — and the attempt record. A retry whose webhook was deleted
   * meanwhile becomes a failure; when `failuresAllowed` is false that throws
   * {@link WebhookGone} instead, so the caller can rerun it where the failure hook can write.
   */
  private writeOutcome(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    attempt: { result: AttemptResult; startedAt: number; headers: Record<string, string> },
    signature: string,
    state: { decision: Decision; number: number; now: number; failuresAllowed: boolean },
  ): { decision: Decision; error: string | null; failCount: number | null } {
    const { statements } = this.options;
    const { result } = attempt;
    const { number, now } = state;
    let { decision } = state;
    let error = result.error;
    const failCount = updateWebhookHealthNow(statements, webhook.id, {
      success: decision.kind === "sent",
      disable: decision.kind === "failed" && decision.reason === "gone",
      now,
    });
    if (failCount === null && decision.kind === "retry") {
      if (!state.failuresAllowed) throw new WebhookGone();
      // The webhook was deleted during the attempt: nothing will ever claim a retry.
      error = `${result.error}; webhook deleted, no further attempts`;
      decision = { kind: "failed", reason: "exhausted" };
    }
    const updated = updateDeliveryOutcomeNow(statements, {
      id: delivery.id,
      processStatus:
        decision.kind === "sent"
          ? ProcessStatus.Sent
          : decision.kind === "retry"
            ? ProcessStatus.Waiting
            : ProcessStatus.Error,
      attempts: number,
      nextAttemptAt: decision.kind === "retry" ? decision.nextAttemptAt : now,
      leaseUntil: delivery.lease_until,
      statusCode: result.statusCode,
      responseMessage: result.responseBody || result.statusText || result.error,
      lastError: error,
      durationMs: result.durationMs,
      signature,
      now,
    });
    // The lease ran out while this attempt ran and the delivery went back to the queue: its
    // next claim records the outcome; this one must not (the rollback undoes the health too).
    if (!updated) throw new LeaseLost();
    insertAttemptNow(statements, {
      id: newId("att", now),
      deliveryId: delivery.id,
      number,
      startedAt: attempt.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseBody: result.responseBody,
      requestHeaders: JSON.stringify(maskHeaders(attempt.headers)),
    });
    return { decision, error, failCount };
  }

  private async applyRetention(now: number): Promise<void> {
    const cutoff = now - this.options.config.retentionDays * DAY_MS;
    const deliveries = await this.inBatches((db) =>
      deleteFinishedBefore(db, cutoff, RETENTION_BATCH),
    );
    const events = await this.inBatches((db) =>
      deleteOrphanEventsBefore(db, cutoff, RETENTION_BATCH),
    );
    const notices = await this.inBatches((db) =>
      deleteMailedNoticesBefore(db, cutoff, RETENTION_BATCH),
    );
    if (deliveries + events + notices > 0) {
      this.options.log.info("retention removed old deliveries, events and mailed notices", {
        deliveries,
        events,
        notices,
      });
    }
  }

  /** Runs a batched delete until a batch comes back short (or the run's budget is spent). */
  private async inBatches(deleteBatch: (db: Executor) => Promise<number>): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < RETENTION_BATCHES_PER_RUN && !this.stopping; batch++) {
      const removed = await deleteBatch(this.options.db);
      total += removed;
      if (removed < RETENTION_BATCH) break;
    }
    return total;
  }
}
