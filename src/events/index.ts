/** `POST /events` (SPEC §5): accept a content event and fan it out to the matching webhooks. */

import { Elysia } from "elysia";
import { ErrorEnvelope } from "../http/envelope.ts";
import type { Services } from "../services.ts";
import { IncomingEvent, IngestResult } from "./model.ts";
import { ingestContextOf, ingestEvent } from "./service.ts";

export function eventRoutes(services: Services) {
  const context = ingestContextOf(services);
  return new Elysia().use(services.auth).post(
    "/events",
    async ({ principal, body, set }) => {
      const outcome = await ingestEvent(context, principal.workspace, body);
      set.status = 202;
      if (outcome.duplicate) set.headers["idempotent-replayed"] = "true";
      return outcome.result;
    },
    {
      auth: "write",
      type: "json",
      body: IncomingEvent,
      response: {
        202: IngestResult,
        400: ErrorEnvelope,
        401: ErrorEnvelope,
        403: ErrorEnvelope,
        413: ErrorEnvelope,
      },
      detail: {
        tags: ["Events"],
        summary: "Publish a content event",
        description:
          "Accepts a content event and creates one Waiting delivery per enabled webhook whose " +
          "`eventTypes` holds the event type for this content type (or for `*`). The event and " +
          "its deliveries are committed together before the 202 answer, so an accepted event is " +
          "never lost. A repeated `id` in the same workspace enqueues nothing new: the first " +
          "answer is returned again with the header `Idempotent-Replayed: true`.",
      },
    },
  );
}
