/**
 * Malformed API requests for the fuzz run of the reliability suite, from a seeded PRNG so that
 * a failure reproduces: the same seed gives the same requests in the same order. Every route
 * and method of the OpenAPI document is fair game, and so are methods and paths it does not
 * list. What gets mangled: path parameters (traversal, bad percent-encoding, huge, unicode),
 * query strings, `X-Api-Key`, `Content-Type` and body — wrong types, unknown fields, huge
 * numbers, deep nesting, malformed JSON, invalid UTF-8, oversized, form and multipart bodies.
 */

import { seededRandom } from "../../scripts/lib/prng.ts";

/** Which key a request presents; `garbage` is a made-up or mangled one. */
export type FuzzKey = "write" | "read" | "other" | "none" | "garbage";

/** One operation of the OpenAPI document. */
export interface Operation {
  method: string;
  /** e.g. `/webhooks/{id}/events/{eventId}` */
  template: string;
  queryNames: string[];
  /** The request body's example, when the operation takes one. */
  example: unknown;
}

export interface FuzzRequest {
  index: number;
  method: string;
  /** Path and query, as given to `fetch` (which percent-encodes what it must). */
  path: string;
  key: FuzzKey;
  /** The key's text when `key` is `garbage`. */
  garbageKey?: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** What kind of body, for the failure report. */
  bodyKind: string;
}

/** Ids and keys that exist when the fuzz starts, so some requests reach real objects. */
export interface FuzzFixtures {
  webhookId: string;
  /** Webhooks the fuzz may delete (a DELETE with a real id picks only these). */
  disposableWebhookIds: string[];
  otherWorkspaceWebhookId: string;
  deliveryId: string;
  contentTypeKey: string;
  /** A valid body for `PUT /webhooks`, pointing at a local receiver. */
  webhookBody: Record<string, unknown>;
  /** A valid `POST /webhooks/import` document. */
  importBody: Record<string, unknown>;
  maxBodyBytes: number;
}

/** The operations of an OpenAPI document (`/swagger/json`). */
export function operationsOf(document: unknown): Operation[] {
  const paths = (document as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths;
  if (!paths) throw new Error("no paths in the OpenAPI document");
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const content = operation.requestBody?.content ?? {};
      const schema = (content["application/json"] ?? Object.values(content)[0])?.schema;
      operations.push({
        method: method.toUpperCase(),
        template,
        queryNames: (operation.parameters ?? [])
          .filter((parameter) => parameter.in === "query")
          .map((parameter) => parameter.name),
        example: schema ? (schema.examples?.[0] ?? {}) : undefined,
      });
    }
  }
  return operations;
}

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: { examples?: unknown[] } }> };
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/** Path segments that are not what the route wants; some already percent-encoded. */
const JUNK_SEGMENTS = [
  "",
  "x",
  "wh_doesnotexist",
  "dlv_doesnotexist",
  "..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "....%2F%2F....%2F%2Fetc%2Fpasswd",
  "%00",
  "%",
  "%zz",
  "%FF%FE",
  "%C0%AF",
  "%ED%A0%80",
  "%E2%80%AE",
  "%0d%0aSet-Cookie:%20x=1",
  "ñ😀",
  "%F0%9F%98%80",
  "'%20OR%201=1--",
  "$%7Bjndi:ldap:%2F%2Fx%7D",
  "__proto__",
  "constructor",
  "prototype",
  "-1",
  "0",
  "1e309",
  "NaN",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  "*",
  ";",
  "+",
  "%20",
  "a".repeat(101),
  "a".repeat(5000),
];

