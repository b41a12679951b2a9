/**
 * The reads behind a webhook's stats (`GET /webhooks/{id}/stats`, issue 17): its deliveries
 * created in a time range, counted per interval and process status, and its attempts started in
 * the range, counted per interval and duration bucket. Each reads one index and nothing else:
 * `deliveries_log_by_status` (webhook_id, process_status, created_at) and `attempts_by_webhook`
 * (webhook_id, started_at, status_code, duration_ms; migration 0015).
 *
 * Neither sorts the range: on a month of a million deliveries and two million attempts, a
 * GROUP BY over an expression makes SQLite sort every row (in memory: temp_store is MEMORY),
 * about 1.5 s and 90 MB for the attempts alone. So:
 * - deliveries: one range count per interval and status, as correlated subqueries over the
 *   intervals (each a seek and a walk of the covering index), the same SQL on both backends;
 * - attempts: {@link attemptSamplesQuery} gives each attempt's interval and duration bucket
 *   ({@link DURATION_BUCKET}) straight from the covering index, in index order. PostgreSQL
 *   groups it ({@link groupedAttemptStatsQuery}: a hash aggregate, held in memory per group,
 *   not per row); SQLite's adapter reads it row by row into {@link AttemptTally}, which holds
 *   one entry per interval and bucket. Either way a window answers at most (intervals ×
 *   buckets) rows, however many attempts it holds.
 *
 * SQLite's reads are synchronous: the adapter runs both queries a day of the range at a time
 * ({@link partsOf}), each in a batch of its own, so a month of a million deliveries holds the
 * server up for one day's worth at a time, not for the month's.
 */

import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";

/** A time range cut into intervals; `from` is a multiple of `intervalMs`, both bounds inclusive. */
export interface StatsRange {
  from: number;
  to: number;
  intervalMs: number;
}

/**
 * `range` cut into consecutive parts of whole intervals, each spanning at most `spanMs` (one
 * interval when it is longer), oldest first; the last one ends at `to`. With `spanMs` the
 * interval length: each interval as a range of its own.
 */
export function partsOf(range: StatsRange, spanMs: number): StatsRange[] {
  const step = Math.max(1, Math.floor(spanMs / range.intervalMs)) * range.intervalMs;
  const parts: StatsRange[] = [];
  for (let start = range.from; start <= range.to; start += step) {
    parts.push({
      from: start,
      to: Math.min(start + step - 1, range.to),
      intervalMs: range.intervalMs,
    });
  }
  return parts;
}

/** Deliveries created in one interval that are now in one process status. */
export interface DeliveryStatsRow {
  /** The interval's start (ms). */
  interval: number;
  processStatus: number;
  count: number;
}

/** Attempts started in one interval whose durations fall in one bucket. */
export interface AttemptStatsRow {
  /** The interval's start (ms). */
  interval: number;
  /** The bucket's lower bound (ms); see {@link DURATION_BUCKET}. */
  bucket: number;
  attempts: number;
  /** Attempts without a 2xx answer (no answer at all included). */
  failed: number;
  /** The shortest and the longest duration in the bucket (ms). */
  shortest: number;
  longest: number;
}

export interface WebhookStatsRows {
  deliveries: DeliveryStatsRow[];
  attempts: AttemptStatsRow[];
}

/** One attempt as {@link attemptSamplesQuery} reads it. */
export interface AttemptSample {
  interval: number;
  bucket: number;
  /** 1 without a 2xx answer, else 0. */
  failed: number;
  duration_ms: number;
}

/**
 * A duration's bucket, as its lower bound: exact below 100 ms, then two significant digits
 * (100–109 ms is bucket 100, 1,200–1,299 ms bucket 1,200, 15,000–15,999 ms bucket 15,000), and
 * 10-second buckets from 100 s. At most 370 buckets up to 100 s, so a window's histogram stays
 * small whatever the number of attempts. {@link bucketWidth} is its inverse.
 */
const DURATION_BUCKET = sql<number>`case
  when duration_ms < 100 then duration_ms
  when duration_ms < 1000 then duration_ms / 10 * 10
  when duration_ms < 10000 then duration_ms / 100 * 100
  when duration_ms < 100000 then duration_ms / 1000 * 1000
  else duration_ms / 10000 * 10000
end`;

/** How many whole milliseconds the bucket starting at `lower` spans (see DURATION_BUCKET). */
export function bucketWidth(lower: number): number {
  if (lower < 100) return 1;
  if (lower < 1000) return 10;
  if (lower < 10_000) return 100;
  if (lower < 100_000) return 1000;
  return 10_000;
}

/** Every process status a row can hold, each counted apart. */
const ALL_STATUSES = Object.values(ProcessStatus);

/**
 * The webhook's deliveries created in `range`, counted per interval and process status: one row
 * per interval, one column per status. Each count is a correlated subquery with its status as
 * an equality, so each is one range of the covering status index (a list of statuses would
 * make SQLite walk the log index and read every row). The intervals come from a recursive
 * CTE, so the statement's text depends on the interval length alone, and is prepared once.
 */
