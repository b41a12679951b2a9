/**
 * Routes of the delivery log (seed 000, with seeds 002–004's additions): the log, one
 * delivery, its attempts, retry, replay and generate-sample; and the log's stats (issue 17). Handlers only translate HTTP to
 * service calls.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { ResourceErrors } from "../http/envelope.ts";
import type { Services } from "../services.ts";
import { WebhookIdParams } from "../webhooks/model.ts";
import {
  Attempt,
  DeliveryLogEntry,
  DeliveryLogPage,
  DeliveryLogQuery,
  DeliveryParams,
  PayloadPreview,
  PayloadPreviewInput,
  ReplayInput,
  ReplayResult,
  SampleParams,
  StatsQuery,
  WebhookStats,
} from "./model.ts";
import {
  type EnqueueContext,
  generateSample,
  getDelivery,
  listAttempts,
  listDeliveryLogPage,
  parseLogQuery,
  previewPayload,
  replayDeliveries,
  retryDelivery,
} from "./service.ts";
import { getWebhookStats, parseStatsQuery } from "./stats.ts";

const tags = ["Delivery log"];

export function deliveryLogRoutes(services: Services) {
  const { store } = services;
  const enqueue: EnqueueContext = {
    store,
    templaters: services.templaters,
    pluginContentTypes: services.plugins.contentTypes,
    defaultMaxAttempts: services.config.maxAttempts,
    wake: services.wake,
  };
  return new Elysia({ prefix: "/webhooks" })
    .use(services.auth)
    .get(
      "/:id/events",
      ({ principal, params, query }) =>
        listDeliveryLogPage(store, principal.workspace, params.id, parseLogQuery(query)),
      {
        auth: "read",
        params: WebhookIdParams,
        query: DeliveryLogQuery,
        response: { 200: DeliveryLogPage, ...ResourceErrors },
        detail: {
          tags,
          summary: "Retrieve webhook delivery log",
          description:
            "Returns the delivery log of a webhook, paginated and ordered newest-first. Supports " +
            "optional filters, combined with AND: `status` (process status), `state` (" +
            "pending, processing, retrying, success, failed, exhausted), `eventType`, " +
            "`contentType`, `from`/`to` (insert date range, ISO-8601, inclusive) and " +
            "`statusCodeFrom`/`statusCodeTo` (response status code range, inclusive). `pageSize` " +
            "above 100 counts as 100. Page with " +
            "`page`, or pass the answer's `nextCursor` as `cursor` for stable keyset paging " +
            "(not both). The log of a deleted webhook stays readable.",
        },
      },
    )
    .get(
      "/:id/stats",
      ({ principal, params, query }) =>
        getWebhookStats(store, principal.workspace, params.id, parseStatsQuery(query)),
      {
        auth: "read",
        params: WebhookIdParams,
        query: StatsQuery,
        response: { 200: WebhookStats, ...ResourceErrors },
        detail: {
          tags,
          summary: "Retrieve webhook delivery stats",
          description:
            "Deliveries and attempts of a webhook per interval over a window ending now: " +
            "`window=1h` (1-minute intervals), `24h` (the default; 1-hour), `7d` (6-hour) or " +
            "`30d` (1-day). Intervals start on whole UTC minutes, hours, quarter days or days; " +
            "`from` is the start of the interval holding now minus the window, so the answer " +
            "has window/interval + 1 intervals, the last one running, empty ones included. Per " +
            "interval: the deliveries created in it by their state now (`sent`, `error`, " +
            "`waiting`: everything not yet Sent or Error, in flight and retrying included), " +
            "the attempts started in it and those without a 2xx answer, and the median and " +
            "95th percentile of their durations. `latencyMs` gives the whole window's " +
            "percentiles and its longest attempt. Percentiles come from a histogram of " +
            "durations: exact below 100 ms, otherwise within 5% (two significant digits); " +
            "`max` is exact. Like the log, the stats of a deleted webhook stay readable.",
        },
      },
    )
    .get(
      "/:id/events/:eventId",
      ({ principal, params }) => getDelivery(store, principal.workspace, params.id, params.eventId),
      {
        auth: "read",
        params: DeliveryParams,
        response: { 200: DeliveryLogEntry, ...ResourceErrors },
        detail: {
          tags,
          summary: "Retrieve webhook delivery",
          description:
            "Retrieves a single webhook delivery by its ID. Returns 404 if the delivery does not " +
            "exist or does not belong to the given webhook.",
        },
      },
    )
    .get(
      "/:id/events/:eventId/attempts",
      ({ principal, params }) =>
        listAttempts(store, principal.workspace, params.id, params.eventId),
      {
        auth: "read",
        params: DeliveryParams,
        response: { 200: T.Array(Attempt), ...ResourceErrors },
        detail: {
          tags,
          summary: "Retrieve delivery attempts",
          description:
            "Every HTTP attempt of a delivery, first to last: when it started, how long it took, " +
            "the response status and the start of its body (or the error when there was no " +
            "response), and the request headers sent, with credentials masked.",
        },
      },
    )
    .post(
      "/:id/events/:eventId/retry",
      ({ principal, params }) =>
        retryDelivery(enqueue, principal.workspace, params.id, params.eventId),
      {
        auth: "write",
        params: DeliveryParams,
        response: { 200: DeliveryLogEntry, ...ResourceErrors },
        detail: {
          tags,
          summary: "Retry webhook delivery",
          description:
            "Re-enqueues an existing delivery for processing. A new delivery record is created in " +
            "`Waiting` status using the original payload snapshot (its `retryOf` names the " +
            "original); the original entry is left untouched for audit. It sends the original's " +
            "body byte for byte with the original's `webhook-id`, so the receiver can tell it is " +
            "the same message. 404 if the webhook no longer exists.",
        },
      },
    )
    .post(
      "/:id/replay",
      ({ principal, params, body }) =>
        replayDeliveries(enqueue, principal.workspace, params.id, body),
      {
        auth: "write",
        type: "json",
        params: WebhookIdParams,
        body: ReplayInput,
        response: { 200: ReplayResult, ...ResourceErrors },
        detail: {
          tags,
          summary: "Replay deliveries of a time window",
          description:
            "Re-enqueues every event that has a delivery of this webhook inserted between " +
            "`since` and `until` (inclusive; `until` defaults to now): one new `Waiting` delivery " +
            "per event, resending that event's latest delivery (its bytes and `webhook-id`, like a " +
            "retry). At most 10,000 events per call; " +
            "a larger window is refused with 400 and nothing is enqueued.",
        },
      },
    )
    .post(
      "/:id/generate-sample/:contentTypeId",
      ({ principal, params }) =>
        generateSample(enqueue, principal.workspace, params.id, params.contentTypeId),
      {
        auth: "write",
        params: SampleParams,
        response: { 200: DeliveryLogEntry, ...ResourceErrors },
        detail: {
          tags,
          summary: "Generate sample webhook event",
          description:
            "Generates a sample `Published` delivery for the given content type and enqueues it " +
            "on the webhook, whatever its `eventTypes`. Useful to exercise the receiver " +
            "end-to-end without touching real content. The sample payload contains a synthetic " +
            "content ID and the content type's field keys with `null` values.",
        },
      },
    )
    .post(
      "/preview-payload",
      ({ principal, body }) => previewPayload(enqueue, principal.workspace, body),
      {
        auth: "write",
        type: "json",
        body: PayloadPreviewInput,
        response: { 200: PayloadPreview, ...ResourceErrors },
        detail: {
          tags,
          summary: "Preview a custom payload",
          description:
            "Renders a custom-payload template for a sample `Published` event of `contentType` " +
            "(its registered fields filled with `<field>` placeholders) with the same engines " +
            "and body bound as a delivery, and answers the body it would send. Nothing is " +
            "stored or sent. A template that does not render is a 400 naming `customPayload`.",
        },
      },
    );
}
