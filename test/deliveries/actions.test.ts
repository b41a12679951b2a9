/**
 * What can be done from the delivery log: retry one delivery (a new Waiting row, the original
 * untouched), replay a window (seed 003), and generate a sample (seed 000), with the auth
 * matrix and the promise that a refused request changes nothing.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { MAX_REPLAY_EVENTS } from "../../src/deliveries/service.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import {
  createWebhook,
  expectErrorEnvelope,
  freshBody,
  runScenarios,
} from "../helpers/scenarios.ts";
import { createTestApp, TEST_BACKEND, type TestApp } from "../helpers/test-app.ts";
import { countDeliveries, deliveryOf, deliveryRow, iso, publish, setDelivery } from "./helpers.ts";

interface Entry {
  id: string;
  eventId: string;
  retryOf: string | null;
  fields: Record<string, unknown>;
}

describe("POST /webhooks/{id}/events/{eventId}/retry", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test("creates a new Waiting delivery of the original's exact body and leaves the original as it was", async () => {
    const { id: webhook } = await createWebhook(app);
    const published = await publish(app, {
      contentId: "c_42",
      fields: { title: "Hello", views: 3 },
      translations: { it: "Ciao" },
    });
    const original = deliveryOf(published, webhook);
    await setDelivery(app, original, {
      process_status: ProcessStatus.Error,
      attempts: 10,
      response_status_code: 500,
      last_error: "HTTP 500",
      updated_at: Date.now() + 1,
    });
    const before = await deliveryRow(app, original);

    const response = await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
      key: app.keys.write,
    });

    expect(response.status).toBe(200);
    const retried = freshBody(response) as Entry;
    expect(retried).toMatchObject({
      webhookId: webhook,
      eventId: published.eventId,
      retryOf: original,
      processStatus: 0,
      state: "pending",
      attempts: 0,
      responseStatusCode: null,
      lastError: null,
      contentId: "c_42",
      fields: { title: "Hello", views: 3 },
      translations: { it: "Ciao" },
    });
    expect(retried.id).toMatch(/^dlv_/);
    expect(retried.id).not.toBe(original);
    expect(await deliveryRow(app, original)).toEqual(before);
    // The original's snapshot byte for byte, deliveryId included, under its message id.
    const stored = await deliveryRow(app, retried.id);
    expect(stored.body).toBe(before.body);
    expect(JSON.parse(stored.body).deliveryId).toBe(original);
    expect(stored.message_id).toBe(original);
    const log = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read });
    expect(freshBody(log)).toMatchObject({
      total: 2,
      items: [{ id: retried.id }, { id: original }],
    });
  });

  test("reuses the rendered custom payload even after the template changed", async () => {
    const { id: webhook } = await createWebhook(app, {
      useCustomPayload: true,
      customPayload: { text: "v1: {{fields.title}}" },
    });
    const original = deliveryOf(await publish(app, { fields: { title: "Hi" } }), webhook);
    await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: {
        id: webhook,
        endpoint: "https://example.com/hooks",
        customPayload: { text: "v2: {{fields.title}}" },
      },
    });
    const response = await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
      key: app.keys.write,
    });
    expect(freshBody(response)).toMatchObject({ customPayload: { text: "v1: Hi" } });
    const stored = await deliveryRow(app, (response.body as Entry).id);
    expect(stored.body).toBe((await deliveryRow(app, original)).body);
  });

  test("a retry can be retried", async () => {
    const { id: webhook } = await createWebhook(app);
    const original = deliveryOf(await publish(app), webhook);
    const first = await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
      key: app.keys.write,
    });
    const firstId = (first.body as Entry).id;
    const second = await app.request("POST", `/webhooks/${webhook}/events/${firstId}/retry`, {
      key: app.keys.write,
    });
    expect(freshBody(second)).toMatchObject({ retryOf: firstId, processStatus: 0 });
    // Still the original message: its id and its bytes.
    const secondRow = await deliveryRow(app, (second.body as Entry).id);
    expect(secondRow.message_id).toBe(original);
    expect(secondRow.body).toBe((await deliveryRow(app, original)).body);
  });

  test("a delivery whose body failed to render has no snapshot: its retry renders now, as the same message", async () => {
    const { id: webhook } = await createWebhook(app, {
      useCustomPayload: true,
      customPayload: Array.from({ length: 1000 }, () => "{{fields}}"),
    });
    const original = deliveryOf(
      await publish(app, { fields: { text: "a".repeat(2000) } }),
      webhook,
    );
    expect(await deliveryRow(app, original)).toMatchObject({
      process_status: ProcessStatus.Error,
      body: "",
    });
    await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: {
        id: webhook,
        endpoint: "https://example.com/hooks",
        customPayload: { id: "{{deliveryId}}", size: "{{fields.text}}" },
      },
    });
    const response = await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
      key: app.keys.write,
    });
    const retried = await deliveryRow(app, (freshBody(response) as Entry).id);
    expect(retried).toMatchObject({
      process_status: ProcessStatus.Waiting,
      message_id: original,
      retry_of: original,
    });
    expect(JSON.parse(retried.body)).toEqual({ id: original, size: "a".repeat(2000) });
  });

  test("a deleted webhook cannot be retried (404), though its log stays", async () => {
    const { id: webhook } = await createWebhook(app);
    const original = deliveryOf(await publish(app), webhook);
    await app.request("DELETE", `/webhooks/${webhook}`, { key: app.keys.write });
    const count = await countDeliveries(app);
    const response = await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
      key: app.keys.write,
    });
    expect(response.status).toBe(404);
    expectErrorEnvelope(response);
    expect(await countDeliveries(app)).toBe(count);
  });

  test("another webhook's delivery is 404 and nothing is enqueued", async () => {
    const { id: webhook } = await createWebhook(app);
    const { id: other } = await createWebhook(app);
    const theirs = deliveryOf(await publish(app), other);
    const count = await countDeliveries(app);
    const response = await app.request("POST", `/webhooks/${webhook}/events/${theirs}/retry`, {
      key: app.keys.write,
    });
    expect(response.status).toBe(404);
    expect(await countDeliveries(app)).toBe(count);
  });
});

describe("POST /webhooks/{id}/replay", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  const T0 = Date.UTC(2025, 4, 15, 8, 0, 0);
  const HOUR = 3_600_000;

  /** Three events: e1 at T0 (plus a retry at T0+3h), e2 at T0+1h, e3 at T0-1h. */
  async function history() {
    const { id: webhook } = await createWebhook(app);
    const e1 = await publish(app, { contentId: "one" });
    const e2 = await publish(app, { contentId: "two" });
    const e3 = await publish(app, { contentId: "three" });
    await setDelivery(app, deliveryOf(e1, webhook), { created_at: T0 });
    await setDelivery(app, deliveryOf(e2, webhook), { created_at: T0 + HOUR });
    await setDelivery(app, deliveryOf(e3, webhook), { created_at: T0 - HOUR });
    const retry = await app.request(
      "POST",
      `/webhooks/${webhook}/events/${deliveryOf(e1, webhook)}/retry`,
      { key: app.keys.write },
    );
    const e1Latest = (retry.body as Entry).id;
    await setDelivery(app, e1Latest, { created_at: T0 + 3 * HOUR });
    return { webhook, e1, e2, e3, e1Latest };
  }

  test("re-enqueues each event of the window once, from its latest delivery", async () => {
    const { webhook, e1, e2, e1Latest } = await history();
    const count = await countDeliveries(app);
    const response = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: iso(T0), until: iso(T0 + 2 * HOUR) },
    });
    expect(response.status).toBe(200);
    const body = freshBody(response) as {
      webhookId: string;
      replayed: number;
      eventIds: string[];
      deliveryIds: string[];
    };
    expect(body).toMatchObject({ webhookId: webhook, replayed: 2 });
    expect([...body.eventIds].sort()).toEqual([e1.eventId, e2.eventId].sort());
    expect(await countDeliveries(app)).toBe(count + 2);
    const replayedE1 = body.deliveryIds[body.eventIds.indexOf(e1.eventId)] ?? "";
    const row = await deliveryRow(app, replayedE1);
    expect(row).toMatchObject({
      retry_of: e1Latest,
      // The message replayed is e1's original delivery: its id and its bytes.
      message_id: deliveryOf(e1, webhook),
      body: (await deliveryRow(app, deliveryOf(e1, webhook))).body,
      event_id: e1.eventId,
      content_id: "one",
      process_status: ProcessStatus.Waiting,
      attempts: 0,
    });
  });

  test("both bounds are inclusive and until defaults to now", async () => {
    const { webhook, e1, e2 } = await history();
    const exact = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: iso(T0 + HOUR), until: iso(T0 + HOUR) },
    });
    expect(freshBody(exact)).toMatchObject({ replayed: 1, eventIds: [e2.eventId] });
    const open = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: iso(T0) },
    });
    // e1 and e2 from the history, and e2 again through the replay just made (inserted now).
    expect([...((open.body as { eventIds: string[] }).eventIds ?? [])].sort()).toEqual(
      [e1.eventId, e2.eventId].sort(),
    );
  });

  test("an empty window replays nothing", async () => {
    const { webhook } = await history();
    const response = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: iso(T0 - 10 * HOUR), until: iso(T0 - 5 * HOUR) },
    });
    expect(freshBody(response)).toEqual({
      webhookId: webhook,
      replayed: 0,
      eventIds: [],
      deliveryIds: [],
    });
  });

  test.each([
    [
      "since after until",
      { since: "2026-05-15T10:00:00Z", until: "2026-05-15T09:00:00Z" },
      "since",
    ],
    ["no since", { until: "2026-05-15T09:00:00Z" }, "since"],
    ["a bad since", { since: "yesterday" }, "since"],
    ["a date without a time", { since: "2026-05-15" }, "since"],
    ["a bad until", { since: "2026-05-15T10:00:00Z", until: "2026-02-30T00:00:00Z" }, "until"],
    ["an unknown field", { since: "2026-05-15T10:00:00Z", force: true }, "force"],
  ])("%s is a 400 and enqueues nothing", async (_name, json, field) => {
    const { webhook } = await history();
    const count = await countDeliveries(app);
    const response = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json,
    });
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
    expect(response.text).toContain(field);
    expect(await countDeliveries(app)).toBe(count);
  });

  test("an unknown or deleted webhook is 404", async () => {
    const { webhook } = await history();
    await app.request("DELETE", `/webhooks/${webhook}`, { key: app.keys.write });
    for (const id of [webhook, "wh_nothing"]) {
      const response = await app.request("POST", `/webhooks/${id}/replay`, {
        key: app.keys.write,
        json: { since: iso(T0 - 10 * HOUR) },
      });
      expect(response.status).toBe(404);
    }
  });

  test(`more than ${MAX_REPLAY_EVENTS} events is a 400 asking for a narrower window`, async () => {
    const { id: webhook } = await createWebhook(app);
    const template = await deliveryRow(app, deliveryOf(await publish(app), webhook));
    const rows = Array.from({ length: MAX_REPLAY_EVENTS + 1 }, (_, index) => ({
      ...template,
      id: `dlv_bulk_${String(index).padStart(6, "0")}`,
      event_id: `evt_bulk_${String(index).padStart(6, "0")}`,
      created_at: T0,
    }));
    const db = app.app.store.db;
    for (let index = 0; index < rows.length; index += 500) {
      await db
        .insertInto("deliveries")
        .values(rows.slice(index, index + 500))
        .execute();
    }
    // PostgreSQL plans by its statistics, which autovacuum refreshes after a bulk load like this
    // one, but only within a minute: a fresh table's would have it plan for a handful of rows.
    if (TEST_BACKEND === "postgres") await sql`analyze deliveries`.execute(db);
    const count = await countDeliveries(app);
    const response = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: iso(T0), until: iso(T0) },
    });
    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toContain("narrow");
    expect(await countDeliveries(app)).toBe(count);
  });
});

