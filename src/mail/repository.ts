/** SQL of the failure-mail outbox: notices, and per-webhook mail state (throttle, backoff). */

import type { Insertable } from "kysely";
import type { Executor, FailureNoticeTable } from "../db/database.ts";

export async function insertNotice(
  db: Executor,
  row: Insertable<FailureNoticeTable>,
): Promise<void> {
  await db.insertInto("failure_notices").values(row).execute();
}

/** Webhooks with notices not yet mailed (through the partial index of pending notices). */
export async function listWebhooksWithPendingNotices(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom("failure_notices")
    .select("webhook_id")
    .distinct()
    .where("mailed_at", "is", null)
    .execute();
  return rows.map((row) => row.webhook_id);
}

/** One webhook's pending notices, oldest first. */
export async function listPendingNotices(db: Executor, webhookId: string, limit: number) {
  return db
    .selectFrom("failure_notices")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .where("mailed_at", "is", null)
    .orderBy("occurred_at")
    .orderBy("id")
    .limit(limit)
    .execute();
}

export type NoticeRow = Awaited<ReturnType<typeof listPendingNotices>>[number];

export async function countPendingNotices(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("failure_notices")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("mailed_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function markMailed(db: Executor, ids: string[], at: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable("failure_notices").set({ mailed_at: at }).where("id", "in", ids).execute();
}

export async function getMailState(db: Executor, webhookId: string) {
  return db
    .selectFrom("mail_state")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .executeTakeFirst();
}

export async function recordMailSent(db: Executor, webhookId: string, at: number): Promise<void> {
  const state = { last_sent_at: at, failures: 0, next_attempt_at: 0, last_error: null };
  await db
    .insertInto("mail_state")
    .values({ webhook_id: webhookId, ...state })
    .onConflict((conflict) => conflict.column("webhook_id").doUpdateSet(state))
    .execute();
}

export async function recordMailFailure(
  db: Executor,
  webhookId: string,
  failure: { failures: number; nextAttemptAt: number; error: string },
): Promise<void> {
  const state = {
    failures: failure.failures,
    next_attempt_at: failure.nextAttemptAt,
    last_error: failure.error,
  };
  await db
    .insertInto("mail_state")
    .values({ webhook_id: webhookId, last_sent_at: null, ...state })
    .onConflict((conflict) => conflict.column("webhook_id").doUpdateSet(state))
    .execute();
}
