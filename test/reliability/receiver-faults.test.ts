/**
 * A receiver fault matrix (SPEC §6.2): one webhook per way a receiver can misbehave — refused,
 * reset, slow headers, slow body, never answering, 500, 410, 429 with Retry-After, 301, a
 * 2 MB answer, bytes that are not HTTP — all delivering at once through one running app.
 * Each ends with the right status, attempts and recorded error; afterwards the process is
 * steady: no connection left open, nothing in flight, `/health` 200, and a healthy receiver
 * still gets its delivery.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import {
  type FaultServer,
  garbageServer,
  refusingUrl,
  resettingServer,
  silentServer,
  slowBodyServer,
  slowHeadersServer,
  smtpServer,
} from "../helpers/reliability-fault-servers.ts";
import { deferredCleanups } from "../helpers/reliability-harness.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

const defer = deferredCleanups(afterAll);

/** The cap on one retry delay: a `Retry-After: 1` (1000 ms) is cut to this. */
const RETRY_MAX_DELAY_MS = 300;
const TIMEOUT_MS = 1000;

interface ExpectedAttempt {
  status: number | null;
  error: string | RegExp | null;
}

interface Fault {
  name: string;
  /** Starts the misbehaving receiver; returns the webhook's endpoint. */
  start(): string;
  processStatus: number;
  attempts: ExpectedAttempt[];
  /** Further checks once the delivery has finished. */
  check?(finished: Finished): Promise<void> | void;
}

interface Finished {
  t: TestApp;
  webhookId: string;
  deliveryId: string;
  attempts: AttemptRow[];
}

interface AttemptRow {
  number: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  started_at: number;
  duration_ms: number;
}

/** Raw TCP servers and HTTP receivers the faults started, checked and stopped at the end. */
const faultServers: FaultServer[] = [];
const receivers: Receiver[] = [];

function raw(server: FaultServer): string {
  faultServers.push(server);
  return `${server.url}/hook`;
}

function http(handler: Parameters<typeof startReceiver>[0]): Receiver {
  const receiver = startReceiver(handler);
  receivers.push(receiver);
  return receiver;
}

/** 512 bytes of noise, the same every run. */
const NOISE = Uint8Array.from({ length: 512 }, (_, i) => (i * 151 + 17) & 0xff);

const failedTwice = (status: number | null, error: string | RegExp): ExpectedAttempt[] => [
  { status, error },
  { status, error },
];

let elsewhere: Receiver;
let movedUrl = "";

