/**
 * A new delivery row: what one webhook will receive for one event. The body is rendered here,
 * once, and stored; every attempt sends these exact bytes. A template that fails to render
 * makes a delivery that is already in Error, with the reason, instead of failing the ingest.
 */

import type { Insertable } from "kysely";
import type { DeliveryTable } from "../db/database.ts";
import { readNullableJsonColumn } from "../db/json-column.ts";
import type { IngestWebhook } from "../events/enabled-webhooks.ts";
import { newId } from "../ids.ts";
import { RenderError, type TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { ContentEnvelope } from "./envelope.ts";
import { ProcessStatus } from "./status.ts";

/** The content a delivery carries, as accepted with its event. */
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
  /**
   * For a retry: the original delivery. Its rendered custom payload, if it has one, is reused
   * as is; otherwise the body is rendered again from the same content.
   */
  retryOf?: { id: string; customPayload: string | null };
}

function renderCustomPayload(options: BuildDeliveryOptions, envelope: ContentEnvelope): string {
  const { webhook, templaters } = options;
  const template = readNullableJsonColumn<unknown>(webhook.custom_payload);
  return templaters.renderToJson(webhook.template_engine, template, envelope);
}

export function buildDelivery(options: BuildDeliveryOptions): Insertable<DeliveryTable> {
  const { webhook, content, now, retryOf } = options;
  const id = newId("dlv", now);
  const envelope: ContentEnvelope = {
    eventType: content.eventType,
    contentId: content.contentId,
    contentType: content.contentType,
    fields: content.fields,
    translations: content.translations,
    webhookId: webhook.id,
    deliveryId: id,
    timestamp: new Date(content.acceptedAt).toISOString(),
  };
  let customPayload: string | null = null;
  let renderError: string | null = null;
  if (retryOf && retryOf.customPayload !== null) {
    customPayload = retryOf.customPayload;
  } else if (webhook.use_custom_payload === 1) {
    try {
      customPayload = renderCustomPayload(options, envelope);
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
    event_type: content.eventType,
    content_type: content.contentType,
    content_id: content.contentId,
    fields: JSON.stringify(content.fields),
    translations: JSON.stringify(content.translations),
    custom_payload: customPayload,
    body: customPayload ?? (renderError === null ? JSON.stringify(envelope) : ""),
    process_status: renderError === null ? ProcessStatus.Waiting : ProcessStatus.Error,
    attempts: 0,
    max_attempts:
      webhook.retry_policy === "manual" ? 1 : (webhook.max_attempts ?? options.defaultMaxAttempts),
    next_attempt_at: now,
    lease_until: null,
    response_status_code: null,
    response_message: renderError,
    last_error: renderError,
    duration_ms: null,
    signature: null,
    created_at: now,
    updated_at: now,
  };
}
