/**
 * The minimal program (issue 14: "write the smallest program that does the required work,
 * measure it in the same run, and show where Hookpost's time goes beyond it"), a process of
 * its own: one thread, one SQLite file with Hookpost's pragmas, and Hookpost's durable work for
 * one webhook that takes every event, nothing else.
 *
 * - `POST /events`: the API key's SHA-256 looked up in `api_keys`, the event validated, an
 *   `events` row and a `deliveries` row (the rendered envelope, three secondary indexes)
 *   written, and `202` once they are committed.
 * - Delivery: committed deliveries go to an in-memory ready queue (Waiting rows are re-read at
 *   start); up to 64 signed POSTs are in flight; each outcome updates the delivery and adds an
 *   `attempts` row.
 *
 * Every write of one event-loop turn — new events and outcomes alike — is committed in one
 * transaction at the end of the turn (group commit), so a commit's cost is shared by every
 * request that arrived with it, as Hookpost's writer shares it.
 *
 * Left out, on purpose: retry scheduling (a failed attempt leaves its delivery Waiting for the
 * next start), fairness between webhooks, leases, health, hooks, metrics, log totals and
 * templates. Without `endpoint` nothing is delivered: the deliveries stay Waiting, as
 * Hookpost's are parked while ingest alone is measured.
 */

import { Database } from "bun:sqlite";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { serveRpc } from "./rpc.ts";
import {
  DELIVERY_CONCURRENCY,
  DELIVERY_TIMEOUT_MS,
  type EventInput,
  problem,
  renderEnvelope,
  SECRET_PREFIX,
  standardSignature,
  validateEvent,
} from "./webhook-work.ts";

const WEBHOOK_ID = "wh_bench_minimal";
const WORKSPACE = "default";
/** Hookpost's process_status values (seed 000's WebhookProcessStatus). */
const WAITING = 0;
const SENT = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, workspace TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, workspace TEXT NOT NULL, event_type INTEGER NOT NULL,
  content_type TEXT NOT NULL, content_id TEXT NOT NULL, fields TEXT NOT NULL,
  translations TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
  process_status INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
  response_status_code INTEGER, duration_ms INTEGER, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_log ON deliveries (webhook_id, created_at);
CREATE INDEX IF NOT EXISTS deliveries_log_by_status
  ON deliveries (webhook_id, process_status, created_at);
CREATE INDEX IF NOT EXISTS deliveries_due
  ON deliveries (webhook_id, next_attempt_at) WHERE process_status = 0;
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL REFERENCES deliveries (id),
  number INTEGER NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
  status_code INTEGER, error TEXT);
