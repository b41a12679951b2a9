/**
 * The shipped Strapi source (`plugins/strapi.ts`): each Strapi webhook event maps to the event
 * type of seed 000 (or to nothing), with a stable idempotency id; and, loaded from the shipped
 * `plugins/` folder, a Strapi payload posted to `/sources/strapi` is delivered to a receiver.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import strapiPlugin, { strapiToEvents } from "../../plugins/strapi.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { type Receiver, startReceiver } from "../helpers/receiver.ts";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";
import { SHIPPED_PLUGINS, settled } from "./helpers.ts";

const PUBLISHED_AT = "2025-03-01T10:00:00.000Z";

/** A Strapi v5 webhook body, as its docs show it. */
function strapi(event: string, entry: Record<string, unknown> = {}, model = "article") {
  return {
    event,
    createdAt: "2025-03-01T10:00:01.000Z",
    model,
    uid: `api::${model}.${model}`,
    entry: {
      id: 12,
      documentId: "hl2q0c8t4dxd5r1ng5mcqf1u",
      title: "Hello",
      slug: "hello",
      createdAt: "2025-03-01T09:00:00.000Z",
      updatedAt: "2025-03-01T10:00:00.000Z",
      publishedAt: PUBLISHED_AT,
      locale: "en",
      ...entry,
    },
  };
}

describe("Strapi events map to Hookpost event types", () => {
  const CASES: { name: string; body: unknown; eventType: number | null }[] = [
    { name: "entry.publish → Published", body: strapi("entry.publish"), eventType: 0 },
    {
      name: "entry.unpublish → Unpublished",
      body: strapi("entry.unpublish", { publishedAt: null }),
      eventType: 1,
    },
    { name: "entry.delete → Deleted", body: strapi("entry.delete"), eventType: 2 },
    {
      name: "entry.create of a published entry → PublishedCreated",
      body: strapi("entry.create"),
      eventType: 3,
    },
    {
      name: "entry.update of a published entry → PublishedUpdated",
      body: strapi("entry.update"),
      eventType: 4,
    },
    {
      name: "entry.create of a draft → nothing",
      body: strapi("entry.create", { publishedAt: null }),
      eventType: null,
    },
    {
      name: "entry.update of a draft → nothing",
      body: strapi("entry.update", { publishedAt: null }),
      eventType: null,
    },
    { name: "media.create → nothing", body: strapi("media.create"), eventType: null },
    {
      name: "an event this plugin does not know → nothing",
      body: strapi("review-workflows.updateEntryStage"),
      eventType: null,
    },
  ];
  for (const item of CASES) {
    test(item.name, () => {
      const events = strapiToEvents(item.body);
      expect<number[]>(events.map((event) => event.eventType)).toEqual(
        item.eventType === null ? [] : [item.eventType],
      );
    });
  }

  test("a v4 entry of a type without draft and publish (no publishedAt) is live", () => {
    const body = strapi("entry.create");
    const { documentId: _, publishedAt: __, ...entry } = body.entry;
    const [event] = strapiToEvents({ ...body, entry });
    expect(event).toMatchObject({ eventType: 3, contentId: "12" });
  });

  test("content type, content id, language and the fields without Strapi's bookkeeping", () => {
    const [event] = strapiToEvents(
      strapi("entry.publish", { createdBy: { id: 1 }, localizations: [], tags: ["a"] }),
    );
    expect(event).toEqual({
      id: `strapi:entry.publish:article:hl2q0c8t4dxd5r1ng5mcqf1u:en:2025-03-01T10:00:00.000Z`,
      eventType: 0,
      contentType: "article",
      contentId: "hl2q0c8t4dxd5r1ng5mcqf1u",
      fields: { title: "Hello", slug: "hello", tags: ["a"] },
      language: "en",
    });
  });

  test("the id is the same for the same change and differs for the next one", () => {
    const id = (body: unknown) => strapiToEvents(body)[0]?.id;
    expect(id(strapi("entry.update"))).toBe(id(strapi("entry.update")));
    expect(id(strapi("entry.update"))).not.toBe(
      id(strapi("entry.update", { updatedAt: "2025-03-01T11:00:00.000Z" })),
    );
    expect(id(strapi("entry.update"))).not.toBe(id(strapi("entry.update", { locale: "it" })));
  });

  test("an id too long for Hookpost becomes a digest", () => {
    const [event] = strapiToEvents(strapi("entry.publish", {}, "m".repeat(190)));
    expect(event?.id).toMatch(/^strapi:[0-9a-f]{64}$/);
  });

  const REFUSED = [
    { name: "an empty object", body: {}, error: "not a Strapi webhook" },
    { name: "an array", body: [], error: "not a Strapi webhook" },
    {
      name: "an entry event without entry",
      body: { event: "entry.publish", model: "article" },
      error: 'Strapi entry.publish without "model" and "entry"',
    },
    {
      name: "an entry without an id",
      body: { event: "entry.delete", model: "article", entry: { title: "x" } },
      error: "Strapi entry.delete: the entry has no id",
    },
  ];
  for (const refused of REFUSED) {
    test(`refuses ${refused.name}`, () => {
      expect(() => strapiToEvents(refused.body)).toThrow(refused.error);
    });
  }

  test("the plugin declares one source, strapi, that handles requests", () => {
    expect(strapiPlugin.name).toBe("strapi");
    expect(Object.keys(strapiPlugin.sources)).toEqual(["strapi"]);
  });
});

