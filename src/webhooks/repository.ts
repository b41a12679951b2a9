/** SQL for webhooks. Every query is scoped by workspace: another tenant's row is invisible. */

import type { Updateable } from "kysely";
import type { Executor, NewWebhookRow, WebhookRow, WebhookTable } from "../db/database.ts";
import type { WebhookOrdering } from "./model.ts";

export async function insertWebhook(db: Executor, row: NewWebhookRow): Promise<void> {
  await db.insertInto("webhooks").values(row).execute();
}

/** Every webhook's id, workspace and secret, across workspaces (the startup check of secrets). */
export async function listWebhookSecrets(
  db: Executor,
): Promise<Pick<WebhookRow, "id" | "workspace" | "secret">[]> {
  return db.selectFrom("webhooks").select(["id", "workspace", "secret"]).orderBy("id").execute();
}

/** How many webhooks the workspace has, enabled or not. */
export async function countWebhooks(db: Executor, workspace: string): Promise<number> {
  const row = await db
    .selectFrom("webhooks")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("workspace", "=", workspace)
    .executeTakeFirstOrThrow();
  return Number(row.count);
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

/** Names compare as people read them: "alpha" before "Zeta", "Émile" next to "emile". */
const nameCollator = new Intl.Collator("en", { sensitivity: "accent" });

type Comparison = (a: WebhookRow, b: WebhookRow) => number;
const byCreation: Comparison = (a, b) => a.created_at - b.created_at;
const byModification: Comparison = (a, b) => a.last_modified - b.last_modified;
const byNameIgnoringCase: Comparison = (a, b) => nameCollator.compare(a.name, b.name);

const ORDER_BY: Record<WebhookOrdering, { compare: Comparison; direction: 1 | -1 }> = {
  created: { compare: byCreation, direction: 1 },
  "-created": { compare: byCreation, direction: -1 },
  modified: { compare: byModification, direction: 1 },
  "-modified": { compare: byModification, direction: -1 },
  name: { compare: byNameIgnoringCase, direction: 1 },
  "-name": { compare: byNameIgnoringCase, direction: -1 },
};

/**
 * The workspace's webhooks in `ordering`, ties broken by id in the same direction. Sorted here
 * rather than in SQL: SQLite's NOCASE folds ASCII letters only, and a workspace's webhooks are
 * read whole anyway.
 */
export async function listWebhookRows(
  db: Executor,
  workspace: string,
  ordering: WebhookOrdering,
): Promise<WebhookRow[]> {
  const rows = await db
    .selectFrom("webhooks")
    .selectAll()
    .where("workspace", "=", workspace)
    .execute();
  const { compare, direction } = ORDER_BY[ordering];
  const byId: Comparison = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return rows.sort((a, b) => direction * (compare(a, b) || byId(a, b)));
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
