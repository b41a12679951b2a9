/**
 * A fuzz run of malformed API requests against a listening server (SPEC §3: "bad input never
 * gives a 500"). Thousands of requests from a seeded PRNG (the seed is printed; set
 * `HOOKPOST_FUZZ_SEED` to replay a run) across every route and method of `/swagger/json`, and
 * some it does not list. Every answer is below 500 and carries `X-Request-Id`; every error is
 * the envelope; afterwards `/health` is 200, a delivery still goes out, and the database holds
 * exactly what the accepted requests created — no more.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import {
  type FuzzKey,
  type FuzzRequest,
  operationsOf,
  RequestFuzzer,
  rawRequest,
  sendRaw,
} from "../helpers/reliability-fuzz.ts";
import { deferredCleanups, FULL_SCALE, scaled } from "../helpers/reliability-harness.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

const defer = deferredCleanups(afterAll);

const REQUESTS = scaled(2000, 10_000);
const SEED = process.env.HOOKPOST_FUZZ_SEED
  ? Number(process.env.HOOKPOST_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 32);
/** One request that takes longer than this is a failure (a hang), not a slow answer. */
const REQUEST_DEADLINE_MS = 10_000;

interface Outcome {
  request: FuzzRequest;
  status: number;
  requestId: string | null;
  text: string;
}

/** What the accepted requests created, by workspace, read from their answers. */
class ExpectedState {
  readonly webhooks = new Map<string, Set<string>>();
  readonly deletedWebhooks = new Set<string>();
  readonly contentTypes = new Map<string, Set<string>>();
  readonly events = new Map<string, Set<string>>();
  readonly deliveries = new Map<string, Set<string>>();

  private of(map: Map<string, Set<string>>, workspace: string): Set<string> {
    let set = map.get(workspace);
    if (!set) {
      set = new Set();
      map.set(workspace, set);
    }
    return set;
  }

  add(kind: "webhooks" | "contentTypes" | "events" | "deliveries", workspace: string, id: string) {
    this.of(this[kind], workspace).add(id);
  }

  removeContentType(workspace: string, key: string) {
    this.of(this.contentTypes, workspace).delete(key);
  }

