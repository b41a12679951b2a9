/**
 * The minimal program on PostgreSQL (issue 15): the smallest program that does Hookpost's
 * durable work for one webhook as a node of a cluster must do it, a process of its own, so
 * that Hookpost's PostgreSQL rows show where the floor is. One thread, Bun's `SQL` client (a
 * pool of 20, as Hookpost's), its own small schema in the database it is given.
 *
 * - `POST /events`: as minimal-server.ts (minimal-program.ts): the API key's SHA-256 looked up
 *   in `api_keys` (one query), the event validated, an `events` row and a `deliveries` row
 *   written, `202` once they are committed.
 * - Delivery: due deliveries are *taken from the database*, not from memory, so that any node
 *   of a cluster may send them: one statement leases up to the free slots' worth
 *   (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`), up to 64
 *   signed POSTs are in flight, and each outcome updates its delivery (ending the lease, if this
 *   node still holds it) and adds an `attempts` row. The taker looks after each commit of new
 *   events and each freed slot, at most once a turn, and every {@link POLL_MS} for work that
 *   another node committed or a lease that ran out.
 *
 * Every write of one event-loop turn — new events and outcomes alike — is one statement (one
 * multi-row insert or update per table, joined by `WITH`), so one round trip and one commit.
 * Turns commit side by side on the pool's connections.
 *
 * Left out, on purpose, as in minimal-server.ts: retry scheduling (a failed attempt is taken
 * again {@link RETRY_MS} later, no backoff), fairness between webhooks and per-webhook caps,
 * health, hooks, metrics, log totals and templates. Without `endpoint` nothing is taken: the
 * deliveries stay Waiting, as Hookpost's are parked while ingest alone is measured.
 */

import { SQL } from "bun";
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

/** Connections in the pool: Hookpost's pool on PostgreSQL. */
const POOL_SIZE = 20;
/** How long a taken delivery is this node's: past it, another node may take it again. */
const LEASE_MS = 60_000;
/** A failed attempt's delivery is due again this much later. */
const RETRY_MS = 60_000;
/** How often the taker looks without being woken: work other nodes committed, lapsed leases. */
const POLL_MS = 250;

/** Hookpost's three secondary indexes on deliveries; the lease is two columns. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id text PRIMARY KEY, workspace text NOT NULL, key_hash text NOT NULL UNIQUE,
  created_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id text PRIMARY KEY, workspace text NOT NULL, event_type integer NOT NULL,
  content_type text NOT NULL, content_id text NOT NULL, fields text NOT NULL,
  translations text NOT NULL, created_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  id text PRIMARY KEY, webhook_id text NOT NULL, event_id text NOT NULL, body text NOT NULL,
  process_status integer NOT NULL, attempts integer NOT NULL, next_attempt_at bigint NOT NULL,
  response_status_code integer, duration_ms integer, created_at bigint NOT NULL,
  updated_at bigint NOT NULL, lease_owner text, lease_until bigint);
CREATE INDEX IF NOT EXISTS deliveries_log ON deliveries (webhook_id, created_at);
CREATE INDEX IF NOT EXISTS deliveries_log_by_status
  ON deliveries (webhook_id, process_status, created_at);
CREATE INDEX IF NOT EXISTS deliveries_due
  ON deliveries (webhook_id, next_attempt_at) WHERE process_status = ${WAITING};
CREATE TABLE IF NOT EXISTS attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id text NOT NULL REFERENCES deliveries (id), number integer NOT NULL,
  started_at bigint NOT NULL, duration_ms integer NOT NULL, status_code integer, error text);
`;

/** A delivery this node leased, with the lease's end (its outcome is written only under it). */
interface Taken {
  id: string;
  body: string;
  lease_until: string;
}

/** The program's state; one per process. */
class MinimalPostgresProgram {
  /** This node's name on its leases. */
  private readonly node = `node_${Bun.randomUUIDv7()}`;
  private readonly turn: TurnCommit;
  /** The lease's end of each delivery taken and not yet written, for its outcome's write. */
  private readonly leases = new Map<string, string>();
  private inFlight = 0;
  private taking = false;
  private wanted = false;
  private scheduled = false;

  constructor(
    private readonly sql: SQL,
    private readonly endpoint: Endpoint | null,
  ) {
    this.turn = new TurnCommit(
      (accepted, outcomes) => this.commit(accepted, outcomes),
      (accepted) => {
        if (accepted.length > 0) this.wake();
      },
    );
    if (endpoint) {
      setInterval(() => this.wake(), POLL_MS);
      this.wake();
    }
  }

  async addApiKey(plain: string): Promise<void> {
    await this.sql`INSERT INTO api_keys (id, workspace, key_hash, created_at)
      VALUES (${`key_${Bun.randomUUIDv7()}`}, ${WORKSPACE}, ${sha256Hex(plain)}, ${Date.now()}::bigint)
      ON CONFLICT DO NOTHING`;
  }

  acceptEvent(request: Request): Promise<Response> {
    return acceptEvent(
      request,
      async (keyHash) => {
        const [row] = await this.sql`SELECT workspace FROM api_keys WHERE key_hash = ${keyHash}`;
        return row === undefined ? null : (row.workspace as string);
      },
      (accepted) => this.turn.addEvent(accepted),
    );
  }

