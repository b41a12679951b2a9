/**
 * One attempt of one claimed delivery (SPEC §6.1–6.3): prepare → sign → send → decide →
 * record. Sign the request; let the plugins' `beforeDelivery` hooks change it (then sign the
 * final body); send it with the receiver's authentication (`outbound/`); decide what the
 * result means (`outcome.ts`); record the outcome — group-committed with prepared statements,
 * or in a Kysely transaction when the delivery fails, so the failure hook writes its mail
 * notice in the same transaction; then the plugins' `afterDelivery` hooks. The scheduler
 * (`scheduler.ts`) decides when and which deliveries come here; this file decides nothing of
 * that, and tells the scheduler what it recorded.
 */

import type { Config } from "../config.ts";
import type { Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";
import type { StatementCache } from "../db/statement-cache.ts";
import { messageIdOf } from "../deliveries/build.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { ProcessStatus } from "../deliveries/status.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { ReceiverAuthenticator, ReceiverCredentials } from "../outbound/receiver-auth.ts";
import { type AttemptResult, isSuccessStatus, noResponse } from "../outbound/sender.ts";
import { requestHeaders, signatureHeaders } from "../outbound/signing.ts";
import type { DeliveryContext, DeliveryResult } from "../plugin-host/api.ts";
import { type DeliveryHookChain, unsignedHeaders } from "../plugin-host/hooks.ts";
import { USER_AGENT } from "../version.ts";
import {
  type ClaimedDelivery,
  type DispatchableWebhook,
  insertAttemptNow,
  releaseDeliveryNow,
  updateDeliveryOutcomeNow,
  updateWebhookHealthNow,
} from "./fast-queries.ts";
import { type Decision, decideOutcome, maskHeaders } from "./outcome.ts";

export interface DispatchOptions {
  db: Executor;
  config: Pick<Config, "retryBaseMs" | "retryMaxDelayMs">;
  log: Logger;
  /** Prepared statements for the per-tick and per-attempt hot paths. */
  statements: StatementCache;
  /** Sends with the webhook's receiver authentication, through the outbound guard. */
  authenticator: ReceiverAuthenticator;
  metrics: Metrics;
  onDeliveryFailed?: FailureHook;
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

/** Thrown inside the recording transaction to roll it back when the lease was lost. */
class LeaseLost extends Error {}

/** Thrown by the fast recording path: the webhook is gone, the failure path must run. */
class WebhookGone extends Error {}

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
   * (or the delivery released: shutdown aborted it). Rejects only when recording failed; the
   * lease then brings the delivery back. `succeeded` is called as soon as the receiver has
   * answered 2xx, before the outcome is recorded: the receiver is done with the attempt.
   */
  async run(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
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
    const prepared = await this.prepare(webhook, delivery, startedAt, context, signal);
    if (prepared.kind === "aborted") {
      await this.options.statements.exclusive(() =>
        releaseDeliveryNow(this.options.statements, delivery.id),
      );
      return;
    }
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
    const { result, headers } = sent;
    if (result.aborted) {
      await this.options.statements.exclusive(() =>
        releaseDeliveryNow(this.options.statements, delivery.id),
      );
      return;
    }
    if (isSuccessStatus(result.statusCode)) succeeded();
    const { decision, error } = await this.record(webhook, delivery, {
      result,
      startedAt,
      headers,
      signature: prepared.signature,
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

  /**
   * The signed request. With `beforeDelivery` hooks, they get the unsigned request first and
   * the signatures are computed over the body they leave (with the same timestamp).
   */
  private async prepare(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    startedAt: number,
    context: DeliveryContext,
    signal: AbortSignal,
  ): Promise<PreparedRequest> {
    const timestamp = Math.floor(startedAt / 1000);
    // A retry or replay is signed as the message it resends: receivers drop the duplicate.
    const messageId = messageIdOf(delivery);
    const signed = requestHeaders(webhook, messageId, delivery.body, timestamp, USER_AGENT);
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
    const signature = signatureHeaders(webhook.secret, messageId, hooked.body, timestamp);
    return {
      kind: "ready",
      body: hooked.body,
      headers: { ...hooked.headers, ...signature },
      signature: signature["contit-signature"],
    };
  }

  private async record(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    attempt: {
      result: AttemptResult;
      startedAt: number;
      headers: Record<string, string>;
      signature: string;
    },
  ): Promise<{ decision: Decision; error: string | null }> {
    const { db, config, metrics } = this.options;
    const { result } = attempt;
    const now = Date.now();
    const number = delivery.attempts + 1;
    const success = isSuccessStatus(result.statusCode);
    let decision: Decision = decideOutcome({
      result,
      attemptNumber: number,
      maxAttempts: delivery.max_attempts,
      now,
      policy: { baseMs: config.retryBaseMs, maxDelayMs: config.retryMaxDelayMs },
    });
    let error = result.error;
    let failCount: number | null = null;
    const outcome = { result, startedAt: attempt.startedAt, headers: attempt.headers };
    const written = (failuresAllowed: boolean) => () => {
      const kept = this.writeOutcome(webhook, delivery, outcome, attempt.signature, {
        decision,
        number,
        now,
        failuresAllowed,
      });
      decision = kept.decision;
      error = kept.error;
      failCount = kept.failCount;
      return true;
    };
    const lostLease = (failure: unknown) => {
      if (failure instanceof LeaseLost) return false;
      throw failure;
    };
    // Sent and retry outcomes go through the group-committed batches; a failure (or a retry
    // whose webhook is gone, which becomes one) also writes the failure hook's outbox row, in
    // a Kysely transaction so the hook can use it.
    let recorded: boolean | "failure" = "failure";
    if (decision.kind !== "failed") {
      recorded = await this.options.statements
        .exclusive(written(false))
        .catch((failure: unknown) =>
          failure instanceof WebhookGone ? "failure" : lostLease(failure),
        );
    }
    if (recorded === "failure") {
      recorded = await db
        .transaction()
        .execute(async (trx) => {
          // Prepared statements on the same connection run inside this open transaction.
          written(true)();
          if (decision.kind === "failed" && this.options.onDeliveryFailed) {
            await this.options.onDeliveryFailed(trx, {
              workspace: delivery.workspace,
              webhookId: webhook.id,
              deliveryId: delivery.id,
              reason: decision.reason,
              attempts: number,
              statusCode: result.statusCode,
              error,
              at: now,
            });
          }
          return true;
        })
        .catch(lostLease);
    }
    if (!recorded) {
      this.options.log.warn("attempt outlived its lease; its outcome is not recorded", {
        deliveryId: delivery.id,
        webhookId: webhook.id,
      });
      return { decision, error };
    }
    this.recorded(webhook.id, decision, failCount);
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

  /**
   * Writes an attempt's outcome with prepared statements (synchronous; the caller supplies the
   * transaction): the webhook's health, the delivery's new state — only while its lease is still
   * ours, else {@link LeaseLost} — and the attempt record. A retry whose webhook was deleted
   * meanwhile becomes a failure; when `failuresAllowed` is false that throws
   * {@link WebhookGone} instead, so the caller can rerun it where the failure hook can write.
   */
  private writeOutcome(
    webhook: DispatchableWebhook,
    delivery: ClaimedDelivery,
    attempt: { result: AttemptResult; startedAt: number; headers: Record<string, string> },
    signature: string,
    state: { decision: Decision; number: number; now: number; failuresAllowed: boolean },
  ): { decision: Decision; error: string | null; failCount: number | null } {
    const { statements } = this.options;
    const { result } = attempt;
    const { number, now } = state;
    let { decision } = state;
    let error = result.error;
    const failCount = updateWebhookHealthNow(statements, webhook.id, {
      success: decision.kind === "sent",
      disable: decision.kind === "failed" && decision.reason === "gone",
      now,
    });
    if (failCount === null && decision.kind === "retry") {
      if (!state.failuresAllowed) throw new WebhookGone();
      // The webhook was deleted during the attempt: nothing will ever claim a retry.
      error = `${result.error}; webhook deleted, no further attempts`;
      decision = { kind: "failed", reason: "exhausted" };
    }
    const updated = updateDeliveryOutcomeNow(statements, {
      id: delivery.id,
      processStatus:
        decision.kind === "sent"
          ? ProcessStatus.Sent
          : decision.kind === "retry"
            ? ProcessStatus.Waiting
            : ProcessStatus.Error,
      attempts: number,
      nextAttemptAt: decision.kind === "retry" ? decision.nextAttemptAt : now,
      leaseUntil: delivery.lease_until,
      statusCode: result.statusCode,
      responseMessage: result.responseBody || result.statusText || result.error,
      lastError: error,
      durationMs: result.durationMs,
      signature,
      now,
    });
    // The lease ran out while this attempt ran and the delivery went back to the queue: its
    // next claim records the outcome; this one must not (the rollback undoes the health too).
    if (!updated) throw new LeaseLost();
    insertAttemptNow(statements, {
      id: newId("att", now),
      deliveryId: delivery.id,
      number,
      startedAt: attempt.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseBody: result.responseBody,
      requestHeaders: JSON.stringify(maskHeaders(attempt.headers)),
    });
    return { decision, error, failCount };
  }
}