  /** Reads a 2xx answer: webhooks made or deleted, content types, events, deliveries. */
  record(outcome: Outcome, workspace: string) {
    const body = parse(outcome.text);
    if (!isRecord(body)) return;
    const { method } = outcome.request;
    const id = typeof body.id === "string" ? body.id : "";
    if (method === "DELETE" && body.deleted === true) {
      if (id.startsWith("wh_")) this.deletedWebhooks.add(id);
      if (typeof body.key === "string") this.removeContentType(workspace, body.key);
      return;
    }
    if (id.startsWith("wh_") && typeof body.endpoint === "string")
      this.add("webhooks", workspace, id);
    const imported = isRecord(body.webhook) ? body.webhook.id : undefined;
    if (typeof imported === "string") this.add("webhooks", workspace, imported);
    if (method === "PUT" && typeof body.key === "string" && Array.isArray(body.fields)) {
      this.add("contentTypes", workspace, body.key);
    }
    if (typeof body.eventId === "string" && Array.isArray(body.deliveries)) {
      this.add("events", workspace, body.eventId);
      for (const delivery of body.deliveries) {
        if (isRecord(delivery) && typeof delivery.deliveryId === "string") {
          this.add("deliveries", workspace, delivery.deliveryId);
        }
      }
    }
    // A delivery made by retry or generate-sample (the latter with an event of its own).
    if (method === "POST" && id.startsWith("dlv_")) {
      this.add("deliveries", workspace, id);
      if (typeof body.eventId === "string") this.add("events", workspace, body.eventId);
    }
    if (Array.isArray(body.deliveryIds)) {
      for (const delivery of body.deliveryIds) {
        if (typeof delivery === "string") this.add("deliveries", workspace, delivery);
      }
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why an answer breaks the contract, or null when it keeps it. */
function violation(outcome: Outcome): string | null {
  if (outcome.status >= 500) return `status ${outcome.status}`;
  if (!outcome.requestId) return "no X-Request-Id header";
  if (outcome.status < 400 || outcome.request.method === "HEAD") return null;
  const body = parse(outcome.text);
  const error = isRecord(body) ? body.error : undefined;
  const meta = isRecord(body) ? body.meta : undefined;
  const envelope =
    isRecord(error) &&
    typeof error.code === "string" &&
    typeof error.message === "string" &&
    isRecord(error.details) &&
    isRecord(meta) &&
    meta.requestId === outcome.requestId &&
    typeof meta.timestamp === "string" &&
    !Number.isNaN(Date.parse(meta.timestamp));
  return envelope ? null : "error answer is not the envelope";
}

/** An answer that breaks the contract in a way already known and reproduced elsewhere. */
interface KnownViolation {
  name: string;
  matches(outcome: Outcome, serverLog: string[]): boolean;
}

/**
 * Not Hookpost's answer at all: Bun's HTTP parser refuses a request line or headers over its
 * limit (about 16 KB) before any application code runs.
 */
const RUNTIME_REFUSAL: KnownViolation = {
  name: "request line or headers over Bun's limit: 431 from the HTTP parser",
  matches: (outcome) =>
    outcome.status === 431 &&
    outcome.requestId === null &&
    outcome.request.path.length +
      (outcome.request.garbageKey?.length ?? 0) +
      JSON.stringify(outcome.request.headers).length >
      16_000,
};

const BUILT_IN_PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype];
const PRISTINE_KEYS = BUILT_IN_PROTOTYPES.map((prototype) => new Set(Reflect.ownKeys(prototype)));

/**
 * The app runs in this process: a request that added a property to `Object.prototype` (or
 * `Array`'s, `Function`'s) polluted the server. Reported, then undone so the run can go on.
 */
function pollution(): string | null {
  const added: string[] = [];
  BUILT_IN_PROTOTYPES.forEach((prototype, index) => {
    for (const key of Reflect.ownKeys(prototype)) {
      if (PRISTINE_KEYS[index]?.has(key)) continue;
      added.push(String(key));
      Reflect.deleteProperty(prototype, key);
    }
  });
  return added.length > 0 ? `polluted a built-in prototype with ${added.join(", ")}` : null;
}

function describeRequest(request: FuzzRequest): string {
  const body = request.body ? new TextDecoder().decode(request.body.subarray(0, 200)) : "";
  return (
    `#${request.index} ${request.method} ${request.path.slice(0, 200)} key=${request.key}` +
    `${request.garbageKey !== undefined ? `(${JSON.stringify(request.garbageKey.slice(0, 40))})` : ""} ` +
    `headers=${JSON.stringify(request.headers)} body[${request.bodyKind}, ${request.body?.byteLength ?? 0} B]=${JSON.stringify(body)}`
  );
}

/** A running app with real objects for the requests to reach, and what it held before. */
interface Target {
  t: TestApp;
  baseUrl: string;
  fuzzer: RequestFuzzer;
  expected: ExpectedState;
}

async function startTarget(): Promise<Target> {
  const t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    HOOKPOST_RETRY_BASE_MS: "50",
    HOOKPOST_RETRY_MAX_DELAY_MS: "300",
    HOOKPOST_MAX_ATTEMPTS: "2",
  });
  defer(() => t.close());
  // Every endpoint the fuzz can set is this receiver or refused: nothing leaves the machine.
  const receiver = startReceiver();
  defer(() => receiver.stop());
  const baseUrl = await t.app.start();

  const webhookBody = { endpoint: `${receiver.url}/hook`, eventTypes: { article: [0, 1] } };
  const main = await createWebhook(t, webhookBody);
  const disposable = [
    (await createWebhook(t, webhookBody)).id,
    (await createWebhook(t, webhookBody)).id,
  ];
  const otherWorkspace = await createWebhook(t, webhookBody, t.keys.other);
  const article = await t.request("PUT", "/content-types/article", {
    key: t.keys.write,
    json: { name: "Article", fields: ["title"] },
  });
  expect(article.status).toBe(200);
  const published = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "article", contentId: "c1" },
  });
  expect(published.status).toBe(202);
  const [delivery] = (published.body as { deliveries: { deliveryId: string }[] }).deliveries;
  const exported = await t.request("GET", `/webhooks/${main.id}/export`, { key: t.keys.read });
  expect(exported.status).toBe(200);
  const operations = operationsOf(await (await fetch(`${baseUrl}/swagger/json`)).json());
  expect(operations.length).toBeGreaterThan(20);

  const expected = new ExpectedState();
  for (const [workspace, ids] of Object.entries(await storedIds(t))) {
    for (const [kind, list] of Object.entries(ids)) {
      for (const id of list) expected.add(kind as keyof StoredIds, workspace, id);
    }
  }
  const fuzzer = new RequestFuzzer(
    SEED,
    operations,
    {
      webhookId: main.id,
      disposableWebhookIds: disposable,
      otherWorkspaceWebhookId: otherWorkspace.id,
      deliveryId: delivery?.deliveryId ?? "dlv_none",
      contentTypeKey: "article",
      webhookBody,
      importBody: exported.body as Record<string, unknown>,
      maxBodyBytes: MAX_BODY_BYTES,
    },
    FULL_SCALE,
  );
  return { t, baseUrl, fuzzer, expected };
}

