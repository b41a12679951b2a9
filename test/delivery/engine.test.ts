/**
 * The delivery engine end to end: real receivers on loopback, the real scheduler, real SQLite.
 * Signatures are checked with the `standardwebhooks` package and by recomputing
 * `Contit-Signature`; retries, 410, 429 with Retry-After, timeouts, redirects and the outbound
 * guard are each driven by what a receiver answers.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { lyingLengthServer } from "../helpers/reliability-fault-servers.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, QUICK_RETRIES, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await createTestApp({
    ...QUICK_RETRIES,
  });
  await t.app.start();
});

afterAll(async () => {
  await t.close();
  await Promise.all(receivers.map((receiver) => receiver.stop()));
});

function receiver(handler?: Parameters<typeof startReceiver>[0]): Receiver {
  const started = startReceiver(handler);
  receivers.push(started);
  return started;
}

let contentCounter = 0;

async function publish(contentType = "article", fields: Record<string, unknown> = {}) {
  contentCounter++;
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType, contentId: `c_${contentCounter}`, fields },
  });
  expect(response.status).toBe(202);
  return response.body as {
    eventId: string;
    deliveries: { webhookId: string; deliveryId: string }[];
  };
}

function delivery(id: string) {
  return t.app.store.db
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

function attempts(deliveryId: string) {
  return t.app.store.db
    .selectFrom("attempts")
    .selectAll()
    .where("delivery_id", "=", deliveryId)
    .orderBy("number")
    .execute();
}

function webhookRow(id: string) {
  return t.app.store.db
    .selectFrom("webhooks")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

async function settled(deliveryId: string) {
  return waitFor(`delivery ${deliveryId} to finish`, async () => {
    const row = await delivery(deliveryId);
    return row.process_status === ProcessStatus.Sent || row.process_status === ProcessStatus.Error
      ? row
      : undefined;
  });
}

/** A content type no other test uses, so each test's webhook sees only its own events. */
function uniqueType(): string {
  return `type_${crypto.randomUUID().slice(0, 8)}`;
}

async function oneDelivery(endpoint: string, fields: Record<string, unknown> = {}) {
  const type = uniqueType();
  const webhook = await createWebhook(t, { endpoint, eventTypes: { [type]: [0] }, ...fields });
  const accepted = await publish(type, { title: "Hello" });
  expect(accepted.deliveries).toHaveLength(1);
  const first = accepted.deliveries[0];
  if (!first) throw new Error("no delivery");
  return { webhook, deliveryId: first.deliveryId };
}

describe("a successful delivery", () => {
  test("is signed so that standardwebhooks and a Contit-Signature check both verify it", async () => {
    const target = receiver();
    const { webhook, deliveryId } = await oneDelivery(`${target.url}/hooks?x=1`);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    const request = target.requests[0];
    if (!request) throw new Error("nothing received");
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/hooks?x=1");
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("user-agent")).toMatch(/^Hookpost\/\d/);
    expect(request.body).toBe(row.body);

    const verifier = new StandardWebhook(webhook.secret, { format: "raw" });
    const headers = Object.fromEntries(request.headers.entries());
    expect(verifier.verify(request.body, headers)).toMatchObject({
      deliveryId,
      fields: { title: "Hello" },
    });
    expect(request.headers.get("webhook-id")).toBe(deliveryId);

    const match = /^t=(\d+),s=([0-9a-f]{64})$/.exec(request.headers.get("contit-signature") ?? "");
    if (!match) throw new Error("no Contit-Signature");
    const [, timestamp, hex] = match;
    expect(timestamp).toBe(request.headers.get("webhook-timestamp") ?? "");
    const expected = createHmac("sha256", webhook.secret)
      .update(`${timestamp}.${request.body}`)
      .digest("hex");
    expect(hex).toBe(expected);
    // A tampered body does not verify.
    expect(() => verifier.verify(`${request.body} `, headers)).toThrow();

    expect(row.attempts).toBe(1);
    expect(row.response_status_code).toBe(200);
    expect(row.signature).toBe(request.headers.get("contit-signature"));
    const [attempt] = await attempts(deliveryId);
    expect(attempt).toMatchObject({
      number: 1,
      status_code: 200,
      error: null,
      response_body: '{"ok":true}',
    });
    const recorded = JSON.parse(attempt?.request_headers ?? "{}") as Record<string, string>;
    expect(recorded["webhook-id"]).toBe(deliveryId);
    const health = await webhookRow(webhook.id);
    expect(health).toMatchObject({ fail_count: 0, health_status: "working" });
    // On PostgreSQL a success's lastDeliveredAt is written apart, within a second
    // (store/postgres/success-health.ts).
    const delivered = await waitFor("lastDeliveredAt", async () => {
      const at = (await webhookRow(webhook.id)).last_delivered_at;
      return at !== null && at > 0 && at;
    });
    expect(delivered).toBeGreaterThan(0);
  });

  test("sends the webhook's custom headers and masks credentials in the attempt record", async () => {
    const target = receiver();
    const { deliveryId } = await oneDelivery(target.url, {
      headers: [
        { key: "X-Tenant", value: "blue" },
        { key: "Authorization", value: "Bearer very-secret-token" },
      ],
    });
    await settled(deliveryId);
    expect(target.requests[0]?.headers.get("x-tenant")).toBe("blue");
    expect(target.requests[0]?.headers.get("authorization")).toBe("Bearer very-secret-token");
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.request_headers).toContain('"x-tenant":"blue"');
    expect(attempt?.request_headers).not.toContain("very-secret-token");
    expect(attempt?.request_headers).toContain('"authorization":"********"');
  });

  test("a custom payload is rendered once and sent with its JSON types kept", async () => {
    const target = receiver();
    const type = uniqueType();
    await createWebhook(t, {
      endpoint: target.url,
      eventTypes: { [type]: [0] },
      useCustomPayload: true,
      customPayload: {
        text: "New: {{fields.title}}",
        views: "{{fields.views}}",
        tags: "{{fields.tags}}",
      },
    });
    const accepted = await publish(type, { title: "Hi", views: 42, tags: ["a", "b"] });
    const deliveryId = accepted.deliveries[0]?.deliveryId ?? "";
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    expect(JSON.parse(target.requests[0]?.body ?? "null")).toEqual({
      text: "New: Hi",
      views: 42,
      tags: ["a", "b"],
    });
  });
});

