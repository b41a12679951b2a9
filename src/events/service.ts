/**
 * Event ingestion (SPEC §5): the event and one delivery per matching enabled webhook are
 * written in one transaction, and only then is the event acknowledged. A repeated event id
 * returns the first answer instead of enqueuing again.
 */

import type { Executor } from "../db/database.ts";
import { buildDelivery } from "../deliveries/build.ts";
import { enqueueDeliveries } from "../deliveries/enqueue.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { listFirstDeliveriesOfEvent } from "../deliveries/repository.ts";
import { newId } from "../ids.ts";
import type { TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { Services } from "../services.ts";
import { listEnabledWebhookRows } from "../webhooks/repository.ts";
import { type MatchableEvent, webhookMatches } from "./matching.ts";
import type { IncomingEvent, IngestResult } from "./model.ts";
import { findEventByIdempotencyKey, insertEvent } from "./repository.ts";

export interface IngestContext {
  db: Executor;
  templaters: TemplaterRegistry;
  defaultMaxAttempts: number;
  /** Told about a delivery born in Error (its template failed), inside the transaction. */
  onDeliveryFailed?: FailureHook;
  /** Called after the commit with the webhooks that have new Waiting deliveries. */
  onEnqueued: (webhookIds: readonly string[]) => void;
}

/**
 * The running app's ingest context: what `POST /events`, source plugins' requests and their
 * pollers share, so every event takes the same path.
 */
export function ingestContextOf(
  services: Pick<Services, "db" | "templaters" | "config" | "wake" | "onDeliveryFailed">,
): IngestContext {
  return {
    db: services.db,
    templaters: services.templaters,
    defaultMaxAttempts: services.config.maxAttempts,
    onDeliveryFailed: services.onDeliveryFailed,
    onEnqueued: services.wake,
  };
}

export interface IngestOutcome {
  result: IngestResult;
  /** True when the event id was seen before and nothing new was enqueued. */
  duplicate: boolean;
}

async function firstAnswer(db: Executor, eventId: string): Promise<IngestResult> {
  const deliveries = await listFirstDeliveriesOfEvent(db, eventId);
  return {
    eventId,
    deliveries: deliveries.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
  };
}

export async function ingestEvent(
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source = "api",
): Promise<IngestOutcome> {
  const outcome = await context.db.transaction().execute(async (trx): Promise<IngestOutcome> => {
    if (event.id !== undefined) {
      const existing = await findEventByIdempotencyKey(trx, workspace, event.id);
      if (existing) return { result: await firstAnswer(trx, existing.id), duplicate: true };
    }
    const now = Date.now();
    const eventId = newId("evt", now);
    const fields = event.fields ?? {};
    const translations = event.translations ?? {};
    const target: MatchableEvent = {
      contentType: event.contentType,
      eventType: event.eventType,
      slot: event.slot ?? "published",
      language: event.language ?? null,
    };
    await insertEvent(trx, {
      id: eventId,
      workspace,
      idempotency_key: event.id ?? null,
      event_type: event.eventType,
      content_type: event.contentType,
      content_id: event.contentId,
      fields: JSON.stringify(fields),
      translations: JSON.stringify(translations),
      source,
      created_at: now,
      slot: target.slot,
      language: target.language,
    });
    const webhooks = (await listEnabledWebhookRows(trx, workspace)).filter((webhook) =>
      webhookMatches(webhook, target),
    );
    const rows = webhooks.map((webhook) =>
      buildDelivery({
        webhook,
        content: {
          eventId,
          eventType: event.eventType,
          contentType: event.contentType,
          contentId: event.contentId,
          fields,
          translations,
          acceptedAt: now,
        },
        templaters: context.templaters,
        defaultMaxAttempts: context.defaultMaxAttempts,
        now,
      }),
    );
    await enqueueDeliveries(trx, rows, context.onDeliveryFailed);
    return {
      result: {
        eventId,
        deliveries: rows.map((row) => ({ webhookId: row.webhook_id, deliveryId: row.id })),
      },
      duplicate: false,
    };
  });
  if (!outcome.duplicate && outcome.result.deliveries.length > 0) {
    context.onEnqueued(outcome.result.deliveries.map((delivery) => delivery.webhookId));
  }
  return outcome;
}