interface StoredIds {
  webhooks: string[];
  contentTypes: string[];
  events: string[];
  deliveries: string[];
}

/** Every stored object's id (a content type's key), by workspace, sorted. */
async function storedIds(t: TestApp): Promise<Record<string, StoredIds>> {
  const db = t.app.store.db;
  const out: Record<string, StoredIds> = {};
  const add = (kind: keyof StoredIds, rows: { workspace: string; id: string }[]) => {
    for (const row of rows) {
      out[row.workspace] ??= { webhooks: [], contentTypes: [], events: [], deliveries: [] };
      out[row.workspace]?.[kind].push(row.id);
    }
  };
  add("webhooks", await db.selectFrom("webhooks").select(["workspace", "id"]).execute());
  add(
    "contentTypes",
    await db.selectFrom("content_types").select(["workspace", "key as id"]).execute(),
  );
  add("events", await db.selectFrom("events").select(["workspace", "id"]).execute());
  add("deliveries", await db.selectFrom("deliveries").select(["workspace", "id"]).execute());
  for (const ids of Object.values(out)) for (const list of Object.values(ids)) list.sort();
  return out;
}

type Sent =
  | { kind: "answered"; outcome: Outcome; ms: number }
  | { kind: "unsendable"; reason: string }
  | { kind: "no answer"; reason: string };

async function send(target: Target, request: FuzzRequest): Promise<Sent> {
  const { t, baseUrl } = target;
  const keys: Record<FuzzKey, string | undefined> = {
    write: t.keys.write,
    read: t.keys.read,
    other: t.keys.other,
    none: undefined,
    garbage: request.garbageKey,
  };
  const headers = new Headers();
  try {
    for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
    const key = keys[request.key];
    if (key !== undefined) headers.set("x-api-key", key);
  } catch (error) {
    return { kind: "unsendable", reason: String(error) };
  }
  const sentAt = performance.now();
  try {
    const response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers,
      body: request.body,
      signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
    });
    const text = await response.text();
    return {
      kind: "answered",
      ms: performance.now() - sentAt,
      outcome: {
        request,
        status: response.status,
        requestId: response.headers.get("x-request-id"),
        text,
      },
    };
  } catch (error) {
    // fetch refusing to build the request (a TypeError without a system error code) is the
    // client's doing; anything else (reset, timeout) is the server's.
    if (error instanceof TypeError && !("code" in error)) {
      return { kind: "unsendable", reason: String(error) };
    }
    return { kind: "no answer", reason: String(error) };
  }
}

const WORKSPACE_OF_KEY: Record<FuzzKey, string> = {
  write: "default",
  read: "default",
  other: "other",
  none: "-",
  garbage: "-",
};

