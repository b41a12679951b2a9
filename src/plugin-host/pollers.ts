/**
 * Runs the sources' pollers on the scheduler's timer: each at most once every `intervalMs`
 * (measured between starts), never two runs of one poller at once. A run that throws, or
 * returns invalid events, is logged and tried again at the next interval; it never stops
 * Hookpost. What a run returns is ingested exactly like `POST /events`.
 */

import type { Logger } from "../log.ts";
import type { Poller } from "./api.ts";
import { pluginLogger } from "./plugin-logger.ts";

/** The workspace a poller's events go to when it names none. */
export const DEFAULT_POLL_WORKSPACE = "default";

/** A source that polls. */
export interface PollingSource {
  plugin: string;
  source: string;
  poll: Poller;
}

/** Validates and ingests what a run returned (throws when the events are invalid). */
export type IngestPolledEvents = (
  workspace: string,
  source: string,
  events: unknown,
) => Promise<unknown[]>;

interface PollerState extends PollingSource {
  lastStartedAt: number | null;
  lastSuccessAt: number | null;
  running: Promise<void> | null;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class PollerRunner {
  readonly #states: PollerState[];
  readonly #ingest: IngestPolledEvents;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #shutdown = new AbortController();

  constructor(
    sources: readonly PollingSource[],
    ingest: IngestPolledEvents,
    log: Logger,
    clock: () => number = Date.now,
  ) {
    this.#states = sources.map((source) => ({
      ...source,
      lastStartedAt: null,
      lastSuccessAt: null,
      running: null,
    }));
    this.#ingest = ingest;
    this.#log = log;
    this.#clock = clock;
  }

  /** Starts every poller that is due and not running. For the timer: never throws. */
  trigger(): void {
    if (this.#shutdown.signal.aborted) return;
    const now = this.#clock();
    for (const state of this.#states) {
      if (state.running) continue;
      if (state.lastStartedAt !== null && now - state.lastStartedAt < state.poll.intervalMs) {
        continue;
      }
      state.lastStartedAt = now;
      state.running = this.#run(state, now).finally(() => {
        state.running = null;
      });
    }
  }

  /**
   * Starts no more runs, aborts the signal the running ones got and waits for them, for at
   * most `graceMs`: a run that ignores the signal is left behind, and ingests nothing.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.#shutdown.abort();
    const running = this.#states.flatMap((state) => (state.running ? [state.running] : []));
    if (running.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(running),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async #run(state: PollerState, startedAt: number): Promise<void> {
    const workspace = state.poll.workspace ?? DEFAULT_POLL_WORKSPACE;
    const where = { plugin: state.plugin, source: state.source, workspace };
    try {
      const events = await state.poll.run({
        workspace,
        lastSuccessAt: state.lastSuccessAt === null ? null : new Date(state.lastSuccessAt),
        signal: this.#shutdown.signal,
        log: pluginLogger(this.#log, state.plugin),
      });
      if (this.#shutdown.signal.aborted) return;
      const ingested = await this.#ingest(workspace, state.source, events);
      state.lastSuccessAt = startedAt;
      if (ingested.length > 0)
        this.#log.info("poll ingested events", { ...where, events: ingested.length });
    } catch (error) {
      if (this.#shutdown.signal.aborted) return;
      this.#log.warn("poll failed; it runs again at the next interval", {
        ...where,
        error: reasonOf(error),
        retryInMs: state.poll.intervalMs,
      });
    }
  }
}
