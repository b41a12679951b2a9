/**
 * Schemas of the webhook API (seed 000, plus the per-webhook settings of seeds 001–004). They
 * validate requests and document them in OpenAPI; the TypeScript types derive from them.
 * Request bodies use TypeBox's strict types: a string where a number belongs is a 400, not a
 * silent coercion.
 */

import { type Static, Type as T } from "@sinclair/typebox";
import { MAX_CONTENT_TYPE_KEY_LENGTH } from "../content-types/model.ts";

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

/** Content types one webhook may name: bounds what every event's matching holds in memory. */
export const MAX_EVENT_TYPE_KEYS = 1000;

export const EventTypesMap = T.Record(
  T.String(),
  T.Array(WebhookEventType, { maxItems: 5, uniqueItems: true }),
  {
    maxProperties: MAX_EVENT_TYPE_KEYS,
    description:
      `Content-type key (1–${MAX_CONTENT_TYPE_KEY_LENGTH} characters) → event types that trigger the webhook, each at most ` +
      `once; the key "*" matches every content type. At most ${MAX_EVENT_TYPE_KEYS} keys.`,
    examples: [{ article: [0, 1, 2] }],
  },
);

/** What every response shows instead of a stored credential. */
export const MASKED = "********";

export const HeaderEntry = T.Object({
  key: T.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_-]+$" }),
  value: T.String({
    minLength: 1,
    maxLength: 2000,
    description:
      "Header value: 1–2,000 printable ASCII characters (spaces and tabs inside, not at either " +
      "end; no control characters), so every request can carry it. Values of credential-looking headers (name containing authorization, " +
      'token, secret, password, api-key, cookie or credential) are shown as "********"; send ' +
      '"********" back on update to keep the stored value.',
  }),
});

const secretNote = 'Shown as "********" in responses; send "********" on update to keep it.';

export const AuthNone = T.Object(
  { type: T.Literal("none") },
  { additionalProperties: false, title: "No authentication" },
);

export const AuthBasic = T.Object(
  {
    type: T.Literal("basic"),
    username: T.String({ minLength: 1, maxLength: 200, pattern: "^[^:\\x00-\\x1f\\x7f]+$" }),
    password: T.String({ minLength: 1, maxLength: 1000, description: secretNote }),
  },
  {
    additionalProperties: false,
    title: "HTTP Basic",
    description: "Sends `Authorization: Basic base64(username:password)`",
  },
);

export const AuthBearer = T.Object(
  {
    type: T.Literal("bearer"),
    token: T.String({
      minLength: 1,
      maxLength: 4096,
      pattern: "^[!-~]+$",
      description: `Printable ASCII, no spaces. ${secretNote}`,
    }),
  },
  {
    additionalProperties: false,
    title: "Bearer token",
    description: "Sends `Authorization: Bearer <token>`",
  },
);

export const AuthOAuth2 = T.Object(
  {
    type: T.Literal("oauth2"),
    tokenUrl: T.String({
      minLength: 1,
      maxLength: 2000,
      description: "Token endpoint (absolute http(s) URL), reached through the outbound guard",
    }),
    clientId: T.String({ minLength: 1, maxLength: 500 }),
    clientSecret: T.String({ minLength: 1, maxLength: 1000, description: secretNote }),
    scope: T.Optional(T.String({ minLength: 1, maxLength: 1000 })),
  },
  {
    additionalProperties: false,
    title: "OAuth 2.0 client credentials",
    description:
      "Before sending, POSTs `grant_type=client_credentials&client_id=…&client_secret=…[&scope=…]` " +
      "(form-encoded) to `tokenUrl` and sends `Authorization: Bearer <access_token>`. The token " +
      "is cached per webhook until 30 s before `expires_in` runs out (5 minutes when the token " +
      "endpoint gives none), and dropped when the receiver answers 401.",
  },
);

export const ReceiverAuth = T.Union([AuthNone, AuthBasic, AuthBearer, AuthOAuth2], {
  description:
    "How Hookpost authenticates to the receiver: `none` (default), `basic`, `bearer` or " +
    '`oauth2` (client credentials). Secrets (password, token, clientSecret) are shown as "********" ' +
    'in every response. On update, "********" keeps the stored value, as long as `type` is ' +
    "unchanged; a new `type` needs its real credentials.",
  examples: [{ type: "basic", username: "hookpost", password: "********" }],
});
export type ReceiverAuth = Static<typeof ReceiverAuth>;

export const LanguageCode = T.String({
  minLength: 1,
  maxLength: 35,
  pattern: "^[A-Za-z0-9_-]+$",
  description: "A language code such as `en`, `en-US` or `pt_BR` (compared case-insensitively)",
  examples: ["en-US"],
});

const WebhookSlot = T.Union([T.Literal("published"), T.Literal("preview")], {
  description:
    "Which events trigger the webhook: those of published content (default) or those of " +
    "preview content, by the event's `slot`",
});