describe(`fuzzing the API with ${REQUESTS} malformed requests`, () => {
  let target: Target;
  const failures: string[] = [];
  const unsendable: string[] = [];

  beforeAll(
    async () => {
      console.log(
        `fuzz seed ${SEED} (replay: HOOKPOST_FUZZ_SEED=${SEED}${FULL_SCALE ? " HOOKPOST_RELIABILITY_SCALE=full" : ""} bun test test/reliability/fuzz.test.ts)`,
      );
      target = await startTarget();
      const { t, fuzzer, expected } = target;
      const statuses = new Map<number, number>();
      const knownCounts = new Map<string, number>();
      const slowest: { ms: number; request: FuzzRequest }[] = [];
      const started = performance.now();
      for (let index = 0; index < REQUESTS; index++) {
        const request = fuzzer.next(index);
        const sent = await send(target, request);
        if (sent.kind === "unsendable") {
          unsendable.push(`${describeRequest(request)}: ${sent.reason}`);
          continue;
        }
        if (sent.kind === "no answer") {
          failures.push(`${describeRequest(request)} → no answer: ${sent.reason}`);
          continue;
        }
        const { outcome } = sent;
        slowest.push({ ms: sent.ms, request });
        slowest.sort((a, b) => b.ms - a.ms).splice(3);
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        const problem = violation(outcome) ?? pollution();
        const known = problem
          ? [RUNTIME_REFUSAL].find((item) => item.matches(outcome, t.logLines))
          : undefined;
        if (known) knownCounts.set(known.name, (knownCounts.get(known.name) ?? 0) + 1);
        else if (problem) {
          failures.push(
            `${describeRequest(request)} → ${problem}: ${outcome.status} ${outcome.text.slice(0, 300)}`,
          );
        }
        if (outcome.status >= 200 && outcome.status < 300) {
          expected.record(outcome, WORKSPACE_OF_KEY[request.key]);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const byStatus = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join(" ");
      console.log(
        `fuzz: ${REQUESTS} requests in ${seconds.toFixed(1)} s (seed ${SEED}); by status: ${byStatus}; ` +
          `${unsendable.length} the client would not send; ${failures.length} failures`,
      );
      for (const [name, count] of knownCounts)
        console.log(`  known, not failed on: ${count}× ${name}`);
      const slow = slowest.map(
        ({ ms, request }) =>
          `${Math.round(ms)} ms #${request.index} ${request.method} ${request.path.slice(0, 60)} [${request.bodyKind}]`,
      );
      console.log(`  slowest: ${slow.join("; ")}`);
      if (failures.length > 0) {
        console.log(failures.slice(0, 30).join("\n"));
        const errors = t.logLines.filter((line) => line.includes('"level":"error"'));
        console.log(`server error log:\n${errors.slice(0, 30).join("")}`);
      }
    },
    scaled(60_000, 300_000),
  );

  test("every answer is below 500 with X-Request-Id, and every error is the envelope", () => {
    expect(failures).toEqual([]);
    // The client refusing a request is rare; a run where many were not sent proves little.
    expect(unsendable.length).toBeLessThan(REQUESTS / 20);
  });

  test("the database holds exactly what the accepted requests created", async () => {
    const { expected } = target;
    const wanted = (workspace: string): StoredIds => {
      const of = (map: Map<string, Set<string>>, except = new Set<string>()) =>
        [...(map.get(workspace) ?? [])].filter((id) => !except.has(id)).sort();
      return {
        webhooks: of(expected.webhooks, expected.deletedWebhooks),
        contentTypes: of(expected.contentTypes),
        events: of(expected.events),
        deliveries: of(expected.deliveries),
      };
    };
    const stored = await storedIds(target.t);
    for (const workspace of new Set(["default", "other", ...Object.keys(stored)])) {
      const none = { webhooks: [], contentTypes: [], events: [], deliveries: [] };
      expect({ workspace, ...(stored[workspace] ?? none) }).toEqual({
        workspace,
        ...wanted(workspace),
      });
    }
    const counts = Object.values(stored).map((ids) =>
      Object.entries(ids).map(([kind, list]) => `${list.length} ${kind}`),
    );
    console.log(
      `stored after the fuzz, by workspace: ${counts.map((c) => c.join(", ")).join(" | ")}`,
    );
  });

  test("afterwards /health is 200 over the socket and a new delivery still goes out", async () => {
    const { t, baseUrl } = target;
    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
    const healthy = startReceiver();
    defer(() => healthy.stop());
    await createWebhook(t, { endpoint: healthy.url, eventTypes: { afterfuzz: [0] } });
    const accepted = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType: "afterfuzz", contentId: "c1" },
    });
    expect(accepted.status).toBe(202);
    const [delivery] = (accepted.body as { deliveries: { deliveryId: string }[] }).deliveries;
    const deliveryId = delivery?.deliveryId ?? "";
    await waitFor("the delivery after the fuzz to be Sent", async () => {
      const row = await t.app.store.db
        .selectFrom("deliveries")
        .select("process_status")
        .where("id", "=", deliveryId)
        .executeTakeFirst();
      return row?.process_status === ProcessStatus.Sent;
    });
    expect(healthy.requests.map((request) => request.headers.get("webhook-id"))).toEqual([
      deliveryId,
    ]);
  });
});

interface RawCase {
  name: string;
  bytes: (key: string) => Uint8Array;
  /**
   * `app`: Hookpost answers, below 500, with the envelope. A number or null: Bun's HTTP parser
   * refuses the request before any application code runs (no X-Request-Id) with that status,
   * or (null) closes the connection without an answer.
   */
  answer: "app" | number | null;
}