describe("matching", () => {
  test("disabled and non-matching webhooks get nothing", async () => {
    const target = receiver();
    const type = uniqueType();
    const matching = await createWebhook(t, {
      endpoint: `${target.url}/yes`,
      eventTypes: { [type]: [0] },
    });
    await createWebhook(t, {
      endpoint: `${target.url}/disabled`,
      eventTypes: { [type]: [0] },
      enabled: false,
    });
    await createWebhook(t, { endpoint: `${target.url}/other-event`, eventTypes: { [type]: [2] } });
    await createWebhook(t, {
      endpoint: `${target.url}/other-type`,
      eventTypes: { [`${type}x`]: [0] },
    });
    const accepted = await publish(type);
    expect(accepted.deliveries.map((d) => d.webhookId)).toEqual([matching.id]);
    await settled(accepted.deliveries[0]?.deliveryId ?? "");
    // A second event proves the scheduler kept running after the first; still only /yes.
    const second = await publish(type);
    await settled(second.deliveries[0]?.deliveryId ?? "");
    expect(target.requests.map((request) => request.path)).toEqual(["/yes", "/yes"]);
  });

  test("a repeated event id is delivered once", async () => {
    const target = receiver();
    const type = uniqueType();
    await createWebhook(t, { endpoint: target.url, eventTypes: { [type]: [0] } });
    const event = { id: `once-${type}`, eventType: 0, contentType: type, contentId: "c" };
    const first = await t.request("POST", "/events", { key: t.keys.write, json: event });
    const again = await t.request("POST", "/events", { key: t.keys.write, json: event });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    const deliveryId =
      (first.body as { deliveries: { deliveryId: string }[] }).deliveries[0]?.deliveryId ?? "";
    await settled(deliveryId);
    const rows = await t.app.store.db
      .selectFrom("deliveries")
      .select("id")
      .where("content_type", "=", type)
      .execute();
    expect(rows).toHaveLength(1);
    expect(target.requests).toHaveLength(1);
  });
});

