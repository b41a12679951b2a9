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
 *   a day), five content types, five event types, created over the last 30 days.
 *
 * Each delivery gets its event row, which holds the content (fields, translations) the log
 * shows: a delivery row keeps no copy of it (src/db/database.ts, DeliveryTable).
 */

import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import type { Insertable, Selectable } from "kysely";
import { seededRandom } from "../scripts/lib/prng.ts";
import { openStore } from "../src/db/connect.ts";
import { type DeliveryTable, type EventTable, NO_CONTENT_COPY } from "../src/db/database.ts";
import { ProcessStatus } from "../src/deliveries/status.ts";
import { ID_ALPHABET, type IdPrefix, idFloor } from "../src/ids.ts";
import { recountTotals } from "../src/store/counts.ts";

// The SQLite columns: `lease_owner` is PostgreSQL's alone.
type DeliveryValues = Omit<Selectable<DeliveryTable>, "lease_owner">;

/** One seeded delivery and the event it belongs to. */
interface SeededRow {
  delivery: DeliveryValues;
  event: Insertable<EventTable>;
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

function row(options: SeedOptions, index: number, random: () => number): SeededRow {
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
  return { delivery, event };
}

/** `INSERT INTO table (columns of row) VALUES ($column, …)`, prepared for rows of that shape. */
function insertOf(db: Database, table: string, row: object) {
  const columns = Object.keys(row);
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
  const db = new Database(options.dbPath, { strict: true });
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    const first = row(options, 0, random);
    const insertDelivery = insertOf(db, "deliveries", first.delivery);
    const insertEvent = insertOf(db, "events", first.event);
    const insertBatch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const { delivery, event } = i === 0 ? first : row(options, i, random);
        insertEvent.run(event);
        insertDelivery.run(delivery);
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
    ms: Math.round(performance.now() - began),
    dbMb: Math.round(statSync(options.dbPath).size / 1048576),
  };
}
