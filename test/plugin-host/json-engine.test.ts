/** The built-in `json` template engine (SPEC §8), as a table of template → rendered value. */

import { describe, expect, test } from "bun:test";
import type { ContentEnvelope } from "../../src/deliveries/envelope.ts";
import { jsonEngine, valueAtPath } from "../../src/plugin-host/json-engine.ts";
import { RenderError, TemplaterRegistry } from "../../src/plugin-host/templaters.ts";

const envelope: ContentEnvelope = {
  eventType: 0,
  contentId: "c_1",
  contentType: "article",
  fields: { title: "Hello", views: 42, tags: ["a", "b"], author: { name: "Ada" }, draft: null },
  translations: { it: "Ciao" },
  webhookId: "wh_1",
  deliveryId: "dlv_1",
  timestamp: "2026-11-23T00:00:00.000Z",
};

const cases: [string, unknown, unknown][] = [
  ["a whole-string path keeps a string", "{{fields.title}}", "Hello"],
  ["a whole-string path keeps a number", "{{fields.views}}", 42],
  ["a whole-string path keeps an array", "{{fields.tags}}", ["a", "b"]],
  ["a whole-string path keeps an object", "{{fields.author}}", { name: "Ada" }],
  ["a whole-string path keeps null", "{{fields.draft}}", null],
  ["spaces inside the braces are allowed", "{{ fields.title }}", "Hello"],
  ["an array index in a path", "{{fields.tags.1}}", "b"],
  ["a missing path renders null", "{{fields.nope}}", null],
  ["a path through a non-object renders null", "{{fields.title.length}}", null],
  [
    "interpolation inside a longer string",
    "New: {{fields.title}} ({{translations.it}})",
    "New: Hello (Ciao)",
  ],
  [
    "interpolating a number or object gives its JSON",
    "{{fields.views}}/{{fields.author}}",
    '42/{"name":"Ada"}',
  ],
  ["a missing path inside a longer string is empty", "x{{fields.nope}}y", "xy"],
  [
    "nested objects and arrays are walked",
    { a: ["{{contentId}}", { b: "{{eventType}}" }] },
    { a: ["c_1", { b: 0 }] },
  ],
  ["non-string scalars pass through", { n: 1, b: true, z: null }, { n: 1, b: true, z: null }],
  ["keys are not templated", { "{{contentId}}": 1 }, { "{{contentId}}": 1 }],
];

describe("the json template engine", () => {
  for (const [name, template, expected] of cases) {
    test(name, () => {
      expect(jsonEngine.render(template, envelope)).toEqual(expected);
    });
  }

  test("inherited properties are not reachable", () => {
    expect(valueAtPath(envelope, "fields.constructor")).toBeUndefined();
    expect(jsonEngine.render("{{fields.__proto__}}", envelope)).toBeNull();
  });
});

describe("the template engine registry", () => {
  const registry = new TemplaterRegistry();

  test("json is built in and renders to JSON text", () => {
    expect(registry.has("json")).toBe(true);
    expect(registry.renderToJson("json", { t: "{{fields.title}}" }, envelope)).toBe(
      '{"t":"Hello"}',
    );
  });

  test("an unknown engine is a RenderError naming it", () => {
    expect(registry.has("mustache")).toBe(false);
    expect(() => registry.renderToJson("mustache", {}, envelope)).toThrow(
      new RenderError('template engine "mustache" is not available'),
    );
  });
});
