/**
 * One attempt of one claimed delivery (SPEC §6.1–6.3): prepare → sign → send → decide →
 * record. Sign the request; let the plugins' `beforeDelivery` hooks change it (then sign the
 * final body); send it with the receiver's authentication (`outbound/`); decide what the
 * result means (`outcome.ts`); record the outcome in the store (with the failure mail's notice
 * in the same transaction when the delivery fails); then the plugins' `afterDelivery` hooks.
 * The scheduler (`scheduler.ts`) decides when and which deliveries come here; this file
 * decides nothing of that, and tells the scheduler what it recorded.
 */

import type { Config } from "../config.ts";
import { readJsonColumn } from "../db/json-column.ts";
import { messageIdOf, retryScheduleOf } from "../deliveries/build.ts";
import type { Decision } from "../deliveries/status.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { ReceiverAuthenticator, ReceiverCredentials } from "../outbound/receiver-auth.ts";
import { type AttemptResult, isSuccessStatus, noResponse } from "../outbound/sender.ts";
import { requestHeaders, signatureHeaders, signingSecrets } from "../outbound/signing.ts";
import type { DeliveryContext, DeliveryResult } from "../plugin-host/api.ts";
import { type DeliveryHookChain, unsignedHeaders } from "../plugin-host/hooks.ts";
import type { DeliveryStore } from "../store/delivery-store.ts";
import type { DispatchableWebhook, DueDelivery } from "../store/queue.ts";
import { USER_AGENT } from "../version.ts";
import { decideOutcome, maskHeaders } from "./outcome.ts";

export interface DispatchOptions {
  /** Where outcomes are recorded (and taken deliveries released). */
  store: DeliveryStore;
  config: Pick<Config, "retryBaseMs" | "retryMaxDelayMs">;
  log: Logger;
  /** Sends with the webhook's receiver authentication, through the outbound guard. */
  authenticator: ReceiverAuthenticator;
  metrics: Metrics;
  /** The plugins' `beforeDelivery` and `afterDelivery` hooks. */
  hooks?: DeliveryHookChain;
}

/**
 * Told each recorded outcome, before the metrics and `afterDelivery`: the decision, and the
 * webhook's failed attempts in a row as the record left them (null when the webhook is gone).
 */
export type RecordedListener = (
  webhookId: string,
  decision: Decision,
  failCount: number | null,
) => void;

/** The webhook's `retrySchedule` in ms, or null (exponential backoff). */
function scheduleMsOf(webhook: DispatchableWebhook): number[] | null {
  const seconds = retryScheduleOf(webhook);
  return seconds === null ? null : seconds.map((delay) => delay * 1000);
}

/** The request of one attempt, ready to send, or why it cannot be sent. */
type PreparedRequest =
  | { kind: "ready"; body: string; headers: Record<string, string>; signature: string }
  | { kind: "failed"; error: string; headers: Record<string, string>; signature: string }
  | { kind: "aborted" };

/** Runs the attempts of claimed deliveries; one per scheduler. */
export class Dispatcher {
  constructor(
    private readonly options: DispatchOptions,
    private readonly recorded: RecordedListener,
  ) {}

  /**
   * Takes one claimed delivery through its attempt, and resolves once the outcome is recorded
   * (or the delivery released: shutdown aborted it). Rejects when recording failed (the
   * delivery is then still Waiting, and the store lets it be taken again after a while) or when
   * the attempt failed before it had an outcome (likewise). `succeeded` is
   * called as soon as the receiver has answered 2xx, before the outcome is recorded: the
   * receiver is done with the attempt.
   */
  async run(
    webhook: DispatchableWebhook,
    delivery: DueDelivery,
    signal: AbortSignal,
    succeeded: () => void,
  ): Promise<void> {
    const startedAt = Date.now();
    const context: DeliveryContext = {
      deliveryId: delivery.id,
      webhookId: webhook.id,
      workspace: delivery.workspace,
      attempt: delivery.attempts + 1,
      maxAttempts: delivery.max_attempts,
    };
    const attempted = await this.attempt(webhook, delivery, startedAt, context, signal).catch(
      async (error: unknown) => {
        // Something failed before an outcome existed (a stored column unreadable, a hook's
        // bug): the delivery goes back after a while, not at once (it would fail again in a
        // loop), and not never (it would stay in flight until the next start).
        await this.options.store.hold(delivery).catch(() => undefined);
        throw error;
      },
    );
    if (attempted.kind === "aborted") {
      await this.options.store.release(delivery);
      return;
    }
    const { result, headers, signature } = attempted;
    if (isSuccessStatus(result.statusCode)) succeeded();
    const { decision, error } = await this.record(webhook, delivery, {
      result,
      startedAt,
      headers,
      signature,
    });
    const outcome: DeliveryResult = {
      statusCode: result.statusCode,
      error,
      durationMs: result.durationMs,
      outcome: decision.kind,
      nextAttemptAt: decision.kind === "retry" ? new Date(decision.nextAttemptAt) : null,
    };
    this.options.hooks?.afterDelivery(outcome, context);
  }

