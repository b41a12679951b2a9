/** Which webhooks an event goes to (SPEC §5). Pure. */

import type { WebhookRow } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";

/** The content-type key that matches every content type. */
export const ANY_CONTENT_TYPE = "*";

/**
 * Whether an enabled webhook subscribes to `eventType` on `contentType`, directly or
 * through the `*` key.
 */
export function webhookMatches(
  webhook: WebhookRow,
  contentType: string,
  eventType: number,
): boolean {
  if (webhook.enabled !== 1) return false;
  const eventTypes = readJsonColumn<Record<string, number[]>>(webhook.event_types);
  return (
    (Object.hasOwn(eventTypes, contentType) &&
      (eventTypes[contentType]?.includes(eventType) ?? false)) ||
    (eventTypes[ANY_CONTENT_TYPE]?.includes(eventType) ?? false)
  );
}
