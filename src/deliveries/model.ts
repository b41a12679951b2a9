/**
 * Schemas of the delivery log API (seed 000's `/webhooks/{id}/events…`, with seed 002's
 * attempts and status-code filter, seed 003's cursor and replay, and seed 004's `state`).
 * Query parameters arrive as strings and are declared as such: `parseLogQuery` (service.ts)
 * checks and converts every one of them, so that each refusal says in words what is allowed
 * (a schema pattern would be refused first, with the pattern as its message).
 */

import { type Static, Type as T, type TLiteral, type TUnion } from "@sinclair/typebox";
import { WebhookEventType } from "../webhooks/model.ts";

const ProcessStatusSchema = T.Union([T.Literal(-1), T.Literal(0), T.Literal(1), T.Literal(2)], {
  description: "WebhookProcessStatus: -1 Error, 0 Waiting, 1 Processing, 2 Sent",
});

const STATE_MEANINGS =
  "`pending`: waiting for its first attempt; `retrying`: waiting after a failed attempt; " +
  "`processing`: an attempt is in flight; `success`: delivered; `exhausted`: failed after " +
  "its last allowed attempt; `failed`: failed otherwise (e.g. the payload could not be rendered)";

/** Seed 004's delivery states, in lifecycle order. */
const DeliveryStateSchema = T.Union(
  [
    T.Literal("pending"),
    T.Literal("processing"),
    T.Literal("retrying"),
    T.Literal("success"),
    T.Literal("failed"),
    T.Literal("exhausted"),
  ],
  { description: STATE_MEANINGS },
);
export type DeliveryState = Static<typeof DeliveryStateSchema>;

/** A union of literals' values as a query string spells them: `["-1", "0", "1", "2"]`. */
function spelled<Value extends string | number>(union: TUnion<TLiteral<Value>[]>): `${Value}`[] {
  return union.anyOf.map((literal) => `${literal.const}` as const);
}

/** What the log's enumerated query parameters accept, for the schema and for the checks. */
export const LOG_QUERY_CHOICES = {
  status: spelled(ProcessStatusSchema),
  eventType: spelled(WebhookEventType),
  state: spelled(DeliveryStateSchema),
};

const IsoTime = T.String({ format: "date-time" });
const nullableString = (description?: string) =>
  T.Union([T.String(), T.Null()], description ? { description } : {});
const nullableInteger = (description?: string) =>
  T.Union([T.Integer(), T.Null()], description ? { description } : {});

export const DeliveryLogEntry = T.Object(
  {
    id: T.String({ description: "Delivery ID", examples: ["dlv_01jd3x8k2mq4v9f7r2c8tb6n"] }),
    webhookId: T.String({ examples: ["wh_01jd3x8k2mq4v9f7r2c8tb6n"] }),
    eventId: T.String({ description: "The accepted event this delivery carries" }),
    retryOf: nullableString("The delivery this one retries or replays, if any"),
    dateInsert: IsoTime,
    lastUpdate: IsoTime,
    eventType: WebhookEventType,
    contentId: T.String(),
    contentType: T.String(),
    fields: T.Record(T.String(), T.Unknown()),
    translations: T.Record(T.String(), T.Unknown()),
    customPayload: T.Unknown({
      description: "The rendered custom payload sent as the body, or null for the default body",
    }),
    processStatus: ProcessStatusSchema,
    state: DeliveryStateSchema,
    responseStatusCode: nullableInteger("HTTP status of the last attempt; null without a response"),
    isResponseSuccessStatusCode: T.Boolean({ description: "Whether the last response was 2xx" }),
    responseMessage: nullableString("Body (truncated) or reason of the last attempt"),
    lastError: nullableString("Why the last attempt failed, if it did"),
    attempts: T.Integer({ description: "Attempts made so far" }),
    maxAttempts: T.Integer({ description: "Attempts allowed before the delivery is exhausted" }),
    nextAttemptAt: T.Union([IsoTime, T.Null()], {
      description: "When the next attempt is due; null unless Waiting",
    }),
    durationMs: nullableInteger("Duration of the last attempt"),
    signature: nullableString("The signature header value sent with the last attempt"),
  },
  {
    $id: "#/components/schemas/WebhookEventLogModel",
    title: "WebhookEventLogModel",
    examples: [
      {
        id: "dlv_01jd3x8k2mq4v9f7r2c8tb6n",
        webhookId: "wh_01jd3x8k2mq4v9f7r2c8tb6n",
        eventId: "evt_01jd3x8k2mq4v9f7r2c8tb6n",
        retryOf: null,
        dateInsert: "2026-05-15T14:02:11.000Z",
        lastUpdate: "2026-05-15T14:02:13.000Z",
        eventType: 0,
        contentId: "c_d4f6e9c2",
        contentType: "article",
        fields: { title: "Hello world" },
        translations: { it: "Ciao mondo" },
        customPayload: null,
        processStatus: -1,
        state: "exhausted",
        responseStatusCode: 502,
        isResponseSuccessStatusCode: false,
        responseMessage: "Bad Gateway",
        lastError: "HTTP 502",
        attempts: 10,
        maxAttempts: 10,
        nextAttemptAt: null,
        durationMs: 184,
        signature:
          "t=1778853731,s=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e1d6d3a5",
      },
    ],
  },
);
export type DeliveryLogEntry = Static<typeof DeliveryLogEntry>;

