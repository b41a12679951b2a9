/**
 * The content envelope (SPEC §6.1): the default delivery body, and the context custom-payload
 * templates are rendered against.
 */

export interface ContentEnvelope {
  eventType: number;
  contentId: string;
  contentType: string;
  fields: Record<string, unknown>;
  translations: Record<string, unknown>;
  webhookId: string;
  deliveryId: string;
  /** When the event was accepted, ISO-8601. */
  timestamp: string;
}
