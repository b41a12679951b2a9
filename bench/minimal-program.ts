/**
 * What the two minimal programs (minimal-server.ts on SQLite, minimal-postgres-server.ts on
 * PostgreSQL) share, so that their rows differ by the store and nothing else: the one webhook,
 * `POST /events` up to the write (key, validation, envelope), the signed attempt, and the
 * group commit of one event-loop turn's writes. Each program brings its statements.
 */

import { createHash, createHmac, randomBytes } from "node:crypto";
import {
  DELIVERY_TIMEOUT_MS,
  type EventInput,
  problem,
  renderEnvelope,
  SECRET_PREFIX,
  standardSignature,
  validateEvent,
} from "./webhook-work.ts";

/** The one webhook, which takes every event. */
export const WEBHOOK_ID = "wh_bench_minimal";
export const WORKSPACE = "default";
/** Hookpost's process_status values (seed 000's WebhookProcessStatus). */
export const WAITING = 0;
export const SENT = 2;

/** An accepted event, written in its turn's commit. */
export interface Accepted {
  eventId: string;
  workspace: string;
  event: EventInput;
  deliveryId: string;
  body: string;
  now: number;
}

/** One attempt's outcome, written in its turn's commit. */
export interface Outcome {
  deliveryId: string;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

/** Whether the receiver took the delivery (a 2xx answer). */
export function isSent(outcome: Outcome): boolean {
  return outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
}

/** Where deliveries go, and the webhook's secret in the two forms its signatures use. */
export interface Endpoint {
  url: string;
  secret: string;
  standardKey: Buffer;
}

/** The endpoint at `url` with a fresh secret, or null (nothing is delivered) for null. */
export function newEndpoint(url: string | null): Endpoint | null {
  if (url === null) return null;
  const standardKey = randomBytes(24);
  return { url, secret: `${SECRET_PREFIX}${standardKey.toString("base64")}`, standardKey };
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * `POST /events`: the key's workspace (`findWorkspace` of its SHA-256), the event validated
 * and its envelope rendered, then `202` once `write` has committed it.
 */
export async function acceptEvent(
  request: Request,
  findWorkspace: (keyHash: string) => string | null | Promise<string | null>,
  write: (accepted: Accepted) => Promise<void>,
): Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "POST" || url.pathname !== "/events") return problem(404, "not found");
  const presented = request.headers.get("x-api-key");
  const workspace = presented === null ? null : await findWorkspace(sha256Hex(presented));
  if (workspace === null) return problem(401, "a valid X-Api-Key header is required");
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
    await write({ eventId, workspace, event, deliveryId, body, now });
  } catch {
    return problem(500, "the event could not be stored");
  }
  return Response.json(
    { eventId, deliveries: [{ webhookId: WEBHOOK_ID, deliveryId }] },
    { status: 202 },
  );
}

/** One signed POST of `body` to the endpoint, and how it went. */
export async function attempt(
  endpoint: Endpoint,
  deliveryId: string,
  body: string,
): Promise<Outcome> {
  const startedAt = Date.now();
  const began = performance.now();
  const timestamp = Math.floor(startedAt / 1000);
  let statusCode: number | null = null;
  let error: string | null = null;
  // Both of Hookpost's schemes: Contit-Signature (hex, the secret's UTF-8 bytes as the key)
  // and Standard Webhooks (base64, the decoded whsec_ key).
  const contit = createHmac("sha256", endpoint.secret).update(`${timestamp}.${body}`).digest("hex");
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
  return {
    deliveryId,
    startedAt,
    durationMs: Math.round(performance.now() - began),
    statusCode,
    error,
  };
}

interface Waiting {
  accepted: Accepted;
  committed: () => void;
  failed: (error: unknown) => void;
}

/**
 * Group commit: every event and outcome of one event-loop turn is written by one call of
 * `commit` at the end of the turn, so a commit's cost is shared by every request that arrived
 * with it, as Hookpost's writer shares it. `committed` hears of the events once they are.
 */
export class TurnCommit {
  private accepted: Waiting[] = [];
  private outcomes: Outcome[] = [];
  private scheduled = false;

  constructor(
    private readonly commit: (
      accepted: readonly Accepted[],
      outcomes: readonly Outcome[],
    ) => void | Promise<void>,
    private readonly committed: (accepted: readonly Accepted[]) => void,
  ) {}

  /** Resolves once the event is committed. */
  addEvent(accepted: Accepted): Promise<void> {
    return new Promise<void>((committed, failed) => {
      this.accepted.push({ accepted, committed, failed });
      this.schedule();
    });
  }

  addOutcome(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.schedule();
  }

  /** The turn's writes go in one commit once the turn's callbacks have all run. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const waiting = this.accepted;
    const outcomes = this.outcomes;
    this.accepted = [];
    this.outcomes = [];
    const accepted = waiting.map((w) => w.accepted);
    try {
      await this.commit(accepted, outcomes);
    } catch (error) {
      process.stderr.write(`minimal program: commit failed: ${String(error)}\n`);
      for (const w of waiting) w.failed(error);
      return;
    }
    for (const w of waiting) w.committed();
    this.committed(accepted);
  }
}

/** Serves `POST /events` on a free loopback port; the URL. */
export function serveEvents(fetch: (request: Request) => Promise<Response>): string {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch });
  return `http://127.0.0.1:${server.port}`;
}