/** Whole paths that no route serves, or that try to escape. */
const JUNK_PATHS = [
  "/",
  "//",
  "/webhooks/../../etc/passwd",
  "/%2e%2e/%2e%2e/etc/passwd",
  "/webhooks//events",
  "/webhooks/%2F",
  "/WEBHOOKS",
  "/webhooks.json",
  "/swagger/../health",
  "/swagger/json/../../webhooks",
  "/events/",
  "/events/x",
  "/%",
  "/%FF",
  "/\u0000",
  "/😀",
  `/${"x".repeat(20_000)}`,
  "/metrics/../webhooks",
  "/sources",
  "/sources/",
  "/content-types/*",
  "/webhooks/import/import",
];

const JUNK_QUERY_NAMES = ["x", "", "__proto__", "page[]", "a.b", "%", "%FF", "😀", "q".repeat(500)];

const JUNK_VALUES = [
  "",
  "abc",
  "-1",
  "0",
  "1",
  "2",
  "100",
  "101",
  "999999999",
  "1000000000",
  "1e309",
  "99999999999999999999999",
  "NaN",
  "Infinity",
  "null",
  "true",
  "[]",
  "{}",
  "%",
  "%FF",
  "%00",
  "%ED%A0%80",
  "2026-13-45T99:99:99Z",
  "2026-01-01T00:00:00Z",
  "1970-01-01",
  "-271821-04-20T00:00:00Z",
  "created",
  "-name",
  "' OR 1=1 --",
  "0x10",
  "-0",
  "ñ😀",
  "v".repeat(3000),
];

const GARBAGE_KEYS = [
  "",
  "x",
  "hpk_",
  "hpk_ThisKeyWasNeverIssuedByThisServer0000000",
  `hpk_${"A".repeat(40)}`,
  "Bearer hpk_abc",
  `hpk_${"z".repeat(8000)}`,
  "hpk_\u00ff\u00fe",
  "hpk_ with spaces ",
  "' OR 1=1 --",
];

const CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=----fuzz",
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/xml",
  "application/octet-stream",
  "application/json, text/plain",
  "*/*",
  "garbage",
  "application/merge-patch+json",
  "text/json",
  "application/",
  ";",
];

const MALFORMED_JSON = [
  "",
  " ",
  "{",
  "}",
  "[",
  '{"endpoint": ',
  '{"a":1,}',
  "{'endpoint': 'x'}",
  '{"a": NaN}',
  '{"a": Infinity}',
  '{"a": undefined}',
  '{"a": 01}',
  '{"a": .5}',
  '{"a": 1} // comment',
  '/* c */ {"a": 1}',
  '\ufeff{"a": 1}',
  '{"a": "\\x41"}',
  '{"a": "unterminated}',
  '{"a" 1}',
  '{"a":1}{"b":2}',
  "null null",
  "tru",
  '"just a string"',
  "12345",
  "-",
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
];

/** Raw JSON number texts that JavaScript cannot hold exactly, or at all. */
const HUGE_NUMBERS = [
  "1e999",
  "-1e999",
  "123456789012345678901234567890",
  "-0",
  "1.0000000000000000000000001",
  "9007199254740993",
  "4.9e-324",
  "1e-400",
  "2147483648",
  "-2147483649",
];

/** JSON string literals with awkward content. */
const AWKWARD_STRINGS = [
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u0000"',
  '"\\u202e"',
  '"😀"',
  '"ñ"',
  `"${"s".repeat(300)}"`,
  `"${"s".repeat(70_000)}"`,
  '"<script>alert(1)</script>"',
  '"{{fields.title}}"',
  '"http://127.0.0.1:1/"',
  '"javascript:alert(1)"',
  '"http://[::1]/"',
  '"http://169.254.169.254/"',
  '"ftp://x"',
];

/** Bytes that are not valid UTF-8: lone continuation, overlong, surrogate, truncated. */
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xc3],
];

const encoder = new TextEncoder();

export class RequestFuzzer {
  private readonly random: () => number;

  /**
   * @param extremeNesting also send now and then bodies nested 10,000 and 100,000 levels deep,
   *   not just up to 5,000 (slow to refuse while the server pretty-prints them in its errors).
   */
  constructor(
    seed: number,
    private readonly operations: Operation[],
    private readonly fixtures: FuzzFixtures,
    private readonly extremeNesting = false,
  ) {
    this.random = seededRandom(seed);
  }

