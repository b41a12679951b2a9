/**
 * The failure hook of the scheduler (its seam for SPEC §7): when a delivery ends in Error, a
 * failure notice is written in the same transaction, if the webhook has `errorEmailTo`. The
 * mailer turns pending notices into mail later, so a crash in between loses nothing.
 */

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
