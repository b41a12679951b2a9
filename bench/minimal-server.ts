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
import {
  type Accepted,
  acceptEvent,
  attempt,
  type Endpoint,
  isSent,
  newEndpoint,
  type Outcome,
  SENT,
  serveEvents,
  sha256Hex,
  TurnCommit,
  WAITING,
  WEBHOOK_ID,
  WORKSPACE,
} from "./minimal-program.ts";
import { serveRpc } from "./rpc.ts";
import { DELIVERY_CONCURRENCY } from "./webhook-work.ts";

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

interface Ready {
  deliveryId: string;
  body: string;
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
  private readonly turn: TurnCommit;
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
    const commit = db.transaction((accepted: readonly Accepted[], outcomes: readonly Outcome[]) => {
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
        const now = o.startedAt + o.durationMs;
        const row = this.recordOutcome.get(
          isSent(o) ? SENT : WAITING,
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
    this.turn = new TurnCommit(commit, (accepted) => {
      if (this.endpoint) {
        for (const a of accepted) this.ready.push({ deliveryId: a.deliveryId, body: a.body });
      }
      this.pump();
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

  acceptEvent(request: Request): Promise<Response> {
    return acceptEvent(
      request,
      (keyHash) => this.findKey.get(keyHash)?.workspace ?? null,
      (accepted) => this.turn.addEvent(accepted),
    );
  }

  private pump(): void {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    while (this.inFlight < DELIVERY_CONCURRENCY && this.readyHead < this.ready.length) {
      const next = this.ready[this.readyHead++];
      if (!next) break;
      this.inFlight++;
      void attempt(endpoint, next.deliveryId, next.body).then((outcome) => {
        this.inFlight--;
        this.turn.addOutcome(outcome);
      });
    }
    // Drop the sent prefix now and then rather than shifting the array once per delivery.
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }
}

let url: string | null = null;

export const handlers = {
  start(args: {
    dbPath: string;
    apiKey: string;
    /** The receiver's URL; null parks every delivery (ingest alone). */
    endpoint: string | null;
  }): { url: string; pid: number } {
    if (url === null) {
      const program = new MinimalProgram(openDatabase(args.dbPath), newEndpoint(args.endpoint));
      program.addApiKey(args.apiKey);
      url = serveEvents((request) => program.acceptEvent(request));
    }
    return { url, pid: process.pid };
  },
};

export type MinimalApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
