/** Resident memory of a process, from /proc/<pid>/status (Linux). */

import { readFileSync } from "node:fs";

function statusField(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match?.[1] ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Current RSS in MB, or null when the process is gone. */
export function rssMb(pid: number): number | null {
  return statusField(pid, "VmRSS");
}

/** The process's peak RSS since it started (VmHWM), in MB. */
export function peakRssMb(pid: number): number | null {
  return statusField(pid, "VmHWM");
}

/** Samples a process's RSS every `everyMs` (100 ms) and keeps the highest. */
export class RssSampler {
  private timer: ReturnType<typeof setInterval> | null = null;
  private peak = 0;
  private samples = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  /** Stops sampling; the peak in MB and how many samples it is the highest of. */
  stop(): { peakMb: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { peakMb: this.peak, samples: this.samples };
  }

  private sample(): void {
    const value = rssMb(this.pid);
    if (value === null) return;
    this.samples++;
    this.peak = Math.max(this.peak, value);
  }
}
