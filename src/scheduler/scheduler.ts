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
 * Delivery is at-least-once: a taken delivery stays Waiting in its row until its outcome is
 * recorded (on SQLite the server keeps what is in flight in memory; on PostgreSQL a lease says
 * which node has it, and runs out if that node dies), so whatever moment the process dies, the
 * delivery is sent again.
 *
 * This file is the when and the which: timer, wake-ups, fairness and what to take; the store
 * takes it (`DeliveryStore.take`, where the limits also hold across a PostgreSQL cluster). Each
 * taken delivery goes to `dispatch.ts` (prepare → sign → send → decide → record), which reports
 * back what it recorded; the tick also runs `retention.ts` where this process leads.
 */

import type { Config } from "../config.ts";
import type { Taken, Want } from "../store/delivery-store.ts";
import type { DispatchableWebhook, DueDelivery } from "../store/queue.ts";
import { Dispatcher, type DispatchOptions, type RecordedListener } from "./dispatch.ts";
import { applyRetention, RETENTION_EVERY_MS } from "./retention.ts";

export type SchedulerConfig = Pick<
  Config,
  "tickMs" | "concurrency" | "retryBaseMs" | "retryMaxDelayMs" | "retentionDays"
>;

export interface SchedulerOptions extends DispatchOptions {
  config: SchedulerConfig;
  /**
   * Whether this process runs the deployment's singleton work now (retention and the sweep of
   * deleted webhooks' leftovers; see `Leadership`). Always, when not given.
   */
  leads?: () => boolean;
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
  /** The list of webhooks the last tick had: a new one means a webhook changed. */
  private webhooks: readonly DispatchableWebhook[] | null = null;
  /** Counts calls of wake(): what a take learnt is stale if one came while it ran. */
  private wakes = 0;
  /** While a take runs, the webhooks a retry was recorded for meanwhile; null otherwise. */
  private retriedWhileTaking: Set<string> | null = null;
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
      // A take running now may not have seen this retry: what it learns of the webhook's next
      // due time must not be kept (it could say "never" and the retry wait for a full look).
      if (this.retriedWhileTaking) this.retriedWhileTaking.add(webhookId);
    }
    if (failCount !== null) this.failuresInARow.set(webhookId, failCount);
  };

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.dispatcher = new Dispatcher(options, this.recorded);
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
    await this.sweepDeletedWebhooks(Date.now());
    if (this.stopping) return;
    this.timer = setInterval(() => {
      this.kick();
      this.runTimerTasks();
    }, this.options.config.tickMs);
    this.kick();
  }

  /** What deleted webhooks left Waiting, with nobody sending it, ends in Error. */
  private async sweepDeletedWebhooks(now: number): Promise<void> {
    const failed = await this.options.store.sweepDeletedWebhooks(now);
    if (failed > 0) {
      this.options.log.warn("deliveries of deleted webhooks left Waiting are now Error", {
        count: failed,
      });
    }
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
    this.wakes++;
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
    let now = Date.now();
    // What the map knows is refreshed now and then, so nothing can be forgotten for long.
    if (now - this.lastFullLookAt >= FULL_LOOK_EVERY_MS) {
      this.lastFullLookAt = now;
      this.nextDueAt.clear();
    }
    if (now - this.lastRetentionAt >= RETENTION_EVERY_MS && (this.options.leads?.() ?? true)) {
      this.lastRetentionAt = now;
      await this.sweepDeletedWebhooks(now);
      await applyRetention(this.options, now, () => this.stopping);
    }
    const free = this.options.config.concurrency - this.slotsTaken;
    if (free <= 0) return;
    // Read again: retention may have taken a while, and a lease is reckoned from this time.
    now = Date.now();
    const webhooks = await this.options.store.dispatchableWebhooks();
    if (webhooks !== this.webhooks) {
      // Read again, so a webhook changed: one enabled again starts from its cleared count.
      this.webhooks = webhooks;
      this.failuresInARow.clear();
      // And what was learnt of when each is due: a change (ordered off, a rate limit raised)
      // can make work due that an earlier take said must wait.
      this.nextDueAt.clear();
    }
    const wants = this.wants(webhooks, now, free);
    if (wants.length === 0) return;
    const wakes = this.wakes;
    const retried = new Set<string>();
    this.retriedWhileTaking = retried;
    let taken: Taken;
    try {
      taken = await this.options.store.take(now, wants, free);
    } finally {
      this.retriedWhileTaking = null;
    }
    // Nothing more is due now for these: remember when something will be — unless new work
    // was announced while the take ran, which it may not have seen (no entry: look again).
    if (wakes === this.wakes) {
      for (const [webhookId, at] of taken.nextDueAt) {
        if (!retried.has(webhookId)) this.nextDueAt.set(webhookId, at);
      }
    }
    for (const [webhook, delivery] of taken.deliveries) this.dispatch(webhook, delivery);
  }

  /**
   * What to take now, round-robin over the webhooks from a different one each tick: each
   * webhook not known to have nothing due, with its free slots.
   */
  private wants(webhooks: readonly DispatchableWebhook[], now: number, free: number): Want[] {
    const wants: Want[] = [];
    if (webhooks.length === 0 || this.stopping) return wants;
    const start = this.rotation % webhooks.length;
    this.rotation = start + 1;
    for (let i = 0; i < webhooks.length; i++) {
      const webhook = webhooks[(start + i) % webhooks.length];
      if (!webhook) continue;
      if ((this.nextDueAt.get(webhook.id) ?? 0) > now) continue;
      const busy = this.inFlightByWebhook.get(webhook.id) ?? 0;
      const room = Math.min(this.limitOf(webhook) - busy, free);
      if (room <= 0) continue;
      // An ordered webhook has one attempt in flight at most (the store picks which).
      const ordered = webhook.ordered === 1;
      wants.push({
        webhook,
        room,
        busy,
        limit: ordered ? 1 : this.perWebhookLimit,
        failingLimit: ordered ? 1 : this.failingLimit,
        failingAfter: FAILING_AFTER,
      });
    }
    return wants;
  }

  /**
   * How many attempts this webhook may have in flight: less while it keeps failing, one when it
   * is ordered.
   */
  private limitOf(webhook: DispatchableWebhook): number {
    if (webhook.ordered === 1) return 1;
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
    // An ordered webhook's next delivery may go only once this one's outcome is recorded: its
    // slot comes back then, not at the receiver's 2xx.
    const answered = webhook.ordered === 1 ? () => undefined : giveBackSlot;
    const done = this.dispatcher
      .run(webhook, delivery, controller.signal, answered)
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