const FAULTS: Fault[] = [
  {
    name: "connection refused",
    start: () => `${refusingUrl()}/hook`,
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, "connection refused"),
  },
  {
    name: "connection reset on accept",
    start: () => raw(resettingServer()),
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, "connection reset by the server"),
  },
  {
    name: "slow headers (a 200 only after 1.5 s)",
    start: () => raw(slowHeadersServer(1500)),
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, `timeout after ${TIMEOUT_MS} ms`),
  },
  {
    // The receiver said 200 before the timeout: it has the webhook. The cut body is recorded.
    name: "slow body (200 headers at once, the body trickled over 3 s)",
    start: () => raw(slowBodyServer(30, 100)),
    processStatus: ProcessStatus.Sent,
    attempts: [{ status: 200, error: `timeout after ${TIMEOUT_MS} ms while reading the response` }],
    check: ({ attempts }) => expect(attempts[0]?.response_body).toBe(""),
  },
  {
    name: "never answers",
    start: () => raw(silentServer()),
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, `timeout after ${TIMEOUT_MS} ms`),
  },
  {
    name: "500",
    start: () => http(() => new Response("internal trouble", { status: 500 })).url,
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(500, "HTTP 500"),
    check: ({ attempts }) =>
      expect(attempts.map((a) => a.response_body)).toEqual([
        "internal trouble",
        "internal trouble",
      ]),
  },
  {
    name: "410 Gone (one attempt, the webhook disabled)",
    start: () => http(() => new Response("gone", { status: 410 })).url,
    processStatus: ProcessStatus.Error,
    attempts: [{ status: 410, error: "HTTP 410" }],
    check: async ({ t, webhookId }) => {
      const webhook = await t.request("GET", `/webhooks/${webhookId}`, { key: t.keys.read });
      expect(webhook.body).toMatchObject({ enabled: false, healthStatus: "disabled" });
    },
  },
  {
    name: "429 with Retry-After: 1, then 200",
    start: () =>
      http((_request, index) =>
        index === 0
          ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
          : Response.json({ ok: true }),
      ).url,
    processStatus: ProcessStatus.Sent,
    attempts: [
      { status: 429, error: "HTTP 429" },
      { status: 200, error: null },
    ],
    check: ({ attempts }) => {
      // Retry-After (1000 ms) capped at 300 ms, well above the 50 ms base backoff (±20 %).
      const [first, second] = attempts;
      expect((second?.started_at ?? 0) - (first?.started_at ?? 0)).toBeGreaterThanOrEqual(
        RETRY_MAX_DELAY_MS - 10,
      );
    },
  },
  {
    name: "301 (not followed)",
    start: () => {
      elsewhere = http(() => Response.json({ ok: true }));
      movedUrl = `${elsewhere.url}/moved`;
      return http(() => Response.redirect(movedUrl, 301)).url;
    },
    processStatus: ProcessStatus.Error,
    attempts: [
      {
        status: 301,
        error: /^redirect not followed \(HTTP 301 to http:\/\/127\.0\.0\.1:\d+\/moved\)$/,
      },
      {
        status: 301,
        error: /^redirect not followed \(HTTP 301 to http:\/\/127\.0\.0\.1:\d+\/moved\)$/,
      },
    ],
    check: () => expect(elsewhere.requests).toHaveLength(0),
  },
  {
    name: "a 2 MB answer with 200",
    start: () => http(() => new Response("x".repeat(2 * 1024 * 1024), { status: 200 })).url,
    processStatus: ProcessStatus.Sent,
    attempts: [{ status: 200, error: null }],
    check: ({ attempts }) => expect(attempts[0]?.response_body).toBe("x".repeat(2000)),
  },
  {
    name: "binary noise instead of HTTP",
    start: () => raw(garbageServer(NOISE)),
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, /malformed/i),
  },
  {
    name: "an SMTP server instead of HTTP",
    start: () => raw(smtpServer()),
    processStatus: ProcessStatus.Error,
    attempts: failedTwice(null, /malformed/i),
  },
];

let t: TestApp;
let baseUrl: string;
const started = new Map<string, { webhookId: string; deliveryId: string }>();

async function deliveryRow(id: string) {
  return t.app.store.db
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

function attemptRows(deliveryId: string): Promise<AttemptRow[]> {
  return t.app.store.db
    .selectFrom("attempts")
    .select(["number", "status_code", "error", "response_body", "started_at", "duration_ms"])
    .where("delivery_id", "=", deliveryId)
    .orderBy("number")
    .execute();
}

const isFinished = (status: number) =>
  status === ProcessStatus.Sent || status === ProcessStatus.Error;

async function publish(contentType: string): Promise<string> {
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType, contentId: "c1", fields: { title: "fault" } },
  });
  expect(response.status).toBe(202);
  const [delivery] = (response.body as { deliveries: { deliveryId: string }[] }).deliveries;
  if (!delivery) throw new Error(`no delivery for ${contentType}`);
  return delivery.deliveryId;
}

