/** The NUL character is found in JSON text and URLs however it is spelt, and only there. */

import { expect, test } from "bun:test";
import { jsonTextHoldsNul, nulFieldOf, urlHoldsNul } from "../../src/http/nul-character.ts";

test("a JSON text holds a NUL as the escape in a string, in any case, or raw", () => {
  expect(jsonTextHoldsNul(JSON.stringify({ name: "a\u0000b" }))).toBe(true);
  expect(jsonTextHoldsNul('{"name": "a\\u0000"}')).toBe(true);
  expect(jsonTextHoldsNul('["\\u0000"]')).toBe(true);
  expect(jsonTextHoldsNul('{"a\\u0000": 1}')).toBe(true);
  expect(jsonTextHoldsNul('{"a": "\u0000"}')).toBe(true);
});

test("an escaped backslash before u0000 is text, not a NUL; other escapes are not NULs", () => {
  expect(jsonTextHoldsNul(JSON.stringify({ name: "a\\u0000b" }))).toBe(false);
  expect(jsonTextHoldsNul('{"name": "\\\\u0000"}')).toBe(false);
  expect(jsonTextHoldsNul('{"name": "\\u0001 \\u00000 is not"}')).toBe(true);
  expect(jsonTextHoldsNul('{"name": "\\u0001\\"u0000"}')).toBe(false);
  expect(jsonTextHoldsNul('{"n": 0, "u0000": "\\n"}')).toBe(false);
});

test("a URL holds a NUL in its path or in a name or value of its query", () => {
  expect(urlHoldsNul(new URL("http://h/webhooks/%00"))).toBe(true);
  expect(urlHoldsNul(new URL("http://h/webhooks?name=a%00"))).toBe(true);
  expect(urlHoldsNul(new URL("http://h/webhooks?a%00=1"))).toBe(true);
  expect(urlHoldsNul(new URL("http://h/webhooks/%2500?name=%2500"))).toBe(false);
});

test("the error names the field holding the NUL, or the object whose key holds one", () => {
  expect(nulFieldOf('{"a": {"b": ["x", "y\\u0000"]}}', "(body)")).toBe("a.b.1");
  expect(nulFieldOf('{"a": {"k\\u0000": 1}}', "(body)")).toBe("a");
  expect(nulFieldOf('"\\u0000"', "(body)")).toBe("(body)");
  expect(nulFieldOf("not json \u0000", "file")).toBe("file");
});
