/** SQL for content types. Every query is scoped by workspace: another tenant's row is invisible. */

import type { Insertable, Selectable } from "kysely";
import type { ContentTypeTable, Executor } from "../db/database.ts";

export type ContentTypeRow = Selectable<ContentTypeTable>;

export async function findContentTypeRow(
  db: Executor,
  workspace: string,
  key: string,
): Promise<ContentTypeRow | undefined> {
  return db
    .selectFrom("content_types")
    .selectAll()
    .where("workspace", "=", workspace)
    .where("key", "=", key)
    .executeTakeFirst();
}

export async function listContentTypeRows(
  db: Executor,
  workspace: string,
): Promise<ContentTypeRow[]> {
  return db
    .selectFrom("content_types")
    .selectAll()
    .where("workspace", "=", workspace)
    .orderBy("key")
    .execute();
}

/**
 * Inserts the row, or replaces name, fields and updated_at of the existing one: created_at
 * is only ever written by the insert. One statement, so two concurrent PUTs cannot both insert.
 */
export async function upsertContentTypeRow(
  db: Executor,
  row: Insertable<ContentTypeTable>,
): Promise<ContentTypeRow> {
  return db
    .insertInto("content_types")
    .values(row)
    .onConflict((conflict) =>
      conflict.columns(["workspace", "key"]).doUpdateSet({
        name: row.name,
        fields: row.fields,
        updated_at: row.updated_at,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteContentTypeRow(
  db: Executor,
  workspace: string,
  key: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom("content_types")
    .where("workspace", "=", workspace)
    .where("key", "=", key)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