const Languages = T.Array(LanguageCode, {
  maxItems: 100,
  description:
    "Languages whose events trigger the webhook (at most 100, no duplicates); empty = every " +
    "language. An event without a language matches every webhook.",
  examples: [["en", "it"]],
});

const RetryPolicy = T.Union([T.Literal("automatic"), T.Literal("manual")], {
  description:
    "`automatic`: failed attempts are retried with exponential backoff; `manual`: one attempt, then retry by API",
});

const nullable = <Schema extends ReturnType<typeof T.String>>(schema: Schema) =>
  T.Union([schema, T.Null()]);

/** The most attempts one webhook may start per second (`rateLimitPerSecond`). */
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;
/** `retrySchedule`: at most this many delays, each 1 s to a day. */
export const MAX_RETRY_SCHEDULE_LENGTH = 20;
export const MAX_RETRY_DELAY_SECONDS = 86_400;
/** `rotate-secret`'s longest grace period: 7 days. */
export const MAX_GRACE_SECONDS = 7 * 86_400;

const ORDERED_NOTE =
  "If true, deliveries are sent one at a time, in the order their events were accepted: a " +
  "delivery waiting for a retry holds back the later ones until it is Sent or ends in Error. A " +
  "manual retry or a replay is a new delivery, placed by when it was made. Default false " +
  "(parallel).";

const RATE_LIMIT_NOTE =
  `At most this many attempts start for the webhook in any one-second window, across every ` +
  `node (1–${MAX_RATE_LIMIT_PER_SECOND}); deliveries over it wait, they do not fail. null: no limit.`;

const RETRY_SCHEDULE_NOTE =
  `Delays in seconds before each retry (1–${MAX_RETRY_SCHEDULE_LENGTH} delays, each ` +
  `1–${MAX_RETRY_DELAY_SECONDS}), e.g. [5, 300, 1800, 7200]; when set, it replaces the ` +
  "exponential backoff and `maxAttempts`: a delivery gets its length plus one attempts. A " +
  "receiver's `Retry-After` (429, 503) is honoured up to the largest delay. null: exponential " +
  "backoff.";

const RetrySchedule = T.Array(T.Integer({ minimum: 1, maximum: MAX_RETRY_DELAY_SECONDS }), {
  minItems: 1,
  maxItems: MAX_RETRY_SCHEDULE_LENGTH,
});

/** The settings a client sends, on `PUT /webhooks` and inside an import document. */
const inputFields = {
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
        "Signing secret: 8–256 printable ASCII characters without spaces, used as given, or " +
        "`whsec_` + a base64 key of at least 24 bytes (the Standard Webhooks / Svix form), whose " +
        "decoded key signs `webhook-signature`. Generated on create if omitted (returned in the " +
        "response). On update, omit or send an empty value to keep the current one.",
    }),
  ),
  eventTypes: T.Optional(EventTypesMap),
  useCustomPayload: T.Optional(
    T.Boolean({ description: "If true, the body is rendered from `customPayload`" }),
  ),
  customPayload: T.Optional(
    T.Unknown({
      description:
        "JSON template used when `useCustomPayload` is true; at most 64 KiB as JSON. Keys are " +
        "kept as written, `__proto__` and `constructor` included",
    }),
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
        "Extra request headers (at most 10); not content-length, content-type, host, a " +
        "signature header or request-id, traceparent, request-context (reserved by seed 001)",
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
  auth: T.Optional(ReceiverAuth),
  slot: T.Optional(WebhookSlot),
  languages: T.Optional(Languages),
  ordered: T.Optional(T.Boolean({ description: ORDERED_NOTE })),
  rateLimitPerSecond: T.Optional(
    T.Union([T.Integer({ minimum: 1, maximum: MAX_RATE_LIMIT_PER_SECOND }), T.Null()], {
      description: RATE_LIMIT_NOTE,
      examples: [10],
    }),
  ),
  retrySchedule: T.Optional(
    T.Union([RetrySchedule, T.Null()], {
      description: RETRY_SCHEDULE_NOTE,
      examples: [[5, 300, 1800, 7200]],
    }),
  ),
};