export const DeliveryLogPage = T.Object({
  items: T.Array(DeliveryLogEntry, { description: "Delivery entries on the current page" }),
  page: T.Union([T.Integer(), T.Null()], {
    description: "Current page (1-based); null when paging by `cursor`",
  }),
  pageSize: T.Integer({ description: "Items per page" }),
  total: T.Integer({ description: "Total matching deliveries across all pages" }),
  nextCursor: T.Union([T.String(), T.Null()], {
    description: "Pass as `cursor` to get the following page; null on the last page",
  }),
});
export type DeliveryLogPage = Static<typeof DeliveryLogPage>;

/** A query parameter: a string here, checked and converted by `parseLogQuery`. */
const parameter = (description: string, options: { examples?: string[]; enum?: string[] } = {}) =>
  T.Optional(T.String({ maxLength: 400, description, ...options }));

export const DeliveryLogQuery = T.Object({
  page: parameter("1-based page number (default 1); not with `cursor`", { examples: ["1"] }),
  pageSize: parameter("Items per page (default 20); more than 100 is capped at 100", {
    examples: ["20"],
  }),
  status: parameter("Filter by process status: -1 Error, 0 Waiting, 1 Processing, 2 Sent", {
    enum: LOG_QUERY_CHOICES.status,
    examples: ["-1"],
  }),
  state: parameter(`Filter by delivery state. ${STATE_MEANINGS}`, {
    enum: LOG_QUERY_CHOICES.state,
    examples: ["retrying"],
  }),
  eventType: parameter(
    "Filter by event type: 0 Published, 1 Unpublished, 2 Deleted, 3 PublishedCreated, 4 PublishedUpdated",
    { enum: LOG_QUERY_CHOICES.eventType },
  ),
  contentType: T.Optional(
    T.String({ minLength: 1, maxLength: 100, description: "Filter by content-type key" }),
  ),
  from: parameter("Lower bound on insert date (ISO-8601 date-time with a time zone, inclusive)", {
    examples: ["2026-05-15T00:00:00Z"],
  }),
  to: parameter("Upper bound on insert date (ISO-8601 date-time with a time zone, inclusive)"),
  statusCodeFrom: parameter("Lowest response status code (100–599, inclusive)", {
    examples: ["500"],
  }),
  statusCodeTo: parameter("Highest response status code (100–599, inclusive)", {
    examples: ["599"],
  }),
  cursor: T.Optional(
    T.String({
      minLength: 1,
      maxLength: 400,
      description:
        "`nextCursor` of a previous answer: continues newest-first after its last item, stable " +
        "while new deliveries arrive. Not with `page`.",
    }),
  ),
});
export type DeliveryLogQuery = Static<typeof DeliveryLogQuery>;