`;

/** An accepted event, waiting for the turn's commit before its `202`. */
interface Accepted {
  eventId: string;
  workspace: string;
  event: EventInput;
  deliveryId: string;
  body: string;
  now: number;
  committed: () => void;
  failed: (error: unknown) => void;
}

/** One attempt's outcome, waiting for the turn's commit. */
interface Outcome {
  deliveryId: string;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

interface Ready {
  deliveryId: string;
  body: string;
}

/** Where deliveries go, and the webhook's secret in the two forms its signatures use. */
interface Endpoint {
  url: string;
  secret: string;
  standardKey: Buffer;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function openDatabase(path: string) {
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA temp_store = MEMORY");
  db.exec(SCHEMA);
  return db;
}

/** The program's state and statements; one per process. */
class MinimalProgram {
  private readonly findKey;
  private readonly insertEvent;
  private readonly insertDelivery;
  private readonly recordOutcome;
  private readonly insertAttempt;
  private readonly commit;
  private accepted: Accepted[] = [];
  private outcomes: Outcome[] = [];
  private flushScheduled = false;
  private readonly ready: Ready[] = [];
  private readyHead = 0;
  private inFlight = 0;

  constructor(
    private readonly db: Database,
    private readonly endpoint: Endpoint | null,
  ) {
    this.findKey = db.prepare<{ workspace: string }, [string]>(
      "SELECT workspace FROM api_keys WHERE key_hash = ?",
    );
    this.insertEvent = db.prepare<
      never,
      [string, string, number, string, string, string, string, number]
    >(
      "INSERT INTO events (id, workspace, event_type, content_type, content_id, fields, translations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertDelivery = db.prepare<
      never,
      [string, string, string, string, number, number, number]
    >(
      `INSERT INTO deliveries (id, webhook_id, event_id, body, process_status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ${WAITING}, 0, ?, ?, ?)`,
    );
    this.recordOutcome = db.prepare<
      { attempts: number },
      [number, number | null, number, number, string]
    >(
      "UPDATE deliveries SET process_status = ?, attempts = attempts + 1, response_status_code = ?, duration_ms = ?, updated_at = ? WHERE id = ? RETURNING attempts",
    );
    this.insertAttempt = db.prepare<
      never,
      [string, number, number, number, number | null, string | null]
    >(
      "INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.commit = db.transaction((accepted: Accepted[], outcomes: Outcome[]) => {
      for (const a of accepted) {
        const { event } = a;
        this.insertEvent.run(
          a.eventId,
          a.workspace,
          event.eventType,
          event.contentType,
          event.contentId,
          JSON.stringify(event.fields),
          JSON.stringify(event.translations),
          a.now,
        );
        this.insertDelivery.run(a.deliveryId, WEBHOOK_ID, a.eventId, a.body, a.now, a.now, a.now);
      }
      for (const o of outcomes) {
        const sent = o.statusCode !== null && o.statusCode >= 200 && o.statusCode < 300;
        const now = o.startedAt + o.durationMs;
        const row = this.recordOutcome.get(
          sent ? SENT : WAITING,
          o.statusCode,
          o.durationMs,
          now,
          o.deliveryId,
        );
        this.insertAttempt.run(
          o.deliveryId,
          row?.attempts ?? 0,
          o.startedAt,
          o.durationMs,
          o.statusCode,
          o.error,
        );
      }
    });
    if (endpoint) {
      // What an earlier run accepted and did not deliver.
      const waiting = db
        .prepare<{ id: string; body: string }, [string]>(
          `SELECT id, body FROM deliveries WHERE webhook_id = ? AND process_status = ${WAITING} ORDER BY next_attempt_at`,
        )
        .all(WEBHOOK_ID);
      for (const row of waiting) this.ready.push({ deliveryId: row.id, body: row.body });
      this.pump();
    }
  }

  addApiKey(plain: string): void {
    this.db
      .prepare<never, [string, string, string, number]>(
        "INSERT OR IGNORE INTO api_keys (id, workspace, key_hash, created_at) VALUES (?, ?, ?, ?)",
      )
      .run(`key_${Bun.randomUUIDv7()}`, WORKSPACE, sha256Hex(plain), Date.now());
  }

  async acceptEvent(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/events") return problem(404, "not found");
    const presented = request.headers.get("x-api-key");
    const key = presented === null ? null : this.findKey.get(sha256Hex(presented));
    if (!key) return problem(401, "a valid X-Api-Key header is required");
    let input: unknown;
    try {
      input = await request.json();
    } catch {
      return problem(400, "the body is not JSON");
    }
    const event = validateEvent(input);
    if (typeof event === "string") return problem(400, event);
    const now = Date.now();
    const eventId = `evt_${Bun.randomUUIDv7()}`;
    const deliveryId = `dlv_${Bun.randomUUIDv7()}`;
    const body = renderEnvelope(event, WEBHOOK_ID, deliveryId, now);
    try {
      await new Promise<void>((committed, failed) => {
        this.accepted.push({
          eventId,
          workspace: key.workspace,
          event,
          deliveryId,
          body,
          now,
          committed,
          failed,
        });
        this.scheduleFlush();
      });
    } catch {
      return problem(500, "the event could not be stored");
    }
    return Response.json(
      { eventId, deliveries: [{ webhookId: WEBHOOK_ID, deliveryId }] },
      { status: 202 },
    );
  }

  /** The turn's writes go in one transaction once the turn's callbacks have all run. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const accepted = this.accepted;
    const outcomes = this.outcomes;
    this.accepted = [];
    this.outcomes = [];
    try {
      this.commit(accepted, outcomes);
    } catch (error) {
      process.stderr.write(`minimal program: commit failed: ${String(error)}\n`);
      for (const a of accepted) a.failed(error);
      return;
    }
    for (const a of accepted) {
      a.committed();
      if (this.endpoint) this.ready.push({ deliveryId: a.deliveryId, body: a.body });
    }
    this.pump();
  }

  private pump(): void {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    while (this.inFlight < DELIVERY_CONCURRENCY && this.readyHead < this.ready.length) {
      const next = this.ready[this.readyHead++];
      if (!next) break;
      this.inFlight++;
      void this.attempt(endpoint, next);
    }
    // Drop the sent prefix now and then rather than shifting the array once per delivery.
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  private async attempt(endpoint: Endpoint, delivery: Ready): Promise<void> {
    const startedAt = Date.now();
    const began = performance.now();
    const timestamp = Math.floor(startedAt / 1000);
    const { deliveryId, body } = delivery;
    let statusCode: number | null = null;
    let error: string | null = null;
    // Both of Hookpost's schemes: Contit-Signature (hex, the secret's UTF-8 bytes as the key)
    // and Standard Webhooks (base64, the decoded whsec_ key).
    const contit = createHmac("sha256", endpoint.secret)
      .update(`${timestamp}.${body}`)
      .digest("hex");
    const headers = {
      "content-type": "application/json",
      "user-agent": "bench-minimal/1",
      "contit-signature": `t=${timestamp},s=${contit}`,
      "webhook-id": deliveryId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": standardSignature(endpoint.standardKey, deliveryId, timestamp, body),
    };
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      statusCode = response.status;
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    this.inFlight--;
    this.outcomes.push({
      deliveryId,
      startedAt,
      durationMs: Math.round(performance.now() - began),
      statusCode,
      error,
    });
    this.scheduleFlush();
  }
}

let server: ReturnType<typeof Bun.serve> | null = null;

export const handlers = {
  start(args: {
    dbPath: string;
    apiKey: string;
    /** The receiver's URL; null parks every delivery (ingest alone). */
    endpoint: string | null;
  }): { url: string; pid: number } {
    if (!server) {
      const standardKey = randomBytes(24);
      const endpoint =
        args.endpoint === null
          ? null
          : {
              url: args.endpoint,
              secret: `${SECRET_PREFIX}${standardKey.toString("base64")}`,
              standardKey,
            };
      const program = new MinimalProgram(openDatabase(args.dbPath), endpoint);
      program.addApiKey(args.apiKey);
      server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request) => program.acceptEvent(request),
      });
    }
    return { url: `http://127.0.0.1:${server.port}`, pid: process.pid };
  },
};

export type MinimalApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