describe("failures and retries", () => {
  test("a receiver failing twice then succeeding: three attempts, Sent", async () => {
    const target = receiver((_request, index) =>
      index < 2 ? new Response("not yet", { status: 500 }) : Response.json({ ok: true }),
    );
    const { webhook, deliveryId } = await oneDelivery(target.url);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    expect(row.attempts).toBe(3);
    const recorded = await attempts(deliveryId);
    expect(recorded.map((a) => [a.number, a.status_code, a.error])).toEqual([
      [1, 500, "HTTP 500"],
      [2, 500, "HTTP 500"],
      [3, 200, null],
    ]);
    expect(recorded[0]?.response_body).toBe("not yet");
    // Every attempt sent the same bytes, each signed anew.
    expect(new Set(target.requests.map((request) => request.body)).size).toBe(1);
    expect((await webhookRow(webhook.id)).fail_count).toBe(0);
  });

  test("a receiver that always fails: Error after the configured attempts", async () => {
    const target = receiver(() => new Response("down", { status: 502 }));
    const { webhook, deliveryId } = await oneDelivery(target.url, { maxAttempts: 3 });
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    expect(row.attempts).toBe(3);
    expect(row.response_status_code).toBe(502);
    expect(row.last_error).toBe("HTTP 502");
    expect(await attempts(deliveryId)).toHaveLength(3);
    expect(target.requests).toHaveLength(3);
    // Backoff: attempts are spread out, not sent back to back.
    const [a, b, c] = target.requests.map((request) => request.at);
    expect((b ?? 0) - (a ?? 0)).toBeGreaterThanOrEqual(30);
    expect((c ?? 0) - (b ?? 0)).toBeGreaterThanOrEqual(60);
    expect(await webhookRow(webhook.id)).toMatchObject({
      fail_count: 3,
      health_status: "failing",
      enabled: 1,
    });
  });

  test("the default attempt count comes from HOOKPOST_MAX_ATTEMPTS; manual retry policy tries once", async () => {
    const target = receiver(() => new Response("no", { status: 500 }));
    const automatic = await oneDelivery(target.url);
    const manual = await oneDelivery(target.url, { retryPolicy: "manual" });
    expect((await settled(automatic.deliveryId)).attempts).toBe(4);
    expect((await settled(manual.deliveryId)).attempts).toBe(1);
  });

  test("410 Gone fails the delivery at once and disables the webhook", async () => {
    const target = receiver(() => new Response("gone", { status: 410 }));
    const { webhook, deliveryId } = await oneDelivery(target.url);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    expect(row.attempts).toBe(1);
    expect(await webhookRow(webhook.id)).toMatchObject({ enabled: 0, health_status: "disabled" });
    const listed = await t.request("GET", `/webhooks/${webhook.id}`, { key: t.keys.read });
    expect(listed.body).toMatchObject({ enabled: false, healthStatus: "disabled" });
  });

  test("429 with Retry-After waits as asked (within the cap)", async () => {
    const target = receiver((_request, index) =>
      index === 0
        ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
        : Response.json({ ok: true }),
    );
    const { deliveryId } = await oneDelivery(target.url);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    expect(row.attempts).toBe(2);
    const [first, second] = target.requests;
    // Retry-After: 1 is 1000 ms, above the 400 ms cap: the cap wins, and it is above the
    // 40 ms base backoff (±20 %), so the wait shows the header was read.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(380);
  });

  test("a receiver slower than timeoutSeconds: timeout recorded, then retried", async () => {
    const target = receiver(async (_request, index) => {
      if (index === 0) await Bun.sleep(2500);
      return Response.json({ ok: true });
    });
    const { deliveryId } = await oneDelivery(target.url, { timeoutSeconds: 1 });
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    const [first, second] = await attempts(deliveryId);
    expect(first).toMatchObject({ number: 1, status_code: null, error: "timeout after 1000 ms" });
    expect(second).toMatchObject({ number: 2, status_code: 200 });
  });

  test("redirects are not followed and count as failures", async () => {
    const elsewhere = receiver();
    const target = receiver(() => Response.redirect(`${elsewhere.url}/moved`, 301));
    const { deliveryId } = await oneDelivery(target.url, { maxAttempts: 1 });
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    expect(row.response_status_code).toBe(301);
    expect(row.last_error).toContain("redirect not followed");
    expect(elsewhere.requests).toHaveLength(0);
  });

  test("connection refused is recorded as such", async () => {
    const closed = receiver();
    await closed.stop();
    const { deliveryId } = await oneDelivery(`${closed.url}/gone`, { maxAttempts: 1 });
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    const [attempt] = await attempts(deliveryId);
    expect(attempt).toMatchObject({ status_code: null, error: "connection refused" });
  });

  test("an endless response stops being read at 64 KB: no timeout, the status counts", async () => {
    const chunk = new TextEncoder().encode("y".repeat(16 * 1024));
    const target = receiver(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(chunk);
            },
          }),
          { status: 500 },
        ),
    );
    const { deliveryId } = await oneDelivery(target.url, { maxAttempts: 1, timeoutSeconds: 30 });
    const row = await settled(deliveryId);
    expect(row.last_error).toBe("HTTP 500");
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.response_body).toBe("y".repeat(2000));
  });

  test("a small content-length beside chunked encoding is not trusted: reading stops at 64 KB", async () => {
    const liar = lyingLengthServer();
    try {
      const { deliveryId } = await oneDelivery(liar.url, { maxAttempts: 1, timeoutSeconds: 30 });
      const row = await settled(deliveryId);
      expect(row.last_error).toBe("HTTP 500");
      const [attempt] = await attempts(deliveryId);
      expect(attempt?.response_body).toBe("z".repeat(2000));
    } finally {
      liar.stop();
    }
  });

  test("an answer holding a NUL character is recorded, the NUL shown as U+FFFD", async () => {
    // PostgreSQL text cannot hold U+0000: stored as sent, the outcome could never be recorded.
    const target = receiver(() => new Response("ok\u0000tail", { status: 200 }));
    const { deliveryId } = await oneDelivery(target.url, { maxAttempts: 1 });
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Sent);
    expect(row.response_message).toBe("ok\uFFFDtail");
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.response_body).toBe("ok\uFFFDtail");
    expect(target.requests).toHaveLength(1);
  });

  test("a large response is read only up to 64 KB and stored cut to 2,000 characters", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    const target = receiver(() => new Response(big, { status: 500 }));
    const { deliveryId } = await oneDelivery(target.url, { maxAttempts: 1 });
    await settled(deliveryId);
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.response_body).toHaveLength(2000);
  });
});

