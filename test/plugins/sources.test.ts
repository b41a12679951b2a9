/**
 * Content-source adapters (SPEC §5, §8): `POST /sources/{name}` hands the request to the
 * adapter and ingests its events exactly like `POST /events` (matching, idempotency, the
 * workspace of the key); what it refuses changes nothing; its content types join the registry
 * read-only and feed generate-sample; and a CMS payload ends as a delivery at a real receiver.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { type Receiver, startReceiver } from "../helpers/receiver.ts";
import { createWebhook, expectErrorEnvelope, freshBody } from "../helpers/scenarios.ts";
import type { TestApp, TestResponse } from "../helpers/test-app.ts";
import { appWithPlugins, removePluginFolders, settled } from "./helpers.ts";

/** What the test adapter saw of each request it handled (shared through globalThis). */
interface Seen {
  apiKey: string | null;
  signature: string | null;
  workspace: string;
}
const SEEN_KEY = "__hookpostSourcesTest";
const seen: Seen[] = [];
(globalThis as Record<string, unknown>)[SEEN_KEY] = seen;

/**
 * `cms`: a JSON source (the default) whose request body says what to return: `{events}` or
 * `{reject}`. `form`: a source of urlencoded forms, `id=…&title=…` being one event.
 */
const CMS_PLUGIN = `
import { definePlugin } from "hookpost/plugin";
export default definePlugin({
  name: "cms",
  sources: {
    cms: {
      contentTypes: () => [{ key: "post", name: "Post", fields: ["title", "body"] }],
      async handle(request, context) {
        globalThis.${SEEN_KEY}.push({
          apiKey: request.headers.get("x-api-key"),
          signature: request.headers.get("x-cms-signature"),
          workspace: context.workspace,
        });
        const body = await request.json();
        if (body.reject) throw new Error(body.reject);
        return body.events;
      },
    },
    form: {
      mediaTypes: ["application/x-www-form-urlencoded"],
      async handle(request, context) {
        globalThis.${SEEN_KEY}.push({
          apiKey: request.headers.get("x-api-key"),
          signature: request.headers.get("x-cms-signature"),
          workspace: context.workspace,
        });
        const form = new URLSearchParams(await request.text());
        const id = form.get("id");
        if (!id) return [];
        return [{ id, eventType: 0, contentType: "post", contentId: \`p_\${id}\`, fields: { title: form.get("title") } }];
      },
    },
    feed: { poll: { intervalMs: 3600000, run: () => [] } },
  },
});
`;

let app: TestApp;
let target: Receiver;
let webhookId: string;

beforeAll(async () => {
  app = await appWithPlugins({ "cms.ts": CMS_PLUGIN });
  await app.app.start();
  target = startReceiver();
  webhookId = (
    await createWebhook(app, { endpoint: `${target.url}/cms`, eventTypes: { post: [0, 2] } })
  ).id;
});
afterAll(async () => {
  await app.close();
  await target.stop();
  removePluginFolders();
});

function post(id: string, eventType = 0) {
  return { id, eventType, contentType: "post", contentId: `p_${id}`, fields: { title: id } };
}

