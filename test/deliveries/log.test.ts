/**
 * The delivery log as a contract (seed 000, with seed 002's status-code range, seed 003's
 * cursor and seed 004's state): paging newest first, every filter and its bounds, keyset
 * paging, one delivery, its attempts, a deleted webhook's log, and the auth matrix.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import {
  createWebhook,
  expectErrorEnvelope,
  freshBody,
  runScenarios,
} from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { deliveryOf, iso, publish, setDelivery, takeInFlight } from "./helpers.ts";

interface LogPage {
  items: { id: string }[];
  page: number | null;
  pageSize: number;
  total: number;
  nextCursor: string | null;
}

const BASE = Date.UTC(2025, 4, 15, 12, 0, 0);
const MINUTE = 60_000;

describe("GET /webhooks/{id}/events", () => {
  let app: TestApp;
  let webhook = "";
  let otherWebhook = "";
  /** Webhook `webhook`'s deliveries, oldest first; d[i] was inserted at BASE + i minutes. */
  const d: string[] = [];
  let otherWebhookDelivery = "";

  const get = async (query: string, key?: string) =>
    app.request("GET", `/webhooks/${webhook}/events${query}`, { key: key ?? app.keys.read });
  const ids = async (query: string) => {
    const response = await get(query);
    expect(response.status).toBe(200);
    return (response.body as LogPage).items.map((item) => item.id);
  };

  beforeAll(async () => {
    app = await createTestApp();
    webhook = (await createWebhook(app, { eventTypes: { article: [0, 1, 2], page: [0] } })).id;
    otherWebhook = (await createWebhook(app, { eventTypes: { article: [0] } })).id;
    const events = [
      { eventType: 0, contentType: "article", contentId: "c0", fields: { title: "Zero" } },
      { eventType: 1, contentType: "article", contentId: "c1" },
      { eventType: 0, contentType: "page", contentId: "p2", translations: { it: "Ciao" } },
      { eventType: 2, contentType: "article", contentId: "c3" },
      { eventType: 0, contentType: "article", contentId: "c4" },
    ];
    for (const [index, event] of events.entries()) {
      const published = await publish(app, event);
      const id = deliveryOf(published, webhook);
      d.push(id);
      await setDelivery(app, id, { created_at: BASE + index * MINUTE });
      if (index === 0) otherWebhookDelivery = deliveryOf(published, otherWebhook);
    }
    // d0 stays pending; the others take the states the scheduler would give them.
    await setDelivery(app, d[1] ?? "", {
      process_status: ProcessStatus.Sent,
      attempts: 1,
      response_status_code: 200,
      response_message: "OK",
      duration_ms: 12,
      signature: "t=1,s=abc",
      updated_at: BASE + MINUTE + 500,
    });
    await setDelivery(app, d[2] ?? "", {
      process_status: ProcessStatus.Error,
      attempts: 10,
      response_status_code: 502,
      response_message: "Bad Gateway",
      last_error: "HTTP 502",
      duration_ms: 184,
      signature: "t=2,s=def",
      updated_at: BASE + 2 * MINUTE + 2000,
    });
    await setDelivery(app, d[3] ?? "", {
      process_status: ProcessStatus.Waiting,
      attempts: 2,
      response_status_code: 503,
      last_error: "HTTP 503",
      next_attempt_at: BASE + 10 * MINUTE,
    });
    await setDelivery(app, d[4] ?? "", { attempts: 1, response_status_code: 404 });
    await takeInFlight(app, webhook, d[4] ?? "");
  });
  afterAll(async () => {
    await app.close();
  });

  const newestFirst = () => [...d].reverse();

  test("lists the webhook's deliveries newest first, with the total and no next cursor", async () => {
    const response = await get("");
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      page: 1,
      pageSize: 20,
      total: 5,
      nextCursor: null,
    });
    expect((response.body as LogPage).items.map((item) => item.id)).toEqual(newestFirst());
    expect(response.text).not.toContain(otherWebhookDelivery);
  });

  test("an entry carries every WebhookEventLogModel field", async () => {
    const response = await get("?status=-1");
    const [entry] = (freshBody(response) as { items: unknown[] }).items;
    expect(entry).toEqual({
      id: d[2] ?? "",
      webhookId: webhook,
      eventId: expect.stringMatching(/^evt_/),
      retryOf: null,
      dateInsert: iso(BASE + 2 * MINUTE),
      lastUpdate: iso(BASE + 2 * MINUTE + 2000),
      eventType: 0,
      contentId: "p2",
      contentType: "page",
      fields: {},
      translations: { it: "Ciao" },
      customPayload: null,
      processStatus: -1,
      state: "exhausted",
      responseStatusCode: 502,
      isResponseSuccessStatusCode: false,
      responseMessage: "Bad Gateway",
      lastError: "HTTP 502",
      attempts: 10,
      maxAttempts: 10,
      nextAttemptAt: null,
      durationMs: 184,
      signature: "t=2,s=def",
    });
  });

  test("state follows status and attempts; nextAttemptAt only while Waiting", async () => {
    const response = await get("");
    const byId = new Map(
      (
        freshBody(response) as {
          items: {
            id: string;
            state: string;
            nextAttemptAt: string | null;
            isResponseSuccessStatusCode: boolean;
          }[];
        }
      ).items.map((item) => [item.id, item]),
    );
    expect(byId.get(d[0] ?? "")).toMatchObject({
      state: "pending",
      nextAttemptAt: expect.any(String),
    });
    expect(byId.get(d[1] ?? "")).toMatchObject({
      state: "success",
      nextAttemptAt: null,
      isResponseSuccessStatusCode: true,
    });
    expect(byId.get(d[3] ?? "")).toMatchObject({
      state: "retrying",
      nextAttemptAt: iso(BASE + 10 * MINUTE),
    });
    expect(byId.get(d[4] ?? "")).toMatchObject({ state: "processing", nextAttemptAt: null });
  });

  test("pages split the list and report the total on every page", async () => {
    const second = await get("?pageSize=2&page=2");
    expect(freshBody(second)).toMatchObject({ page: 2, pageSize: 2, total: 5 });
    expect((second.body as LogPage).items.map((item) => item.id)).toEqual(
      newestFirst().slice(2, 4),
    );
    expect((second.body as LogPage).nextCursor).toEqual(expect.any(String));
    const last = await get("?pageSize=2&page=3");
    expect((last.body as LogPage).items.map((item) => item.id)).toEqual([d[0] ?? ""]);
    expect((last.body as LogPage).nextCursor).toBeNull();
    const beyond = await get("?pageSize=2&page=4");
    expect(freshBody(beyond)).toMatchObject({ items: [], total: 5, nextCursor: null });
  });

  test.each([
    ["status=-1", [2]],
    ["status=0", [3, 0]],
    ["status=1", [4]],
    ["status=2", [1]],
    ["eventType=0", [4, 2, 0]],
    ["eventType=2", [3]],
    ["eventType=3", []],
    ["contentType=page", [2]],
    ["contentType=nothing", []],
    ["statusCodeFrom=500", [3, 2]],
    ["statusCodeFrom=500&statusCodeTo=502", [2]],
    ["statusCodeTo=299", [1]],
    ["statusCodeFrom=404&statusCodeTo=404", [4]],
    ["status=0&eventType=2", [3]],
    ["status=0&contentType=article&eventType=0", [0]],
  ])("filter %s", async (query, expected) => {
    const response = await get(`?${query}`);
    const body = response.body as LogPage;
    expect(body.items.map((item) => item.id)).toEqual(expected.map((index) => d[index] ?? ""));
    expect(body.total).toBe(expected.length);
  });

  test("from and to are inclusive bounds on the insert date", async () => {
    const from = iso(BASE + MINUTE);
    const to = iso(BASE + 3 * MINUTE);
    expect(await ids(`?from=${from}&to=${to}`)).toEqual([d[3], d[2], d[1]].map(String));
    expect(await ids(`?from=${iso(BASE + MINUTE + 1)}&to=${iso(BASE + 3 * MINUTE - 1)}`)).toEqual([
      d[2] ?? "",
    ]);
    expect(await ids(`?from=${iso(BASE + 4 * MINUTE)}`)).toEqual([d[4] ?? ""]);
    expect(await ids(`?to=${iso(BASE)}`)).toEqual([d[0] ?? ""]);
    expect(await ids(`?from=${from}&to=${from}`)).toEqual([d[1] ?? ""]);
  });

  test("from and to accept offsets: 14:01+02:00 is 12:01Z", async () => {
    expect(await ids("?from=2025-05-15T14:01:00%2B02:00&to=2025-05-15T14:01:00%2B02:00")).toEqual([
      d[1] ?? "",
    ]);
  });

  test.each([
    ["pageSize=0", "pageSize"],
    ["page=0", "page"],
    ["page=abc", "page"],
    ["page=-1", "page"],
    ["status=3", "status"],
    ["status=abc", "status"],
    ["eventType=5", "eventType"],
    ["from=yesterday", "from"],
    ["to=2026-05-15", "to"],
    ["from=2026-13-01T00:00:00Z", "from"],
    ["from=2026-02-30T00:00:00Z", "from"],
    ["from=2026-05-15T10:00:00", "from"],
    ["to=Fri May 15 2026 10:00:00 GMT%2B0000 (UTC)", "to"],
    [`from=${iso(BASE + MINUTE)}&to=${iso(BASE)}`, "from"],
    ["statusCodeFrom=99", "statusCodeFrom"],
    ["statusCodeTo=600", "statusCodeTo"],
    ["statusCodeFrom=500&statusCodeTo=400", "statusCodeFrom"],
    ["cursor=not-a-cursor", "cursor"],
    ["cursor=!!", "cursor"],
    ["cursor=", "cursor"],
  ])("%s is a 400 naming %s", async (query, field) => {
    const response = await get(`?${query}`);
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
    expect(freshBody(response)).toMatchObject({
      error: { details: { fields: [{ field }] } },
    });
    expect((response.body as { error: { message: string } }).error.message).toContain(field);
  });

  test.each(["101", "500", "99999999999999999999"])(
    "pageSize=%s is capped at 100, as seed 000 says",
    async (pageSize) => {
      const response = await get(`?pageSize=${pageSize}`);
      expect(response.status).toBe(200);
      expect(freshBody(response)).toMatchObject({ pageSize: 100, total: 5 });
    },
  );

  test.each([
    ["status=3", "status: expected one of -1, 0, 1, 2"],
    ["eventType=5", "eventType: expected one of 0, 1, 2, 3, 4"],
    [
      "state=done",
      "state: expected one of pending, processing, retrying, success, failed, exhausted",
    ],
    ["page=abc", "page: must be a whole number from 1 to 1000000000"],
    ["page=0", "page: must be a whole number from 1 to 1000000000"],
    ["pageSize=-5", "pageSize: must be a whole number from 1 to 100 (more than 100 counts as 100)"],
    ["statusCodeTo=600", "statusCodeTo: must be a whole number from 100 to 599"],
    ["statusCodeFrom=5xx", "statusCodeFrom: must be a whole number from 100 to 599"],
    ["from=yesterday", 'from: "yesterday" is not an ISO-8601 date-time with a time zone, e.g. '],
    ["to=2026-05-15", 'to: "2026-05-15" is not an ISO-8601 date-time with a time zone, e.g. '],
    [
      "cursor=!!",
      "cursor: is not a cursor this API returned: pass an answer's nextCursor as it is",
    ],
    ["contentType=", "contentType: Expected string length greater or equal to 1"],
  ])("%s: the message says what is allowed", async (query, message) => {
    const response = await get(`?${query}`);
    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toContain(message);
  });

  test("page and cursor together are a 400", async () => {
    const first = (await get("?pageSize=2")).body as LogPage;
    const response = await get(`?pageSize=2&page=1&cursor=${first.nextCursor}`);
    expect(response.status).toBe(400);
    expect(freshBody(response)).toMatchObject({
      error: { details: { fields: [{ field: "cursor" }] } },
    });
  });

  test("a cursor walk visits every entry once, newest first", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await get(`?pageSize=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      const body = response.body as LogPage;
      expect(body.total).toBe(5);
      if (cursor) expect(body.page).toBeNull();
      seen.push(...body.items.map((item) => item.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst());
  });

  test("a cursor walk keeps the filters", async () => {
    const first = (await get("?pageSize=1&eventType=0")).body as LogPage;
    const second = (await get(`?pageSize=1&eventType=0&cursor=${first.nextCursor}`))
      .body as LogPage;
    const third = (await get(`?pageSize=1&eventType=0&cursor=${second.nextCursor}`))
      .body as LogPage;
    expect([first, second, third].flatMap((page) => page.items.map((item) => item.id))).toEqual([
      d[4] ?? "",
      d[2] ?? "",
      d[0] ?? "",
    ]);
    expect(third.nextCursor).toBeNull();
  });

  test("an unknown webhook is 404", async () => {
    const response = await app.request("GET", "/webhooks/wh_doesnotexist/events", {
      key: app.keys.read,
    });
    expect(response.status).toBe(404);
    expectErrorEnvelope(response);
  });

  test("another workspace's key sees a 404, not the log", async () => {
    const response = await get("", app.keys.other);
    expect(response.status).toBe(404);
    expect(response.text).not.toContain(d[0] ?? "");
  });
});

describe("the state filter (seed 004)", () => {
  let app: TestApp;
  let webhook = "";
  /** s[i] was inserted at BASE + i minutes; its state is STATES[i]. */
  const s: string[] = [];
  const STATES = [
    "pending",
    "retrying",
    "processing",
    "success",
    "failed",
    "failed",
    "exhausted",
    "exhausted",
    "pending",
  ];

  const get = async (query: string) =>
    app.request("GET", `/webhooks/${webhook}/events?${query}`, { key: app.keys.read });
  const page = async (query: string) => {
    const response = await get(query);
    expect(response.status).toBe(200);
    return response.body as Omit<LogPage, "items"> & { items: { id: string; state: string }[] };
  };
  const ids = (indexes: number[]) => indexes.map((index) => s[index] ?? "");

  beforeAll(async () => {
    app = await createTestApp();
    webhook = (await createWebhook(app, { eventTypes: { article: [0, 1] } })).id;
    const rows = [
      {},
      { attempts: 2, response_status_code: 503 },
      // Taken for an attempt below: in flight, so Processing.
      { attempts: 1 },
      { process_status: ProcessStatus.Sent, attempts: 1, response_status_code: 200 },
      // Failed before its last attempt: a template that could not be rendered, a 410 Gone.
      { process_status: ProcessStatus.Error, attempts: 0 },
      { process_status: ProcessStatus.Error, attempts: 3, response_status_code: 410 },
      { process_status: ProcessStatus.Error, attempts: 10, response_status_code: 502 },
      // Manual retry policy: one attempt allowed, so its first failure exhausts it.
      { process_status: ProcessStatus.Error, attempts: 1, max_attempts: 1 },
      {},
    ];
    for (const [index, row] of rows.entries()) {
      const id = deliveryOf(await publish(app, { eventType: index === 8 ? 1 : 0 }), webhook);
      await setDelivery(app, id, { ...row, created_at: BASE + index * MINUTE });
      s.push(id);
    }
    await takeInFlight(app, webhook, s[2] ?? "");
  });
  afterAll(async () => {
    await app.close();
  });

  test.each([
    ["pending", [8, 0]],
    ["retrying", [1]],
    ["processing", [2]],
    ["success", [3]],
    ["failed", [5, 4]],
    ["exhausted", [7, 6]],
  ])("state=%s lists those deliveries newest first, with their total", async (state, expected) => {
    const body = await page(`state=${state}`);
    expect(body.items.map((item) => item.id)).toEqual(ids(expected));
    expect(body.total).toBe(expected.length);
  });

  test("every entry is listed under the state it shows, and under no other", async () => {
    const all = await page("");
    expect(all.items.map((item) => item.state)).toEqual([...STATES].reverse());
    for (const state of new Set(STATES)) {
      const listed = (await page(`state=${state}`)).items.map((item) => item.id);
      const showing = all.items.filter((item) => item.state === state).map((item) => item.id);
      expect(listed).toEqual(showing);
    }
  });

  test.each([
    ["state=pending&eventType=1", [8]],
    ["state=pending&eventType=0", [0]],
    ["state=exhausted&status=-1", [7, 6]],
    ["state=retrying&status=0", [1]],
    ["state=success&status=2", [3]],
    ["state=exhausted&status=0", []],
    ["state=success&status=-1", []],
    ["state=failed&statusCodeFrom=400", [5]],
    [`state=failed&from=${iso(BASE + 5 * MINUTE)}`, [5]],
    [`state=exhausted&to=${iso(BASE + 6 * MINUTE)}`, [6]],
    ["state=pending&contentType=page", []],
  ])("%s combines with the other filters", async (query, expected) => {
    const body = await page(query);
    expect(body.items.map((item) => item.id)).toEqual(ids(expected));
    expect(body.total).toBe(expected.length);
  });

  test("pages and cursors keep the state filter and its total", async () => {
    expect(await page("state=failed&pageSize=1&page=2")).toMatchObject({
      items: [{ id: s[4] }],
      total: 2,
      nextCursor: null,
    });
    const first = await page("state=exhausted&pageSize=1");
    expect(first).toMatchObject({ items: [{ id: s[7] }], total: 2 });
    const second = await page(`state=exhausted&pageSize=1&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ items: [{ id: s[6] }], total: 2, nextCursor: null });
  });

  test("an unknown state is a 400 naming every allowed value", async () => {
    const response = await get("state=Retrying");
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
    expect(freshBody(response)).toMatchObject({
      error: {
        code: "validation_failed",
        message:
          "invalid request query: state: expected one of pending, processing, retrying, success, failed, exhausted",
        details: { on: "query", fields: [{ field: "state" }] },
      },
    });
  });
});