describe("POST /webhooks/{id}/generate-sample/{contentTypeId}", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    const now = Date.now();
    await app.app.store.db
      .insertInto("content_types")
      .values([
        {
          workspace: "default",
          key: "article",
          name: "Article",
          fields: JSON.stringify(["title", "body", "author"]),
          created_at: now,
          updated_at: now,
        },
        {
          workspace: "other",
          key: "secret-type",
          name: "Theirs",
          fields: JSON.stringify(["x"]),
          created_at: now,
          updated_at: now,
        },
      ])
      .execute();
  });
  afterAll(async () => {
    await app.close();
  });

  test("enqueues a Published delivery with a synthetic content id and null fields", async () => {
    // eventTypes do not matter: the sample goes to the webhook it is asked for.
    const { id: webhook } = await createWebhook(app, { eventTypes: {} });
    const response = await app.request("POST", `/webhooks/${webhook}/generate-sample/article`, {
      key: app.keys.write,
    });
    expect(response.status).toBe(200);
    const entry = freshBody(response) as Entry & { contentId: string };
    expect(entry).toMatchObject({
      webhookId: webhook,
      eventType: 0,
      contentType: "article",
      contentId: expect.stringMatching(/^sample_/),
      fields: { title: null, body: null, author: null },
      translations: {},
      processStatus: 0,
      state: "pending",
      retryOf: null,
    });
    const event = await app.app.store.db
      .selectFrom("events")
      .selectAll()
      .where("id", "=", entry.eventId)
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({
      workspace: "default",
      source: "sample",
      event_type: 0,
      content_type: "article",
      content_id: entry.contentId,
      idempotency_key: null,
    });
    const body = JSON.parse((await deliveryRow(app, entry.id)).body);
    expect(body).toMatchObject({
      eventType: 0,
      contentId: entry.contentId,
      fields: { title: null, body: null, author: null },
      deliveryId: entry.id,
    });
    const second = await app.request("POST", `/webhooks/${webhook}/generate-sample/article`, {
      key: app.keys.write,
    });
    expect((second.body as Entry & { contentId: string }).contentId).not.toBe(entry.contentId);
  });

  test.each([
    ["an unknown content type", "article-x", false],
    ["another workspace's content type", "secret-type", false],
    ["an unknown webhook", "article", true],
  ])("%s is 404 and enqueues nothing", async (_name, contentType, unknownWebhook) => {
    const { id: webhook } = await createWebhook(app);
    const count = await countDeliveries(app);
    const target = unknownWebhook ? "wh_nothing" : webhook;
    const response = await app.request(
      "POST",
      `/webhooks/${target}/generate-sample/${contentType}`,
      { key: app.keys.write },
    );
    expect(response.status).toBe(404);
    expectErrorEnvelope(response);
    expect(await countDeliveries(app)).toBe(count);
  });
});

