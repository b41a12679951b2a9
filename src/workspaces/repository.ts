/** Workspaces: the tenancy boundary. Everything else belongs to exactly one. */

import type { Executor } from "../db/database.ts";

export const DEFAULT_WORKSPACE = "default";

/** Creates the workspace unless it exists. */
export async function ensureWorkspace(db: Executor, name: string, now = Date.now()): Promise<void> {
  await db
    .insertInto("workspaces")
    .values({ name, created_at: now })
    .onConflict((conflict) => conflict.column("name").doNothing())
    .execute();
}

export async function countWorkspaces(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("workspaces")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
