/** Schemas of event ingestion (`POST /events`, SPEC §5). */

import { type Static, Type as T } from "@sinclair/typebox";
import { MAX_CONTENT_TYPE_KEY_LENGTH } from "../content-types/model.ts";
import { WebhookEventType } from "../webhooks/model.ts";

export const IncomingEvent = T.Object(
  {
    id: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 200,
        description:
          "Your id for this event. A repeated id in the same workspace is not enqueued twice: the first answer is returned again.",
      }),
    ),
    eventType: WebhookEventType,
    contentType: T.String({
      minLength: 1,
      maxLength: MAX_CONTENT_TYPE_KEY_LENGTH,
      examples: ["article"],
    }),
    contentId: T.String({ minLength: 1, maxLength: 200, examples: ["c_d4f6e9c2"] }),
    fields: T.Optional(T.Record(T.String(), T.Unknown(), { examples: [{ title: "Hello world" }] })),
    translations: T.Optional(
      T.Record(T.String(), T.Unknown(), { examples: [{ it: "Ciao mondo" }] }),
    ),
    slot: T.Optional(
      T.Union([T.Literal("published"), T.Literal("preview")], {
        description:
          "Whether the change concerns published (default) or preview content; it reaches only " +
          "the webhooks of the same `slot`",
      }),
    ),
    language: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 35,
        pattern: "^[A-Za-z0-9_-]+$",
        description:
          "The language of the changed content (e.g. `en-US`). A webhook with `languages` gets " +
          "the event only if its list holds this code (case-insensitive); an event without a " +
          "language reaches every webhook of its slot.",
        examples: ["en-US"],
      }),
    ),
  },
  {
    examples: [
      {
        id: "cms-42-publish-7",
        eventType: 0,
        contentType: "article",
        contentId: "c_d4f6e9c2",
        fields: { title: "Hello world" },
        translations: { it: "Ciao mondo" },
        slot: "published",
        language: "en",
      },
    ],
  },
);
export type IncomingEvent = Static<typeof IncomingEvent>;

export const IngestResult = T.Object({
  eventId: T.String({ examples: ["evt_01jd3x8k2mq4v9f7r2c8tb6n"] }),
  deliveries: T.Array(T.Object({ webhookId: T.String(), deliveryId: T.String() }), {
    description: "One Waiting delivery per matching enabled webhook",
  }),
});
export type IngestResult = Static<typeof IngestResult>;
