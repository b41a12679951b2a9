/**
 * `deliveries.message_id`: the Standard Webhooks message id (`webhook-id`) a delivery is sent
 * with, so that a manual retry and a replay are recognisably the same message as the delivery
 * they resend (issue 13). Null for an original delivery, whose own id is its message id; for a
 * retry or replay, the id of the original delivery at the root of its `retry_of` chain.
 *
 * Retries made before this migration get their root now (retries are few: one scan of the
 * column, then one update by primary key each). Where retention already removed an ancestor,
 * the chain ends at the id its child still names.
 */

import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema.alterTable("deliveries").addColumn("message_id", "text").execute();
  const retries: { id: string; retry_of: string }[] = await db
    .selectFrom("deliveries")
    .select(["id", "retry_of"])
    .where("retry_of", "is not", null)
    .execute();
  const parentOf = new Map(retries.map((row) => [row.id, row.retry_of]));
  for (const { id, retry_of } of retries) {
    let root = retry_of;
    for (let parent = parentOf.get(root); parent !== undefined; parent = parentOf.get(root)) {
      root = parent;
    }
    await db.updateTable("deliveries").set({ message_id: root }).where("id", "=", id).execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.alterTable("deliveries").dropColumn("message_id").execute();
}