export const DeliveryParams = T.Object({
  id: T.String({ maxLength: 100, description: "Webhook ID" }),
  eventId: T.String({ maxLength: 100, description: "Delivery ID" }),
});

export const SampleParams = T.Object({
  id: T.String({ maxLength: 100, description: "Webhook ID" }),
  contentTypeId: T.String({
    maxLength: 100,
    description: "Content type ID (its key) to base the sample payload on",
  }),
});

export const Attempt = T.Object(
  {
    number: T.Integer({ description: "1 for the first attempt" }),
    startedAt: IsoTime,
    durationMs: T.Integer(),
    statusCode: nullableInteger("Response status; null when no response was received"),
    isSuccessStatusCode: T.Boolean(),
    error: nullableString("Why the attempt failed without a usable response"),
    responseBody: nullableString("The start of the response body (at most 2000 characters)"),
    requestHeaders: T.Record(T.String(), T.String(), {
      description: "Headers sent, credentials masked as ********",
    }),
  },
  {
    $id: "#/components/schemas/AttemptModel",
    title: "AttemptModel",
    examples: [
      {
        number: 1,
        startedAt: "2026-05-15T14:02:11.000Z",
        durationMs: 184,
        statusCode: 502,
        isSuccessStatusCode: false,
        error: null,
        responseBody: "Bad Gateway",
        requestHeaders: {
          "content-type": "application/json",
          authorization: "Bearer ********",
        },
      },
    ],
  },
);
export type Attempt = Static<typeof Attempt>;

