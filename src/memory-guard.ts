/**
 * Keeps the resident size from climbing under load. JSC schedules collections by the size of
 * its own heap, but much of what a busy server's garbage holds lives outside it — request and
 * response buffers, strings read from SQLite — so the process grows far past what is live
 * before a collection comes. Above a soft budget the guard runs an eden collection (the young
 * objects, where that garbage is: a few milliseconds). Above a middle one it asks for a full
 * collection that runs mostly beside the server (`Bun.gc(false)`), at most once a second.
 * Only above the hard budget does it run a full collection there and then, which also hands
 * freed memory back to the system but stops everything for tens of milliseconds — at most
 * every few seconds. A server below the soft budget is left alone.
 */

import { edenGC } from "bun:jsc";

export interface MemoryGuardOptions {
  /** Above this resident size, an eden collection each check. */
  softBytes?: number;
  /** Above this resident size, a full collection beside the server, at most once per `fullEveryMs / 2`. */
  middleBytes?: number;
  /** Above this resident size, a full collection, at most once per `fullEveryMs`. */
  hardBytes?: number;
  fullEveryMs?: number;
  everyMs?: number;
  /** The resident size now (the process's by default). */
  residentBytes?: () => number;
  /** Collections (JSC's eden collection, Bun's concurrent and synchronous full ones by default). */
  eden?: () => void;
  background?: () => void;
  full?: () => void;
  /** The time now, in ms (injectable for tests). */
  now?: () => number;
}

const MB = 1024 * 1024;

export class MemoryGuard {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private lastBackgroundAt = Number.NEGATIVE_INFINITY;
  private readonly softBytes: number;
  private readonly middleBytes: number;
  private readonly hardBytes: number;
  private readonly fullEveryMs: number;
  private readonly everyMs: number;
  private readonly residentBytes: () => number;
  private readonly eden: () => void;
  private readonly background: () => void;
  private readonly full: () => void;
  private readonly now: () => number;

  constructor(options: MemoryGuardOptions = {}) {
    // The server idles at about 70 MB; the hard budget leaves room below 150 MB.
    this.softBytes = options.softBytes ?? 96 * MB;
    this.middleBytes = options.middleBytes ?? 120 * MB;
    this.hardBytes = options.hardBytes ?? 140 * MB;
    this.fullEveryMs = options.fullEveryMs ?? 2_000;
    this.everyMs = options.everyMs ?? 100;
    this.residentBytes = options.residentBytes ?? (() => process.memoryUsage.rss());
    this.eden =
      options.eden ??
      (() => {
        edenGC();
      });
    this.background = options.background ?? (() => Bun.gc(false));
    this.full = options.full ?? (() => Bun.gc(true));
    this.now = options.now ?? Date.now;
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

  /** Collects as the resident size asks; says which collection ran, if any. */
  check(): "eden" | "background" | "full" | null {
    const resident = this.residentBytes();
    if (resident > this.hardBytes && this.now() - this.lastFullAt >= this.fullEveryMs) {
      this.lastFullAt = this.now();
      this.full();
      return "full";
    }
    if (resident > this.middleBytes && this.now() - this.lastBackgroundAt >= this.fullEveryMs / 2) {
      this.lastBackgroundAt = this.now();
      this.background();
      return "background";
    }
    if (resident > this.softBytes) {
      this.eden();
      return "eden";
    }
    return null;
  }
}