describe("Strapi webhooks through POST /sources/strapi", () => {
  let app: TestApp;
  let target: Receiver;
  let webhookId: string;

  beforeAll(async () => {
    app = await createTestApp({
      HOOKPOST_PLUGINS_DIR: SHIPPED_PLUGINS,
      ...LOOPBACK_DELIVERY,
    });
    await app.app.start();
    target = startReceiver();
    webhookId = (
      await createWebhook(app, { endpoint: `${target.url}/site`, eventTypes: { article: [0, 2] } })
    ).id;
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
  });

  test("a published entry is delivered to the receiver; Strapi sending it again changes nothing", async () => {
    const first = await app.request("POST", "/sources/strapi", {
      key: app.keys.write,
      json: strapi("entry.publish"),
    });
    expect(first.status).toBe(202);
    const result = freshBody(first) as {
      events: { eventId: string; deliveries: { webhookId: string; deliveryId: string }[] }[];
    };
    expect(result.events[0]?.deliveries.map((delivery) => delivery.webhookId)).toEqual([webhookId]);
    const deliveryId = result.events[0]?.deliveries[0]?.deliveryId ?? "missing";
    expect(await settled(app, deliveryId)).toMatchObject({ process_status: ProcessStatus.Sent });
    expect(target.requests.map((request) => JSON.parse(request.body))).toEqual([
      expect.objectContaining({
        eventType: 0,
        contentType: "article",
        contentId: "hl2q0c8t4dxd5r1ng5mcqf1u",
        fields: { title: "Hello", slug: "hello" },
        webhookId,
        deliveryId,
      }),
    ]);

    const again = await app.request("POST", "/sources/strapi", {
      key: app.keys.write,
      json: strapi("entry.publish"),
    });
    expect(freshBody(again)).toEqual(result);
  });

  test("a draft edit is acknowledged with no events", async () => {
    const response = await app.request("POST", "/sources/strapi", {
      key: app.keys.write,
      json: strapi("entry.update", { publishedAt: null }),
    });
    expect({ status: response.status, body: freshBody(response) }).toEqual({
      status: 202,
      body: { events: [] },
    });
  });

  test("a form is 415 and never reaches the plugin: Strapi sends JSON", async () => {
    const response = await app.request("POST", "/sources/strapi", {
      key: app.keys.write,
      rawBody: "event=entry.publish",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(415);
    expect(freshBody(response)).toMatchObject({
      error: {
        code: "unsupported_media_type",
        details: { accepted: ["application/json"] },
      },
    });
  });

  test("a body that is not a Strapi webhook is 400 with the plugin's reason", async () => {
    const response = await app.request("POST", "/sources/strapi", {
      key: app.keys.write,
      rawBody: "event=entry.publish",
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(400);
    expect(freshBody(response)).toMatchObject({
      error: { message: 'source "strapi" rejected the request: the body is not JSON' },
    });
  });
});