  /** A turn's events and outcomes in one statement: one round trip, one commit. */
  private async commit(accepted: readonly Accepted[], outcomes: readonly Outcome[]): Promise<void> {
    const events = <T>(pick: (a: Accepted) => T) => accepted.map(pick);
    const done = <T>(pick: (o: Outcome) => T) => outcomes.map(pick);
    const leases = done((o) => this.leases.get(o.deliveryId) ?? null);
    // Written or not, these leases are done with: one that failed to be written runs out.
    for (const o of outcomes) this.leases.delete(o.deliveryId);
    await this.sql`WITH new_events AS (
        INSERT INTO events (id, workspace, event_type, content_type, content_id, fields,
          translations, created_at)
        SELECT * FROM unnest(${events((a) => a.eventId)}::text[], ${events((a) => a.workspace)}::text[],
          ${events((a) => a.event.eventType)}::integer[], ${events((a) => a.event.contentType)}::text[],
          ${events((a) => a.event.contentId)}::text[], ${events((a) => JSON.stringify(a.event.fields))}::text[],
          ${events((a) => JSON.stringify(a.event.translations))}::text[], ${events((a) => a.now)}::bigint[])
      ), new_deliveries AS (
        INSERT INTO deliveries (id, webhook_id, event_id, body, process_status, attempts,
          next_attempt_at, created_at, updated_at)
        SELECT d.id, ${WEBHOOK_ID}, d.event_id, d.body, ${WAITING}, 0, d.now, d.now, d.now
        FROM unnest(${events((a) => a.deliveryId)}::text[], ${events((a) => a.eventId)}::text[],
          ${events((a) => a.body)}::text[], ${events((a) => a.now)}::bigint[]) AS d (id, event_id, body, now)
      ), outcome AS (
        SELECT * FROM unnest(${done((o) => o.deliveryId)}::text[],
          ${done((o) => (isSent(o) ? SENT : WAITING))}::integer[], ${done((o) => o.statusCode)}::integer[],
          ${done((o) => o.durationMs)}::integer[], ${done((o) => o.startedAt)}::bigint[],
          ${done((o) => o.error)}::text[],
          ${done((o) => o.startedAt + o.durationMs + (isSent(o) ? 0 : RETRY_MS))}::bigint[],
          ${leases}::bigint[])
          AS o (id, process_status, status_code, duration_ms, started_at, error, next_attempt_at, lease_until)
      ), updated AS (
        UPDATE deliveries AS d SET process_status = o.process_status, attempts = d.attempts + 1,
          response_status_code = o.status_code, duration_ms = o.duration_ms,
          next_attempt_at = o.next_attempt_at, updated_at = o.started_at + o.duration_ms,
          lease_owner = NULL, lease_until = NULL
        FROM outcome AS o
        WHERE d.id = o.id AND d.lease_owner = ${this.node} AND d.lease_until = o.lease_until
        RETURNING d.id, d.attempts
      )
      INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error)
      SELECT o.id, u.attempts, o.started_at, o.duration_ms, o.status_code, o.error
      FROM outcome AS o JOIN updated AS u ON u.id = o.id`;
  }

  /** Asks the taker to look at the end of this turn (once, however often it is asked). */
  private wake(): void {
    if (this.taking) {
      this.wanted = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.take();
    });
  }

  /** Leases as many due deliveries as there are free slots, and sends them. */
  private async take(): Promise<void> {
    const endpoint = this.endpoint;
    const free = DELIVERY_CONCURRENCY - this.inFlight;
    if (!endpoint || free <= 0 || this.taking) return;
    this.taking = true;
    this.wanted = false;
    const now = Date.now();
    try {
      const taken: Taken[] = await this.sql`UPDATE deliveries
        SET lease_owner = ${this.node}, lease_until = ${now + LEASE_MS}::bigint
        WHERE id IN (SELECT id FROM deliveries
          WHERE webhook_id = ${WEBHOOK_ID} AND process_status = ${WAITING}
            AND next_attempt_at <= ${now}::bigint
            AND (lease_until IS NULL OR lease_until < ${now}::bigint)
          ORDER BY next_attempt_at LIMIT ${free} FOR UPDATE SKIP LOCKED)
        RETURNING id, body, lease_until`;
      for (const row of taken) {
        this.leases.set(row.id, row.lease_until);
        this.inFlight++;
        void attempt(endpoint, row.id, row.body).then((outcome) => {
          this.inFlight--;
          this.turn.addOutcome(outcome);
          this.wake();
        });
      }
      // A full take may have left more behind.
      if (taken.length === free) this.wanted = true;
    } catch (error) {
      process.stderr.write(`minimal program on PostgreSQL: take failed: ${String(error)}\n`);
    } finally {
      this.taking = false;
    }
    if (this.wanted) this.wake();
  }
}

let url: string | null = null;

export const handlers = {
  async start(args: {
    databaseUrl: string;
    apiKey: string;
    /** The receiver's URL; null parks every delivery (ingest alone). */
    endpoint: string | null;
  }): Promise<{ url: string; pid: number }> {
    if (url === null) {
      const sql = new SQL(args.databaseUrl, { max: POOL_SIZE });
      await sql.unsafe(SCHEMA);
      const program = new MinimalPostgresProgram(sql, newEndpoint(args.endpoint));
      await program.addApiKey(args.apiKey);
      url = serveEvents((request) => program.acceptEvent(request));
    }
    return { url, pid: process.pid };
  },
};

export type MinimalPostgresApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
