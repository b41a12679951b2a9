/**
 * Plugin template engines (SPEC §8): `PUT /webhooks` accepts a loaded engine and refuses an
 * unknown one; a webhook's custom payload is rendered by its engine, once, and that body
 * reaches a real receiver, signed; an engine that throws or returns something that is not JSON
 * fails that one delivery with a clear error while the event's other deliveries go out.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import type { ContentEnvelope } from "../../src/deliveries/envelope.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { RenderError, TemplaterRegistry } from "../../src/plugin-host/templaters.ts";
import { type Receiver, startReceiver } from "../helpers/receiver.ts";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";
import { appWithPlugins, removePluginFolders, settled, uniqueType } from "./helpers.ts";

const envelope: ContentEnvelope = {
  eventType: 0,
  contentId: "c_1",
  contentType: "article",
  fields: { title: "Hello" },
  translations: {},
  webhookId: "wh_1",
  deliveryId: "dlv_1",
  timestamp: "2025-01-01T00:00:00.000Z",
};

describe("what a plugin engine returns", () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const shared = { x: 1 };
  const CASES: { name: string; value: () => unknown; error: string | null }[] = [
    { name: "a plain object", value: () => ({ a: [1, "b", null, true] }), error: null },
    { name: "a string", value: () => "text", error: null },
    { name: "the same object twice (not a cycle)", value: () => [shared, shared], error: null },
    {
      name: "undefined",
      value: () => undefined,
      error: "it returned no JSON: the value is undefined",
    },
    {
      name: "a function",
      value: () => () => 1,
      error: "it returned no JSON: the value is a function",
    },
    {
      name: "a function inside an object",
      value: () => ({ text: "x", blocks: [{ render: () => 1 }] }),
      error: "it returned no JSON: blocks.0.render is a function",
    },
    {
      name: "undefined inside an object",
      value: () => ({ a: undefined }),
      error: "it returned no JSON: a is undefined",
    },
    { name: "a BigInt", value: () => ({ n: 10n }), error: "it returned no JSON: n is a bigint" },
    {
      name: "NaN",
      value: () => [Number.NaN],
      error: "it returned no JSON: 0 is NaN, not a finite number",
    },
    {
      name: "a cycle",
      value: () => cycle,
      error: "it returned no JSON: self refers back to itself (a cycle)",
    },
    {
      name: "a Promise",
      value: () => Promise.resolve({}),
      error:
        "it returned no JSON: the value is a Promise (template engines must render synchronously)",
    },
    {
      name: "a Date",
      value: () => ({ at: new Date(0) }),
      error: "it returned no JSON: at is a Date object, not plain JSON",
    },
    {
      name: "a getter that throws",
      value: () => ({
        get title(): string {
          throw new Error("lazy field");
        },
      }),
      error: "lazy field",
    },
    {
      name: "a Map",
      value: () => new Map(),
      error: "it returned no JSON: the value is a Map object, not plain JSON",
    },
  ];
  for (const item of CASES) {
    test(`${item.name}: ${item.error ?? "the body"}`, () => {
      const registry = new TemplaterRegistry([["x", { render: item.value }]]);
      if (item.error === null) {
        expect(registry.renderToJson("x", null, envelope)).toBe(JSON.stringify(item.value()));
      } else {
        expect(() => registry.renderToJson("x", null, envelope)).toThrow(
          new RenderError(`template engine "x" failed: ${item.error}`),
        );
      }
    });
  }

  test("an engine that throws is a RenderError with its message", () => {
    const registry = new TemplaterRegistry([
      [
        "x",
        {
          render() {
            throw new Error("no title");
          },
        },
      ],
    ]);
    expect(() => registry.renderToJson("x", {}, envelope)).toThrow(
      new RenderError('template engine "x" failed: no title'),
    );
  });

  test("the engine gets the template and the content envelope", () => {
    const seen: unknown[] = [];
    const registry = new TemplaterRegistry([
      ["x", { render: (template, context) => seen.push(template, context) }],
    ]);
    registry.renderToJson("x", { t: 1 }, envelope);
    expect(seen).toEqual([{ t: 1 }, envelope]);
  });
});

describe("a rendered body is bounded at 1 MiB", () => {
  const TOO_LARGE = `the rendered body exceeds ${MAX_BODY_BYTES} bytes, the most a delivery may send`;
  const registry = new TemplaterRegistry([["x", { render: (template) => template }]]);

  /** An envelope whose `fields` is about `bytes` of JSON and counts how often it is read. */
  function countingEnvelope(bytes: number): { context: ContentEnvelope; reads: () => number } {
    const fields = { text: "a".repeat(bytes) };
    let reads = 0;
    const context = {
      ...envelope,
      get fields() {
        reads++;
        return fields;
      },
    };
    return { context, reads: () => reads };
  }

  test.each([
    ["as values", "{{fields}}"],
    ["inside longer strings", "x {{fields}} y"],
  ])("the json engine stops at the bound: 1,000 × {{fields}} %s", (_name, item) => {
    // 1,000 × 20 KB would be 20 MB; the engine gives up after about 1 MiB of it.
    const { context, reads } = countingEnvelope(20_000);
    const template = Array.from({ length: 1000 }, () => item);
    expect(() => registry.renderToJson("json", template, context)).toThrow(
      new RenderError(`template engine "json": ${TOO_LARGE}`),
    );
    expect(reads()).toBeLessThan(60);
  });

  test("a plugin engine's result is refused while it is being serialized", () => {
    const { context, reads } = countingEnvelope(20_000);
    const sharing = new TemplaterRegistry([
      // One object shared 1,000 times: cheap to return, 20 MB as text.
      ["x", { render: (_template, ctx) => Array.from({ length: 1000 }, () => ctx) }],
    ]);
    expect(() => sharing.renderToJson("x", null, context)).toThrow(
      new RenderError(`template engine "x": ${TOO_LARGE}`),
    );
    expect(reads()).toBeLessThan(60);
  });

  // Each template holds `{{fields.s}}` once; `s` is padded so the body is exactly the bound.
  const exact: [string, unknown][] = [
    ["a whole-string value", "{{fields.s}}"],
    ["an interpolated string", "é {{fields.s}} ü"],
    [
      "objects, arrays, keys and scalars",
      { k: [1, true, null, "{{fields.s}}", { "ü ": "x{{contentId}}" }], e: [], o: {} },
    ],
  ];
  test.each(exact)(
    "the count is exact: %s of exactly 1 MiB passes, one byte more fails",
    (_n, template) => {
      const withText = (text: string): ContentEnvelope => ({ ...envelope, fields: { s: text } });
      const empty = registry.renderToJson("json", template, withText(""));
      const pad = MAX_BODY_BYTES - Buffer.byteLength(empty);
      // Two-byte characters: the bound is in UTF-8 bytes, not characters.
      const padding = "é".repeat(Math.floor(pad / 2)) + "a".repeat(pad % 2);
      const fits = registry.renderToJson("json", template, withText(padding));
      expect(Buffer.byteLength(fits)).toBe(MAX_BODY_BYTES);
      expect(() => registry.renderToJson("json", template, withText(`${padding}a`))).toThrow(
        new RenderError(`template engine "json": ${TOO_LARGE}`),
      );
      // A plugin engine's result is measured the same way.
      expect(registry.renderToJson("x", JSON.parse(fits), envelope)).toBe(fits);
      const over = JSON.parse(fits);
      expect(() => registry.renderToJson("x", [over], envelope)).toThrow(
        new RenderError(`template engine "x": ${TOO_LARGE}`),
      );
    },
  );
});

