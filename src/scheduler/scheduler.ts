/**
 * The delivery scheduler (SPEC §6.2, §10). A timer ticks every `HOOKPOST_TICK_MS`, and
 * `wake()` runs a tick at once when work was enqueued or a slot freed up. A tick claims due
 * deliveries webhook by webhook — at most
 * `HOOKPOST_CONCURRENCY` attempts in flight overall and a quarter of that per webhook, starting
 * from a different webhook each tick — so one slow or dead endpoint cannot hold back the rest.
 * A webhook whose last 3 attempts failed (any answer but 2xx, or none) gets an eighth of its
 * share, at least one, until one succeeds: endpoints that hang until their timeout take far
 * fewer slots (at the default 64, 2 each instead of 16).
 *
 * A slot is taken at the claim and given back as soon as the receiver answers 2xx, not when
 * the outcome commits: the commit waits for the next group-committed batch, behind whatever
 * ingest queued, and under concurrent ingest that wait was a third of the time a slot was
 * held. The claim that refills the slot can then share the outcome's batch. Any other result
 * keeps its slot until recorded, so the failing limit counts the failure before the next claim.
 *
 * Delivery is at-least-once: taking a delivery writes nothing (the store keeps what is in
 * flight in memory, `store/in-flight.ts`), so whatever moment the process dies, the delivery is
 * still Waiting at the next start.
 *
 * This file is the when and the which: timer, wake-ups, fairness and claims. Each claimed
 * delivery goes to `dispatch.ts` (prepare → sign → send → decide → record), which reports back
 * what it recorded; the tick also runs `retention.ts`.
 */

import type { Config } from "../config.ts";
import { allWebhooksGeneration, WebhookDerived } from "../db/webhook-generation.ts";
import type { GroupCommit } from "../store/group-commit.ts";
import type { DispatchableWebhook, DueDelivery } from "../store/queue.ts";
import { Dispatcher, type DispatchOptions, type RecordedListener } from "./dispatch.ts";
import { applyRetention, RETENTION_EVERY_MS } from "./retention.ts";

export type SchedulerConfig = Pick<
  Config,
  "tickMs" | "concurrency" | "retryBaseMs" | "retryMaxDelayMs" | "retentionDays"
>;

export interface SchedulerOptions extends DispatchOptions {
  config: SchedulerConfig;
  /** The group commit the claims run in (and the webhooks' generation is read through). */
  statements: GroupCommit;
  /**
   * Run on every timer tick, in order, not awaited: the failure mailer, the plugins' pollers.
   * Each should not throw; one that does is logged and the others still run.
   */
  timerTasks?: readonly (() => void)[];
  /** How long shutdown waits for attempts in flight before aborting them (10 s). */
  shutdownGraceMs?: number;
}

/** How often the scheduler forgets what it learnt about webhooks' next due times. */
const FULL_LOOK_EVERY_MS = 30_000;

