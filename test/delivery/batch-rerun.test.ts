/**
 * A group-committed batch runs its work a second time when one of its items fails
 * (`GroupCommit.flush`). The scheduler's claim must then start again from the same memory:
 * a delivery seen by the rolled-back first run is still claimed and sent, not left Waiting
 * until the scheduler's periodic full look half a minute later.
 */

import { expect } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { newId } from "../../src/ids.ts";
import { deliveryOf, publish } from "../deliveries/helpers.ts";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, sqliteOf, testOnSqlite } from "../helpers/test-app.ts";

testOnSqlite(
  "a claim that shares its batch with a failing item still sends its delivery",
  async () => {
    const receiver = startReceiver();
    // Only wake-ups drive the scheduler: its timer would otherwise hide a forgotten delivery.
    const t = await createTestApp({
      HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32",
      HOOKPOST_TICK_MS: "60000",
    });
    try {
      const webhook = await createWebhook(t, { endpoint: `${receiver.url}/hook` });
      await t.app.start();
      // The first event takes the ordinary path (and the first tick's retention pass).
      const first = await publish(t, { contentId: "first" });
      await waitFor("the first delivery", () => receiver.requests.length === 1);
      await waitFor("no attempt in flight", () => t.app.scheduler.inFlight === 0);
      await Bun.sleep(50); // the tick that follows the attempt settles
      const { db } = t.app.store;
      const row = await db
        .selectFrom("deliveries")
        .selectAll()
        .where("id", "=", deliveryOf(first, webhook.id))
        .executeTakeFirstOrThrow();
      // A Waiting delivery the scheduler was not told about, then a wake-up and a failing item
      // queued in the same turn: one batch, run twice.
      const secondId = newId("dlv");
      await db
        .insertInto("deliveries")
        .values({
          ...row,
          id: secondId,
          process_status: ProcessStatus.Waiting,
          attempts: 0,
          next_attempt_at: Date.now(),
          response_status_code: null,
        })
        .execute();
      t.app.scheduler.wake([webhook.id]);
      const failing = sqliteOf(t.app).statements.exclusive(() => {
        throw new Error("an item that fails");
      });
      await expect(failing).rejects.toThrow("an item that fails");
      await waitFor("the second delivery", () => receiver.requests.length === 2, 4_000);
      await waitFor("the second delivery recorded as Sent", async () => {
        const current = await db
          .selectFrom("deliveries")
          .select("process_status")
          .where("id", "=", secondId)
          .executeTakeFirstOrThrow();
        return current.process_status === ProcessStatus.Sent;
      });
    } finally {
      await t.close();
      await receiver.stop();
    }
  },
);
