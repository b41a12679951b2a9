/**
 * Taking due work (src/store/queue.ts): the due deliveries' row ids come from `deliveries_due`
 * alone, a covering index, so a webhook's deliveries already in flight are skipped without
 * reading their rows; a taken delivery is not taken again until it is recorded or released;
 * and nothing is written.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "kysely";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { DUE_ROWS } from "../../src/store/queue.ts";
import { takeDue, takeDueOf } from "../deliveries/helpers.ts";
import { queryPlan } from "../helpers/query-plans.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import {
  createTestApp,
  sqliteOf,
  TEST_BACKEND,
  type TestApp,
  testOnSqlite,
} from "../helpers/test-app.ts";

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => {
  await app.close();
});

testOnSqlite("the due rows are read from deliveries_due alone", () => {
  const plan = queryPlan(sqliteOf(app.app).sqlite, DUE_ROWS, ["wh_none", Date.now(), 10]);
  expect(plan).toEqual([
    "SEARCH deliveries USING COVERING INDEX deliveries_due (webhook_id=? AND next_attempt_at<?)",
  ]);
});

test("a taken delivery is not taken again (on SQLite, taking writes nothing)", async () => {
  const webhook = await createWebhook(app, { eventTypes: { article: [0] } });
  const ids: string[] = [];
  for (let index = 0; index < 3; index++) {
    const response = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: "article", contentId: `c${index}` },
    });
    expect(response.status).toBe(202);
    ids.push(
      (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]?.deliveryId ?? "",
    );
  }
  const { store } = app.app.services;
  const db = app.app.store.db;
  // SQLite's count of rows written on the connection; PostgreSQL writes a lease per delivery.
  const changes = async () =>
    TEST_BACKEND === "sqlite"
      ? (await sql<{ n: number }>`select total_changes() as n`.execute(db)).rows[0]?.n
      : 0;
  const before = await changes();
  const first = await takeDue(store, webhook.id, 2);
  const second = await takeDue(store, webhook.id, 2);
  expect(await changes()).toBe(before);
  expect([...first, ...second].map((delivery) => delivery.id).sort()).toEqual([...ids].sort());
  expect(second).toHaveLength(1);
  expect(await takeDue(store, webhook.id, 2)).toEqual([]);
  // Waiting in their rows, Processing to readers.
  const row = await store.findDelivery(db, ids[0] ?? "");
  expect(row?.process_status).toBe(ProcessStatus.Processing);
  // Released unattempted, it is due again.
  const [released] = first;
  if (!released) throw new Error("nothing taken");
  await store.release(released);
  const again = await takeDue(store, webhook.id, 2);
  expect(again.map((delivery) => delivery.id)).toEqual([released.id]);
});

test.skipIf(TEST_BACKEND !== "postgres")(
  "a webhook disabled since its node read the list has nothing taken (another node's change)",
  async () => {
    const webhook = await createWebhook(app, { eventTypes: { article: [0] } });
    const response = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: "article", contentId: "disabled-meanwhile" },
    });
    expect(response.status).toBe(202);
    const { store } = app.app.services;
    const [stale] = (await store.dispatchableWebhooks()).filter((each) => each.id === webhook.id);
    if (!stale) throw new Error("the webhook is not in the list");
    await app.app.store.db
      .updateTable("webhooks")
      .set({ enabled: 0 })
      .where("id", "=", webhook.id)
      .execute();
    expect(await takeDueOf(store, stale, 5)).toEqual([]);
  },
);