describe("keyset paging", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test("deliveries inserted in the same millisecond are neither skipped nor repeated", async () => {
    const { id: webhook } = await createWebhook(app);
    const all: string[] = [];
    for (let index = 0; index < 7; index++) {
      const id = deliveryOf(await publish(app), webhook);
      await setDelivery(app, id, { created_at: BASE });
      all.push(id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const response = await app.request(
        "GET",
        `/webhooks/${webhook}/events?pageSize=3${cursor ? `&cursor=${cursor}` : ""}`,
        { key: app.keys.read },
      );
      const body = response.body as LogPage;
      seen.push(...body.items.map((item) => item.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...all].sort().reverse());
  });

  test("a cursor stays put while new deliveries arrive", async () => {
    const { id: webhook } = await createWebhook(app);
    const old: string[] = [];
    for (let index = 0; index < 4; index++) {
      const id = deliveryOf(await publish(app), webhook);
      await setDelivery(app, id, { created_at: BASE + index });
      old.push(id);
    }
    const path = `/webhooks/${webhook}/events?pageSize=2`;
    const first = (await app.request("GET", path, { key: app.keys.read })).body as LogPage;
    await publish(app);
    const second = (
      await app.request("GET", `${path}&cursor=${first.nextCursor}`, { key: app.keys.read })
    ).body as LogPage;
    expect(second.items.map((item) => item.id)).toEqual([old[1] ?? "", old[0] ?? ""]);
    expect(second.total).toBe(5);
  });
});

describe("GET /webhooks/{id}/events/{eventId} and /attempts", () => {
  let app: TestApp;
  let webhook = "";
  let delivery = "";
  let otherDelivery = "";
  let otherWorkspaceWebhook = "";
  let otherWorkspaceDelivery = "";

  beforeAll(async () => {
    app = await createTestApp();
    webhook = (await createWebhook(app)).id;
    const other = (await createWebhook(app)).id;
    const published = await publish(app, { fields: { title: "Hello" } });
    delivery = deliveryOf(published, webhook);
    otherDelivery = deliveryOf(await publish(app), other);
    otherWorkspaceWebhook = (await createWebhook(app, {}, app.keys.other)).id;
    otherWorkspaceDelivery = deliveryOf(
      await publish(app, {}, app.keys.other),
      otherWorkspaceWebhook,
    );
    const db = app.app.store.db;
    // Out of order on purpose: the answer is ordered by number.
    await db
      .insertInto("attempts")
      .values([
        {
          id: "att_2",
          delivery_id: delivery,
          webhook_id: webhook,
          number: 2,
          started_at: BASE + 5000,
          duration_ms: 31,
          status_code: 200,
          error: null,
          response_body: '{"ok":true}',
          request_headers: JSON.stringify({
            "content-type": "application/json",
            authorization: "Bearer ********",
          }),
        },
        {
          id: "att_1",
          delivery_id: delivery,
          webhook_id: webhook,
          number: 1,
          started_at: BASE,
          duration_ms: 10000,
          status_code: null,
          error: "timeout after 10s",
          response_body: null,
          request_headers: JSON.stringify({ "content-type": "application/json" }),
        },
      ])
      .execute();
  });
  afterAll(async () => {
    await app.close();
  });

  test("one delivery, same shape as a log entry", async () => {
    const response = await app.request("GET", `/webhooks/${webhook}/events/${delivery}`, {
      key: app.keys.read,
    });
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      id: delivery,
      webhookId: webhook,
      fields: { title: "Hello" },
      processStatus: 0,
      state: "pending",
      attempts: 0,
    });
    const log = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read });
    const entry = (log.body as LogPage).items.find((item) => item.id === delivery);
    expect(entry).toEqual(response.body as { id: string });
  });

  test.each([
    ["another webhook's delivery", () => `/webhooks/${webhook}/events/${otherDelivery}`],
    ["an unknown delivery", () => `/webhooks/${webhook}/events/dlv_nothing`],
    ["an unknown webhook", () => `/webhooks/wh_nothing/events/${delivery}`],
    [
      "another workspace's delivery",
      () => `/webhooks/${otherWorkspaceWebhook}/events/${otherWorkspaceDelivery}`,
    ],
  ])("%s is 404", async (_name, path) => {
    for (const suffix of ["", "/attempts"]) {
      const response = await app.request("GET", `${path()}${suffix}`, { key: app.keys.read });
      expect(response.status).toBe(404);
      expectErrorEnvelope(response);
    }
  });

  test("the attempts, by number, with their headers as an object", async () => {
    const response = await app.request("GET", `/webhooks/${webhook}/events/${delivery}/attempts`, {
      key: app.keys.read,
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual([
      {
        number: 1,
        startedAt: iso(BASE),
        durationMs: 10000,
        statusCode: null,
        isSuccessStatusCode: false,
        error: "timeout after 10s",
        responseBody: null,
        requestHeaders: { "content-type": "application/json" },
      },
      {
        number: 2,
        startedAt: iso(BASE + 5000),
        durationMs: 31,
        statusCode: 200,
        isSuccessStatusCode: true,
        error: null,
        responseBody: '{"ok":true}',
        requestHeaders: { "content-type": "application/json", authorization: "Bearer ********" },
      },
    ]);
  });

  test("a delivery not yet attempted has no attempts", async () => {
    const response = await app.request(
      "GET",
      `/webhooks/${webhook}/events/${deliveryOf(await publish(app), webhook)}/attempts`,
      { key: app.keys.read },
    );
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: [] });
  });
});