beforeAll(async () => {
  t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    HOOKPOST_RETRY_BASE_MS: "50",
    HOOKPOST_RETRY_MAX_DELAY_MS: String(RETRY_MAX_DELAY_MS),
  });
  defer(() => t.close());
  defer(() => {
    for (const server of faultServers) server.stop();
    return Promise.all(receivers.map((receiver) => receiver.stop()));
  });
  baseUrl = await t.app.start();
  // Every webhook first, then every event, so that all the faults are delivered at once.
  const webhooks = [];
  for (const [index, fault] of FAULTS.entries()) {
    const contentType = `fault${index}`;
    const webhook = await createWebhook(t, {
      name: fault.name,
      endpoint: fault.start(),
      eventTypes: { [contentType]: [0] },
      maxAttempts: 2,
      timeoutSeconds: TIMEOUT_MS / 1000,
    });
    webhooks.push({ fault, contentType, webhookId: webhook.id });
  }
  for (const { fault, contentType, webhookId } of webhooks) {
    started.set(fault.name, { webhookId, deliveryId: await publish(contentType) });
  }
  await waitFor(
    "every fault's delivery to finish",
    async () => {
      const rows = await t.app.store.db
        .selectFrom("deliveries")
        .select("process_status")
        .where(
          "id",
          "in",
          [...started.values()].map((s) => s.deliveryId),
        )
        .execute();
      return rows.every((row) => isFinished(row.process_status));
    },
    15_000,
  );
}, 30_000);

describe("a receiver that misbehaves gets the right outcome", () => {
  for (const fault of FAULTS) {
    test(fault.name, async () => {
      const ids = started.get(fault.name);
      if (!ids) throw new Error("not started");
      const row = await deliveryRow(ids.deliveryId);
      const attempts = await attemptRows(ids.deliveryId);
      const summary = (a: { status_code: number | null; error: string | null }) => ({
        status: a.status_code,
        error: a.error,
      });
      console.log(
        `${fault.name}: ${row.process_status === ProcessStatus.Sent ? "Sent" : "Error"} after ` +
          `${row.attempts} attempt(s); ${attempts.map((a) => `${a.status_code ?? "-"} ${a.error ?? "ok"} (${a.duration_ms} ms)`).join("; ")}`,
      );
      expect({
        processStatus: row.process_status,
        attempts: row.attempts,
        recorded: attempts.map(summary),
      }).toMatchObject({
        processStatus: fault.processStatus,
        attempts: fault.attempts.length,
        recorded: fault.attempts.map((a) => ({
          status: a.status,
          error: a.error instanceof RegExp ? expect.stringMatching(a.error) : a.error,
        })),
      });
      // The delivery shows the last attempt's outcome.
      const last = attempts.at(-1);
      expect(row.response_status_code).toBe(last?.status_code ?? null);
      expect(row.last_error).toBe(last?.error ?? null);
      await fault.check?.({ t, ...ids, attempts });
    });
  }
});

describe("after the faults, the process is steady", () => {
  test("every connection to a misbehaving receiver was closed, nothing is in flight", async () => {
    await waitFor("the sender to close every fault connection", () =>
      faultServers.every((server) => server.open === 0),
    );
    expect(faultServers.every((server) => server.accepted > 0)).toBe(true);
    expect(t.app.scheduler.inFlight).toBe(0);
    expect(t.app.services.store.inFlightCount).toBe(0);
    const errors = t.logLines.filter((line) => line.includes('"level":"error"'));
    expect(errors).toEqual([]);
  });

  test("/health answers 200 over the socket and a healthy receiver still gets its delivery", async () => {
    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", db: "ok" });

    const healthy = http(() => Response.json({ ok: true }));
    await createWebhook(t, { endpoint: healthy.url, eventTypes: { healthy: [0] } });
    const deliveryId = await publish("healthy");
    const row = await waitFor("the healthy delivery to finish", async () => {
      const found = await deliveryRow(deliveryId);
      return isFinished(found.process_status) ? found : undefined;
    });
    expect(row).toMatchObject({ process_status: ProcessStatus.Sent, attempts: 1 });
    expect(healthy.requests.map((request) => request.headers.get("webhook-id"))).toEqual([
      deliveryId,
    ]);
  });
});
