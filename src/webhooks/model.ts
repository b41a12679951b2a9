/**
 * Schemas of the webhook API (seed 000, plus the per-webhook settings of seeds 001–004). They
 * validate requests and document them in OpenAPI; the TypeScript types derive from them.
 * Request bodies use TypeBox's strict types: a string where a number belongs is a 400, not a
 * silent coercion.
 */

import { type Static, Type as T } from "@sinclair/typebox";

// Literal unions are spelled out (not mapped from an array) so the compiler keeps each value.
export const WebhookEventType = T.Union(
  [T.Literal(0), T.Literal(1), T.Literal(2), T.Literal(3), T.Literal(4)],
  {
    description:
      "WebhookEventType: 0 Published, 1 Unpublished, 2 Deleted, 3 PublishedCreated, 4 PublishedUpdated",
    examples: [0],
  },
);
export type WebhookEventTypeValue = Static<typeof WebhookEventType>;

export const EventTypesMap = T.Record(
  T.String({ minLength: 1, maxLength: 100 }),
  T.Array(WebhookEventType, { maxItems: 5 }),
  {
    description:
      'Content-type key → event types that trigger the webhook; the key "*" matches every content type',
    examples: [{ article: [0, 1, 2] }],
  },
);

export const HeaderEntry = T.Object({
  key: T.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_-]+$" }),
  value: T.String({ maxLength: 2000 }),
});

const RetryPolicy = T.Union([T.Literal("automatic"), T.Literal("manual")], {
  description:
    "`automatic`: failed attempts are retried with exponential backoff; `manual`: one attempt, then retry by API",
});

const nullable = <Schema extends ReturnType<typeof T.String>>(schema: Schema) =>
  T.Union([schema, T.Null()]);

export const WebhookInput = T.Object(
  {
    id: T.Optional(
      T.String({ maxLength: 100, description: "Webhook ID. Omit (or empty) to create a new one." }),
    ),
    endpoint: T.String({
      minLength: 1,
      maxLength: 2000,
      description: "Absolute http(s) URL the webhook will POST to",
      examples: ["https://example.com/hooks/contit"],
    }),
    name: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 200,
        description: "Display name; defaults to the endpoint's host on create",
      }),
    ),
    secret: T.Optional(
      T.String({
        maxLength: 256,
        description:
          "Signing secret. Generated on create if omitted (returned in the response). On update, omit or send an empty value to keep the current one.",
      }),
    ),
    eventTypes: T.Optional(EventTypesMap),
    useCustomPayload: T.Optional(
      T.Boolean({ description: "If true, the body is rendered from `customPayload`" }),
    ),
    customPayload: T.Optional(
      T.Unknown({ description: "JSON template used when `useCustomPayload` is true" }),
    ),
    templateEngine: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 100,
        description: "Template engine rendering `customPayload` (default `json`)",
      }),
    ),
    description: T.Optional(nullable(T.String({ maxLength: 2000 }))),
    errorEmailTo: T.Optional(
      nullable(
        T.String({
          maxLength: 2000,
          description: "Comma-separated e-mail addresses notified on repeated delivery failures",
          examples: ["ops@example.com, dev@example.com"],
        }),
      ),
    ),
    enabled: T.Optional(T.Boolean({ description: "Disabled webhooks do not fire" })),
    headers: T.Optional(
      T.Array(HeaderEntry, {
        maxItems: 10,
        description:
          "Extra request headers (at most 10); not content-length, content-type, host or a signature header",
      }),
    ),
    timeoutSeconds: T.Optional(
      T.Integer({ minimum: 1, maximum: 60, description: "Per-attempt timeout (default 15)" }),
    ),
    maxAttempts: T.Optional(
      T.Union([T.Integer({ minimum: 1, maximum: 100 }), T.Null()], {
        description: "Attempts per delivery; null uses the server default (HOOKPOST_MAX_ATTEMPTS)",
      }),
    ),
    retryPolicy: T.Optional(RetryPolicy),
  },
  {
    description:
      "Create (no `id`) or update (existing `id`). On update, omitted fields keep their current values.",
    examples: [
      {
        endpoint: "https://example.com/hooks/contit",
        description: "Production article sync",
        errorEmailTo: "ops@example.com",
        enabled: true,
        eventTypes: { article: [0, 1, 2] },
        useCustomPayload: false,
      },
    ],
  },
);
export type WebhookInput = Static<typeof WebhookInput>;

export const Webhook = T.Object(
  {
    id: T.String({ examples: ["wh_01jd3x8k2mq4v9f7r2c8tb6n"] }),
    name: T.String(),
    endpoint: T.String(),
    secret: T.String({ description: "Signing secret: `wh_` + 32 random characters" }),
    eventTypes: EventTypesMap,
    useCustomPayload: T.Boolean(),
    customPayload: T.Unknown(),
    templateEngine: T.String(),
    description: T.Union([T.String(), T.Null()]),
    errorEmailTo: T.Union([T.String(), T.Null()]),
    enabled: T.Boolean(),
    headers: T.Array(HeaderEntry),
    timeoutSeconds: T.Integer(),
    maxAttempts: T.Union([T.Integer(), T.Null()]),
    retryPolicy: RetryPolicy,
    failCount: T.Integer({ description: "Consecutive failed attempts; 0 after a success" }),
    lastDeliveredAt: T.Union([T.String({ format: "date-time" }), T.Null()]),
    healthStatus: T.Union(
      [T.Literal("unknown"), T.Literal("working"), T.Literal("failing"), T.Literal("disabled")],
      { description: "`unknown` until the first attempt; `disabled` while the webhook is off" },
    ),
    createdAt: T.String({ format: "date-time" }),
    lastModified: T.String({ format: "date-time" }),
  },
  { $id: "#/components/schemas/WebhookModel", title: "WebhookModel" },
);
export type Webhook = Static<typeof Webhook>;

export const WebhookIdParams = T.Object({
  id: T.String({ maxLength: 100, description: "Webhook ID" }),
});

export const WebhookListQuery = T.Object({
  ordering: T.Optional(
    T.Union([T.Literal("created"), T.Literal("-created"), T.Literal("name"), T.Literal("-name")], {
      description: "Sort order (default `created`)",
    }),
  ),
});
export type WebhookOrdering = NonNullable<Static<typeof WebhookListQuery>["ordering"]>;

export const DeletedWebhook = T.Object({
  id: T.String(),
  deleted: T.Literal(true),
});
