/** SQL for webhooks. Every query is scoped by workspace: another tenant's row is invisible. */

import type { Updateable } from "kysely";
import type { Executor, NewWebhookRow, WebhookRow, WebhookTable } from "../db/database.ts";
import type { WebhookOrdering } from "./model.ts";

export async function insertWebhook(db: Executor, row: NewWebhookRow): Promise<void> {
  await db.insertInto("webhooks").values(row).execute();
}

export async function findWebhook(
  db: Executor,
  workspace: string,
  id: string,
): Promise<WebhookRow | undefined> {
  return db
    .selectFrom("webhooks")
    .selectAll()
    .where("workspace", "=", workspace)
    .where("id", "=", id)
    .executeTakeFirst();
}

const ORDER_BY: Record<
  WebhookOrdering,
  { column: "created_at" | "name"; direction: "asc" | "desc" }
> = {
  created: { column: "created_at", direction: "asc" },
  "-created": { column: "created_at", direction: "desc" },
  name: { column: "name", direction: "asc" },
  "-name": { column: "name", direction: "desc" },
};

export async function listWebhookRows(
  db: Executor,
  workspace: string,
  ordering: WebhookOrdering,
): Promise<WebhookRow[]> {
  const { column, direction } = ORDER_BY[ordering];
  return db
    .selectFrom("webhooks")
    .selectAll()
    .where("workspace", "=", workspace)
    .orderBy(column, direction)
    .orderBy("id", direction)
    .execute();
}

/** Applies `changes`; returns false when the webhook is not in the workspace. */
export async function updateWebhookRow(
  db: Executor,
  workspace: string,
  id: string,
  changes: Updateable<WebhookTable>,
): Promise<boolean> {
  const result = await db
    .updateTable("webhooks")
    .set(changes)
    .where("workspace", "=", workspace)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deletes the webhook row only: its delivery log stays for audit. */
export async function deleteWebhookRow(
  db: Executor,
  workspace: string,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom("webhooks")
    .where("workspace", "=", workspace)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
