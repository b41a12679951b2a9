/**
 * `__proto__` and `constructor` are ordinary keys wherever a client writes JSON: in a custom
 * payload template, in `eventTypes` and as header names. JavaScript turns an assignment to
 * `__proto__` into a prototype change, so each is followed end to end, to a real receiver.
 * The documents are written as JSON text: an object literal in this file would lose the key.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  t = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32", HOOKPOST_TICK_MS: "20" });
  await t.app.start();
  receiver = startReceiver();
});

afterAll(async () => {
  await t.close();
  await receiver.stop();
});

const TEMPLATE = '{"__proto__":{"a":1},"constructor":"x","nested":{"__proto__":["{{contentId}}"]}}';
const EVENT_TYPES = '{"__proto__":[0],"constructor":[1]}';

async function putRaw(json: string) {
  return t.request("PUT", "/webhooks", {
    key: t.keys.write,
    rawBody: json,
    headers: { "content-type": "application/json" },
  });
}

test("a template, event types and headers keyed __proto__ and constructor are stored and delivered as written", async () => {
  const saved = await putRaw(`{
    "endpoint": "${receiver.url}/hooks",
    "useCustomPayload": true,
    "customPayload": ${TEMPLATE},
    "eventTypes": ${EVENT_TYPES},
    "headers": [{"key": "__proto__", "value": "p"}, {"key": "constructor", "value": "c"}]
  }`);
  expect(saved.status).toBe(200);
  const { id } = saved.body as { id: string };
  // Byte-comparable: the answer's JSON text holds the keys in the order written.
  expect(saved.text).toContain(`"customPayload":${TEMPLATE}`);
  expect(saved.text).toContain(`"eventTypes":${EVENT_TYPES}`);
  const read = await t.request("GET", `/webhooks/${id}`, { key: t.keys.read });
  expect(read.text).toContain(`"customPayload":${TEMPLATE}`);

  const published = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "__proto__", contentId: "c_1" },
  });
  expect(published.text).toContain(id);
  const request = await waitFor("the delivery", () => receiver.requests[0]);
  expect(request.body).toBe(
    '{"__proto__":{"a":1},"constructor":"x","nested":{"__proto__":["c_1"]}}',
  );
  expect(request.headers.get("__proto__")).toBe("p");
  expect(request.headers.get("constructor")).toBe("c");

  // The other key subscribes to its own event type only, like any content type.
  const other = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 1, contentType: "constructor", contentId: "c_2" },
  });
  expect(other.text).toContain(id);
  const unmatched = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "constructor", contentId: "c_3" },
  });
  expect(unmatched.text).not.toContain(id);
});

test("an import document with those keys is taken as written too", async () => {
  const imported = await t.request("POST", "/webhooks/import", {
    key: t.keys.write,
    headers: { "content-type": "application/json" },
    rawBody: `{"format": "hookpost.webhook", "version": 1, "webhook": {
      "endpoint": "${receiver.url}/imported",
      "useCustomPayload": true,
      "customPayload": ${TEMPLATE},
      "eventTypes": ${EVENT_TYPES}
    }}`,
  });
  expect(imported.status).toBe(200);
  expect(imported.text).toContain(`"customPayload":${TEMPLATE}`);
  expect(imported.text).toContain(`"eventTypes":${EVENT_TYPES}`);
});