  /** The next malformed (or, now and then, valid) request. */
  next(index: number): FuzzRequest {
    const operation = this.pick(this.operations);
    const method = this.chance(0.8) ? operation.method : this.pick(METHODS);
    const path = this.chance(0.06) ? this.pick(JUNK_PATHS) : this.fillPath(operation, method);
    const request: FuzzRequest = {
      index,
      method,
      path: `${path}${this.query(operation)}`,
      key: this.key(),
      headers: {},
      bodyKind: "none",
    };
    if (request.key === "garbage") request.garbageKey = this.pick(GARBAGE_KEYS);
    const canHaveBody = method !== "GET" && method !== "HEAD";
    const wantsBody = operation.example !== undefined;
    if (canHaveBody && (wantsBody ? this.chance(0.9) : this.chance(0.25))) {
      const [kind, body] = this.body(operation);
      request.bodyKind = kind;
      request.body = body;
      request.headers["content-type"] = "application/json";
    }
    if (this.chance(0.3)) {
      const type = this.pick(CONTENT_TYPES);
      if (this.chance(0.2)) delete request.headers["content-type"];
      else request.headers["content-type"] = type;
    }
    if (request.bodyKind.startsWith("form") || request.bodyKind.startsWith("multipart")) {
      request.headers["content-type"] = request.bodyKind.startsWith("form")
        ? "application/x-www-form-urlencoded"
        : "multipart/form-data; boundary=fuzzboundary";
    }
    if (this.chance(0.05)) request.headers["content-encoding"] = this.pick(["gzip", "br", "zz"]);
    if (this.chance(0.05)) {
      request.headers["x-request-id"] = this.pick(["short", "ok-request-id-123", "x".repeat(65)]);
    }
    if (this.chance(0.05)) request.headers.accept = this.pick(["text/html", "*/*", "garbage"]);
    return request;
  }

  private chance(probability: number): boolean {
    return this.random() < probability;
  }

  private int(below: number): number {
    return Math.floor(this.random() * below);
  }

  private pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  private key(): FuzzKey {
    const roll = this.random();
    if (roll < 0.1) return "none";
    if (roll < 0.2) return "garbage";
    if (roll < 0.32) return "read";
    if (roll < 0.4) return "other";
    return "write";
  }

