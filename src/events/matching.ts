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

export type Matcher = (event: MatchableEvent) => boolean;

/**
 * A webhook's filter with its JSON columns read once: it takes an event when it subscribes to
 * the event type on the content type (directly or through the `*` key), listens to the
 * event's slot, and accepts its language (an empty list takes every language, and an event
 * without one reaches every webhook). Only enabled webhooks are candidates; the caller's
 * query selects them.
 */
export function matcherOf(webhook: MatchedWebhook): Matcher {
  const eventTypes = new Map(
    Object.entries(readJsonColumn<Record<string, number[]>>(webhook.event_types)),
  );
  const anyContentType = eventTypes.get(ANY_CONTENT_TYPE) ?? [];
  const languages = new Set(
    readJsonColumn<string[]>(webhook.languages).map((language) => language.toLowerCase()),
  );
  return (event) =>
    webhook.slot === event.slot &&
    ((eventTypes.get(event.contentType)?.includes(event.eventType) ?? false) ||
      anyContentType.includes(event.eventType)) &&
    (event.language === null ||
      languages.size === 0 ||
      languages.has(event.language.toLowerCase()));
}
