/**
 * A webhook's stats over a window (`GET /webhooks/{id}/stats`, issue 17): per interval, its
 * deliveries created then by their state now and its attempts started then, with their
 * duration percentiles; the window's totals and percentiles. The store reads counts and a
 * histogram of durations (store/stats.ts); the percentiles are read off that histogram here,
 * so they are exact below 100 ms and otherwise within 5 % (two significant digits), and the
 * maximum is exact. Knows nothing of HTTP; throws domain errors.
 */

import { type FieldProblem, NotFound, ValidationFailed } from "../errors.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import {
  type AttemptStatsRow,
  bucketWidth,
  partsOf,
  type StatsRange,
  type WebhookStatsRows,
} from "../store/stats.ts";
import { findWebhook } from "../webhooks/repository.ts";
import {
  STATS_WINDOW_CHOICES,
  type StatsQuery,
  type StatsWindow,
  type WebhookStats,
} from "./model.ts";
import { parseChoice } from "./service.ts";
import { ProcessStatus } from "./status.ts";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Each window's length and interval: about 24 to 60 intervals, few enough to draw, many enough
 * to see a trend. Every interval divides a UTC day or is one, so intervals start on whole
 * minutes, hours, quarter days and days (UTC).
 */
const WINDOWS: Record<StatsWindow, { windowMs: number; intervalMs: number }> = {
  "1h": { windowMs: HOUR_MS, intervalMs: MINUTE_MS },
  "24h": { windowMs: DAY_MS, intervalMs: HOUR_MS },
  "7d": { windowMs: 7 * DAY_MS, intervalMs: 6 * HOUR_MS },
  "30d": { windowMs: 30 * DAY_MS, intervalMs: DAY_MS },
};

const DEFAULT_WINDOW: StatsWindow = "24h";

/** The window asked for (24h when none); an unknown one is a 400 naming `window`. */
export function parseStatsQuery(query: StatsQuery): StatsWindow {
  const problems: FieldProblem[] = [];
  const window = parseChoice("window", query.window, STATS_WINDOW_CHOICES, problems);
  if (problems.length > 0) throw ValidationFailed.of("query", problems);
  return window ?? DEFAULT_WINDOW;
}

/**
 * The range of `window` ending `now`: from `now` minus the window, rounded down to a whole
 * interval, to `now`; so window / interval + 1 intervals, the last one running.
 */
export function statsRange(window: StatsWindow, now: number): StatsRange {
  const { windowMs, intervalMs } = WINDOWS[window];
  const from = Math.floor((now - windowMs) / intervalMs) * intervalMs;
  return { from, to: now, intervalMs };
}

/** One duration bucket: how many attempts, the shortest and the longest of them. */
interface Bucket {
  count: number;
  shortest: number;
  longest: number;
}

/** Attempt durations by bucket lower bound (see store/stats.ts). */
type Histogram = Map<number, Bucket>;

function addToHistogram(histogram: Histogram, row: AttemptStatsRow): void {
  const bucket = histogram.get(row.bucket);
  if (bucket) {
    bucket.count += row.attempts;
    bucket.shortest = Math.min(bucket.shortest, row.shortest);
    bucket.longest = Math.max(bucket.longest, row.longest);
  } else {
    const { attempts: count, shortest, longest } = row;
    histogram.set(row.bucket, { count, shortest, longest });
  }
}

/**
 * The `fraction` percentile (nearest rank: the smallest duration at least that fraction of
 * attempts do not exceed) as the histogram knows it: its bucket's middle, kept between the
 * bucket's shortest and longest attempts (so a bucket of one attempt, or of one duration, is
 * exact). Null for an empty histogram.
 */
export function percentile(histogram: Histogram, fraction: number): number | null {
  let total = 0;
  for (const bucket of histogram.values()) total += bucket.count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(fraction * total));
  let seen = 0;
  for (const [lower, bucket] of [...histogram].sort(([a], [b]) => a - b)) {
    seen += bucket.count;
    if (seen >= rank) {
      const middle = lower + Math.floor(bucketWidth(lower) / 2);
      return Math.min(Math.max(middle, bucket.shortest), bucket.longest);
    }
  }
  return null;
}

interface Counts {
  sent: number;
  error: number;
  waiting: number;
  attempts: number;
  failedAttempts: number;
}

const noCounts = (): Counts => ({ sent: 0, error: 0, waiting: 0, attempts: 0, failedAttempts: 0 });

/** What one interval adds up to. */
interface IntervalTally {
  counts: Counts;
  histogram: Histogram;
}

/** The answer from the store's rows: every interval of the range, zeros included. */
export function summariseStats(
  webhookId: string,
  window: StatsWindow,
  range: StatsRange,
  rows: WebhookStatsRows,
): WebhookStats {
  const { from, to, intervalMs } = range;
  const intervals = new Map<number, IntervalTally>(
    partsOf(range, range.intervalMs).map((interval) => [
      interval.from,
      { counts: noCounts(), histogram: new Map() },
    ]),
  );
  const tallyOf = (start: number): IntervalTally => {
    const tally = intervals.get(start);
    if (!tally) throw new Error(`stats row of ${start} outside ${from}–${to}`);
    return tally;
  };
  const whole: Histogram = new Map();
  const totals = noCounts();
  for (const row of rows.deliveries) {
    const field =
      row.processStatus === ProcessStatus.Sent
        ? "sent"
        : row.processStatus === ProcessStatus.Error
          ? "error"
          : "waiting";
    tallyOf(row.interval).counts[field] += row.count;
    totals[field] += row.count;
  }
  for (const row of rows.attempts) {
    const { counts, histogram } = tallyOf(row.interval);
    counts.attempts += row.attempts;
    counts.failedAttempts += row.failed;
    totals.attempts += row.attempts;
    totals.failedAttempts += row.failed;
    addToHistogram(histogram, row);
    addToHistogram(whole, row);
  }
  let longest: number | null = null;
  for (const bucket of whole.values()) longest = Math.max(longest ?? 0, bucket.longest);
  return {
    webhookId,
    window,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    intervalSeconds: intervalMs / 1000,
    intervals: [...intervals].map(([start, { counts, histogram }]) => ({
      from: new Date(start).toISOString(),
      ...counts,
      p50Ms: percentile(histogram, 0.5),
      p95Ms: percentile(histogram, 0.95),
    })),
    totals,
    latencyMs: {
      p50: percentile(whole, 0.5),
      p95: percentile(whole, 0.95),
      p99: percentile(whole, 0.99),
      max: longest,
    },
  };
}

/**
 * The webhook's stats over `window` ending `now`. Like the log, they outlive a deleted webhook;
 * 404 only when the webhook is unknown here and has left no log either.
 */
export async function getWebhookStats(
  store: DeliveryStore,
  workspace: string,
  webhookId: string,
  window: StatsWindow,
  now: number = Date.now(),
): Promise<WebhookStats> {
  const range = statsRange(window, now);
  const webhook = await findWebhook(store.db, workspace, webhookId);
  if (!webhook && !(await store.hasLog(store.db, workspace, webhookId))) {
    throw new NotFound(`webhook ${webhookId} not found`, { id: webhookId });
  }
  return summariseStats(webhookId, window, range, await store.stats(webhookId, range));
}
