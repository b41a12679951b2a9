/**
 * What `GET /metrics` shows (SPEC §10): attempt and delivery counters and histograms kept in
 * memory by one app's `Metrics`, and queue gauges read from the database at scrape time. The
 * Prometheus text format 0.0.4 is written here by hand: it is only ordering and escaping.
 *
 * Only counts leave this module — no ids, URLs, payloads or workspace names — which is why the
 * route can be open like `/health`.
 */

import type { QueueState } from "../store/delivery-store.ts";
import { VERSION } from "../version.ts";

/** Upper bounds in seconds for one HTTP attempt; a webhook's timeout is at most 60 s. */
const ATTEMPT_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60,
] as const;

/**
 * Upper bounds in seconds from a delivery's creation to its final state: from a first-attempt
 * success to retries with exponential backoff that can last hours.
 */
const DELIVERY_LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400,
] as const;

export type Labels = Readonly<Record<string, string>>;

/** One labelled value of a counter or a gauge. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** Observations counted into fixed buckets, kept cumulative as Prometheus exposes them. */
export class Histogram {
  /** `cumulativeCounts[i]` = observations ≤ `upperBounds[i]`. */
  private readonly cumulativeCounts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly upperBounds: readonly number[]) {
    this.cumulativeCounts = upperBounds.map(() => 0);
  }

  observe(value: number): void {
    this.upperBounds.forEach((bound, index) => {
      if (value <= bound) this.cumulativeCounts[index] = (this.cumulativeCounts[index] ?? 0) + 1;
    });
    this.sum += value;
    this.count += 1;
  }

  /** The `_bucket` samples (ending with `le="+Inf"`, which equals the count), sum and count. */
  snapshot(): { buckets: { le: number; count: number }[]; sum: number; count: number } {
    const buckets = this.upperBounds.map((le, index) => ({
      le,
      count: this.cumulativeCounts[index] ?? 0,
    }));
    buckets.push({ le: Number.POSITIVE_INFINITY, count: this.count });
    return { buckets, sum: this.sum, count: this.count };
  }
}

/** A sample value as Prometheus (Go's ParseFloat) reads it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** A label value inside double quotes: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A `# HELP` text: backslash and line feed are escaped (a double quote is not). */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function sampleLine(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabelValue(text)}"`);
  const labelText = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
  return `${name}${labelText} ${formatValue(value)}`;
}

/**
 * One scrape's text, built one metric family at a time: `# HELP`, `# TYPE`, then the family's
 * samples together, as the format requires.
 *
 * @example
 * new Exposition().gauge("hookpost_in_flight", "Attempts running now.", 2).toString();
 * // # HELP hookpost_in_flight Attempts running now.
 * // # TYPE hookpost_in_flight gauge
 * // hookpost_in_flight 2
 */
export class Exposition {
  private readonly lines: string[] = [];

  counter(name: string, help: string, samples: readonly Sample[]): this {
    return this.family(name, help, "counter", samples);
  }

  gauge(name: string, help: string, value: number | readonly Sample[]): this {
    const samples = typeof value === "number" ? [{ labels: {}, value }] : value;
    return this.family(name, help, "gauge", samples);
  }

  histogram(name: string, help: string, histogram: Histogram): this {
    this.header(name, help, "histogram");
    const { buckets, sum, count } = histogram.snapshot();
    for (const bucket of buckets) {
      this.lines.push(sampleLine(`${name}_bucket`, { le: formatValue(bucket.le) }, bucket.count));
    }
    this.lines.push(sampleLine(`${name}_sum`, {}, sum));
    this.lines.push(sampleLine(`${name}_count`, {}, count));
    return this;
  }

  /** The text, ending with the line feed the format requires. */
  toString(): string {
    return this.lines.map((line) => `${line}\n`).join("");
  }

  private family(
    name: string,
    help: string,
    type: "counter" | "gauge",
    samples: readonly Sample[],
  ): this {
    this.header(name, help, type);
    for (const sample of samples) this.lines.push(sampleLine(name, sample.labels, sample.value));
    return this;
  }

  private header(name: string, help: string, type: "counter" | "gauge" | "histogram"): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }
}

/**
 * One app's metrics. The scheduler records attempts and final outcomes; `render` adds what the
 * database says at scrape time. No state outside the instance: several apps may share a process.
 */
export class Metrics {
  private readonly startedAt = Date.now();
  private readonly attempts = { success: 0, failure: 0 };
  private readonly attemptDuration = new Histogram(ATTEMPT_DURATION_BUCKETS);
  private readonly deliveries = { sent: 0, error: 0 };
  private readonly deliveryLatency = new Histogram(DELIVERY_LATENCY_BUCKETS);

  /** One HTTP attempt finished: success = 2xx. durationMs = that attempt's wall time. */
  recordAttempt(result: "success" | "failure", durationMs: number): void {
    this.attempts[result] += 1;
    this.attemptDuration.observe(Math.max(0, durationMs) / 1000);
  }

  /** A delivery reached a final state; latencyMs = from the delivery's creation to now. */
  recordDelivery(outcome: "sent" | "error", latencyMs: number): void {
    this.deliveries[outcome] += 1;
    // A clock stepped backwards must not make a negative latency.
    this.deliveryLatency.observe(Math.max(0, latencyMs) / 1000);
  }

  /**
   * The whole exposition text: `queue` as the store reports it, `state.inFlight` = attempts
   * running in this process now.
   */
  render(queue: QueueState, state: { inFlight: number }): string {
    const now = Date.now();
    const oldestWaitingAge =
      queue.oldestWaitingCreatedAt === null
        ? 0
        : Math.max(0, now - queue.oldestWaitingCreatedAt) / 1000;
    return new Exposition()
      .counter("hookpost_attempts_total", "HTTP attempts finished, by result (success = 2xx).", [
        { labels: { result: "success" }, value: this.attempts.success },
        { labels: { result: "failure" }, value: this.attempts.failure },
      ])
      .histogram(
        "hookpost_attempt_duration_seconds",
        "Wall time of one HTTP attempt.",
        this.attemptDuration,
      )
      .counter(
        "hookpost_deliveries_total",
        "Deliveries that reached a final state since the process started, by outcome.",
        [
          { labels: { outcome: "sent" }, value: this.deliveries.sent },
          { labels: { outcome: "error" }, value: this.deliveries.error },
        ],
      )
      .histogram(
        "hookpost_delivery_latency_seconds",
        "Time from a delivery's creation to its final state (sent or error).",
        this.deliveryLatency,
      )
      .gauge("hookpost_queue_depth", "Deliveries waiting to be attempted.", queue.waiting)
      .gauge(
        "hookpost_deliveries_processing",
        "Deliveries taken by the scheduler whose outcome is not stored yet.",
        queue.processing,
      )
      .gauge(
        "hookpost_oldest_waiting_age_seconds",
        "Age of the oldest waiting delivery since its creation; 0 when none waits.",
        oldestWaitingAge,
      )
      .gauge(
        "hookpost_in_flight",
        "Attempts in this process not yet recorded (a 2xx answer frees its slot before its outcome is stored, so this can briefly exceed HOOKPOST_CONCURRENCY).",
        state.inFlight,
      )
      .gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        process.memoryUsage().rss,
      )
      .gauge(
        "hookpost_uptime_seconds",
        "Seconds since this Hookpost app started.",
        (now - this.startedAt) / 1000,
      )
      .gauge("hookpost_info", "The running Hookpost version; the value is always 1.", [
        { labels: { version: VERSION }, value: 1 },
      ])
      .toString();
  }
}