  private fillPath(operation: Operation, method: string): string {
    const { fixtures } = this;
    return operation.template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      if (this.chance(0.35)) return this.pick(JUNK_SEGMENTS);
      switch (name) {
        case "id":
          if (method === "DELETE") return this.pick(fixtures.disposableWebhookIds);
          return this.chance(0.85) ? fixtures.webhookId : fixtures.otherWorkspaceWebhookId;
        case "eventId":
          return fixtures.deliveryId;
        case "key":
        case "contentTypeId":
          return this.chance(0.5) ? fixtures.contentTypeKey : `fuzz_${this.int(20)}`;
        case "name":
          return this.pick(["strapi", "nope", "x"]);
        default:
          return this.pick(JUNK_SEGMENTS);
      }
    });
  }

  private query(operation: Operation): string {
    if (this.chance(0.5)) return "";
    const names = [...operation.queryNames, "page", "pageSize", "status", "cursor", "ordering"];
    const parts: string[] = [];
    for (let i = 1 + this.int(4); i > 0; i--) {
      const name = this.chance(0.75) ? this.pick(names) : this.pick(JUNK_QUERY_NAMES);
      const value = this.chance(0.15) ? String(this.int(200) - 50) : this.pick(JUNK_VALUES);
      parts.push(this.chance(0.1) ? name : `${name}=${value}`);
    }
    return `?${parts.join(this.chance(0.9) ? "&" : ";")}`;
  }

  /** A valid body for the operation, as a starting point for mutations. */
  private validBody(operation: Operation): unknown {
    if (operation.template === "/webhooks" || operation.template === "/webhooks/") {
      return this.fixtures.webhookBody;
    }
    if (operation.template.endsWith("/import")) return this.fixtures.importBody;
    return operation.example ?? {};
  }

  private body(operation: Operation): [string, Uint8Array] {
    const valid = structuredClone(this.validBody(operation));
    const roll = this.random();
    if (roll < 0.12) return ["valid", json(valid)];
    if (roll < 0.42) return ["mutated", json(this.mutate(valid))];
    if (roll < 0.5) return ["random JSON", json(this.randomValue(4))];
    if (roll < 0.56) return ["deep nesting", encoder.encode(this.deep())];
    if (roll < 0.7) {
      if (this.chance(0.5)) return ["malformed JSON", encoder.encode(this.pick(MALFORMED_JSON))];
      const text = JSON.stringify(valid);
      return ["truncated JSON", encoder.encode(text.slice(0, this.int(text.length)))];
    }
    if (roll < 0.78) return ["invalid UTF-8", this.invalidUtf8(JSON.stringify(valid))];
    if (roll < 0.86) return ["raw literal", encoder.encode(this.rawLiteral(valid))];
    if (roll < 0.93) {
      return this.chance(0.5)
        ? ["form", encoder.encode(formBody(valid))]
        : ["multipart", encoder.encode(multipartBody(valid))];
    }
    if (roll < 0.94) return ["oversized", this.oversized()];
    return ["random bytes", Uint8Array.from({ length: this.int(300) }, () => this.int(256))];
  }

  private mutate(value: unknown): unknown {
    if (!isRecord(value)) return this.randomValue(3);
    const keys = Object.keys(value);
    for (let i = 1 + this.int(3); i > 0; i--) {
      const roll = this.random();
      const key =
        keys.length > 0 && roll < 0.8 ? this.pick(keys) : this.pick(["x", "id", "__proto__"]);
      const current = Object.hasOwn(value, key) ? value[key] : undefined;
      if (roll < 0.2) delete value[key];
      // An own property even for `__proto__`, so that it is sent (and the client's own
      // prototypes stay untouched: the app under test shares this process).
      else
        setOwn(
          value,
          key,
          roll < 0.5 && isRecord(current) ? this.mutate(current) : this.randomValue(2),
        );
    }
    return value;
  }

  private randomValue(depth: number): unknown {
    const roll = this.int(depth > 0 ? 14 : 11);
    switch (roll) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.int(10) - 2;
      case 3:
        return this.pick([1e308, -1e308, 2 ** 64, -(2 ** 63), 0.1, -0, 4.9e-324, 2 ** 53 + 1]);
      case 4:
        return "";
      case 5:
        return this.pick(["x", "0", "true", "null", "ñ😀", "\u0000", "\ud800", "\u202e"]);
      case 6:
        return "s".repeat(this.pick([1, 101, 201, 2001, 100_000]));
      case 7:
        return this.pick(["published", "preview", "manual", "automatic", "basic", "json"]);
      case 8:
        return this.pick(["ops@example.com", "not an address", "a@b", "@", "a,b,,"]);
      case 9:
        return this.pick(["https://", "not a url", "/relative", "http://127.0.0.1:1/hook"]);
      case 10:
        return [];
      case 11:
        return Array.from({ length: this.int(4) }, () => this.randomValue(depth - 1));
      case 12:
        return Object.fromEntries(
          Array.from({ length: this.int(4) }, (_, i) => [
            this.pick(["a", "article", "*", "type", `k${i}`, "__proto__", ""]),
            this.randomValue(depth - 1),
          ]),
        );
      default:
        return { type: this.pick(["none", "basic", "bearer", "oauth2", "x"]) };
    }
  }

  private deep(): string {
    const depth =
      this.extremeNesting && this.chance(0.05)
        ? this.pick([10_000, 100_000])
        : this.pick([65, 200, 1000, 5000]);
    if (this.chance(0.5)) return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    const inner = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    return this.chance(0.5)
      ? inner
      : `{"fields":${inner},"eventType":0,"contentType":"a","contentId":"c"}`;
  }

  private invalidUtf8(text: string): Uint8Array {
    const bytes = [...encoder.encode(text)];
    for (let i = 1 + this.int(3); i > 0; i--) {
      bytes.splice(
        this.int(bytes.length + 1),
        this.chance(0.5) ? 1 : 0,
        ...this.pick(INVALID_UTF8),
      );
    }
    return Uint8Array.from(bytes);
  }

  /** The valid body's text with one value replaced by a raw number or string literal. */
  private rawLiteral(valid: unknown): string {
    const literal = this.chance(0.5) ? this.pick(HUGE_NUMBERS) : this.pick(AWKWARD_STRINGS);
    if (!isRecord(valid) || Object.keys(valid).length === 0) return literal;
    const key = this.pick(Object.keys(valid));
    const rest = Object.entries(valid)
      .filter(([name]) => name !== key)
      .map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
    return `{${[...rest, `${JSON.stringify(key)}:${literal}`].join(",")}}`;
  }

  private oversized(): Uint8Array {
    const size = this.fixtures.maxBodyBytes + this.pick([1, 1024, 512 * 1024]);
    const text = `{"endpoint":"${"a".repeat(size)}"}`;
    return encoder.encode(this.chance(0.5) ? text : text.slice(0, size));
  }
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value) ?? "null");
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formBody(value: unknown): string {
  if (!isRecord(value)) return "value=1";
  return new URLSearchParams(
    Object.entries(value).map(([name, item]): [string, string] => [
      name,
      typeof item === "string" ? item : String(JSON.stringify(item)),
    ]),
  ).toString();
}

