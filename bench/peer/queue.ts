/**
 * What the BullMQ peer's two processes share: the queue's name, the job they pass, and how
 * they reach the bench's own Redis. The peer is what a Node team would write instead of
 * Hookpost: an HTTP server that queues each event's rendered delivery in Redis, and a worker
 * process that signs and POSTs it, with BullMQ's retries.
 */

import type { ConnectionOptions, DefaultJobOptions } from "bullmq";

export const QUEUE_NAME = "deliveries";

/** One delivery: its id (the `webhook-id` header, the same on every attempt) and the body. */
export interface DeliveryJob {
  deliveryId: string;
  /** The rendered envelope, signed and sent as is. */
  body: string;
}

/**
 * Every job: up to 8 attempts with exponential backoff from 1 s (Hookpost retries exponentially too), and
 * completed jobs removed at once, failed ones capped, so that Redis stays bounded.
 */
export const JOB_OPTIONS: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { count: 10_000 },
};

/**
 * ioredis options for the bench's Redis on loopback. `maxRetriesPerRequest: null` is what
 * BullMQ asks of a Worker's connection (its blocking commands must not time out).
 */
export function redisConnection(port: number): ConnectionOptions {
  return { host: "127.0.0.1", port, maxRetriesPerRequest: null };
}
