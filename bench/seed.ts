/**
 * Bulk rows for the scale figures, written straight into a stopped server's database with
 * bun:sqlite (prepared INSERT, 50,000 rows per transaction): ids, bodies and columns exactly
 * as Hookpost writes them (src/deliveries/build.ts), so the indexes, the page layout and the
 * queries see what a real log of that size looks like.
 *
 * - `backlog`: Waiting deliveries of one enabled webhook, first attempt due in one day. They
 *   stay queued during the run, yet the scheduler sees them: its claim query runs for that
 *   webhook on every tick and must find "nothing due" through the index, and /metrics counts
 *   them. (A disabled webhook would hide them from the scheduler entirely, testing less.)
 * - `log`: a finished log for one webhook: 82 % Sent, 8 % Error, 10 % Waiting (a retry due in
 *   a day), five content types, five event types, created over the last 30 days; and every
 *   attempt each delivery made (1 for a Sent one, 10 for an Error one, 1–5 for a Waiting one:
 *   about 1.9 per delivery), spaced by the default backoff, each with its status code and
 *   duration (a timeout 15 s, a refused connection a few ms), for the stats figure.
 *
 * Each delivery gets its event row, which holds the content (fields, translations) the log
 * shows: a delivery row keeps no copy of it (src/db/database.ts, DeliveryTable).
 */

import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { SQL } from "bun";
import type { Insertable, Selectable } from "kysely";
import { seededRandom } from "../scripts/lib/prng.ts";
import { openStore } from "../src/db/connect.ts";
import {
  type AttemptTable,
  type DeliveryTable,
  type EventTable,
  NO_CONTENT_COPY,
} from "../src/db/database.ts";
import { ProcessStatus } from "../src/deliveries/status.ts";
import { ID_ALPHABET, type IdPrefix, idFloor } from "../src/ids.ts";
import { recountTotals } from "../src/store/counts.ts";

// The SQLite columns: `lease_owner` is PostgreSQL's alone.
type DeliveryValues = Omit<Selectable<DeliveryTable>, "lease_owner">;

/** One seeded delivery, the event it belongs to, and its attempts. */
interface SeededRow {
  delivery: DeliveryValues;
  event: Insertable<EventTable>;
  attempts: Selectable<AttemptTable>[];
}

export interface SeedOptions {
  dbPath: string;
  workspace: string;
  webhookId: string;
  kind: "backlog" | "log";
  rows: number;
  /** "Now" for the generated times (ms). */
  now: number;
}

export interface SeedReport {
  rows: number;
  /** Attempt rows written with them. */
  attempts: number;
  ms: number;
  /** Database file size after seeding (MB). */
  dbMb: number;
}

const DAY_MS = 86_400_000;
const BATCH = 50_000;
export const CONTENT_TYPES = ["article", "page", "product", "author", "category"] as const;

