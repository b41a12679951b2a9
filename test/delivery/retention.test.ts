/**
 * Retention (SPEC §10): finished deliveries (and their attempts) older than
 * HOOKPOST_RETENTION_DAYS are deleted by the scheduler; waiting ones never are, and events go
 * only once no delivery refers to them.
 */

import { expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { newId } from "../../src/ids.ts";
import { deliveryOf, type Published, publish, setDelivery } from "../deliveries/helpers.ts";
import { waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp } from "../helpers/test-app.ts";

const DAY = 86_400_000;

test("old finished deliveries, orphan events and mailed notices go; waiting and recent ones stay", async () => {
  const t = await createTestApp({ HOOKPOST_RETENTION_DAYS: "7", HOOKPOST_TICK_MS: "20" });
  try {
    const webhook = await createWebhook(t);
    const db = t.app.store.db;
    const old = Date.now() - 8 * DAY;
    const sent = await publish(t, { contentId: "old-sent" });
    const failed = await publish(t, { contentId: "old-error" });
    const waiting = await publish(t, { contentId: "old-waiting" });
    const recent = await publish(t, { contentId: "recent-sent" });
    // Made eight days ago: ids begin with their creation time, so both change.
    const aged = async (published: Published) => {
      const eventId = newId("evt", old);
      const deliveryId = newId("dlv", old);
      // One transaction: the delivery refers to the event by id (deferred on neither backend,
      // so the event's new row comes first, then the delivery moves to it, then the old goes).
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("events")
          .selectAll()
          .where("id", "=", published.eventId)
          .executeTakeFirstOrThrow();
        await trx
          .insertInto("events")
          .values({ ...row, id: eventId, created_at: old })
          .execute();
        await trx
          .updateTable("deliveries")
          .set({ id: deliveryId, event_id: eventId, created_at: old })
          .where("id", "=", deliveryOf(published, webhook.id))
          .execute();
        await trx.deleteFrom("events").where("id", "=", published.eventId).execute();
      });
      return { eventId, deliveryId };
    };
    const oldSent = await aged(sent);
    const oldFailed = await aged(failed);
    const oldWaiting = await aged(waiting);
    const ids = {
      sent: oldSent.deliveryId,
      failed: oldFailed.deliveryId,
      waiting: oldWaiting.deliveryId,
      recent: deliveryOf(recent, webhook.id),
    };
    await setDelivery(t, ids.sent, { process_status: ProcessStatus.Sent });
    await setDelivery(t, ids.failed, { process_status: ProcessStatus.Error });
    await setDelivery(t, ids.recent, { process_status: ProcessStatus.Sent });
    await db
      .insertInto("attempts")
      .values({
        id: "att_old",
        delivery_id: ids.sent,
        webhook_id: webhook.id,
        number: 1,
        started_at: old,
        duration_ms: 5,
        status_code: 200,
        error: null,
        response_body: "ok",
        request_headers: "{}",
      })
      .execute();

    const notice = (id: string, mailedAt: number | null) => ({
      id,
      workspace: "default",
      webhook_id: webhook.id,
      delivery_id: ids.failed,
      kind: "delivery_failed" as const,
      status_code: 500,
      error: "HTTP 500",
      attempts: 3,
      occurred_at: old,
      delivery_created_at: old,
      recipients: "ops@example.com",
      webhook_label: "hooks",
      endpoint_host: "example.com",
      mailed_at: mailedAt,
    });
    await db
      .insertInto("failure_notices")
      .values([
        notice("mail_old_sent", old),
        notice("mail_old_unsent", null),
        notice("mail_recent_sent", Date.now()),
      ])
      .execute();
    // Disabled, so the scheduler leaves the Waiting delivery alone.
    await t.request("POST", `/webhooks/${webhook.id}/disable`, { key: t.keys.write });
    await t.app.start();
    const remaining = await waitFor("retention to run", async () => {
      const rows = await db.selectFrom("deliveries").select("id").execute();
      return rows.length === 2 ? rows.map((row) => row.id).sort() : undefined;
    });
    expect(remaining).toEqual([ids.waiting, ids.recent].sort());
    expect(await db.selectFrom("attempts").select("id").execute()).toEqual([]);
    const events = (await db.selectFrom("events").select("id").execute()).map((row) => row.id);
    expect(events.sort()).toEqual([oldWaiting.eventId, recent.eventId].sort());
    // Mailed notices go with the log; one never mailed stays until it is.
    const notices = await waitFor("notice retention", async () => {
      const rows = await db.selectFrom("failure_notices").select("id").orderBy("id").execute();
      return rows.length === 2 ? rows.map((row) => row.id) : undefined;
    });
    expect(notices).toEqual(["mail_old_unsent", "mail_recent_sent"]);
  } finally {
    await t.close();
  }
});
