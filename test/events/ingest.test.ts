/**
 * Event ingestion against a real SQLite file: matching, one delivery per matching enabled
 * webhook, the body rendered once and stored, and idempotency on the event id.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { type IngestContext, ingestEvent } from "../../src/events/service.ts";
import { TemplaterRegistry } from "../../src/plugin-host/templaters.ts";
import { queryPlan } from "../helpers/query-plans.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, sqliteOf, type TestApp, testOnSqlite } from "../helpers/test-app.ts";

describe("ingestEvent", () => {
  let app: TestApp;
  let context: IngestContext;
  let wakes = 0;
  const ids = {
    direct: "",
    wildcard: "",
    custom: "",
    disabled: "",
    otherType: "",
    otherEvent: "",
    otherWorkspace: "",
  };

  beforeAll(async () => {
    app = await createTestApp();
    context = {
      store: app.app.services.store,
      templaters: new TemplaterRegistry(),
      defaultMaxAttempts: 7,
      onEnqueued: () => {
        wakes++;
      },
    };
    ids.direct = (await createWebhook(app, { eventTypes: { article: [0, 1] } })).id;
    ids.wildcard = (await createWebhook(app, { eventTypes: { "*": [0] }, maxAttempts: 3 })).id;
    ids.custom = (
      await createWebhook(app, {
        eventTypes: { article: [0] },
        useCustomPayload: true,
        customPayload: { text: "New: {{fields.title}}", views: "{{fields.views}}" },
      })
    ).id;
    ids.disabled = (await createWebhook(app, { eventTypes: { article: [0] }, enabled: false })).id;
    ids.otherType = (await createWebhook(app, { eventTypes: { page: [0] } })).id;
    ids.otherEvent = (await createWebhook(app, { eventTypes: { article: [2] } })).id;
    ids.otherWorkspace = (
      await createWebhook(app, { eventTypes: { "*": [0] } }, app.keys.other)
    ).id;
  });
  afterAll(async () => {
    await app.close();
  });

  const publish = {
    eventType: 0 as const,
    contentType: "article",
    contentId: "c_1",
    fields: { title: "Hello", views: 42 },
  };

  test("one Waiting delivery per matching enabled webhook of the workspace, nothing else", async () => {
    const { result, duplicate } = await ingestEvent(context, "default", publish);
    expect(duplicate).toBe(false);
    expect(result.eventId).toMatch(/^evt_/);
    expect(result.deliveries.map((d) => d.webhookId).sort()).toEqual(
      [ids.direct, ids.wildcard, ids.custom].sort(),
    );
    const rows = await app.app.store.db
      .selectFrom("deliveries")
      .selectAll()
      .where("event_id", "=", result.eventId)
      .execute();
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.process_status).toBe(ProcessStatus.Waiting);
      expect(row.attempts).toBe(0);
    }
    const wildcard = rows.find((row) => row.webhook_id === ids.wildcard);
    expect(wildcard?.max_attempts).toBe(3);
    expect(rows.find((row) => row.webhook_id === ids.direct)?.max_attempts).toBe(7);
  });

  test("the stored body is the content envelope naming its delivery", async () => {
    const { result } = await ingestEvent(context, "default", { ...publish, contentId: "c_2" });
    const delivery = result.deliveries.find((d) => d.webhookId === ids.direct);
    const row = await app.app.store.db
      .selectFrom("deliveries")
      .select(["body"])
      .where("id", "=", delivery?.deliveryId ?? "")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.body)).toEqual({
      eventType: 0,
      contentId: "c_2",
      contentType: "article",
      fields: { title: "Hello", views: 42 },
      translations: {},
      webhookId: ids.direct,
      deliveryId: delivery?.deliveryId,
      timestamp: expect.any(String),
    });
  });

  test("a custom payload is rendered once, types kept", async () => {
    const { result } = await ingestEvent(context, "default", { ...publish, contentId: "c_3" });
    const delivery = result.deliveries.find((d) => d.webhookId === ids.custom);
    const row = await app.app.store.db
      .selectFrom("deliveries")
      .select(["body", "custom_payload"])
      .where("id", "=", delivery?.deliveryId ?? "")
      .executeTakeFirstOrThrow();
    expect(row.body).toBe('{"text":"New: Hello","views":42}');
    expect(row.custom_payload).toBe(row.body);
  });

  test("the same event id sent many times at once is one event, and every answer is its answer", async () => {
    // Together: on PostgreSQL they meet in one batch, or race from several connections into
    // the unique index, and the losers are answered with the winner's event.
    const sent = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        ingestEvent(context, "default", { ...publish, id: "cms-evt-race", contentId: `r${index}` }),
      ),
    );
    const [first] = sent.filter((outcome) => !outcome.duplicate);
    expect(sent.filter((outcome) => !outcome.duplicate)).toHaveLength(1);
    if (!first) throw new Error("no event was accepted");
    for (const outcome of sent) expect(outcome.result).toEqual(first.result);
    const events = await app.app.store.db
      .selectFrom("events")
      .select("id")
      .where("idempotency_key", "=", "cms-evt-race")
      .execute();
    expect(events.map((event) => event.id)).toEqual([first.result.eventId]);
    const deliveries = await app.app.store.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("event_id", "=", first.result.eventId)
      .executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(first.result.deliveries.length);
  });

  test("a repeated event id enqueues nothing and returns the first answer", async () => {
    const before = wakes;
    const first = await ingestEvent(context, "default", { ...publish, id: "cms-evt-1" });
    const again = await ingestEvent(context, "default", {
      ...publish,
      id: "cms-evt-1",
      contentId: "other",
    });
    expect(again.duplicate).toBe(true);
    expect(again.result).toEqual(first.result);
    expect(wakes).toBe(before + 1);
    const count = await app.app.store.db
      .selectFrom("events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("idempotency_key", "=", "cms-evt-1")
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  testOnSqlite(
    "only events with an id are in the idempotency index, and the lookup searches it",
    async () => {
      const sqlite = sqliteOf(app.app).sqlite;
      await ingestEvent(context, "default", publish);
      await ingestEvent(context, "default", { ...publish, id: "indexed-id" });
      const entries = sqlite
        .query(
          "select count(*) as n from events indexed by events_idempotency where idempotency_key is not null",
        )
        .get() as { n: number };
      const withId = sqlite
        .query("select count(*) as n from events where idempotency_key is not null")
        .get() as { n: number };
      const all = sqlite.query("select count(*) as n from events").get() as { n: number };
      expect(entries.n).toBe(withId.n);
      expect(all.n).toBeGreaterThan(withId.n);
      const { sql } = sqlite
        .query("select sql from sqlite_master where name = 'events_idempotency'")
        .get() as { sql: string };
      expect(sql).toMatch(/where idempotency_key is not null$/i);
      const plan = queryPlan(
        sqlite,
        "select id from events where workspace = ? and idempotency_key = ?",
        ["default", "indexed-id"],
      );
      expect(plan).toEqual([
        "SEARCH events USING INDEX events_idempotency (workspace=? AND idempotency_key=?)",
      ]);
    },
  );

  test("the same event id in another workspace is a different event", async () => {
    const mine = await ingestEvent(context, "default", { ...publish, id: "shared-id" });
    const theirs = await ingestEvent(context, "other", { ...publish, id: "shared-id" });
    expect(theirs.duplicate).toBe(false);
    expect(theirs.result.eventId).not.toBe(mine.result.eventId);
    expect(theirs.result.deliveries.map((d) => d.webhookId)).toEqual([ids.otherWorkspace]);
  });

  test("an event no webhook matches is recorded with no deliveries and wakes nobody", async () => {
    const before = wakes;
    const { result } = await ingestEvent(context, "default", { ...publish, eventType: 4 });
    expect(result.deliveries).toEqual([]);
    expect(wakes).toBe(before);
  });
});
