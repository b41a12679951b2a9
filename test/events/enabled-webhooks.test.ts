/**
 * Ingestion keeps the enabled webhooks in memory; every change that decides where an event goes
 * must reach the next event — made through the API, by the scheduler, or by another connection
 * to the same file (another process) — and a change in one workspace costs no other workspace
 * a reload.
 */

import { afterAll, beforeAll, expect, spyOn, test } from "bun:test";
import { updateWebhookHealthNow } from "../../src/store/outcomes.ts";
import { publish } from "../deliveries/helpers.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import {
  createTestApp,
  otherConnection,
  sqliteOf,
  type TestApp,
  testOnSqlite,
} from "../helpers/test-app.ts";

let t: TestApp;
let webhookId: string;

beforeAll(async () => {
  t = await createTestApp();
  webhookId = (await createWebhook(t, { eventTypes: { article: [0] } })).id;
});

afterAll(async () => {
  await t.close();
});

async function targets(event: Record<string, unknown> = {}): Promise<string[]> {
  return Object.keys((await publish(t, event)).deliveries);
}

async function write(
  method: string,
  path: string,
  json?: unknown,
  key: string = t.keys.write,
): Promise<void> {
  const response = await t.request(method, path, { key, json });
  expect(response.status).toBeLessThan(300);
}

test("each change through the API decides the next event's deliveries", async () => {
  expect(await targets()).toEqual([webhookId]);
  await write("POST", `/webhooks/${webhookId}/disable`);
  expect(await targets()).toEqual([]);
  await write("POST", `/webhooks/${webhookId}/enable`);
  expect(await targets()).toEqual([webhookId]);
  await write("PUT", "/webhooks", {
    id: webhookId,
    endpoint: "https://example.com/hooks",
    eventTypes: { article: [1] },
  });
  expect(await targets()).toEqual([]);
  expect(await targets({ eventType: 1 })).toEqual([webhookId]);
  const second = await createWebhook(t, { eventTypes: { "*": [1] } });
  expect(await targets({ eventType: 1 })).toEqual([webhookId, second.id].sort());
  await write("DELETE", `/webhooks/${second.id}`);
  expect(await targets({ eventType: 1 })).toEqual([webhookId]);
});

test("a change committed by another connection reaches the next event", async () => {
  await write("PUT", "/webhooks", {
    id: webhookId,
    endpoint: "https://example.com/hooks",
    eventTypes: { article: [0] },
  });
  expect(await targets()).toEqual([webhookId]);
  const other = otherConnection(t.app);
  try {
    await other.db
      .updateTable("webhooks")
      .set({ enabled: 0 })
      .where("id", "=", webhookId)
      .execute();
    expect(await targets()).toEqual([]);
    await other.db
      .updateTable("webhooks")
      .set({ enabled: 1, languages: '["de"]' })
      .where("id", "=", webhookId)
      .execute();
    expect(await targets({ language: "en" })).toEqual([]);
    expect(await targets({ language: "DE" })).toEqual([webhookId]);
  } finally {
    await other.close();
  }
});

testOnSqlite(
  "an attempt's health update keeps the cached list; a 410's disabling reaches the next event",
  async () => {
    const { statements, sqlite } = sqliteOf(t.app);
    // The global number (the scheduler's) and the workspace's (ingestion's).
    const generation = () => [
      sqlite.query("select value from webhook_generation").get(),
      sqlite
        .query("select value from webhook_generation_by_workspace where workspace = 'default'")
        .get(),
    ];
    await write("PUT", "/webhooks", {
      id: webhookId,
      endpoint: "https://example.com/hooks",
      eventTypes: { article: [0] },
      languages: ["de"],
    });
    const before = generation();
    // The failCount after each outcome: reset by a success, counted up by a failure.
    for (const [success, failCount] of [
      [true, 0],
      [false, 1],
    ] as const) {
      expect(
        updateWebhookHealthNow(statements, webhookId, { success, disable: false, now: 1 }),
      ).toBe(failCount);
    }
    expect(generation()).toEqual(before);
    expect(await targets({ language: "de" })).toEqual([webhookId]);
    updateWebhookHealthNow(statements, webhookId, { success: false, disable: true, now: 2 });
    expect(generation()).not.toEqual(before);
    expect(await targets({ language: "de" })).toEqual([]);
  },
);

testOnSqlite("a change in one workspace reloads that workspace's list only", async () => {
  await write("PUT", "/webhooks", {
    id: webhookId,
    endpoint: "https://example.com/hooks",
    eventTypes: { page: [0] },
    languages: [],
    enabled: true,
  });
  const otherId = (await createWebhook(t, { eventTypes: { page: [0] } }, t.keys.other)).id;
  const inDefault = () => targets({ contentType: "page" });
  const inOther = async () =>
    Object.keys((await publish(t, { contentType: "page" }, t.keys.other)).deliveries);
  expect(await inDefault()).toEqual([webhookId]);
  expect(await inOther()).toEqual([otherId]);

  const get = spyOn(sqliteOf(t.app).statements, "get");
  // Each read of a workspace's enabled webhooks asks the statement cache for this query.
  const loads = () =>
    get.mock.calls.filter(([query]) =>
      query.endsWith('where "workspace" = ? and "enabled" = ? order by "id"'),
    ).length;
  try {
    await write("POST", `/webhooks/${otherId}/disable`, undefined, t.keys.other);
    expect(await inDefault()).toEqual([webhookId]);
    expect(await inDefault()).toEqual([webhookId]);
    expect(loads()).toBe(0);
    expect(await inOther()).toEqual([]);
    expect(loads()).toBe(1);

    get.mockClear();
    await write("PUT", "/webhooks", {
      id: webhookId,
      endpoint: "https://example.com/hooks",
      eventTypes: { page: [1] },
    });
    expect(await inOther()).toEqual([]);
    expect(loads()).toBe(0);
    expect(await inDefault()).toEqual([]);
    expect(loads()).toBe(1);
  } finally {
    get.mockRestore();
  }
});