export const ReplayInput = T.Object(
  {
    since: T.String({
      format: "date-time",
      description: "Start of the window (insert date, ISO-8601, inclusive)",
    }),
    until: T.Optional(
      T.String({
        format: "date-time",
        description: "End of the window (inclusive); defaults to now",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ since: "2026-05-15T00:00:00Z", until: "2026-05-15T12:00:00Z" }],
  },
);
export type ReplayInput = Static<typeof ReplayInput>;

export const ReplayResult = T.Object(
  {
    webhookId: T.String(),
    replayed: T.Integer({ description: "Events re-enqueued (one new delivery each)" }),
    eventIds: T.Array(T.String()),
    deliveryIds: T.Array(T.String(), { description: "The new deliveries, in `eventIds` order" }),
  },
  {
    examples: [
      {
        webhookId: "wh_01jd3x8k2mq4v9f7r2c8tb6n",
        replayed: 1,
        eventIds: ["evt_01jd3x8k2mq4v9f7r2c8tb6n"],
        deliveryIds: ["dlv_01jd3xa0b1c2d3e4f5g6h7j8k9"],
      },
    ],
  },
);
export type ReplayResult = Static<typeof ReplayResult>;

export const PayloadPreviewInput = T.Object(
  {
    customPayload: T.Unknown({
      description: "The template, as a webhook's `customPayload` (at most 64 KiB as JSON)",
    }),
    templateEngine: T.Optional(
      T.String({ minLength: 1, maxLength: 100, description: "Template engine (default `json`)" }),
    ),
    contentType: T.Optional(
      T.String({
        minLength: 1,
        maxLength: 100,
        description:
          "Content-type key of the sample event; its registered fields are filled with " +
          "`<field>` placeholders (none when it is not registered)",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { customPayload: { text: "{{fields.title}} was published" }, contentType: "article" },
    ],
  },
);
export type PayloadPreviewInput = Static<typeof PayloadPreviewInput>;

export const PayloadPreview = T.Object(
  {
    body: T.String({ description: "The body a delivery of the sample event would send" }),
    contentType: T.String({ description: "The sample event's content type" }),
    fields: T.Record(T.String(), T.String(), {
      description: "The sample event's fields: each registered field as a `<field>` placeholder",
    }),
  },
  {
    examples: [
      {
        body: '{"text":"<title> was published"}',
        contentType: "article",
        fields: { title: "<title>" },
      },
    ],
  },
);
export type PayloadPreview = Static<typeof PayloadPreview>;

/** The stats' windows, each cut into intervals of a fixed length (deliveries/stats.ts). */
const StatsWindowSchema = T.Union(
  [T.Literal("1h"), T.Literal("24h"), T.Literal("7d"), T.Literal("30d")],
  { description: "The window asked for" },
);
export type StatsWindow = Static<typeof StatsWindowSchema>;
export const STATS_WINDOW_CHOICES = spelled(StatsWindowSchema);

export const StatsQuery = T.Object({
  window: parameter(
    "How far back: `1h` (1-minute intervals), `24h` (default, 1-hour intervals), `7d` (6-hour " +
      "intervals) or `30d` (1-day intervals)",
    { enum: STATS_WINDOW_CHOICES, examples: ["24h"] },
  ),
});
export type StatsQuery = Static<typeof StatsQuery>;

const nullableMs = (description: string) => T.Union([T.Integer(), T.Null()], { description });

const StatsCounts = {
  sent: T.Integer({ description: "Deliveries created in the interval that are Sent now" }),
  error: T.Integer({ description: "Deliveries created in the interval that are in Error now" }),
  waiting: T.Integer({
    description:
      "Deliveries created in the interval not yet Sent or in Error (waiting, in flight, retrying)",
  }),
  attempts: T.Integer({ description: "Attempts started in the interval" }),
  failedAttempts: T.Integer({
    description: "Attempts started in the interval without a 2xx answer (no answer included)",
  }),
};

export const StatsInterval = T.Object({
  from: T.String({ format: "date-time", description: "Start of the interval" }),
  ...StatsCounts,
  p50Ms: nullableMs("Median duration of the interval's attempts; null without attempts"),
  p95Ms: nullableMs("95th percentile duration of the interval's attempts; null without attempts"),
});

export const WebhookStats = T.Object(
  {
    webhookId: T.String(),
    window: StatsWindowSchema,
    from: T.String({
      format: "date-time",
      description:
        "Start of the first interval: `to` minus the window, rounded down to an interval",
    }),
    to: T.String({ format: "date-time", description: "Now, the end of the last interval" }),
    intervalSeconds: T.Integer({
      description: "Length of each interval: 60, 3600, 21600 or 86400",
    }),
    intervals: T.Array(StatsInterval, {
      description: "Every interval from `from` to `to`, oldest first, empty ones included",
    }),
    totals: T.Object(StatsCounts, { description: "The intervals added up" }),
    latencyMs: T.Object(
      {
        p50: nullableMs("Median attempt duration over the window; null without attempts"),
        p95: nullableMs("95th percentile over the window"),
        p99: nullableMs("99th percentile over the window"),
        max: nullableMs("Longest attempt of the window (exact)"),
      },
      { description: "Attempt durations over the whole window" },
    ),
  },
  {
    $id: "#/components/schemas/WebhookStatsModel",
    title: "WebhookStatsModel",
    examples: [
      {
        webhookId: "wh_01jd3x8k2mq4v9f7r2c8tb6n",
        window: "1h",
        from: "2026-05-15T13:02:00.000Z",
        to: "2026-05-15T14:02:11.000Z",
        intervalSeconds: 60,
        intervals: [
          {
            from: "2026-05-15T13:02:00.000Z",
            sent: 12,
            error: 1,
            waiting: 2,
            attempts: 16,
            failedAttempts: 3,
            p50Ms: 84,
            p95Ms: 410,
          },
        ],
        totals: { sent: 12, error: 1, waiting: 2, attempts: 16, failedAttempts: 3 },
        latencyMs: { p50: 84, p95: 410, p99: 1250, max: 15003 },
      },
    ],
  },
);
export type WebhookStats = Static<typeof WebhookStats>;