/** Failed attempts in a row after which a webhook is held to the failing limit. */
const FAILING_AFTER = 3;

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
}

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
  /** Slots taken, per webhook (see the file's header for when a slot is given back). */
  private readonly inFlightByWebhook = new Map<string, number>();
  /** Slots taken overall: at most `concurrency`. */
  private slotsTaken = 0;
  /**
   * Attempts not finished, recording included, by a key of their own: what shutdown waits
   * for.
   */
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
  private readonly dispatcher: Dispatcher;
  /**
   * What a recorded attempt tells the claims: a retry may make the webhook due sooner than
   * known, and its failures in a row set its limit.
   */
  private readonly recorded: RecordedListener = (webhookId, decision, failCount) => {
    if (decision.kind === "retry") {
      const known = this.nextDueAt.get(webhookId);
      if (known !== undefined && decision.nextAttemptAt < known) {
        this.nextDueAt.set(webhookId, decision.nextAttemptAt);
      }
    }
    if (failCount !== null) this.failuresInARow.set(webhookId, failCount);
  };

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.dispatcher = new Dispatcher(options, this.recorded);
    this.dispatchable = new WebhookDerived(allWebhooksGeneration(options.statements), () => {
      this.failuresInARow.clear();
      return options.store.dispatchableWebhooksNow();
    });
    this.perWebhookLimit = Math.max(1, Math.floor(options.config.concurrency / 4));
    this.failingLimit = Math.max(1, Math.floor(this.perWebhookLimit / 8));
  }

  /** Attempts running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Fails what deleted webhooks left Waiting (their deliveries in flight when the last process
   * died), then starts ticking.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const failed = await this.options.store.sweepDeletedWebhooks();
    if (failed > 0) {
      this.options.log.warn("deliveries of deleted webhooks left Waiting are now Error", {
        count: failed,
      });
    }
    if (this.stopping) return;
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
   * (they stay Waiting). The database stays open (the caller closes it).
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
      await applyRetention(this.options, now, () => this.stopping);
    }
    // One synchronous unit, read in the batch with whatever else is queued: the claims,
    // webhook by webhook.
    const undo: (() => void)[] = [];
    const putBack = () => {
      for (let step = undo.pop(); step; step = undo.pop()) step();
    };
    const claims = await statements
      .read(() => {
        // A batch may run its work a second time (GroupCommit.flush): what the first run
        // learnt in memory is undone first, so the second starts from what the database says.
        putBack();
        return this.claim(now, undo);
      })
      .catch((error: unknown) => {
        // Nothing was claimed after all: what the run learnt in memory is undone too.
        putBack();
        throw error;
      });
    for (const [webhook, delivery] of claims) this.dispatch(webhook, delivery);
  }

  /**
   * Claims due deliveries, round-robin over the webhooks, within the concurrency limits. What
   * it changes in the scheduler's memory it can undo: each change pushes its undoing onto `undo`.
   */
  private claim(now: number, undo: (() => void)[]): [DispatchableWebhook, DueDelivery][] {
    const { config, store } = this.options;
    const claims: [DispatchableWebhook, DueDelivery][] = [];
    let free = config.concurrency - this.slotsTaken;
    if (free <= 0 || store.takingHeld(now)) return claims;
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
      const claimed = store.takeDueNow(webhook.id, now, room);
      for (const delivery of claimed) {
        undo.push(() => store.untake(delivery.id));
        claims.push([webhook, delivery]);
      }
      free -= claimed.length;
      if (claimed.length < room) {
        // Nothing more is due now: remember when something will be. (Work committed after
        // this calls wake(), which clears the entry again; a delivery in flight that is to be
        // retried tells `recorded`.)
        // Undone by forgetting: with no entry the webhook is simply looked at again.
        undo.push(() => this.nextDueAt.delete(webhook.id));
        this.nextDueAt.set(
          webhook.id,
          store.nextDueAfterNow(webhook.id, now) ?? Number.POSITIVE_INFINITY,
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

  private dispatch(webhook: DispatchableWebhook, delivery: DueDelivery): void {
    const controller = new AbortController();
    const key = this.nextKey++;
    this.slotsTaken++;
    this.inFlightByWebhook.set(webhook.id, (this.inFlightByWebhook.get(webhook.id) ?? 0) + 1);
    let slotTaken = true;
    const giveBackSlot = () => {
      if (!slotTaken) return;
      slotTaken = false;
      this.slotsTaken--;
      const left = (this.inFlightByWebhook.get(webhook.id) ?? 1) - 1;
      if (left > 0) this.inFlightByWebhook.set(webhook.id, left);
      else this.inFlightByWebhook.delete(webhook.id);
      this.kick();
    };
    const done = this.dispatcher
      .run(webhook, delivery, controller.signal, giveBackSlot)
      .catch((error: unknown) => {
        // Recording failed (the delivery is still Waiting, and sent again once the store lets
        // it go), or something after it did.
        this.options.log.error("delivery attempt failed", {
          deliveryId: delivery.id,
          error: String(error),
        });
      })
      .finally(() => {
        this.running.delete(key);
        giveBackSlot();
      });
    this.running.set(key, { controller, done });
  }
}