export const WebhookInput = T.Object(
  {
    id: T.Optional(
      T.String({ maxLength: 100, description: "Webhook ID. Omit (or empty) to create a new one." }),
    ),
    ...inputFields,
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

/** A webhook's configuration as shown: what an export carries, and a WebhookModel's core. */
const configFields = {
  name: T.String(),
  endpoint: T.String(),
  secret: T.String({
    description: "Signing secret: `wh_` + 32 random characters unless one was sent",
  }),
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
  auth: ReceiverAuth,
  slot: WebhookSlot,
  languages: Languages,
  ordered: T.Boolean({ description: ORDERED_NOTE }),
  rateLimitPerSecond: T.Union([T.Integer(), T.Null()], { description: RATE_LIMIT_NOTE }),
  retrySchedule: T.Union([T.Array(T.Integer()), T.Null()], { description: RETRY_SCHEDULE_NOTE }),
};

export const Webhook = T.Object(
  {
    id: T.String({ examples: ["wh_01jd3x8k2mq4v9f7r2c8tb6n"] }),
    ...configFields,
    previousSecretExpiresAt: T.Union([T.String({ format: "date-time" }), T.Null()], {
      description:
        "After `POST /webhooks/{id}/rotate-secret` with `graceSeconds`: until when the previous " +
        "secret still signs every request beside the new one. null when no previous secret is in use.",
    }),
    failCount: T.Integer({ description: "Consecutive failed attempts; 0 after a success" }),
    failingSince: T.Union([T.String({ format: "date-time" }), T.Null()], {
      description:
        "When the current streak of failed attempts began (null after a success): a webhook " +
        "failing for longer than `HOOKPOST_AUTO_DISABLE_AFTER_MS` (5 days) is disabled",
    }),
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
    T.Union(
      [
        T.Literal("created"),
        T.Literal("-created"),
        T.Literal("modified"),
        T.Literal("-modified"),
        T.Literal("name"),
        T.Literal("-name"),
      ],
      {
        description:
          "Sort order (default `created`): by creation, by `lastModified` or by name (ignoring " +
          "case); `-` for descending. Ties are broken by id.",
      },
    ),
  ),
});
export type WebhookOrdering = NonNullable<Static<typeof WebhookListQuery>["ordering"]>;

export const DeletedWebhook = T.Object(
  {
    id: T.String(),
    deleted: T.Literal(true),
  },
  { examples: [{ id: "wh_01jd3x8k2mq4v9f7r2c8tb6n", deleted: true }] },
);

/** The document `GET /webhooks/{id}/export` answers and the import routes accept. */
export const EXPORT_FORMAT = "hookpost.webhook";

export const WebhookExport = T.Object(
  {
    format: T.Literal(EXPORT_FORMAT),
    version: T.Literal(1),
    exportedAt: T.String({ format: "date-time" }),
    webhook: T.Object(configFields, {
      description:
        "The configuration: no id, health or failure counters; credentials masked as " +
        '"********"',
    }),
  },
  {
    title: "WebhookExport",
    examples: [
      {
        format: EXPORT_FORMAT,
        version: 1,
        exportedAt: "2025-01-31T10:00:00.000Z",
        webhook: {
          name: "example.com",
          endpoint: "https://example.com/hooks/contit",
          secret: "wh_k3J9s0aZq1LmN4bV7cX2dR5tY8uI6oP0",
          eventTypes: { article: [0, 1, 2] },
          useCustomPayload: false,
          customPayload: null,
          templateEngine: "json",
          description: "Production article sync",
          errorEmailTo: "ops@example.com",
          enabled: true,
          headers: [{ key: "X-Api-Key", value: "********" }],
          timeoutSeconds: 15,
          maxAttempts: null,
          retryPolicy: "automatic",
          auth: { type: "bearer", token: "********" },
          slot: "published",
          languages: [],
          ordered: false,
          rateLimitPerSecond: null,
          retrySchedule: null,
        },
      },
    ],
  },
);
export type WebhookExport = Static<typeof WebhookExport>;

export const WebhookImport = T.Object(
  {
    format: T.Literal(EXPORT_FORMAT),
    version: T.Literal(1),
    exportedAt: T.Optional(T.String({ maxLength: 100 })),
    webhook: T.Object(inputFields, {
      additionalProperties: false,
      description:
        "The configuration, validated as by `PUT /webhooks`. Every masked credential " +
        '("********") must be replaced by the real value when creating; when updating, a ' +
        "masked value keeps the stored one.",
    }),
  },
  {
    additionalProperties: false,
    title: "WebhookImport",
    description: "A document from `GET /webhooks/{id}/export`, with credentials filled in",
  },
);
export type WebhookImport = Static<typeof WebhookImport>;

export const RotateSecretInput = T.Object(
  {
    graceSeconds: T.Optional(
      T.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description:
          `How long the previous secret keeps signing beside the new one (0–${MAX_GRACE_SECONDS} ` +
          "seconds, 7 days; default 0: invalid at once)",
        examples: [86_400],
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateSecretInput = Static<typeof RotateSecretInput>;

export const WebhookImportResult = T.Object({
  notice: T.String({ examples: ["webhook was imported successfully"] }),
  webhook: Webhook,
});
export type WebhookImportResult = Static<typeof WebhookImportResult>;

/** The answer of `POST /webhooks/{id}/test` (ping.ts). */
export const PingResult = T.Object(
  {
    isSuccessStatusCode: T.Boolean({ description: "True if the endpoint answered 2xx" }),
    statusCode: T.Integer({
      description: "The endpoint's status code; 0 when no answer arrived (refused, DNS, timeout)",
    }),
    message: T.String({
      description: "The response body cut to 2,000 characters, or the client-side error",
    }),
    durationMs: T.Integer({ minimum: 0 }),
  },
  {
    $id: "#/components/schemas/PingResultModel",
    title: "PingResultModel",
    examples: [
      { isSuccessStatusCode: true, statusCode: 200, message: '{"ok":true}', durationMs: 184 },
    ],
  },
);
export type PingResult = Static<typeof PingResult>;
