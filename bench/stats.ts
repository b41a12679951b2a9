/**
 * Latency recording and summaries. Percentiles are nearest-rank over every sample (no
 * histogram buckets), so a p99 is a value that was really observed.
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** The `p`-th percentile (0–100) of ascending `sorted`, nearest rank. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** A growable array of samples (milliseconds), cheap to add to on a hot path. */
export class Recorder {
  private values = new Float64Array(4096);
  private size = 0;

  add(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  get count(): number {
    return this.size;
  }

  clear(): void {
    this.size = 0;
  }

  /** Null when nothing was recorded. */
  summary(): Summary | null {
    return summarize(this.values.subarray(0, this.size));
  }
}

/** Summary of samples in milliseconds (rounded to µs); null for none. */
export function summarize(samples: Float64Array | number[]): Summary | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    min: round3(sorted[0] ?? Number.NaN),
    mean: round3(total / sorted.length),
    p50: round3(percentile(sorted, 50)),
    p90: round3(percentile(sorted, 90)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
