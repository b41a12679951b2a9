/**
 * The scheduler's SQL. Every query on Waiting or Processing deliveries spells its status as a
 * literal (`sql.lit`), because SQLite uses a partial index (`… WHERE process_status = 0`) only
 * when the query's condition is the same literal, not a bound parameter.
 */

import { type ExpressionBuilder, sql } from "kysely";
import type { Database, Executor, HealthStatus } from "../db/database.ts";
import { ProcessStatus } from "../deliveries/status.ts";

const WAITING = sql.lit(ProcessStatus.Waiting);
const PROCESSING = sql.lit(ProcessStatus.Processing);

const WEBHOOK_GONE = "webhook deleted before delivery";

/**
 * What a returned delivery becomes: Waiting again — or Error, when its webhook was deleted
 * while it was in flight (nothing would ever claim it).
 */
function returned(eb: ExpressionBuilder<Database, "deliveries">) {
  const webhookExists = eb.exists(
    eb
      .selectFrom("webhooks")
      .select("webhooks.id")
      .whereRef("webhooks.id", "=", "deliveries.webhook_id"),
  );
  return {
    process_status: eb
      .case()
      .when(webhookExists)
      .then(ProcessStatus.Waiting)
      .else(ProcessStatus.Error)
      .end(),
    last_error: eb.case().when(webhookExists).then(eb.ref("last_error")).else(WEBHOOK_GONE).end(),
    lease_until: null,
  };
}

/** At startup: whatever a previous process was sending goes back to Waiting. */
export async function resetAllProcessing(db: Executor): Promise<number> {
  const result = await db
    .updateTable("deliveries")
    .set(returned)
    .where("process_status", "=", PROCESSING)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Puts the given Processing deliveries back to Waiting, unchanged otherwise (shutdown). */
export async function releaseDeliveries(db: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable("deliveries")
    .set(returned)
    .where("id", "in", ids)
    .where("process_status", "=", PROCESSING)
    .execute();
}

/** Fails the Waiting deliveries of a deleted webhook, so nothing waits for it forever. */
export async function failWaitingOfWebhook(
  db: Executor,
  webhookId: string,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable("deliveries")
    .set({
      process_status: ProcessStatus.Error,
      last_error: WEBHOOK_GONE,
      response_message: WEBHOOK_GONE,
      updated_at: now,
    })
    .where("webhook_id", "=", webhookId)
    .where("process_status", "=", WAITING)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface WebhookHealthChange {
  success: boolean;
  disable: boolean;
  now: number;
}

/**
 * Keeps `failCount`, `lastDeliveredAt` and `healthStatus` current after an attempt; disables
 * the webhook on `410 Gone`. False when the webhook no longer exists.
 */
export async function updateWebhookHealth(
  db: Executor,
  webhookId: string,
  change: WebhookHealthChange,
): Promise<boolean> {
  const health: HealthStatus = change.disable ? "disabled" : change.success ? "working" : "failing";
  const result = await db
    .updateTable("webhooks")
    .set((eb) => ({
      fail_count: change.success ? 0 : eb("fail_count", "+", 1),
      ...(change.success ? { last_delivered_at: change.now } : {}),
      ...(change.disable ? { enabled: 0 } : {}),
      // A webhook someone disabled during the attempt keeps saying so.
      health_status: change.disable
        ? health
        : eb.case().when("enabled", "=", 0).then(eb.ref("health_status")).else(health).end(),
    }))
    .where("id", "=", webhookId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deliveries and attempts older than the cutoff that are finished (Sent or Error), in one batch. */
export async function deleteFinishedBefore(
  db: Executor,
  cutoff: number,
  batch: number,
): Promise<number> {
  const result = await db
    .deleteFrom("deliveries")
    .where("id", "in", (query) =>
      query
        .selectFrom("deliveries")
        .select("id")
        .where("created_at", "<", cutoff)
        .where("process_status", "in", [ProcessStatus.Error, ProcessStatus.Sent])
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Events older than the cutoff that no delivery refers to any more, in one batch. */
export async function deleteOrphanEventsBefore(
  db: Executor,
  cutoff: number,
  batch: number,
): Promise<number> {
  const result = await db
    .deleteFrom("events")
    .where("id", "in", (query) =>
      query
        .selectFrom("events")
        .select("events.id")
        .where("events.created_at", "<", cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("deliveries")
                .select("deliveries.id")
                .whereRef("deliveries.event_id", "=", "events.id"),
            ),
          ),
        )
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
