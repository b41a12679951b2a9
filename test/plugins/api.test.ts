/**
 * The public contract `hookpost/plugin` (src/plugin-host/api.ts): what a plugin file sees at
 * run time, and — checked by the compiler — that its hand-written types stay exactly the
 * shapes Hookpost validates and renders with.
 */

import { afterAll, expect, test } from "bun:test";
import type { ContentEnvelope } from "../../src/deliveries/envelope.ts";
import type { IncomingEvent as IngestedEvent } from "../../src/events/model.ts";
import { createLogger } from "../../src/log.ts";
import {
  definePlugin,
  EventType,
  type IncomingEvent,
  type TemplateContext,
} from "../../src/plugin-host/api.ts";
import { loadPlugins } from "../../src/plugin-host/loader.ts";
import { WebhookEventType } from "../../src/webhooks/model.ts";
import type { Same } from "../helpers/types.ts";
import { pluginFolder, removePluginFolders } from "./helpers.ts";

afterAll(removePluginFolders);

// A change to the ingest schema or the envelope that the public types do not follow fails
// type-checking here.
const eventsMatch: Same<IncomingEvent, IngestedEvent> = true;
const contextsMatch: Same<TemplateContext, ContentEnvelope> = true;

test("the public types are the shapes Hookpost uses", () => {
  expect([eventsMatch, contextsMatch]).toEqual([true, true]);
});

test("EventType names the numbers of WebhookEventType, in order", () => {
  expect<number[]>(Object.values(EventType)).toEqual(
    WebhookEventType.anyOf.map((literal: { const: number }) => literal.const),
  );
  expect(Object.isFrozen(EventType)).toBe(true);
});

test("definePlugin returns the plugin unchanged", () => {
  const plugin = { name: "x", hooks: {} };
  expect(definePlugin(plugin)).toBe(plugin);
});

test("a plugin file outside the repository imports exactly definePlugin and EventType", async () => {
  const key = "__hookpostApiSurface";
  const dir = pluginFolder({
    "surface.ts": `
      import * as api from "hookpost/plugin";
      globalThis.${key} = { names: Object.keys(api).sort(), deleted: api.EventType.Deleted };
      export default api.definePlugin({ name: "surface", hooks: {} });
    `,
  });
  await loadPlugins(
    dir,
    createLogger("error", () => undefined),
  );
  expect((globalThis as Record<string, unknown>)[key]).toEqual({
    names: ["EventType", "definePlugin"],
    deleted: 2,
  });
});