/** An id of Hookpost's shape (src/ids.ts): prefix, 10 chars of ms time, 12 random chars. */
function idAt(prefix: IdPrefix, ms: number, random: () => number): string {
  let tail = "";
  for (let i = 0; i < 12; i++) tail += ID_ALPHABET[Math.floor(random() * 32)];
  return `${idFloor(prefix, ms)}${tail}`;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

interface Outcome {
  status: number;
  attempts: number;
  code: number | null;
  message: string | null;
  error: string | null;
}

const SENT_CODES = [200, 200, 200, 201, 202, 204];
const ERROR_OUTCOMES: Array<Pick<Outcome, "code" | "message" | "error">> = [
  { code: 500, message: "Internal Server Error", error: "HTTP 500" },
  { code: 502, message: "Bad Gateway", error: "HTTP 502" },
  { code: 503, message: "Service Unavailable", error: "HTTP 503" },
  { code: 404, message: "Not Found", error: "HTTP 404" },
  { code: null, message: "timeout after 15000 ms", error: "timeout after 15000 ms" },
  { code: null, message: "connection refused", error: "connection refused" },
];

function logOutcome(random: () => number): Outcome {
  const roll = random();
  if (roll < 0.82) {
    return {
      status: ProcessStatus.Sent,
      attempts: 1,
      code: pick(SENT_CODES, random),
      message: '{"ok":true}',
      error: null,
    };
  }
  const failure = pick(ERROR_OUTCOMES, random);
  if (roll < 0.9) return { status: ProcessStatus.Error, attempts: 10, ...failure };
  return { status: ProcessStatus.Waiting, attempts: 1 + Math.floor(random() * 5), ...failure };
}

const ATTEMPT_COLUMNS = [
  "id",
  "delivery_id",
  "webhook_id",
  "number",
  "started_at",
  "duration_ms",
  "status_code",
  "error",
  "response_body",
  "request_headers",
] as const satisfies readonly (keyof Selectable<AttemptTable>)[];

/** The default first retry delay (HOOKPOST_RETRY_BASE_MS); later ones double. */
const RETRY_BASE_MS = 5000;

/**
 * The attempts that left `delivery` as it is: the last one gave its status code and duration,
 * the ones before failed like it, each started after the default backoff (without jitter).
 * Durations of the earlier ones come from `random`, a generator of their own, so that the
 * deliveries are the same rows as without attempts.
 */
function attemptsOf(
  delivery: DeliveryValues,
  outcome: Outcome,
  now: number,
  random: () => number,
): Selectable<AttemptTable>[] {
  const attempts: Selectable<AttemptTable>[] = [];
  let startedAt = delivery.created_at + 20;
  for (let number = 1; number <= outcome.attempts; number++) {
    const last = number === outcome.attempts;
    let duration = delivery.duration_ms ?? 0;
    if (outcome.error?.startsWith("timeout")) duration = 15_000;
    else if (outcome.error === "connection refused") duration = 1 + Math.floor(random() * 3);
    else if (!last) duration = 20 + Math.floor(random() * 400);
    startedAt = Math.min(startedAt, now - duration);
    const time = Math.floor(startedAt / 1000);
    attempts.push({
      id: idAt("att", startedAt, random),
      delivery_id: delivery.id,
      webhook_id: delivery.webhook_id,
      number,
      started_at: startedAt,
      duration_ms: duration,
      status_code: outcome.code,
      error: outcome.error,
      response_body: outcome.code === null ? null : outcome.message,
      request_headers:
        `{"content-type":"application/json","user-agent":"Hookpost/1.0.0",` +
        `"webhook-id":"${delivery.id}","webhook-timestamp":"${time}",` +
        `"webhook-signature":"v1,${"A".repeat(43)}=","contit-signature":"t=${time},s=${"0".repeat(64)}"}`,
    });
    startedAt += duration + RETRY_BASE_MS * 2 ** (number - 1);
  }
  return attempts;
}

function row(
  options: SeedOptions,
  index: number,
  random: () => number,
  attemptRandom: () => number,
): SeededRow {
  const { kind, now, rows } = options;
  // Increasing times (as they are inserted in real life), with a little jitter.
  const span = kind === "log" ? 30 * DAY_MS : 3_600_000;
  const createdAt = Math.floor(now - span + (index / rows) * (span - 60_000) + random() * 1000);
  const id = idAt("dlv", createdAt, random);
  const contentType = kind === "log" ? pick(CONTENT_TYPES, random) : "article";
  const eventType = kind === "log" ? Math.floor(random() * 5) : 0;
  const contentId = `c_${index.toString(36)}`;
  const fields = JSON.stringify({
    title: `Seeded ${contentType} ${index}`,
    slug: `seeded-${index}`,
  });
  const translations = JSON.stringify({ it: `Contenuto ${index}` });
  const body =
    `{"eventType":${eventType},"contentId":"${contentId}","contentType":"${contentType}",` +
    `"fields":${fields},"translations":${translations},"webhookId":"${options.webhookId}",` +
    `"deliveryId":"${id}","timestamp":"${new Date(createdAt).toISOString()}"}`;
  const outcome: Outcome =
    kind === "log"
      ? logOutcome(random)
      : { status: ProcessStatus.Waiting, attempts: 0, code: null, message: null, error: null };
  const finished = outcome.status !== ProcessStatus.Waiting;
  const attempted = outcome.attempts > 0;
  const updatedAt = attempted ? createdAt + 200 + Math.floor(random() * 5000) : createdAt;
  const eventId = idAt("evt", createdAt, random);
  const event: Insertable<EventTable> = {
    id: eventId,
    workspace: options.workspace,
    idempotency_key: null,
    event_type: eventType,
    content_type: contentType,
    content_id: contentId,
    fields,
    translations,
    source: "api",
    created_at: createdAt,
    language: null,
  };
  const delivery: DeliveryValues = {
    id,
    workspace: options.workspace,
    webhook_id: options.webhookId,
    event_id: eventId,
    retry_of: null,
    message_id: null,
    event_type: eventType,
    content_type: contentType,
    content_id: contentId,
    fields: NO_CONTENT_COPY,
    translations: NO_CONTENT_COPY,
    custom_payload: null,
    body,
    process_status: outcome.status,
    attempts: outcome.attempts,
    max_attempts: 10,
    next_attempt_at: finished ? updatedAt : now + DAY_MS + Math.floor(random() * 3_600_000),
    lease_until: null,
    response_status_code: outcome.code,
    response_message: outcome.message,
    last_error: outcome.error,
    duration_ms: attempted ? 20 + Math.floor(random() * 400) : null,
    signature: attempted ? `t=${Math.floor(updatedAt / 1000)},s=${"0".repeat(64)}` : null,
    created_at: createdAt,
    updated_at: updatedAt,
  };
  return { delivery, event, attempts: attemptsOf(delivery, outcome, now, attemptRandom) };
}

/** `INSERT INTO table (columns) VALUES ($column, …)`, prepared for rows of that shape. */
function insertOf(db: Database, table: string, columns: readonly string[]) {
  return db.prepare(
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `$${c}`).join(", ")})`,
  );
}

/**
 * Inserts `rows` deliveries, each with its event, into the (migrated, not running) database,
 * then derives the log's kept totals from them, as the store would have kept them.
 */
export async function seedDeliveries(options: SeedOptions): Promise<SeedReport> {
  const began = performance.now();
  const random = seededRandom(options.kind === "log" ? 42 : 7);
  const attemptRandom = seededRandom(43);
  const db = new Database(options.dbPath, { strict: true });
  let attempts = 0;
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    const first = row(options, 0, random, attemptRandom);
    const insertDelivery = insertOf(db, "deliveries", Object.keys(first.delivery));
    const insertEvent = insertOf(db, "events", Object.keys(first.event));
    const insertAttempt = insertOf(db, "attempts", ATTEMPT_COLUMNS);
    const insertBatch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const seeded = i === 0 ? first : row(options, i, random, attemptRandom);
        insertEvent.run(seeded.event);
        insertDelivery.run(seeded.delivery);
        for (const attempt of seeded.attempts) insertAttempt.run(attempt);
        attempts += seeded.attempts.length;
      }
    });
    for (let from = 0; from < options.rows; from += BATCH) {
      insertBatch(from, Math.min(options.rows, from + BATCH));
    }
  } finally {
    db.close();
  }
  const store = openStore(options.dbPath);
  try {
    await store.db.transaction().execute((trx) => recountTotals(trx));
    store.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    await store.close();
  }
  return {
    rows: options.rows,
    attempts,
    ms: Math.round(performance.now() - began),
    dbMb: Math.round(statSync(options.dbPath).size / 1048576),
  };
}

/**
 * The `log` kind on PostgreSQL, for the stats figure there: `rows` deliveries of the webhook
 * with their events and attempts, generated by the server itself (`generate_series`, one
 * statement per table) in the same proportions as {@link seedDeliveries} — 82 % Sent after one
 * attempt, 8 % Error after ten, 10 % Waiting after one to five, over the last 30 days, attempts
 * spaced by the default backoff, 15 s for a timeout — though not the same rows (a hash of the
 * row number stands for the PRNG). Then `VACUUM ANALYZE`, as autovacuum would do after such a
 * load, so the planner knows the tables and an index-only scan need not visit the heap.
 */
export async function seedPostgresLog(
  options: Omit<SeedOptions, "dbPath" | "kind"> & { databaseUrl: string },
): Promise<SeedReport> {
  const began = performance.now();
  const { rows, now, webhookId, workspace } = options;
  const span = 30 * DAY_MS;
  const sql = new SQL(options.databaseUrl, { max: 1 });
  try {
    // roll: the row's fate in [0, 100), from a multiplicative hash of its number.
    await sql`create temporary table seed (i integer, created_at bigint, roll bigint, jitter bigint)`;
    await sql`insert into seed
      select i,
        ${now - span}::bigint + (i::bigint * ${span - 60_000}::bigint) / ${rows}::bigint,
        ((i::bigint * 2654435761) % 4294967296) * 100 / 4294967296,
        ((i::bigint * 40503) % 65536) * 400 / 65536
      from generate_series(0, ${rows - 1}::integer) as i`;
    await sql`insert into events (id, workspace, event_type, content_type, content_id, fields,
        translations, source, created_at)
      select 'evt_seed_' || lpad(i::text, 8, '0'), ${workspace}, i % 5,
        (array['article','page','product','author','category'])[i % 5 + 1], 'c_' || i,
        '{"title":"Seeded"}', '{}', 'api', created_at
      from seed`;
    await sql`insert into deliveries (id, workspace, webhook_id, event_id, event_type,
        content_type, content_id, fields, translations, body, process_status, attempts,
        max_attempts, next_attempt_at, response_status_code, response_message, last_error,
        duration_ms, created_at, updated_at)
      select 'dlv_seed_' || lpad(i::text, 8, '0'), ${workspace}, ${webhookId},
        'evt_seed_' || lpad(i::text, 8, '0'), i % 5,
        (array['article','page','product','author','category'])[i % 5 + 1], 'c_' || i, '', '',
        '{"seeded":true}',
        case when roll < 82 then 2 when roll < 90 then -1 else 0 end,
        case when roll < 82 then 1 when roll < 90 then 10 else 1 + i % 5 end,
        10, ${now} + ${DAY_MS},
        case when roll < 82 then 200 when i % 3 = 0 then null else 500 end,
        case when roll < 82 then '{"ok":true}' else 'Internal Server Error' end,
        case when roll < 82 then null when i % 3 = 0 then 'timeout after 15000 ms' else 'HTTP 500' end,
        20 + jitter, created_at, created_at + 1000
      from seed`;
    await sql`insert into attempts (id, delivery_id, webhook_id, number, started_at, duration_ms,
        status_code, error, response_body, request_headers)
      select 'att_seed_' || lpad(d.i::text, 8, '0') || '_' || k,
        'dlv_seed_' || lpad(d.i::text, 8, '0'), ${webhookId}, k,
        least(d.created_at + 20 + ${RETRY_BASE_MS} * (2 ^ (k - 1) - 1)::bigint, ${now} - 15000),
        case when d.roll >= 82 and d.i % 3 = 0 then 15000 else 20 + (d.jitter + k * 37) % 400 end,
        case when d.roll < 82 then 200 when d.i % 3 = 0 then null else 500 end,
        case when d.roll < 82 then null when d.i % 3 = 0 then 'timeout after 15000 ms' else 'HTTP 500' end,
        case when d.roll < 82 then '{"ok":true}' when d.i % 3 = 0 then null else 'Internal Server Error' end,
        '{"content-type":"application/json","user-agent":"Hookpost/1.0.0"}'
      from seed d
      cross join lateral generate_series(1,
        case when d.roll < 82 then 1 when d.roll < 90 then 10 else 1 + d.i % 5 end) as k`;
    const [counted] =
      await sql`select count(*)::int as n from attempts where webhook_id = ${webhookId}`;
    await sql`vacuum analyze events`;
    await sql`vacuum analyze deliveries`;
    await sql`vacuum analyze attempts`;
    return {
      rows,
      attempts: (counted as { n: number }).n,
      ms: Math.round(performance.now() - began),
      dbMb: 0,
    };
  } finally {
    await sql.close();
  }
}
