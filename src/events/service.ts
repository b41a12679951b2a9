/**
 * Event ingestion (SPEC §5): the event and one delivery per matching enabled webhook are
 * written in one transaction, and only then is the event acknowledged. A repeated event id
 * returns the first answer instead of enqueuing again.
 */

import { buildDelivery } from "../deliveries/build.ts";
import type { TemplaterRegistry } from "../plugin-host/templaters.ts";
import type { Services } from "../services.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import type { Candidate } from "./enabled-webhooks.ts";
import type { MatchableEvent } from "./matching.ts";
import type { IncomingEvent, IngestResult } from "./model.ts";

export interface IngestContext {
  /** Writes the event and its deliveries (and tells the failure hook of any born in Error). */
  store: DeliveryStore;
  templaters: TemplaterRegistry;
  defaultMaxAttempts: number;
  /** Called after the commit with the webhooks that have new Waiting deliveries. */
  onEnqueued: (webhookIds: readonly string[]) => void;
}

/**
 * The running app's ingest context: what `POST /events`, source plugins' requests and their
 * pollers share, so every event takes the same path.
 */
export function ingestContextOf(
  services: Pick<Services, "store" | "templaters" | "config" | "wake">,
): IngestContext {
  return {
    store: services.store,
    templaters: services.templaters,
    defaultMaxAttempts: services.config.maxAttempts,
    onEnqueued: services.wake,
  };
}

export interface IngestOutcome {
  result: IngestResult;
  /** True when the event id was seen before and nothing new was enqueued. */
  duplicate: boolean;
}

function matchableOf(event: IncomingEvent): MatchableEvent {
  return {
    contentType: event.contentType,
    eventType: event.eventType,
    slot: event.slot ?? "published",
    language: event.language ?? null,
  };
}

function buildRows(
  context: IngestContext,
  candidates: readonly Candidate[],
  event: IncomingEvent,
  eventId: string,
  now: number,
) {
  // One content for every delivery: the event row stores it (once), the deliveries no copy.
  const content = {
    eventId,
    eventType: event.eventType,
    contentType: event.contentType,
    contentId: event.contentId,
    fields: event.fields ?? {},
    translations: event.translations ?? {},
    acceptedAt: now,
  };
  const target = matchableOf(event);
  return candidates
    .filter((candidate) => candidate.matches(target))
    .map(({ webhook }) =>
      buildDelivery({
        webhook,
        content,
        templaters: context.templaters,
        defaultMaxAttempts: context.defaultMaxAttempts,
        now,
      }),
    );
}

function eventRow(
  workspace: string,
  event: IncomingEvent,
  eventId: string,
  source: string,
  now: number,
) {
  const target = matchableOf(event);
  return {
    id: eventId,
    workspace,
    idempotency_key: event.id ?? null,
    event_type: event.eventType,
    content_type: event.contentType,
    content_id: event.contentId,
    fields: JSON.stringify(event.fields ?? {}),
    translations: JSON.stringify(event.translations ?? {}),
    source,
    created_at: now,
    slot: target.slot,
    language: target.language,
  };
}

/**
 * Ingests one event: the event and one delivery per matching enabled webhook, written in one
 * transaction by the store, which also answers a repeated event id with the first answer.
 */
export async function ingestEvent(
  context: IngestContext,
  workspace: string,
  event: IncomingEvent,
  source = "api",
): Promise<IngestOutcome> {
  const { accepted, duplicate } = await context.store.acceptEvent(
    workspace,
    event.id,
    (eventId, now, webhooks) => ({
      event: eventRow(workspace, event, eventId, source, now),
      // Matched inside the transaction, against the webhooks it sees.
      deliveries: buildRows(context, webhooks, event, eventId, now),
    }),
  );
  if (!duplicate && accepted.deliveries.length > 0) {
    context.onEnqueued(accepted.deliveries.map((delivery) => delivery.webhookId));
  }
  return { result: accepted, duplicate };
}
