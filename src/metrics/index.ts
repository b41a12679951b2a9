/**
 * `GET /metrics`: Prometheus text (SPEC §10), open without a key like `/health` — scrapers send
 * no custom headers, and the text holds only counts, never ids, URLs or payloads.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Services } from "../services.ts";

/** The content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const MetricsText = T.String({
  description: "Prometheus text exposition format 0.0.4",
  examples: [
    [
      "# HELP hookpost_queue_depth Deliveries waiting to be attempted.",
      "# TYPE hookpost_queue_depth gauge",
      "hookpost_queue_depth 3",
      "",
    ].join("\n"),
  ],
});

export function metricsRoutes(services: Services, inFlight: () => number) {
  return new Elysia().get(
    "/metrics",
    async ({ set }) => {
      set.headers["content-type"] = PROMETHEUS_CONTENT_TYPE;
      return services.metrics.render(await services.store.queueState(), { inFlight: inFlight() });
    },
    {
      response: { 200: MetricsText },
      detail: {
        tags: ["Operations"],
        // Open on purpose: a scraper sends no key.
        security: [],
        summary: "Prometheus metrics",
        description:
          "Prometheus text format 0.0.4, open without a key so a scraper needs no headers; it " +
          "holds only counts. Attempts by result and their duration; deliveries that reached a " +
          "final state by outcome and their latency from creation (histogram); queue depth, " +
          "deliveries being processed and the age of the oldest waiting delivery, read from the " +
          "database at scrape time; attempts in flight, resident memory, uptime and version.",
      },
    },
  );
}
