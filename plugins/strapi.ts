/**
 * Strapi (v4 and v5) as a content source: point a Strapi webhook at
 * `POST /sources/strapi` with the header `X-Api-Key: <a Hookpost write key>` and tick the
 * `Entry` events. Each Strapi event becomes a Hookpost event:
 *
 * | Strapi             | Hookpost event type                                   |
 * |--------------------|-------------------------------------------------------|
 * | `entry.publish`    | Published (0)                                         |
 * | `entry.unpublish`  | Unpublished (1)                                       |
 * | `entry.delete`     | Deleted (2)                                           |
 * | `entry.create`     | PublishedCreated (3) if the entry is live, else none  |
 * | `entry.update`     | PublishedUpdated (4) if the entry is live, else none  |
 *
 * An entry is live when its `publishedAt` is set, or when its content type has no draft and
 * publish (the entry has no `publishedAt` at all). Edits of drafts, media events and events
 * this plugin does not know are acknowledged and ignored. The content type is Strapi's `model`
 * (`article`), the content id the entry's `documentId` (v5) or `id` (v4), the language its
 * `locale`, and the fields its attributes without Strapi's bookkeeping.
 */

import { definePlugin, EventType, type IncomingEvent } from "hookpost/plugin";

/** A Strapi webhook body: `{ event, createdAt, model, uid, entry }`. */
export interface StrapiWebhook {
  event: string;
  createdAt?: string;
  model?: string;
  uid?: string;
  entry?: Record<string, unknown>;
}

/** Attributes every Strapi entry has that are not content. */
const BOOKKEEPING = new Set([
  "id",
  "documentId",
  "locale",
  "createdAt",
  "updatedAt",
  "publishedAt",
  "createdBy",
  "updatedBy",
  "localizations",
]);

/** Event ids longer than Hookpost accepts are shortened to a digest. */
const MAX_EVENT_ID = 200;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Whether the entry is visible on the site: published, or of a type without drafts. */
function isLive(entry: Record<string, unknown>): boolean {
  if (!Object.hasOwn(entry, "publishedAt")) return true;
  return entry.publishedAt !== null && entry.publishedAt !== undefined;
}

/** The Hookpost event type of a Strapi event on this entry, or null when it means nothing. */
export function strapiEventType(event: string, entry: Record<string, unknown>): EventType | null {
  switch (event) {
    case "entry.publish":
      return EventType.Published;
    case "entry.unpublish":
      return EventType.Unpublished;
    case "entry.delete":
      return EventType.Deleted;
    case "entry.create":
      return isLive(entry) ? EventType.PublishedCreated : null;
    case "entry.update":
      return isLive(entry) ? EventType.PublishedUpdated : null;
    default:
      return null;
  }
}

/**
 * One id per change, so a webhook Strapi sends twice is delivered once: the event, the entry,
 * its locale and when it last changed.
 */
function eventId(webhook: StrapiWebhook, model: string, contentId: string, locale?: string) {
  const entry = webhook.entry ?? {};
  const when = text(entry.updatedAt) ?? text(entry.publishedAt) ?? text(webhook.createdAt) ?? "";
  const id = ["strapi", webhook.event, model, contentId, locale ?? "", when].join(":");
  if (id.length <= MAX_EVENT_ID) return id;
  return `strapi:${new Bun.CryptoHasher("sha256").update(id).digest("hex")}`;
}

/**
 * The events a Strapi webhook body means (none or one).
 *
 * @throws Error when the body is not a Strapi webhook (answered 400)
 */
export function strapiToEvents(body: unknown): IncomingEvent[] {
  if (!isObject(body) || typeof body.event !== "string") {
    throw new Error('not a Strapi webhook: expected a JSON object with an "event"');
  }
  const webhook = body as unknown as StrapiWebhook;
  if (!webhook.event.startsWith("entry.")) return [];
  const model = text(webhook.model);
  const entry = webhook.entry;
  if (model === undefined || !isObject(entry)) {
    throw new Error(`Strapi ${webhook.event} without "model" and "entry"`);
  }
  const eventType = strapiEventType(webhook.event, entry);
  if (eventType === null) return [];
  const contentId = text(entry.documentId) ?? text(entry.id);
  if (contentId === undefined) throw new Error(`Strapi ${webhook.event}: the entry has no id`);
  const locale = text(entry.locale);
  const fields = Object.fromEntries(Object.entries(entry).filter(([key]) => !BOOKKEEPING.has(key)));
  return [
    {
      id: eventId(webhook, model, contentId, locale),
      eventType,
      contentType: model,
      contentId,
      fields,
      ...(locale !== undefined ? { language: locale } : {}),
    },
  ];
}

export default definePlugin({
  name: "strapi",
  sources: {
    strapi: {
      // Strapi's webhooks are JSON (`Content-Type: application/json`); this is also the default.
      mediaTypes: ["application/json"],
      async handle(request) {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          throw new Error("the body is not JSON");
        }
        return strapiToEvents(body);
      },
    },
  },
});
