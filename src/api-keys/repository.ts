/** SQL for API keys. Only hashes are stored; the plain key exists once, in the creator's hands. */

import type { Access, ApiKeyRow, Executor } from "../db/database.ts";

export async function insertApiKey(
  db: Executor,
  row: {
    id: string;
    workspace: string;
    access: Access;
    keyHash: string;
    keyPrefix: string;
    label: string | null;
    createdAt: number;
  },
): Promise<void> {
  await db
    .insertInto("api_keys")
    .values({
      id: row.id,
      workspace: row.workspace,
      access: row.access,
      key_hash: row.keyHash,
      key_prefix: row.keyPrefix,
      label: row.label,
      created_at: row.createdAt,
      revoked_at: null,
    })
    .execute();
}

/** The key with this hash: the query every request runs (see `authenticate`). */
export function apiKeyByHashQuery(db: Executor, keyHash: string) {
  return db.selectFrom("api_keys").selectAll().where("key_hash", "=", keyHash);
}

export async function findApiKeyByHash(
  db: Executor,
  keyHash: string,
): Promise<ApiKeyRow | undefined> {
  return apiKeyByHashQuery(db, keyHash).executeTakeFirst();
}

export async function listApiKeyRows(db: Executor): Promise<ApiKeyRow[]> {
  return db.selectFrom("api_keys").selectAll().orderBy("workspace").orderBy("created_at").execute();
}

export async function countApiKeys(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("api_keys")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Marks the key revoked; returns false when no such (unrevoked) key exists. */
export async function markApiKeyRevoked(db: Executor, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