describe("auth on the write routes", () => {
  const withDelivery = async (app: TestApp) => {
    const now = Date.now();
    await app.app.store.db
      .insertInto("content_types")
      .values({
        workspace: "default",
        key: "article",
        name: "Article",
        fields: "[]",
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const { id } = await createWebhook(app);
    const eventId = deliveryOf(await publish(app), id);
    return { id, eventId, count: String(await countDeliveries(app)) };
  };
  const nothingEnqueued = async (
    _response: unknown,
    app: TestApp,
    vars: Record<string, string>,
  ) => {
    expect(await countDeliveries(app)).toBe(Number(vars.count));
  };
  for (const [route, url, json] of [
    ["retry", "/webhooks/{id}/events/{eventId}/retry", undefined],
    ["replay", "/webhooks/{id}/replay", { since: "2000-01-01T00:00:00Z" }],
    ["generate-sample", "/webhooks/{id}/generate-sample/article", undefined],
  ] as const) {
    describe(route, () => {
      runScenarios([
        {
          name: "no key is 401 and enqueues nothing",
          method: "POST",
          url,
          json,
          key: "none",
          setup: withDelivery,
          expectedStatus: 401,
          after: nothingEnqueued,
        },
        {
          name: "an unknown key is 401",
          method: "POST",
          url,
          json,
          key: "unknown",
          setup: withDelivery,
          expectedStatus: 401,
          after: nothingEnqueued,
        },
        {
          name: "a read key is 403 and enqueues nothing",
          method: "POST",
          url,
          json,
          key: "read",
          setup: withDelivery,
          expectedStatus: 403,
          expectedContent: { error: { code: "forbidden" } },
          after: nothingEnqueued,
        },
        {
          name: "another workspace is 404 and enqueues nothing",
          method: "POST",
          url,
          json,
          key: "other",
          setup: withDelivery,
          expectedStatus: 404,
          after: nothingEnqueued,
        },
        {
          name: "a write key enqueues",
          method: "POST",
          url,
          json,
          key: "write",
          setup: withDelivery,
          expectedStatus: 200,
          after: async (_response, app, vars) => {
            expect(await countDeliveries(app)).toBe(Number(vars.count) + 1);
          },
        },
      ]);
    });
  }
});
