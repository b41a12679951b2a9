/**
 * A new delivery row: what one webhook will receive for one event. The body is rendered here,
 * once, and stored; every attempt sends these exact bytes, and so does every retry or replay
 * of it, under the original's message id (Standard Webhooks: `webhook-id` "will be the same
 * when the same webhook is being resent"). A body that fails to render, or would pass the
 * 1 MiB bound, makes a delivery that is already in Error, with the reason and no body, instead
 * of failing the ingest.
 */

import type { Insertable } from "kysely";
import { type DeliveryTable, NO_CONTENT_COPY } from "../db/database.ts";
import { readNullableJsonColumn } from "../db/json-column.ts";
import type { IngestWebhook } from "../events/enabled-webhooks.ts";
import { newId } from "../ids.ts";
import { BodyBudget, BodyTooLarge } from "../plugin-host/body-budget.ts";
import { RenderError, type TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { ContentEnvelope } from "./envelope.ts";
import { ProcessStatus } from "./status.ts";

/** The content a delivery is rendered from: its event's, as accepted (stored in `events`). */
export type DeliveryContent = Pick<
  ContentEnvelope,
  "eventType" | "contentType" | "contentId" | "fields" | "translations"
> & {
  eventId: string;
  /** When the event was accepted (ms). */
  acceptedAt: number;
};

export interface BuildDeliveryOptions {
  webhook: IngestWebhook;
  content: DeliveryContent;
  templaters: TemplaterRegistry;
  defaultMaxAttempts: number;
  now: number;
  /** For a retry or a replay: the delivery it sends again. */
  retryOf?: ResentDelivery;
}

/**
 * What a retry or replay takes from the delivery it sends again: its body byte for byte (and
 * the custom payload that body was rendered from), and its message id.
 */
export type ResentDelivery = Pick<
  Insertable<DeliveryTable>,
  "id" | "message_id" | "body" | "custom_payload"
>;

/**
 * The message id a delivery is signed and sent with (`webhook-id`): its own id, or for a retry
 * or replay the original's.
 */
export function messageIdOf(delivery: { id: string; message_id?: string | null }): string {
  return delivery.message_id ?? delivery.id;
}

function renderCustomPayload(options: BuildDeliveryOptions, envelope: ContentEnvelope): string {
  const { webhook, templaters } = options;
  const template = readNullableJsonColumn<unknown>(webhook.custom_payload);
  return templaters.renderToJson(webhook.template_engine, template, envelope);
}

/** The default body: the content envelope, refused like a template when over the bound. */
function envelopeJson(envelope: ContentEnvelope): string {
  // Bounded by the event's own size (a request body is at most the same 1 MiB), so it is
  // measured once built; a few envelope keys more can still pass the bound.
  const text = JSON.stringify(envelope);
  try {
    new BodyBudget().spendText(text);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      throw new RenderError(`the content envelope: ${error.message}`);
    }
    throw error;
  }
  return text;
}

/** A webhook's `retrySchedule` (delays in seconds), or null for exponential backoff. */
export function retryScheduleOf(webhook: { retry_schedule: string | null }): number[] | null {
  return readNullableJsonColumn<number[]>(webhook.retry_schedule);
}

/**
 * The attempts a new delivery gets: one under the `manual` policy; else its `retrySchedule`'s
 * length plus one; else the webhook's `maxAttempts`, or the server's default.
 */
export function maxAttemptsOf(
  webhook: Pick<IngestWebhook, "retry_policy" | "retry_schedule" | "max_attempts">,
  defaultMaxAttempts: number,
): number {
  if (webhook.retry_policy === "manual") return 1;
  const schedule = retryScheduleOf(webhook);
  if (schedule !== null) return schedule.length + 1;
  return webhook.max_attempts ?? defaultMaxAttempts;
}

export function buildDelivery(options: BuildDeliveryOptions): Insertable<DeliveryTable> {
  const { webhook, content, now, retryOf } = options;
  const id = newId("dlv", now);
  const messageId = retryOf ? messageIdOf(retryOf) : null;
  const envelope: ContentEnvelope = {
    eventType: content.eventType,
    contentId: content.contentId,
    contentType: content.contentType,
    fields: content.fields,
    translations: content.translations,
    webhookId: webhook.id,
    deliveryId: messageId ?? id,
    timestamp: new Date(content.acceptedAt).toISOString(),
  };
  let customPayload: string | null = null;
  let body = "";
  let renderError: string | null = null;
  // A delivery whose body failed to render stored none (an empty body is never JSON): there is
  // no snapshot to resend, so its retry renders the body now.
  if (retryOf && retryOf.body !== "") {
    customPayload = retryOf.custom_payload ?? null;
    body = retryOf.body;
  } else {
    try {
      if (webhook.use_custom_payload === 1) {
        customPayload = renderCustomPayload(options, envelope);
        body = customPayload;
      } else {
        body = envelopeJson(envelope);
      }
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      renderError = error.message;
    }
  }
  return {
    id,
    workspace: webhook.workspace,
    webhook_id: webhook.id,
    event_id: content.eventId,
    retry_of: retryOf?.id ?? null,
    message_id: messageId,
    event_type: content.eventType,
    content_type: content.contentType,
    content_id: content.contentId,
    // The content is the event's, stored once in its row: no copy per delivery.
    fields: NO_CONTENT_COPY,
    translations: NO_CONTENT_COPY,
    custom_payload: customPayload,
    body,
    process_status: renderError === null ? ProcessStatus.Waiting : ProcessStatus.Error,
    attempts: 0,
    max_attempts: maxAttemptsOf(webhook, options.defaultMaxAttempts),
    next_attempt_at: now,
    response_status_code: null,
    response_message: renderError,
    last_error: renderError,
    duration_ms: null,
    signature: null,
    created_at: now,
    updated_at: now,
  };
}
