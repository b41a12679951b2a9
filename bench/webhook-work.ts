/**
 * The per-event and per-delivery work that the BullMQ peer (bench/peer/) and the minimal
 * program (minimal-server.ts) both do as Hookpost does it: the event's minimal validation, the
 * envelope a receiver gets, and the Standard Webhooks signature. One copy, so that the two
 * comparisons measure the same work. Nothing here imports src/: both stand beside Hookpost,
 * they are not built from it.
 */

import { createHmac } from "node:crypto";

/** Deliveries in flight at once: Hookpost's HOOKPOST_CONCURRENCY default. */
export const DELIVERY_CONCURRENCY = 64;
/** How long a receiver may take to answer: Hookpost's default webhook timeout (15 s). */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** A Standard Webhooks secret is `whsec_` + the key in base64. */
export const SECRET_PREFIX = "whsec_";

export const JSON_HEADERS = { "content-type": "application/json" };

/** An error answer in Hookpost's envelope. */
export function problem(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: { message } }), { status, headers: JSON_HEADERS });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface EventInput {
  eventType: number;
  contentType: string;
  contentId: string;
  fields: Record<string, unknown>;
  translations: Record<string, unknown>;
}

/** The event, or the reason it is not one. */
export function validateEvent(input: unknown): EventInput | string {
  if (!isRecord(input)) return "the body must be a JSON object";
  const { eventType, contentType, contentId, fields, translations = {} } = input;
  if (typeof eventType !== "number" || !Number.isInteger(eventType) || eventType < 0) {
    return "eventType must be a non-negative integer";
  }
  if (typeof contentType !== "string" || contentType === "") return "contentType is required";
  if (typeof contentId !== "string" || contentId === "") return "contentId is required";
  if (!isRecord(fields)) return "fields must be an object";
  if (!isRecord(translations)) return "translations must be an object";
  return { eventType, contentType, contentId, fields, translations };
}

/** The body every attempt of a delivery sends, keys in Hookpost's order. */
export function renderEnvelope(
  event: EventInput,
  webhookId: string,
  deliveryId: string,
  now: number,
): string {
  return JSON.stringify({
    eventType: event.eventType,
    contentId: event.contentId,
    contentType: event.contentType,
    fields: event.fields,
    translations: event.translations,
    webhookId,
    deliveryId,
    timestamp: new Date(now).toISOString(),
  });
}

/** The `webhook-signature` value: HMAC-SHA256 in base64 over `id.timestamp.body`. */
export function standardSignature(
  key: Buffer,
  deliveryId: string,
  timestamp: number,
  body: string,
): string {
  return `v1,${createHmac("sha256", key).update(`${deliveryId}.${timestamp}.${body}`).digest("base64")}`;
}