  /** Prepares and sends the request: its result, or `aborted` (shutdown). */
  private async attempt(
    webhook: DispatchableWebhook,
    delivery: DueDelivery,
    startedAt: number,
    context: DeliveryContext,
    signal: AbortSignal,
  ): Promise<
    | { kind: "aborted" }
    | { kind: "sent"; result: AttemptResult; headers: Record<string, string>; signature: string }
  > {
    const prepared = await this.prepare(webhook, delivery, startedAt, context, signal);
    if (prepared.kind === "aborted") return prepared;
    let sent: { result: AttemptResult; headers: Record<string, string> };
    if (prepared.kind === "failed") {
      sent = {
        result: noResponse(prepared.error, Date.now() - startedAt),
        headers: prepared.headers,
      };
    } else {
      // Adds the receiver's Authorization (fetching an OAuth2 token first when needed).
      sent = await this.options.authenticator.send(
        webhook.id,
        readJsonColumn<ReceiverCredentials>(webhook.auth),
        {
          endpoint: webhook.endpoint,
          body: prepared.body,
          headers: prepared.headers,
          timeoutMs: webhook.timeout_seconds * 1000,
          signal,
        },
      );
    }
    if (sent.result.aborted) return { kind: "aborted" };
    return { kind: "sent", ...sent, signature: prepared.signature };
  }

  /**
   * The signed request. With `beforeDelivery` hooks, they get the unsigned request first and
   * the signatures are computed over the body they leave (with the same timestamp).
   */
  private async prepare(
    webhook: DispatchableWebhook,
    delivery: DueDelivery,
    startedAt: number,
    context: DeliveryContext,
    signal: AbortSignal,
  ): Promise<PreparedRequest> {
    const timestamp = Math.floor(startedAt / 1000);
    // A retry or replay is signed as the message it resends: receivers drop the duplicate.
    const messageId = messageIdOf(delivery);
    const secrets = signingSecrets(webhook, startedAt);
    const signed = requestHeaders(
      { ...secrets, headers: webhook.headers },
      messageId,
      delivery.body,
      timestamp,
      USER_AGENT,
    );
    const hooks = this.options.hooks;
    if (!hooks?.hasBeforeDelivery) {
      return { kind: "ready", body: delivery.body, ...signed };
    }
    const hooked = await hooks.beforeDelivery(
      { url: webhook.endpoint, headers: unsignedHeaders(signed.headers), body: delivery.body },
      context,
      signal,
    );
    if (hooked.kind === "aborted") return hooked;
    // The attempt record shows the headers the hooks were given.
    if (hooked.kind === "failed") return { ...hooked, ...signed };
    const signature = signatureHeaders(secrets, messageId, hooked.body, timestamp);
    return {
      kind: "ready",
      body: hooked.body,
      headers: { ...hooked.headers, ...signature },
      signature: signature["contit-signature"],
    };
  }

  private async record(
    webhook: DispatchableWebhook,
    delivery: DueDelivery,
    attempt: {
      result: AttemptResult;
      startedAt: number;
      headers: Record<string, string>;
      signature: string;
    },
  ): Promise<{ decision: Decision; error: string | null }> {
    const { config, metrics } = this.options;
    const { result } = attempt;
    const now = Date.now();
    const number = delivery.attempts + 1;
    const success = isSuccessStatus(result.statusCode);
    const decided = decideOutcome({
      result,
      attemptNumber: number,
      maxAttempts: delivery.max_attempts,
      now,
      policy: { baseMs: config.retryBaseMs, maxDelayMs: config.retryMaxDelayMs },
      scheduleMs: scheduleMsOf(webhook),
    });
    const recorded = await this.options.store.recordAttempt({
      delivery,
      decision: decided,
      startedAt: attempt.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseBody: result.responseBody,
      responseMessage: result.responseBody || result.statusText || result.error,
      requestHeaders: JSON.stringify(maskHeaders(attempt.headers)),
      signature: attempt.signature,
      now,
    });
    if (!recorded) {
      this.options.log.warn(
        "the delivery changed during its attempt; its outcome is not recorded",
        {
          deliveryId: delivery.id,
          webhookId: webhook.id,
        },
      );
      return { decision: decided, error: result.error };
    }
    const { decision, error } = recorded;
    this.recorded(webhook.id, decision, recorded.failCount);
    metrics.recordAttempt(success ? "success" : "failure", result.durationMs);
    if (decision.kind === "sent") metrics.recordDelivery("sent", now - delivery.created_at);
    if (decision.kind === "failed") {
      metrics.recordDelivery("error", now - delivery.created_at);
      this.options.log.warn("delivery failed", {
        deliveryId: delivery.id,
        webhookId: webhook.id,
        reason: decision.reason,
        attempts: number,
        statusCode: result.statusCode,
        error,
      });
      if (decision.reason === "gone") {
        this.options.log.warn("webhook disabled: the receiver answered 410 Gone", {
          webhookId: webhook.id,
        });
      }
    }
    return { decision, error };
  }
}
