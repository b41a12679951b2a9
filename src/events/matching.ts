/** Which webhooks an event goes to (SPEC §5, plus the slot and language filters of seed 001). Pure. */

import type { Slot, WebhookRow } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";

/** The content-type key that matches every content type. */
export const ANY_CONTENT_TYPE = "*";

/** What of an event decides which webhooks it reaches. */
export interface MatchableEvent {
  contentType: string;
  eventType: number;
  slot: Slot;
  /** The content's language, or null when the event names none. */
  language: string | null;
}

type MatchedWebhook = Pick<WebhookRow, "event_types" | "slot" | "languages">;

function subscribesTo(webhook: MatchedWebhook, contentType: string, eventType: number): boolean {
  const eventTypes = readJsonColumn<Record<string, number[]>>(webhook.event_types);
  return (
    (Object.hasOwn(eventTypes, contentType) &&
      (eventTypes[contentType]?.includes(eventType) ?? false)) ||
    (eventTypes[ANY_CONTENT_TYPE]?.includes(eventType) ?? false)
  );
}

/** An empty list takes every language, and an event without one reaches every webhook. */
function acceptsLanguage(webhook: MatchedWebhook, language: string | null): boolean {
  if (language === null) return true;
  const languages = readJsonColumn<string[]>(webhook.languages);
  if (languages.length === 0) return true;
  const code = language.toLowerCase();
  return languages.some((candidate) => candidate.toLowerCase() === code);
}

/**
 * Whether a webhook gets the event: it subscribes to the event type on the content type
 * (directly or through the `*` key), listens to the event's slot, and accepts its language.
 * Only enabled webhooks are candidates; the caller's query selects them.
 */
export function webhookMatches(webhook: MatchedWebhook, event: MatchableEvent): boolean {
  return (
    webhook.slot === event.slot &&
    subscribesTo(webhook, event.contentType, event.eventType) &&
    acceptsLanguage(webhook, event.language)
  );
}
