/**
 * The reads behind a webhook's stats (`GET /webhooks/{id}/stats`, issue 17), the same SQL on
 * both backends: its deliveries created in a time range, counted per interval and process status,
 * and its attempts started in the range, counted per interval and duration bucket. Each is one
 * range of one index read alone — `deliveries_log_by_status` (webhook_id, process_status,
 * created_at) and `attempts_by_webhook` (webhook_id, started_at, status_code, duration_ms,
 * migration 0015) — and each answers at most (intervals × statuses or buckets) rows, however
 * many deliveries and attempts the range holds: the durations are bucketed in SQL
 * ({@link DURATION_BUCKET}), never read one by one.
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

/**
 * The start of the interval `column` falls in, as an integer on both backends: the range's
 * `from` and every interval start are multiples of the interval, so the division need not
 * subtract `from`. The interval is a literal: one of the few the API allows.
 */
function intervalOf(column: "created_at" | "started_at", intervalMs: number): RawBuilder<number> {
  const width = sql.lit(intervalMs);
  return sql<number>`${sql.ref(column)} / ${width} * ${width}`;
}

/** Every process status a row can hold: spelt out so that the status index is searched. */
const ALL_STATUSES = Object.values(ProcessStatus);

/** The webhook's deliveries created in `range`, counted per interval and process status. */
export function deliveryStatsQuery(db: Executor, webhookId: string, range: StatsRange) {
  return (
    db
      .selectFrom("deliveries")
      .select((eb) => [
        intervalOf("created_at", range.intervalMs).as("interval"),
        "process_status",
        eb.fn.countAll<number>().as("count"),
      ])
      .where("webhook_id", "=", webhookId)
      // Every status, so that the plan is a few ranges of the covering status index rather than
      // the log index and a read of each row for its status.
      .where("process_status", "in", ALL_STATUSES)
      .where("created_at", ">=", range.from)
      .where("created_at", "<=", range.to)
      .groupBy(["interval", "process_status"])
  );
}

/** The webhook's attempts started in `range`, counted per interval and duration bucket. */
export function attemptStatsQuery(db: Executor, webhookId: string, range: StatsRange) {
  return db
    .selectFrom("attempts")
    .select((eb) => [
      intervalOf("started_at", range.intervalMs).as("interval"),
      DURATION_BUCKET.as("bucket"),
      eb.fn.countAll<number>().as("attempts"),
      // Success as outbound/sender.ts's isSuccessStatus has it: a 2xx answer.
      sql<number>`sum(case when status_code between 200 and 299 then 0 else 1 end)`.as("failed"),
      eb.fn.min<number>("duration_ms").as("shortest"),
      eb.fn.max<number>("duration_ms").as("longest"),
    ])
    .where("webhook_id", "=", webhookId)
    .where("started_at", ">=", range.from)
    .where("started_at", "<=", range.to)
    .groupBy(["interval", "bucket"]);
}

/**
 * The webhook's deliveries created in `range` per interval and process status, and its
 * attempts started in `range` per interval and duration bucket, read in the caller's
 * transaction (so both see one moment). The caller checked the workspace.
 */
export async function readWebhookStats(
  db: Executor,
  webhookId: string,
  range: StatsRange,
): Promise<WebhookStatsRows> {
  const deliveries = await deliveryStatsQuery(db, webhookId, range).execute();
  const attempts = await attemptStatsQuery(db, webhookId, range).execute();
  return {
    deliveries: deliveries.map((row) => ({
      interval: Number(row.interval),
      processStatus: Number(row.process_status),
      count: Number(row.count),
    })),
    attempts: attempts.map((row) => ({
      interval: Number(row.interval),
      bucket: Number(row.bucket),
      attempts: Number(row.attempts),
      failed: Number(row.failed),
      shortest: Number(row.shortest),
      longest: Number(row.longest),
    })),
  };
}