describe("outbound safety", () => {
  // A name that resolves to loopback, as a hostile DNS answer would: the webhook is accepted
  // (names are judged at delivery time) and every attempt is refused before connecting.
  const names: Record<string, string[]> = {
    "rebind.example": ["127.0.0.1"],
    "mixed.example": ["10.0.0.7", "127.0.0.1"],
  };
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp(
      { HOOKPOST_TICK_MS: "20", HOOKPOST_MAX_ATTEMPTS: "1" },
      { resolver: async (hostname) => names[hostname] ?? [] },
    );
    await strict.app.start();
  });
  afterAll(async () => {
    await strict.close();
  });

  test("literal private endpoints are refused at PUT, in any spelling", async () => {
    const target = receiver();
    for (const endpoint of [
      target.url,
      `http://2130706433:${target.port}/`,
      `http://0x7f.1:${target.port}/`,
      `http://[::ffff:127.0.0.1]:${target.port}/`,
      `http://[::1]:${target.port}/`,
      `http://localhost:${target.port}/`,
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      const response = await strict.request("PUT", "/webhooks", {
        key: strict.keys.write,
        json: { endpoint, eventTypes: { article: [0] } },
      });
      expect({ endpoint, status: response.status }).toEqual({ endpoint, status: 400 });
    }
    expect(target.requests).toHaveLength(0);
  });

  test("a name resolving to loopback fails the attempt with a clear error, nothing sent", async () => {
    const target = receiver();
    const webhook = await createWebhook(strict, {
      endpoint: `http://rebind.example:${target.port}/`,
      eventTypes: { article: [0] },
    });
    const other = await createWebhook(strict, {
      endpoint: `http://mixed.example:${target.port}/`,
      eventTypes: { article: [0] },
    });
    const accepted = await strict.request("POST", "/events", {
      key: strict.keys.write,
      json: { eventType: 0, contentType: "article", contentId: "c1" },
    });
    const ids = (accepted.body as { deliveries: { webhookId: string; deliveryId: string }[] })
      .deliveries;
    expect(ids.map((d) => d.webhookId).sort()).toEqual([webhook.id, other.id].sort());
    for (const { deliveryId } of ids) {
      const row = await waitFor("the refused delivery to fail", async () => {
        const found = await strict.app.store.db
          .selectFrom("deliveries")
          .selectAll()
          .where("id", "=", deliveryId)
          .executeTakeFirstOrThrow();
        return found.process_status === ProcessStatus.Error ? found : undefined;
      });
      expect(row.last_error).toMatch(/^blocked: private address (127\.0\.0\.1|10\.0\.0\.7) \(/);
      expect(row.response_status_code).toBeNull();
    }
    expect(target.requests).toHaveLength(0);

    const ping = await strict.request("POST", `/webhooks/${webhook.id}/test`, {
      key: strict.keys.write,
    });
    expect(ping.status).toBe(200);
    expect(ping.body).toEqual({
      isSuccessStatusCode: false,
      statusCode: 0,
      message: "blocked: private address 127.0.0.1 (rebind.example)",
      durationMs: expect.any(Number),
    });
    expect(target.requests).toHaveLength(0);
  });

  test("the connection goes to the checked address, with the name as Host", async () => {
    const pinned = await createTestApp(
      { HOOKPOST_TICK_MS: "20", HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32" },
      { resolver: async (hostname) => (hostname === "pinned.example" ? ["127.0.0.1"] : []) },
    );
    try {
      await pinned.app.start();
      const target = receiver();
      await createWebhook(pinned, {
        endpoint: `http://pinned.example:${target.port}/in?q=1`,
        eventTypes: { article: [0] },
      });
      await pinned.request("POST", "/events", {
        key: pinned.keys.write,
        json: { eventType: 0, contentType: "article", contentId: "c1" },
      });
      const request = await waitFor("the pinned delivery", () => target.requests[0]);
      expect(request.headers.get("host")).toBe(`pinned.example:${target.port}`);
      expect(request.path).toBe("/in?q=1");
    } finally {
      await pinned.close();
    }
  });

  test("a name that does not resolve fails with a DNS error", async () => {
    const webhook = await createWebhook(strict, {
      endpoint: "https://nowhere.example/hook",
      eventTypes: { article: [0] },
    });
    const ping = await strict.request("POST", `/webhooks/${webhook.id}/test`, {
      key: strict.keys.write,
    });
    expect(ping.body).toMatchObject({ isSuccessStatusCode: false, statusCode: 0 });
    expect((ping.body as { message: string }).message).toContain("nowhere.example");
  });
});

describe("test ping", () => {
  test("is signed, carries Contit-Test: true and is not written to the log", async () => {
    const target = receiver(() => new Response('{"pong":true}', { status: 200 }));
    const webhook = await createWebhook(t, { endpoint: target.url, eventTypes: { none: [0] } });
    const before = await t.app.store.db.selectFrom("deliveries").select("id").execute();
    const ping = await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.write });
    expect(ping.status).toBe(200);
    expect(ping.body).toEqual({
      isSuccessStatusCode: true,
      statusCode: 200,
      message: '{"pong":true}',
      durationMs: expect.any(Number),
    });
    const request = target.requests[0];
    if (!request) throw new Error("no ping received");
    expect(request.headers.get("contit-test")).toBe("true");
    const body = new StandardWebhook(webhook.secret, { format: "raw" }).verify(
      request.body,
      Object.fromEntries(request.headers.entries()),
    );
    expect(body).toMatchObject({ eventType: "webhook.test", webhookId: webhook.id });
    const after = await t.app.store.db.selectFrom("deliveries").select("id").execute();
    expect(after).toHaveLength(before.length);
  });

  test("reports the receiver's failure status and body", async () => {
    const target = receiver(() => new Response("nope", { status: 503 }));
    const webhook = await createWebhook(t, { endpoint: target.url, eventTypes: { none: [0] } });
    const ping = await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.write });
    expect(ping.body).toMatchObject({
      isSuccessStatusCode: false,
      statusCode: 503,
      message: "nope",
    });
  });

  test("statusCode 0 with a clear message when nothing listens", async () => {
    const closed = receiver();
    await closed.stop();
    const webhook = await createWebhook(t, { endpoint: closed.url, eventTypes: { none: [0] } });
    const ping = await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.write });
    expect(ping.body).toMatchObject({
      isSuccessStatusCode: false,
      statusCode: 0,
      message: "connection refused",
    });
  });

  test("needs a write key and the webhook of the caller's workspace", async () => {
    const webhook = await createWebhook(t, {
      endpoint: "https://example.com/",
      eventTypes: { none: [0] },
    });
    expect((await t.request("POST", `/webhooks/${webhook.id}/test`, { key: null })).status).toBe(
      401,
    );
    expect(
      (await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.read })).status,
    ).toBe(403);
    expect(
      (await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.other })).status,
    ).toBe(404);
    expect(
      (await t.request("POST", "/webhooks/wh_missing/test", { key: t.keys.write })).status,
    ).toBe(404);
  });
});

describe("deleting a webhook", () => {
  test("fails its Waiting deliveries and keeps them in the log", async () => {
    const target = receiver(() => new Response("busy", { status: 500 }));
    const { webhook, deliveryId } = await oneDelivery(target.url, { maxAttempts: 4 });
    await waitFor("a first failed attempt", async () => (await delivery(deliveryId)).attempts >= 1);
    expect(
      (await t.request("DELETE", `/webhooks/${webhook.id}`, { key: t.keys.write })).status,
    ).toBe(200);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    expect(row.last_error).toContain("webhook deleted");
  });
});