describe("a deleted webhook's log", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test("stays readable: the list, one delivery and its attempts", async () => {
    const { id: webhook } = await createWebhook(app);
    const delivery = deliveryOf(await publish(app), webhook);
    expect(
      (await app.request("DELETE", `/webhooks/${webhook}`, { key: app.keys.write })).status,
    ).toBe(200);
    const list = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read });
    expect(freshBody(list)).toMatchObject({ total: 1, items: [{ id: delivery }] });
    const one = await app.request("GET", `/webhooks/${webhook}/events/${delivery}`, {
      key: app.keys.read,
    });
    expect(freshBody(one)).toMatchObject({ id: delivery, webhookId: webhook });
    const attempts = await app.request("GET", `/webhooks/${webhook}/events/${delivery}/attempts`, {
      key: app.keys.read,
    });
    expect(attempts.status).toBe(200);
    const theirs = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.other });
    expect(theirs.status).toBe(404);
  });

  test("a deleted webhook that never delivered is 404", async () => {
    const { id: webhook } = await createWebhook(app);
    await app.request("DELETE", `/webhooks/${webhook}`, { key: app.keys.write });
    const list = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read });
    expect(list.status).toBe(404);
  });

  test("an existing webhook with no deliveries has an empty log", async () => {
    const { id: webhook } = await createWebhook(app);
    const list = await app.request("GET", `/webhooks/${webhook}/events`, { key: app.keys.read });
    expect(freshBody(list)).toEqual({
      items: [],
      page: 1,
      pageSize: 20,
      total: 0,
      nextCursor: null,
    });
  });
});

describe("auth on the read routes", () => {
  const logOf = async (app: TestApp) => {
    const { id } = await createWebhook(app);
    const eventId = deliveryOf(await publish(app, { fields: { title: "Confidential" } }), id);
    return { id, eventId };
  };
  for (const [route, url] of [
    ["the log", "/webhooks/{id}/events"],
    ["one delivery", "/webhooks/{id}/events/{eventId}"],
    ["the attempts", "/webhooks/{id}/events/{eventId}/attempts"],
  ] as const) {
    describe(route, () => {
      runScenarios([
        {
          name: "no key is 401",
          method: "GET",
          url,
          key: "none",
          setup: logOf,
          expectedStatus: 401,
        },
        {
          name: "an unknown key is 401",
          method: "GET",
          url,
          key: "unknown",
          setup: logOf,
          expectedStatus: 401,
        },
        {
          name: "a read key is enough",
          method: "GET",
          url,
          key: "read",
          setup: logOf,
          expectedStatus: 200,
        },
        {
          name: "another workspace is 404",
          method: "GET",
          url,
          key: "other",
          setup: logOf,
          expectedStatus: 404,
          notExpectedContent: ["Confidential"],
        },
      ]);
    });
  }
});
