/** Which webhooks an event goes to (SPEC §5). Pure. */

import type { WebhookRow } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";

/** The content-type key that matches every content type. */
export const ANY_CONTENT_TYPE = "*";

/**
 * Whether a webhook subscribes to `eventType` on `contentType`, directly or through the `*`
 * key. Only enabled webhooks are candidates; the caller's query selects them.
 */
export function webhookMatches(
  webhook: WebhookRow,
  contentType: string,
  eventType: number,
): boolean {
  const eventTypes = readJsonColumn<Record<string, number[]>>(webhook.event_types);
  return (
    (Object.hasOwn(eventTypes, contentType) &&
      (eventTypes[contentType]?.includes(eventType) ?? false)) ||
    (eventTypes[ANY_CONTENT_TYPE]?.includes(eventType) ?? false)
  );
}