function multipartBody(value: unknown): string {
  const entries = isRecord(value) ? Object.entries(value) : [["value", value]];
  const parts = entries.map(
    ([name, item]) =>
      `--fuzzboundary\r\nContent-Disposition: form-data; name="${String(name)}"\r\n\r\n` +
      `${typeof item === "string" ? item : JSON.stringify(item)}\r\n`,
  );
  return `${parts.join("")}--fuzzboundary--\r\n`;
}

/** A request as raw bytes, for what `fetch` refuses to send (raw non-UTF-8, broken framing). */
export function rawRequest(...parts: (string | number[])[]): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) bytes.push(...(typeof part === "string" ? encoder.encode(part) : part));
  return Uint8Array.from(bytes);
}

export interface RawAnswer {
  /** The status code, or null when the connection closed without an answer. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` to a new connection and reads until the server closes it (or `timeoutMs`
 * passes), then parses the first response (by its Content-Length). Send `Connection: close`
 * to get a prompt close.
 */
export async function sendRaw(
  url: string,
  bytes: Uint8Array,
  timeoutMs = 2000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const { promise, resolve } = Promise.withResolvers<void>();
  const chunks: Uint8Array[] = [];
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      open: (opened) => {
        opened.write(bytes);
      },
      data: (_socket, chunk) => {
        chunks.push(chunk);
      },
      close: () => resolve(),
      error: () => resolve(),
    },
  });
  const timer = setTimeout(resolve, timeoutMs);
  await promise;
  clearTimeout(timer);
  socket.end();
  return parseFirstResponse(Buffer.concat(chunks));
}

/** The first HTTP/1.1 response in `bytes` (a kept-alive connection may carry a second). */
export function parseFirstResponse(bytes: Buffer): RawAnswer {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return { status: null, headers: {}, body: "" };
  const [statusLine = "", ...headerLines] = bytes
    .subarray(0, headEnd)
    .toString("latin1")
    .split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = bytes.subarray(headEnd + 4, headEnd + 4 + length).toString("utf8");
  return { status: status ? Number(status) : null, headers, body };
}
