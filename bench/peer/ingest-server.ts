/**
 * The peer's ingest server, a process of its own: `Bun.serve` on loopback answering
 * `POST /events` as Hookpost's front door does for one webhook — the API key (a fixed header
 * compare), JSON parse and minimal validation of the event, the webhook's match, the
 * rendered envelope queued with BullMQ's `queue.add` — and `202` once Redis acknowledged
 * the add. Bad input gets a 4xx and queues nothing.
 */

import { Queue } from "bullmq";
import { serveRpc } from "../rpc.ts";
import { JSON_HEADERS, problem, renderEnvelope, validateEvent } from "../webhook-work.ts";
import { type DeliveryJob, JOB_OPTIONS, QUEUE_NAME, redisConnection } from "./queue.ts";

/** The one webhook: `article` events of every type, as the bench's Hookpost webhook. */
const CONTENT_TYPE = "article";
const EVENT_TYPES = new Set([0, 1, 2, 3, 4]);

let server: ReturnType<typeof Bun.serve> | null = null;

export const handlers = {
  async start(args: {
    redisPort: number;
    apiKey: string;
    webhookId: string;
  }): Promise<{ url: string; pid: number }> {
    if (!server) {
      const queue = new Queue<DeliveryJob>(QUEUE_NAME, {
        connection: redisConnection(args.redisPort),
        defaultJobOptions: JOB_OPTIONS,
      });
      await queue.waitUntilReady();
      server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(request) {
          const url = new URL(request.url);
          if (request.method !== "POST" || url.pathname !== "/events") {
            return problem(404, "not found");
          }
          if (request.headers.get("x-api-key") !== args.apiKey) {
            return problem(401, "invalid API key");
          }
          let input: unknown;
          try {
            input = await request.json();
          } catch {
            return problem(400, "the body is not JSON");
          }
          const event = validateEvent(input);
          if (typeof event === "string") return problem(400, event);
          if (event.contentType !== CONTENT_TYPE || !EVENT_TYPES.has(event.eventType)) {
            return new Response('{"deliveries":0}', { status: 202, headers: JSON_HEADERS });
          }
          const deliveryId = `dlv_${crypto.randomUUID()}`;
          const body = renderEnvelope(event, args.webhookId, deliveryId, Date.now());
          await queue.add("deliver", { deliveryId, body });
          return new Response('{"deliveries":1}', { status: 202, headers: JSON_HEADERS });
        },
      });
    }
    return { url: `http://127.0.0.1:${server.port}`, pid: process.pid };
  },
};

export type PeerIngestApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
