/**
 * An event's content (fields, translations) is stored once, in its `events` row: a delivery
 * row keeps no copy, whatever made it (an API event, a retry, a replay, a sample) and however
 * many webhooks an event fans out to, and the log still shows each delivery its event's content.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { deliveryOf, publish } from "./helpers.ts";

interface Entry {
  id: string;
  eventId: string;
  retryOf: string | null;
  fields: Record<string, unknown>;
  translations: Record<string, unknown>;
}

/** Bytes of content the delivery rows hold, and the event rows, in the content columns. */
async function contentBytes(app: TestApp): Promise<{ deliveries: number; events: number }> {
  const { db } = app.app.store;
  const sum = (table: "deliveries" | "events") =>
    sql<{ bytes: number | null }>`select sum(length(fields) + length(translations)) as bytes
      from ${sql.table(table)}`
      .execute(db)
      .then(({ rows }) => Number(rows[0]?.bytes ?? 0));
  return { deliveries: await sum("deliveries"), events: await sum("events") };
}

describe("an event's content is stored once, in its event", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test("a delivery row keeps no copy, and the log shows the event's content for an API event, a retry, a replay and a sample", async () => {
    const { id: webhook } = await createWebhook(app);
    const content = { fields: { title: "Hello", views: 3 }, translations: { it: "Ciao" } };
    const published = await publish(app, { contentId: "c_once", ...content });
    const original = deliveryOf(published, webhook);
    const retried = freshBody(
      await app.request("POST", `/webhooks/${webhook}/events/${original}/retry`, {
        key: app.keys.write,
      }),
    ) as Entry;
    const replayed = await app.request("POST", `/webhooks/${webhook}/replay`, {
      key: app.keys.write,
      json: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(replayed.status).toBe(200);
    const saved = await app.request("PUT", "/content-types/article", {
      key: app.keys.write,
      json: { name: "Article", fields: ["title", "body"] },
    });
    expect(saved.status).toBe(200);
    const sample = freshBody(
      await app.request("POST", `/webhooks/${webhook}/generate-sample/article`, {
        key: app.keys.write,
      }),
    ) as Entry;

    const { events, deliveries } = await contentBytes(app);
    expect(deliveries).toBe(0);
    expect(events).toBeGreaterThan(0);

    const page = freshBody(
      await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read }),
    ) as { items: Entry[] };
    const shown = (entry: Entry) => ({
      fields: entry.fields,
      translations: entry.translations,
    });
    const ofEvent = page.items.filter((entry) => entry.eventId === published.eventId);
    // The original, its retry and the replay (of the retry, the event's latest delivery).
    expect(ofEvent.map((entry) => entry.id).sort()).toEqual(
      [
        original,
        retried.id,
        ...(freshBody(replayed) as { deliveryIds: string[] }).deliveryIds,
      ].sort(),
    );
    for (const entry of ofEvent) expect(shown(entry)).toEqual(content);
    const sampleShown = { fields: { title: null, body: null }, translations: {} };
    expect(shown(sample)).toEqual(sampleShown);
    expect(page.items.map((entry) => entry.id)).toContain(sample.id);
    for (const id of [retried.id, sample.id]) {
      const detail = freshBody(
        await app.request("GET", `/webhooks/${webhook}/events/${id}`, { key: app.keys.read }),
      ) as Entry;
      expect(shown(detail)).toEqual(id === sample.id ? sampleShown : content);
    }
  });

  test("an event fanned out to many webhooks writes its content once, and every body still carries it", async () => {
    const webhooks = await Promise.all(
      Array.from({ length: 5 }, () => createWebhook(app, { eventTypes: { fanout: [0] } })),
    );
    const before = await contentBytes(app);
    const content = {
      fields: { text: "x".repeat(100_000) },
      translations: { it: "y".repeat(50_000) },
    };
    const published = await publish(app, { contentType: "fanout", ...content });

    const after = await contentBytes(app);
    expect(after.deliveries - before.deliveries).toBe(0);
    expect(after.events - before.events).toBe(
      JSON.stringify(content.fields).length + JSON.stringify(content.translations).length,
    );
    const bodies = await app.app.store.db
      .selectFrom("deliveries")
      .select("body")
      .where("event_id", "=", published.eventId)
      .execute();
    expect(bodies).toHaveLength(webhooks.length);
    for (const { body } of bodies) expect(JSON.parse(body)).toMatchObject(content);
  });

  test("a replay re-renders bodies that failed from each delivery's own event, however many events the window holds", async () => {
    // A template that fails on every event: the originals are in Error with no body to copy.
    const { id: webhook } = await createWebhook(app, {
      eventTypes: { replayed: [0] },
      useCustomPayload: true,
      customPayload: Array.from({ length: 1000 }, () => "{{fields}}"),
    });
    const since = new Date().toISOString();
    const count = 150;
    const events: string[] = [];
    for (let index = 0; index < count; index++) {
      const published = await publish(app, {
        contentType: "replayed",
        contentId: `c_${index}`,
        fields: { index, text: "a".repeat(2000) },
      });
      events.push(published.eventId);
    }
    await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: {
        id: webhook,
        endpoint: "https://example.com/hooks",
        customPayload: { index: "{{fields.index}}" },
      },
    });
    const replayed = freshBody(
      await app.request("POST", `/webhooks/${webhook}/replay`, {
        key: app.keys.write,
        json: { since },
      }),
    ) as { eventIds: string[]; deliveryIds: string[] };
    expect(replayed.deliveryIds).toHaveLength(count);
    const rows = await app.app.store.db
      .selectFrom("deliveries")
      .select(["event_id", "body"])
      .where("id", "in", replayed.deliveryIds)
      .execute();
    const rendered = Object.fromEntries(rows.map((row) => [row.event_id, JSON.parse(row.body)]));
    expect(rendered).toEqual(
      Object.fromEntries(events.map((eventId, index) => [eventId, { index }])),
    );
  });
});