export function deliveryStatsQuery(webhookId: string, range: StatsRange): RawBuilder<unknown> {
  const width = sql.lit(range.intervalMs);
  const counts = ALL_STATUSES.map(
    (status) => sql`(select count(*) from deliveries
      where webhook_id = ${webhookId} and process_status = ${sql.lit(status)}
        and created_at >= starts.interval_start and created_at < starts.interval_start + ${width}
        and created_at <= ${range.to}) as ${sql.ref(statusColumn(status))}`,
  );
  return sql`with recursive starts(interval_start) as (
      select cast(${range.from} as bigint)
      union all
      select interval_start + ${width} from starts where interval_start + ${width} <= ${range.to}
    )
    select interval_start, ${sql.join(counts)} from starts`;
}

/** The column of {@link deliveryStatsQuery} that counts `status`: `status_-1`, `status_2`… */
function statusColumn(status: number): string {
  return `status_${status}`;
}

/** {@link deliveryStatsQuery}'s rows, one per interval and status. */
export function deliveryStatsRows(rows: readonly unknown[]): DeliveryStatsRow[] {
  return (rows as Record<string, number | string>[]).flatMap((row) =>
    ALL_STATUSES.map((status) => ({
      interval: Number(row.interval_start),
      processStatus: status,
      count: Number(row[statusColumn(status)]),
    })),
  );
}

/** The webhook's deliveries created in `range` per interval and process status. */
export async function readDeliveryStats(
  db: Executor,
  webhookId: string,
  range: StatsRange,
): Promise<DeliveryStatsRow[]> {
  const { rows } = await deliveryStatsQuery(webhookId, range).execute(db);
  return deliveryStatsRows(rows);
}

/**
 * The start of the interval `column` falls in, as an integer on both backends: the range's
 * `from` and every interval start are multiples of the interval, so the division need not
 * subtract `from`. The interval is a literal: one of the few the API allows.
 */
function intervalOf(column: "started_at", intervalMs: number): RawBuilder<number> {
  const width = sql.lit(intervalMs);
  return sql<number>`${sql.ref(column)} / ${width} * ${width}`;
}

/** Each of the webhook's attempts started in `range`: its interval, bucket and outcome. */
export function attemptSamplesQuery(db: Executor, webhookId: string, range: StatsRange) {
  return db
    .selectFrom("attempts")
    .select([
      intervalOf("started_at", range.intervalMs).as("interval"),
      DURATION_BUCKET.as("bucket"),
      // Success as outbound/sender.ts's isSuccessStatus has it: a 2xx answer.
      sql<number>`case when status_code between 200 and 299 then 0 else 1 end`.as("failed"),
      "duration_ms",
    ])
    .where("webhook_id", "=", webhookId)
    .where("started_at", ">=", range.from)
    .where("started_at", "<=", range.to);
}

/** {@link attemptSamplesQuery} grouped per interval and bucket, by the database. */
export function groupedAttemptStatsQuery(db: Executor, webhookId: string, range: StatsRange) {
  return db
    .selectFrom(attemptSamplesQuery(db, webhookId, range).as("samples"))
    .select((eb) => [
      "interval",
      "bucket",
      eb.fn.countAll<number>().as("attempts"),
      eb.fn.sum<number>("failed").as("failed"),
      eb.fn.min<number>("duration_ms").as("shortest"),
      eb.fn.max<number>("duration_ms").as("longest"),
    ])
    .groupBy(["interval", "bucket"]);
}

/** {@link groupedAttemptStatsQuery}'s rows, as numbers. */
export async function readGroupedAttemptStats(
  db: Executor,
  webhookId: string,
  range: StatsRange,
): Promise<AttemptStatsRow[]> {
  const rows = await groupedAttemptStatsQuery(db, webhookId, range).execute();
  return rows.map((row) => ({
    interval: Number(row.interval),
    bucket: Number(row.bucket),
    attempts: Number(row.attempts),
    failed: Number(row.failed),
    shortest: Number(row.shortest),
    longest: Number(row.longest),
  }));
}

/** Groups {@link AttemptSample}s per interval and bucket as they are read, one at a time. */
export class AttemptTally {
  private readonly groups = new Map<number, Map<number, AttemptStatsRow>>();

  add(sample: AttemptSample): void {
    let buckets = this.groups.get(sample.interval);
    if (!buckets) {
      buckets = new Map();
      this.groups.set(sample.interval, buckets);
    }
    const row = buckets.get(sample.bucket);
    if (row) {
      row.attempts++;
      row.failed += sample.failed;
      if (sample.duration_ms < row.shortest) row.shortest = sample.duration_ms;
      if (sample.duration_ms > row.longest) row.longest = sample.duration_ms;
    } else {
      buckets.set(sample.bucket, {
        interval: sample.interval,
        bucket: sample.bucket,
        attempts: 1,
        failed: sample.failed,
        shortest: sample.duration_ms,
        longest: sample.duration_ms,
      });
    }
  }

  rows(): AttemptStatsRow[] {
    return [...this.groups.values()].flatMap((buckets) => [...buckets.values()]);
  }
}
