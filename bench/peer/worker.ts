/**
 * The peer's delivery worker, a process of its own: a BullMQ `Worker` with 64 jobs in
 * flight (Hookpost's default concurrency) that signs each envelope with Standard Webhooks
 * headers — `webhook-id`, `webhook-timestamp`, `webhook-signature` (HMAC-SHA256 in base64
 * over `id.timestamp.body`) — and POSTs it to the webhook's endpoint. A non-2xx answer or a
 * network error fails the attempt, and BullMQ retries it with the queue's backoff.
 */

import { Worker } from "bullmq";
import { serveRpc } from "../rpc.ts";
import {
  DELIVERY_CONCURRENCY,
  DELIVERY_TIMEOUT_MS,
  SECRET_PREFIX,
  standardSignature,
} from "../webhook-work.ts";
import { type DeliveryJob, QUEUE_NAME, redisConnection } from "./queue.ts";

let worker: Worker<DeliveryJob> | null = null;

export const handlers = {
  async start(args: {
    redisPort: number;
    endpoint: string;
    /** `whsec_` + the key in base64, as Standard Webhooks secrets are written. */
    secret: string;
  }): Promise<{ pid: number }> {
    if (!worker) {
      const key = Buffer.from(args.secret.slice(SECRET_PREFIX.length), "base64");
      worker = new Worker<DeliveryJob>(
        QUEUE_NAME,
        async (job) => {
          const { deliveryId, body } = job.data;
          const timestamp = Math.floor(Date.now() / 1000);
          const response = await fetch(args.endpoint, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "user-agent": "bench-peer/1",
              "webhook-id": deliveryId,
              "webhook-timestamp": String(timestamp),
              "webhook-signature": standardSignature(key, deliveryId, timestamp, body),
            },
            body,
            signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
          });
          await response.arrayBuffer();
          if (!response.ok) throw new Error(`the endpoint answered ${response.status}`);
        },
        { connection: redisConnection(args.redisPort), concurrency: DELIVERY_CONCURRENCY },
      );
      worker.on("error", (error) => process.stderr.write(`worker: ${error.message}\n`));
      await worker.waitUntilReady();
    }
    return { pid: process.pid };
  },
};

export type PeerWorkerApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