async function eventsFromSource(): Promise<number> {
  const row = await app.app.store.db
    .selectFrom("events")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("source", "in", ["source:cms", "source:form"])
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

type Key = "write" | "read" | "other" | "unknown" | "none";

interface SourceScenario {
  name: string;
  url?: string;
  key?: Key;
  json?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  expectedStatus: number;
  expectedContent?: unknown;
  /** How many events the request adds to the events table. */
  expectedNewEvents: number;
  after?: (response: TestResponse) => Promise<void> | void;
}

function keyOf(choice: Key): string | null {
  if (choice === "none") return null;
  if (choice === "unknown") return "hpk_ThisKeyWasNeverIssuedByThisServer0000000";
  return app.keys[choice];
}

const SCENARIOS: SourceScenario[] = [
  {
    name: "an event the adapter returns is ingested and matched: 202 with its deliveries",
    json: { events: [post("a1")] },
    expectedStatus: 202,
    expectedContent: { events: [{ eventId: expect.stringMatching(/^evt_/) }] },
    expectedNewEvents: 1,
    after: (response) => {
      const body = freshBody(response) as { events: { deliveries: { webhookId: string }[] }[] };
      expect(body.events[0]?.deliveries.map((delivery) => delivery.webhookId)).toEqual([webhookId]);
    },
  },
  {
    name: "several events are answered in order",
    json: { events: [post("b1"), post("b2", 2)] },
    expectedStatus: 202,
    expectedNewEvents: 2,
    after: (response) => {
      expect((freshBody(response) as { events: unknown[] }).events).toHaveLength(2);
    },
  },
  {
    name: "an empty list ignores the request: 202 with no events",
    json: { events: [] },
    expectedStatus: 202,
    expectedContent: { events: [] },
    expectedNewEvents: 0,
  },
  {
    name: "a repeated event id is not enqueued twice: the first answer again",
    json: { events: [post("a1")] },
    expectedStatus: 202,
    expectedNewEvents: 0,
  },
  {
    name: "an adapter that throws is 400 with its message, and nothing is ingested",
    json: { reject: "unknown Strapi event", events: [post("c1")] },
    expectedStatus: 400,
    expectedContent: {
      error: {
        code: "invalid_request",
        message: 'source "cms" rejected the request: unknown Strapi event',
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "an invalid event is 400 naming the event and field; the valid ones are not ingested",
    json: { events: [post("d1"), { ...post("d2"), eventType: 9 }] },
    expectedStatus: 400,
    expectedContent: {
      error: {
        message: expect.stringMatching(
          /^source "cms" returned an invalid event: events\.1\.eventType: /,
        ),
        details: { source: "cms", fields: [{ field: "events.1.eventType" }] },
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "an event without a content id is 400 naming it",
    json: { events: [{ eventType: 0, contentType: "post" }] },
    expectedStatus: 400,
    expectedContent: { error: { details: { fields: [{ field: "events.0.contentId" }] } } },
    expectedNewEvents: 0,
  },
  {
    name: "an answer that is not a list is 400",
    json: { events: { eventType: 0 } },
    expectedStatus: 400,
    expectedContent: {
      error: {
        message:
          'source "cms" returned an invalid event: events: must be an array of events (return [] to ignore)',
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "a body the adapter cannot parse is 400, not 500",
    rawBody: "{not json",
    headers: { "content-type": "application/json" },
    expectedStatus: 400,
    expectedContent: {
      error: { message: expect.stringMatching(/^source "cms" rejected the request: /) },
    },
    expectedNewEvents: 0,
  },
  {
    name: "a text/plain body to a JSON source is 415, unread: the adapter never runs",
    rawBody: JSON.stringify({ events: [post("t1")] }),
    headers: { "content-type": "text/plain;charset=UTF-8" },
    expectedStatus: 415,
    expectedContent: {
      error: {
        code: "unsupported_media_type",
        message: "Content-Type text/plain is not accepted here: send application/json",
        details: { contentType: "text/plain;charset=UTF-8", accepted: ["application/json"] },
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "a multipart form to a JSON source is 415: the adapter never runs",
    rawBody: `--b\r\ncontent-disposition: form-data; name="events"\r\n\r\n[]\r\n--b--\r\n`,
    headers: { "content-type": "multipart/form-data; boundary=b" },
    expectedStatus: 415,
    expectedContent: {
      error: {
        code: "unsupported_media_type",
        details: { contentType: "multipart/form-data; boundary=b", accepted: ["application/json"] },
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "JSON to a source that declares only urlencoded forms is 415 naming what it takes",
    url: "/sources/form",
    json: { events: [post("t2")] },
    expectedStatus: 415,
    expectedContent: {
      error: {
        message:
          "Content-Type application/json is not accepted here: send application/x-www-form-urlencoded",
        details: { accepted: ["application/x-www-form-urlencoded"] },
      },
    },
    expectedNewEvents: 0,
  },
  {
    name: "the media type a source declares reaches its adapter: a urlencoded form becomes an event",
    url: "/sources/form",
    rawBody: "id=u1&title=From+a+form",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    expectedStatus: 202,
    expectedContent: { events: [{ eventId: expect.stringMatching(/^evt_/) }] },
    expectedNewEvents: 1,
    after: async () => {
      const row = await app.app.store.db
        .selectFrom("events")
        .select(["content_id", "fields", "source"])
        .where("idempotency_key", "=", "u1")
        .executeTakeFirstOrThrow();
      expect(row).toEqual({
        content_id: "p_u1",
        fields: JSON.stringify({ title: "From a form" }),
        source: "source:form",
      });
    },
  },
  {
    name: "parameters and case do not matter: a form with a charset is read",
    url: "/sources/form",
    rawBody: "id=u2&title=Charset",
    headers: { "content-type": "Application/X-WWW-Form-Urlencoded; charset=ISO-8859-1" },
    expectedStatus: 202,
    expectedNewEvents: 1,
  },
  {
    name: "parameters do not matter to a JSON source either",
    json: { events: [post("u3")] },
    headers: { "content-type": "application/json; charset=utf-8" },
    expectedStatus: 202,
    expectedNewEvents: 1,
  },
  {
    name: "a request without a body reaches the adapter whatever its Content-Type",
    url: "/sources/form",
    rawBody: "",
    headers: { "content-type": "text/plain" },
    expectedStatus: 202,
    expectedContent: { events: [] },
    expectedNewEvents: 0,
  },
  {
    name: "an unknown source is 404",
    url: "/sources/contentful",
    json: { events: [post("e1")] },
    expectedStatus: 404,
    expectedContent: { error: { code: "not_found", message: "source contentful not found" } },
    expectedNewEvents: 0,
  },
  {
    name: "a source that only polls is 404",
    url: "/sources/feed",
    json: { events: [post("e2")] },
    expectedStatus: 404,
    expectedContent: { error: { message: "source feed does not accept requests: it only polls" } },
    expectedNewEvents: 0,
  },
  {
    name: "no key is 401",
    key: "none",
    json: { events: [post("f1")] },
    expectedStatus: 401,
    expectedNewEvents: 0,
  },
  {
    name: "an unknown key is 401",
    key: "unknown",
    json: { events: [post("f2")] },
    expectedStatus: 401,
    expectedNewEvents: 0,
  },
  {
    name: "a read key is 403",
    key: "read",
    json: { events: [post("f3")] },
    expectedStatus: 403,
    expectedNewEvents: 0,
  },
  {
    name: "another workspace's key ingests into that workspace: this one's webhooks get nothing",
    key: "other",
    json: { events: [post("g1")] },
    expectedStatus: 202,
    expectedContent: { events: [{ deliveries: [] }] },
    expectedNewEvents: 1,
  },
  {
    name: "a body over the limit is 413",
    rawBody: "x".repeat(MAX_BODY_BYTES + 1),
    headers: { "content-type": "application/json" },
    expectedStatus: 413,
    expectedNewEvents: 0,
  },
];

describe("POST /sources/{name}", () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      const before = await eventsFromSource();
      const handled = seen.length;
      const response = await app.request("POST", scenario.url ?? "/sources/cms", {
        key: keyOf(scenario.key ?? "write"),
        json: scenario.json,
        rawBody: scenario.rawBody,
        headers: scenario.headers,
      });
      expect({ status: response.status, body: freshBody(response) }).toMatchObject({
        status: scenario.expectedStatus,
      });
      if (response.status >= 400) expectErrorEnvelope(response);
      if (scenario.expectedContent !== undefined) {
        expect(freshBody(response)).toMatchObject(scenario.expectedContent as object);
      }
      expect(await eventsFromSource()).toBe(before + scenario.expectedNewEvents);
      if ([401, 403, 404, 413, 415].includes(scenario.expectedStatus)) {
        expect(seen.length).toBe(handled);
      }
      await scenario.after?.(response);
    });
  }

  test("a body without a Content-Type is 415 naming the type to send; the adapter never runs", async () => {
    const handled = seen.length;
    // A Blob body: Request adds no Content-Type of its own (a string would be text/plain).
    const response = await app.app.handle(
      new Request("http://localhost/sources/cms", {
        method: "POST",
        headers: { "x-api-key": app.keys.write },
        body: new Blob([JSON.stringify({ events: [post("v1")] })]),
      }),
    );
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({
      error: {
        code: "unsupported_media_type",
        message: "a request body needs Content-Type: application/json",
        details: { contentType: null, accepted: ["application/json"] },
      },
    });
    expect(seen.length).toBe(handled);
  });

  test("a streamed body of a refused type (no Content-Length to go by) is 415 too", async () => {
    const handled = seen.length;
    const response = await app.app.handle(
      new Request("http://localhost/sources/cms", {
        method: "POST",
        headers: { "x-api-key": app.keys.write, "content-type": "text/plain" },
        body: new Blob(["a", "b"]).stream(),
      }),
    );
    expect(response.status).toBe(415);
    expect(seen.length).toBe(handled);
  });

  test("a repeated event id answers the first event id and adds no delivery", async () => {
    const first = await app.request("POST", "/sources/cms", {
      key: app.keys.write,
      json: { events: [post("h1")] },
    });
    const again = await app.request("POST", "/sources/cms", {
      key: app.keys.write,
      json: { events: [post("h1")] },
    });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(freshBody(again)).toEqual(freshBody(first));
  });

  test("a streamed body over the limit is 413 too (no Content-Length to trust)", async () => {
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES) controller.close();
        else {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await app.app.handle(
      new Request("http://localhost/sources/cms", {
        method: "POST",
        headers: { "x-api-key": app.keys.write, "content-type": "application/json" },
        body,
      }),
    );
    expect(response.status).toBe(413);
  });

  test("the adapter gets the CMS's headers and the key's workspace, never the API key", async () => {
    seen.length = 0;
    const response = await app.request("POST", "/sources/cms", {
      key: app.keys.write,
      json: { events: [] },
      headers: { "x-cms-signature": "sha256=abc" },
    });
    expect(response.status).toBe(202);
    expect(seen).toEqual([{ apiKey: null, signature: "sha256=abc", workspace: "default" }]);
  });

  test("a CMS payload posted to the source is delivered to the receiver", async () => {
    const response = await app.request("POST", "/sources/cms", {
      key: app.keys.write,
      json: { events: [{ ...post("i1"), fields: { title: "From the CMS" } }] },
    });
    const deliveryId = (
      freshBody(response) as { events: { deliveries: { deliveryId: string }[] }[] }
    ).events[0]?.deliveries[0]?.deliveryId;
    if (!deliveryId) throw new Error(response.text);
    expect(await settled(app, deliveryId)).toMatchObject({ process_status: ProcessStatus.Sent });
    const received = target.requests.map((request) => JSON.parse(request.body));
    expect(received).toContainEqual(
      expect.objectContaining({
        deliveryId,
        eventType: 0,
        contentType: "post",
        contentId: "p_i1",
        fields: { title: "From the CMS" },
      }),
    );
  });
});

describe("content types of a source", () => {
  test("join the workspace's own in GET /content-types, sorted by key, in every workspace", async () => {
    await app.request("PUT", "/content-types/article", {
      key: app.keys.write,
      json: { name: "Article", fields: ["title"] },
    });
    const list = await app.request("GET", "/content-types", { key: app.keys.read });
    expect((freshBody(list) as { key: string }[]).map((type) => type.key)).toEqual([
      "article",
      "post",
    ]);
    const other = await app.request("GET", "/content-types/post", { key: app.keys.other });
    expect(freshBody(other)).toMatchObject({
      key: "post",
      name: "Post",
      fields: ["title", "body"],
    });
  });

  test("are read-only: PUT and DELETE are 409 naming the source, and change nothing", async () => {
    const before = await app.request("GET", "/content-types/post", { key: app.keys.read });
    const put = await app.request("PUT", "/content-types/post", {
      key: app.keys.write,
      json: { name: "Mine", fields: [] },
    });
    expect(put.status).toBe(409);
    expectErrorEnvelope(put);
    expect(freshBody(put)).toMatchObject({
      error: {
        code: "conflict",
        message: 'content type post is provided by source plugin "cms" and is read-only',
        details: { key: "post", source: "cms" },
      },
    });
    const deleted = await app.request("DELETE", "/content-types/post", { key: app.keys.write });
    expect(deleted.status).toBe(409);
    const after = await app.request("GET", "/content-types/post", { key: app.keys.read });
    expect(after.text).toBe(before.text);
  });

  test("feed generate-sample: a Published sample with the type's fields set to null", async () => {
    const response = await app.request("POST", `/webhooks/${webhookId}/generate-sample/post`, {
      key: app.keys.write,
    });
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      eventType: 0,
      contentType: "post",
      fields: { title: null, body: null },
    });
  });
});