const RAW_CASES: RawCase[] = [
  {
    name: "raw 0xFF 0xFE bytes in a webhook id",
    bytes: (key) =>
      rawRequest(
        "GET /webhooks/",
        [0xff, 0xfe],
        ` HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\n`,
        "Connection: close\r\n\r\n",
      ),
    answer: "app",
  },
  {
    name: "raw 0xFF in a query value",
    bytes: (key) =>
      rawRequest(
        "GET /webhooks?ordering=",
        [0xff],
        ` HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nConnection: close\r\n\r\n`,
      ),
    answer: "app",
  },
  {
    name: "raw 0xFF 0x80 as the API key",
    bytes: () =>
      rawRequest(
        "GET /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ",
        [0xff, 0x80],
        "\r\nConnection: close\r\n\r\n",
      ),
    answer: "app",
  },
  {
    name: "raw 0xFF in Content-Type",
    bytes: (key) =>
      rawRequest(
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Type: application/json`,
        [0xff],
        "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
      ),
    answer: "app",
  },
  {
    name: "a truncated percent-escape in the path",
    bytes: (key) =>
      rawRequest(
        `GET /webhooks/%E0%A4%A HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nConnection: close\r\n\r\n`,
      ),
    answer: "app",
  },
  {
    name: "a UTF-8-encoded lone surrogate in a JSON body",
    bytes: (key) => {
      const body = rawRequest(
        '{"eventType":0,"contentType":"a","contentId":"',
        [0xed, 0xa0, 0x80],
        '"}',
      );
      const head = `POST /events HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n`;
      return rawRequest(head, [...body]);
    },
    answer: "app",
  },
  {
    name: "an absolute-form target naming another host",
    bytes: () =>
      rawRequest(
        "GET http://elsewhere.example/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      ),
    answer: "app",
  },
  { name: "no Host header", bytes: () => rawRequest("GET /health HTTP/1.1\r\n\r\n"), answer: 400 },
  {
    name: "a negative Content-Length",
    bytes: (key) =>
      rawRequest(
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Length: -1\r\n\r\n{}`,
      ),
    answer: 400,
  },
  {
    name: "two different Content-Lengths",
    bytes: (key) =>
      rawRequest(
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      ),
    answer: 400,
  },
  {
    name: "a chunk size that is not hex",
    bytes: (key) =>
      rawRequest(
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      ),
    // Hookpost gets the request and reads the body (every body is read before routing); at the
    // bad chunk Bun's parser answers 400 itself and closes the connection.
    answer: 400,
  },
  {
    name: "Content-Length and chunked together (request smuggling)",
    bytes: (key) =>
      rawRequest(
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      ),
    answer: 400,
  },
  {
    name: "a TLS ClientHello on the plain-HTTP port",
    bytes: () =>
      rawRequest([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03], "\r\n\r\n"),
    answer: 400,
  },
  {
    name: "a header line without a colon",
    bytes: () => rawRequest("GET /health HTTP/1.1\r\nHost: h\r\nBroken header\r\n\r\n"),
    answer: 400,
  },
  {
    name: "a NUL byte in a header value",
    bytes: () => rawRequest("GET /health HTTP/1.1\r\nHost: h\r\nX-A: a", [0], "b\r\n\r\n"),
    answer: 400,
  },
  // Bun's parser, not Hookpost: bare-LF line endings get "505 HTTP Version Not Supported".
  {
    name: "bare LF line endings",
    bytes: () => rawRequest("GET /health HTTP/1.1\nHost: h\n\n"),
    answer: 505,
  },
  {
    name: "a lower-case method",
    bytes: () => rawRequest("get /health HTTP/1.1\r\nHost: h\r\n\r\n"),
    answer: null,
  },
];

describe("requests fetch cannot send, as raw bytes on a socket", () => {
  let t: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    t = await createTestApp();
    defer(() => t.close());
    baseUrl = await t.app.start();
  });

  for (const rawCase of RAW_CASES) {
    const expected =
      rawCase.answer === "app"
        ? "reaches Hookpost: a 4xx envelope or a normal answer"
        : rawCase.answer === null
          ? "is dropped by Bun's parser without an answer"
          : `is refused by Bun's parser with ${rawCase.answer}`;
    test(`${rawCase.name} ${expected}`, async () => {
      const answer = await sendRaw(baseUrl, rawCase.bytes(t.keys.write));
      if (rawCase.answer === "app") {
        expect(answer.status).not.toBeNull();
        const outcome: Outcome = {
          request: {
            index: 0,
            method: "GET",
            path: "",
            key: "write",
            headers: {},
            bodyKind: "raw",
          },
          status: answer.status ?? 0,
          requestId: answer.headers["x-request-id"] ?? null,
          text: answer.body,
        };
        expect(violation(outcome)).toBeNull();
      } else {
        expect({ status: answer.status, requestId: answer.headers["x-request-id"] }).toEqual({
          status: rawCase.answer,
          requestId: undefined,
        });
      }
    });
  }

  test("afterwards /health is still 200", async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });
});