const ENGINES = `
import { definePlugin } from "hookpost/plugin";
export default definePlugin({
  name: "engines",
  templaters: {
    upper: {
      render: (template, context) => ({
        title: String(context.fields.title).toUpperCase(),
        note: template,
        deliveryId: context.deliveryId,
      }),
    },
    broken: {
      render() {
        throw new Error("template needs a title");
      },
    },
    lazy: { render: () => ({ later: () => 1 }) },
  },
});
`;

describe("plugin engines end to end", () => {
  let app: TestApp;
  let target: Receiver;

  beforeAll(async () => {
    app = await appWithPlugins({ "engines.ts": ENGINES });
    await app.app.start();
    target = startReceiver();
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
    removePluginFolders();
  });

  test("PUT /webhooks accepts a plugin engine and refuses an unknown one with 400", async () => {
    const accepted = await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: {
        endpoint: target.url,
        templateEngine: "upper",
        useCustomPayload: true,
        customPayload: {},
      },
    });
    expect({ status: accepted.status, body: freshBody(accepted) }).toMatchObject({
      status: 200,
      body: { templateEngine: "upper" },
    });
    const refused = await app.request("PUT", "/webhooks", {
      key: app.keys.write,
      json: { endpoint: target.url, templateEngine: "mustache" },
    });
    expect(refused.status).toBe(400);
    expect(freshBody(refused)).toMatchObject({
      error: { details: { fields: [{ field: "templateEngine" }] } },
    });
  });

  test("a custom payload rendered by a plugin engine reaches the receiver, signed", async () => {
    const type = uniqueType();
    const webhook = await createWebhook(app, {
      endpoint: `${target.url}/upper`,
      eventTypes: { [type]: [0] },
      useCustomPayload: true,
      customPayload: { greeting: "hi" },
      templateEngine: "upper",
    });
    const accepted = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: type, contentId: "c_9", fields: { title: "Hello" } },
    });
    const deliveryId = (accepted.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!deliveryId) throw new Error(accepted.text);
    const row = await settled(app, deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    const request = target.requests.find((received) => received.path === "/upper");
    if (!request) throw new Error("nothing received");
    expect(JSON.parse(request.body)).toEqual({
      title: "HELLO",
      note: { greeting: "hi" },
      deliveryId,
    });
    const verifier = new StandardWebhook(webhook.secret, { format: "raw" });
    expect(verifier.verify(request.body, Object.fromEntries(request.headers.entries()))).toEqual(
      JSON.parse(request.body),
    );
  });

  test("an engine that throws or returns no JSON fails its delivery only; the others go out", async () => {
    const type = uniqueType();
    const good = await createWebhook(app, {
      endpoint: `${target.url}/good`,
      eventTypes: { [type]: [0] },
    });
    const broken = await createWebhook(app, {
      endpoint: `${target.url}/broken`,
      eventTypes: { [type]: [0] },
      useCustomPayload: true,
      customPayload: {},
      templateEngine: "broken",
    });
    const lazy = await createWebhook(app, {
      endpoint: `${target.url}/lazy`,
      eventTypes: { [type]: [0] },
      useCustomPayload: true,
      customPayload: {},
      templateEngine: "lazy",
    });
    const accepted = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: type, contentId: "c_10" },
    });
    expect(accepted.status).toBe(202);
    const deliveries = (
      accepted.body as { deliveries: { webhookId: string; deliveryId: string }[] }
    ).deliveries;
    const of = (webhookId: string) =>
      deliveries.find((delivery) => delivery.webhookId === webhookId)?.deliveryId ?? "missing";

    expect(await settled(app, of(good.id))).toMatchObject({ process_status: ProcessStatus.Sent });
    expect(await settled(app, of(broken.id))).toMatchObject({
      process_status: ProcessStatus.Error,
      attempts: 0,
      last_error: 'template engine "broken" failed: template needs a title',
    });
    expect(await settled(app, of(lazy.id))).toMatchObject({
      process_status: ProcessStatus.Error,
      last_error: 'template engine "lazy" failed: it returned no JSON: later is a function',
    });
    expect(target.requests.map((request) => request.path)).toContain("/good");
    expect(target.requests.map((request) => request.path)).not.toContain("/broken");

    const log = await app.request("GET", `/webhooks/${broken.id}/events/${of(broken.id)}`, {
      key: app.keys.read,
    });
    expect(freshBody(log)).toMatchObject({
      processStatus: -1,
      responseMessage: 'template engine "broken" failed: template needs a title',
    });
  });
});
