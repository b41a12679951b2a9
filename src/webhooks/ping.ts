/**
 * `POST /webhooks/{id}/test` (SPEC §6.4): a synchronous, signed ping with `Contit-Test: true`
 * and a 10 s timeout, through the same outbound guard and receiver authentication as
 * deliveries. Nothing is written to the delivery log.
 */

import { Elysia } from "elysia";
import { ErrorEnvelope } from "../http/envelope.ts";
import { newId } from "../ids.ts";
import { isSuccessStatus } from "../outbound/sender.ts";
import { requestHeaders, signingSecrets } from "../outbound/signing.ts";
import type { Services } from "../services.ts";
import { USER_AGENT } from "../version.ts";
import { PingResult, WebhookIdParams } from "./model.ts";
import { getWebhookRow, receiverAuthOf } from "./service.ts";

export const PING_TIMEOUT_MS = 10_000;

export async function pingWebhook(
  services: Services,
  workspace: string,
  id: string,
): Promise<PingResult> {
  const webhook = await getWebhookRow(services.db, workspace, id);
  const now = Date.now();
  const messageId = newId("ping", now);
  const body = JSON.stringify({
    eventType: "webhook.test",
    webhookId: webhook.id,
    deliveryId: messageId,
    timestamp: new Date(now).toISOString(),
    message: "Test ping from Hookpost",
  });
  const { headers } = requestHeaders(
    { ...signingSecrets(webhook, now), headers: webhook.headers },
    messageId,
    body,
    Math.floor(now / 1000),
    USER_AGENT,
  );
  const { result } = await services.authenticator.send(webhook.id, receiverAuthOf(webhook), {
    endpoint: webhook.endpoint,
    body,
    headers: { ...headers, "contit-test": "true" },
    timeoutMs: PING_TIMEOUT_MS,
  });
  return {
    isSuccessStatusCode: isSuccessStatus(result.statusCode),
    statusCode: result.statusCode ?? 0,
    message:
      result.statusCode === null
        ? (result.error ?? "no response")
        : result.responseBody || result.statusText || result.error || "",
    durationMs: result.durationMs,
  };
}

export function pingRoutes(services: Services) {
  return new Elysia({ prefix: "/webhooks" })
    .use(services.auth)
    .post(
      "/:id/test",
      ({ principal, params }) => pingWebhook(services, principal.workspace, params.id),
      {
        auth: "write",
        params: WebhookIdParams,
        response: { 200: PingResult, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope },
        detail: {
          tags: ["Webhooks"],
          summary: "Test webhook endpoint",
          description:
            'Sends a synchronous, signed POST with `{"eventType":"webhook.test", …}` and the ' +
            "header `Contit-Test: true` to the webhook's endpoint, with its receiver " +
            "authentication (`auth`) like a delivery (10 s timeout), and reports the " +
            "result, whether the endpoint succeeded or not. Works on disabled webhooks too. " +
            "`statusCode` is 0 when the endpoint was never reached (refused, DNS failure, timeout, " +
            "or a private address refused by the outbound guard). Nothing is written to the " +
            "delivery log.",
        },
      },
    );
}
