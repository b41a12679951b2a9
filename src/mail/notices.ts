/**
 * The failure hook of the scheduler (its seam for SPEC §7): when a delivery ends in Error, a
 * failure notice is written in the same transaction, if the webhook has `errorEmailTo`. The
 * mailer turns pending notices into mail later, so a crash in between loses nothing.
 */

import type { Executor, WebhookRow } from "../db/database.ts";
import type { FailureHook } from "../deliveries/failure.ts";
import { newId } from "../ids.ts";
import { insertNotice } from "./repository.ts";

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return "(invalid endpoint)";
  }
}

export const recordFailureNotice: FailureHook = async (trx, failure) => {
  const webhook = await trx
    .selectFrom("webhooks")
    .select(["error_email_to", "description", "name", "endpoint"])
    .where("id", "=", failure.webhookId)
    .executeTakeFirst();
  if (!webhook?.error_email_to) return;
  await insertNotice(trx, {
    id: newId("mail", failure.at),
    workspace: failure.workspace,
    webhook_id: failure.webhookId,
    delivery_id: failure.deliveryId,
    kind: failure.reason === "gone" ? "webhook_disabled" : "delivery_failed",
    status_code: failure.statusCode,
    error: failure.error,
    attempts: failure.attempts,
    occurred_at: failure.at,
    delivery_created_at: failure.deliveryCreatedAt,
    recipients: webhook.error_email_to,
    webhook_label: webhook.description || webhook.name,
    endpoint_host: hostOf(webhook.endpoint),
    mailed_at: null,
  });
};

/** What of a webhook its auto-disable notice tells. */
export type AutoDisabledWebhook = Pick<
  WebhookRow,
  "id" | "workspace" | "error_email_to" | "description" | "name" | "endpoint" | "fail_count"
> & { failing_since: number };

/**
 * The notice that the webhook was disabled after failing too long (`webhook_auto_disabled`), if
 * it has `errorEmailTo`: in the transaction that disabled it.
 */
export async function recordAutoDisableNotice(
  trx: Executor,
  webhook: AutoDisabledWebhook,
  at: number,
): Promise<void> {
  if (!webhook.error_email_to) return;
  await insertNotice(trx, {
    id: newId("mail", at),
    workspace: webhook.workspace,
    webhook_id: webhook.id,
    delivery_id: "",
    kind: "webhook_auto_disabled",
    status_code: null,
    error: null,
    attempts: webhook.fail_count,
    occurred_at: at,
    delivery_created_at: webhook.failing_since,
    recipients: webhook.error_email_to,
    webhook_label: webhook.description || webhook.name,
    endpoint_host: hostOf(webhook.endpoint),
    mailed_at: null,
  });
}
