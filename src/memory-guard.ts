/**
 * Keeps the resident size near a budget under load. JSC schedules collections by the size of
 * its own heap, but much of what a busy server's garbage holds lives outside it — request and
 * response buffers, strings read from SQLite — so the process can grow far past what is live
 * before a collection comes. Above the budget a full collection runs, checked at most once per
 * interval, so its pauses (about 20 ms on a busy 2-vCPU machine) stay rare; an idle or lightly
 * loaded server never reaches the budget and never pays for one.
 */

/** Resident size above which the guard collects; the server idles at about 70 MB. */
export const MEMORY_BUDGET_BYTES = 128 * 1024 * 1024;

/** How often the resident size is looked at. */
export const MEMORY_CHECK_EVERY_MS = 500;

export interface MemoryGuardOptions {
  budgetBytes?: number;
  everyMs?: number;
  /** The resident size now (the process's by default). */
  residentBytes?: () => number;
  /** A full, synchronous collection (Bun's by default). */
  collect?: () => void;
}

export class MemoryGuard {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly budgetBytes: number;
  private readonly everyMs: number;
  private readonly residentBytes: () => number;
  private readonly collect: () => void;

  constructor(options: MemoryGuardOptions = {}) {
    this.budgetBytes = options.budgetBytes ?? MEMORY_BUDGET_BYTES;
    this.everyMs = options.everyMs ?? MEMORY_CHECK_EVERY_MS;
    this.residentBytes = options.residentBytes ?? (() => process.memoryUsage.rss());
    this.collect = options.collect ?? (() => Bun.gc(true));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Collects when over the budget; says whether it did. */
  check(): boolean {
    if (this.residentBytes() <= this.budgetBytes) return false;
    this.collect();
    return true;
  }
}
