/**
 * The slot and language filters of seed 001: a webhook listens to published or preview
 * content, and optionally to some languages only; an event carries its slot (published by
 * default) and maybe a language. Checked as a pure rule and through `POST /events`.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Slot } from "../../src/db/database.ts";
import { type MatchableEvent, matcherOf } from "../../src/events/matching.ts";
import { createWebhook, freshBody, runScenarios } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

describe("matcherOf", () => {
  const webhook = (
    slot: Slot,
    languages: string[],
    eventTypes: Record<string, number[]> = { article: [0] },
  ) => ({
    event_types: JSON.stringify(eventTypes),
    slot,
    languages: JSON.stringify(languages),
  });
  const event = (fields: Partial<MatchableEvent> = {}): MatchableEvent => ({
    contentType: "article",
    eventType: 0,
    slot: "published",
    language: null,
    ...fields,
  });

  const cases: [string, ReturnType<typeof webhook>, MatchableEvent, boolean][] = [
    ["published webhook, published event", webhook("published", []), event(), true],
    [
      "published webhook, preview event",
      webhook("published", []),
      event({ slot: "preview" }),
      false,
    ],
    ["preview webhook, preview event", webhook("preview", []), event({ slot: "preview" }), true],
    ["preview webhook, published event", webhook("preview", []), event(), false],
    ["no languages: any language", webhook("published", []), event({ language: "fr" }), true],
    ["listed language", webhook("published", ["en", "it"]), event({ language: "it" }), true],
    ["unlisted language", webhook("published", ["en", "it"]), event({ language: "fr" }), false],
    ["language case ignored", webhook("published", ["en-US"]), event({ language: "EN-us" }), true],
    ["event without language", webhook("published", ["en"]), event({ language: null }), true],
    [
      "languages do not override the event type",
      webhook("published", ["en"]),
      event({ language: "en", eventType: 1 }),
      false,
    ],
    [
      "the slot applies to the * key too",
      webhook("preview", [], { "*": [0] }),
      event({ contentType: "page" }),
      false,
    ],
  ];
  for (const [name, candidate, incoming, expected] of cases) {
    test(`${name}: ${expected ? "matches" : "does not match"}`, () => {
      expect(matcherOf(candidate)(incoming)).toBe(expected);
    });
  }
});

describe("slot and languages on webhooks", () => {
  runScenarios([
    {
      name: "default to the published slot and every language",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a" },
      expectedStatus: 200,
      expectedContent: { slot: "published", languages: [] },
    },
    {
      name: "are stored as given and kept on update when omitted",
      method: "PUT",
      url: "/webhooks",
      setup: async (app) => createWebhook(app, { slot: "preview", languages: ["en", "pt_BR"] }),
      json: { id: "{id}", endpoint: "https://example.com/other" },
      expectedStatus: 200,
      expectedContent: { slot: "preview", languages: ["en", "pt_BR"] },
    },
    {
      name: "an unknown slot is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", slot: "draft" },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "slot" }] } } },
    },
    {
      name: "a language code with a space is 400 naming the item",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", languages: ["en", "e n"] },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "languages.1" }] } } },
    },
    {
      name: "a 36-character language code is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", languages: ["x".repeat(36)] },
      expectedStatus: 400,
    },
    {
      name: "an empty language code is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", languages: [""] },
      expectedStatus: 400,
    },
    {
      name: "more than 100 languages is 400",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        languages: Array.from({ length: 101 }, (_, i) => `l${i}`),
      },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "languages" }] } } },
    },
    {
      name: "a language listed twice (in any case) is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", languages: ["en", "EN"] },
      expectedStatus: 400,
      expectedContent: {
        error: { code: "invalid_request", details: { fields: [{ field: "languages.1" }] } },
      },
    },
  ]);
});

describe("POST /events with slot and language", () => {
  let app: TestApp;
  const ids = { published: "", preview: "", english: "", italianPreview: "" };

  beforeAll(async () => {
    app = await createTestApp();
    const article = { eventTypes: { article: [0] } };
    ids.published = (await createWebhook(app, article)).id;
    ids.preview = (await createWebhook(app, { ...article, slot: "preview" })).id;
    ids.english = (await createWebhook(app, { ...article, languages: ["en"] })).id;
    ids.italianPreview = (
      await createWebhook(app, { ...article, slot: "preview", languages: ["it"] })
    ).id;
  });
  afterAll(async () => {
    await app.close();
  });

  async function publish(extra: Record<string, unknown>) {
    const response = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: "article", contentId: "c_1", ...extra },
    });
    expect(response.status).toBe(202);
    const body = freshBody(response) as {
      eventId: string;
      deliveries: { webhookId: string }[];
    };
    return { eventId: body.eventId, webhooks: body.deliveries.map((d) => d.webhookId).sort() };
  }

  test("an event without slot or language is published and reaches every published webhook", async () => {
    const { webhooks } = await publish({});
    expect(webhooks).toEqual([ids.published, ids.english].sort());
  });

  test("a published event in another language skips the English-only webhook", async () => {
    const { webhooks } = await publish({ language: "fr" });
    expect(webhooks).toEqual([ids.published]);
  });

  test("a published English event reaches the English webhook too", async () => {
    const { webhooks } = await publish({ slot: "published", language: "EN" });
    expect(webhooks).toEqual([ids.published, ids.english].sort());
  });

  test("a preview event reaches only preview webhooks of its language", async () => {
    expect((await publish({ slot: "preview" })).webhooks).toEqual(
      [ids.preview, ids.italianPreview].sort(),
    );
    expect((await publish({ slot: "preview", language: "en" })).webhooks).toEqual([ids.preview]);
    expect((await publish({ slot: "preview", language: "it" })).webhooks).toEqual(
      [ids.preview, ids.italianPreview].sort(),
    );
  });

  test("the event's slot and language are stored with it", async () => {
    const { eventId } = await publish({ slot: "preview", language: "it" });
    const plain = await publish({});
    const rows = await app.app.store.db
      .selectFrom("events")
      .select(["id", "slot", "language"])
      .where("id", "in", [eventId, plain.eventId])
      .execute();
    expect(rows.find((row) => row.id === eventId)).toMatchObject({
      slot: "preview",
      language: "it",
    });
    expect(rows.find((row) => row.id === plain.eventId)).toMatchObject({
      slot: "published",
      language: null,
    });
  });

  test("an unknown slot or a malformed language is 400 and enqueues nothing", async () => {
    const count = async () =>
      (
        await app.app.store.db
          .selectFrom("events")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n;
    const before = await count();
    for (const bad of [{ slot: "draft" }, { language: "e n" }, { language: "" }]) {
      const response = await app.request("POST", "/events", {
        key: app.keys.write,
        json: { eventType: 0, contentType: "article", contentId: "c_1", ...bad },
      });
      expect(response.status).toBe(400);
      expect(freshBody(response)).toMatchObject({
        error: {
          code: "validation_failed",
          details: { fields: [{ field: Object.keys(bad)[0] }] },
        },
      });
    }
    expect(await count()).toBe(before);
  });
});
