/**
 * Auto-disable (issue 16) end to end: a real receiver that keeps failing, the real scheduler
 * retrying on a `retrySchedule`, a short `HOOKPOST_AUTO_DISABLE_AFTER_MS`, and a real SMTP server
 * on loopback. The webhook is disabled once every attempt has failed for longer than that, a
 * mail says so, its Waiting deliveries stay Waiting, and enabling it delivers them. A success
 * ends the streak (`failingSince` back to null), so a webhook that sometimes succeeds stays
 * enabled; `0` turns the control off.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { type SmtpTestServer, startSmtp } from "../helpers/smtp.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

const AFTER_MS = 1500;
/** A retry each second, for 21 attempts: the streak outlasts AFTER_MS long before they run out. */
const EVERY_SECOND = Array.from({ length: 20 }, () => 1);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function failingReceiver(): Promise<Receiver> {
  const receiver = startReceiver(() => new Response("broken", { status: 500 }));
  cleanups.push(() => receiver.stop());
  return receiver;
}

async function smtp(): Promise<SmtpTestServer> {
  const server = await startSmtp();
  cleanups.push(() => server.stop());
  return server;
}

async function app(env: Record<string, string>): Promise<TestApp> {
  const t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    HOOKPOST_MAIL_FROM: "hookpost@example.test",
    ...env,
  });
  cleanups.push(() => t.close());
  await t.app.start();
  return t;
}

async function publish(t: TestApp, contentId: string): Promise<string> {
  const response = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "article", contentId },
  });
  const id = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]?.deliveryId;
  if (!id) throw new Error(`no delivery: ${response.text}`);
  return id;
}

interface WebhookView {
  enabled: boolean;
  healthStatus: string;
  failCount: number;
  failingSince: string | null;
}

async function webhookView(t: TestApp, id: string): Promise<WebhookView> {
  return (await t.request("GET", `/webhooks/${id}`, { key: t.keys.read })).body as WebhookView;
}

interface LogEntry {
  processStatus: number;
  state: string;
  attempts: number;
  maxAttempts: number;
}

async function logEntry(t: TestApp, webhookId: string, deliveryId: string): Promise<LogEntry> {
  const response = await t.request("GET", `/webhooks/${webhookId}/events/${deliveryId}`, {
    key: t.keys.read,
  });
  return response.body as LogEntry;
}

describe("auto-disable", () => {
  test("a webhook failing for longer than the limit is disabled, mailed about, and resumes when enabled", async () => {
    const server = await smtp();
    const receiver = await failingReceiver();
    const t = await app({
      HOOKPOST_AUTO_DISABLE_AFTER_MS: String(AFTER_MS),
      HOOKPOST_SMTP_URL: server.url,
    });
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      description: "Article sync",
      errorEmailTo: "ops@example.com",
      retrySchedule: EVERY_SECOND,
    });
    const deliveries = [await publish(t, "first"), await publish(t, "second")];

    // Failing: the streak's start shows, the webhook is still enabled.
    const failing = await waitFor("the first failure", async () => {
      const view = await webhookView(t, id);
      return view.failingSince !== null && view;
    });
    expect(failing).toMatchObject({ enabled: true, healthStatus: "failing" });
    const failingSince = Date.parse(failing.failingSince ?? "");

    const disabled = await waitFor(
      "the webhook to be disabled",
      async () => {
        const view = await webhookView(t, id);
        return !view.enabled && view;
      },
      15_000,
    );
    const disabledAt = Date.now();
    expect(disabled).toMatchObject({ enabled: false, healthStatus: "disabled" });
    expect(disabledAt - failingSince).toBeGreaterThanOrEqual(AFTER_MS);
    // Every request so far failed, and some came after the limit had passed: it was still trying.
    expect(receiver.requests.length).toBeGreaterThanOrEqual(3);

    const mail = await waitFor("the auto-disable mail", () => server.mails[0]);
    expect(mail.envelopeTo).toEqual(["ops@example.com"]);
    expect(mail.parsed.subject).toBe(
      `[Hookpost] Webhook "Article sync" (${id}) was disabled after failing since ${new Date(failingSince).toISOString()}`,
    );
    const text = mail.parsed.text ?? "";
    expect(text).toContain(`Every attempt since ${new Date(failingSince).toISOString()} failed`);
    expect(text).toContain("HOOKPOST_AUTO_DISABLE_AFTER_MS");
    expect(text).toContain("so the webhook was disabled");
    expect(text).toContain(`POST /webhooks/${id}/enable`);

    // Disabled: its deliveries stay Waiting, and nothing more is sent (an attempt in flight at the
    // moment of disabling may still land: count from a little later).
    await Bun.sleep(200);
    const sentWhileEnabled = receiver.requests.length;
    for (const delivery of deliveries) {
      expect(await logEntry(t, id, delivery)).toMatchObject({
        processStatus: 0,
        state: "retrying",
      });
    }
    await Bun.sleep(1500);
    expect(receiver.requests.length).toBe(sentWhileEnabled);
    for (const delivery of deliveries) {
      expect(await logEntry(t, id, delivery)).toMatchObject({ processStatus: 0 });
    }

    // The receiver recovers; enabling the webhook delivers both.
    receiver.handle(() => Response.json({ ok: true }));
    const enabled = await t.request("POST", `/webhooks/${id}/enable`, { key: t.keys.write });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ enabled: true, failingSince: null, failCount: 0 });
    for (const delivery of deliveries) {
      const entry = await waitFor(
        `delivery ${delivery} to be Sent`,
        async () => {
          const sent = await logEntry(t, id, delivery);
          return sent.processStatus === 2 && sent;
        },
        10_000,
      );
      expect(entry.state).toBe("success");
    }
    expect(await webhookView(t, id)).toMatchObject({
      enabled: true,
      healthStatus: "working",
      failCount: 0,
      failingSince: null,
    });
    // One mail: the disabling's (no delivery ended in Error).
    expect(server.mails).toHaveLength(1);
  });

  test("enabling by PUT (enabled: true) is a fresh start too, not disabled again at once", async () => {
    const receiver = await failingReceiver();
    const afterMs = 2500;
    const t = await app({ HOOKPOST_AUTO_DISABLE_AFTER_MS: String(afterMs) });
    const endpoint = `${receiver.url}/hooks`;
    const { id } = await createWebhook(t, { endpoint, retrySchedule: EVERY_SECOND });
    await publish(t, "first");
    await waitFor(
      "the webhook to be disabled",
      async () => !(await webhookView(t, id)).enabled,
      15_000,
    );
    const put = await t.request("PUT", "/webhooks", {
      key: t.keys.write,
      json: { id, endpoint, enabled: true },
    });
    const enabledAt = Date.now();
    expect(put.body).toMatchObject({ enabled: true, failingSince: null, failCount: 0 });
    // The receiver still fails: a new streak starts, and the leader (which looks each second)
    // leaves the webhook alone until that streak is afterMs long.
    await waitFor(
      "a new failure",
      async () => (await webhookView(t, id)).failingSince ?? undefined,
    );
    await Bun.sleep(Math.max(0, enabledAt + 1300 - Date.now()));
    expect(await webhookView(t, id)).toMatchObject({ enabled: true, healthStatus: "failing" });
  });

  test("a success ends the streak: failingSince goes back to null", async () => {
    const receiver = await failingReceiver();
    const t = await app({ HOOKPOST_AUTO_DISABLE_AFTER_MS: "3600000" });
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: EVERY_SECOND,
    });
    await publish(t, "first");
    await waitFor(
      "the streak to start",
      async () => (await webhookView(t, id)).failingSince ?? undefined,
    );
    receiver.handle(() => Response.json({ ok: true }));
    const healthy = await waitFor("the streak to end", async () => {
      const view = await webhookView(t, id);
      return view.failingSince === null && view;
    });
    expect(healthy).toMatchObject({ enabled: true, healthStatus: "working", failCount: 0 });
  });

  test("a webhook with successes between its failures is not disabled", async () => {
    const receiver = startReceiver((_request, index) =>
      index % 2 === 0 ? new Response("broken", { status: 500 }) : Response.json({ ok: true }),
    );
    cleanups.push(() => receiver.stop());
    const t = await app({ HOOKPOST_AUTO_DISABLE_AFTER_MS: String(AFTER_MS) });
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: EVERY_SECOND,
    });
    // Events for over twice the limit: failures all along, each soon followed by a success.
    const until = Date.now() + 2 * AFTER_MS + 500;
    let sawStreak = false;
    for (let i = 0; Date.now() < until; i++) {
      await publish(t, `c${i}`);
      await Bun.sleep(150);
      const view = await webhookView(t, id);
      if (view.failingSince !== null) sawStreak = true;
      expect(view.enabled).toBe(true);
    }
    // Long enough for the leader to have looked (it looks each second).
    await Bun.sleep(1200);
    expect(sawStreak).toBe(true);
    expect(receiver.requests.length).toBeGreaterThan(10);
    expect(await webhookView(t, id)).toMatchObject({ enabled: true });
  });

  test("HOOKPOST_AUTO_DISABLE_AFTER_MS=0 never disables", async () => {
    const receiver = await failingReceiver();
    const t = await app({ HOOKPOST_AUTO_DISABLE_AFTER_MS: "0" });
    const { id } = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks`,
      retrySchedule: EVERY_SECOND,
    });
    await publish(t, "first");
    const failing = await waitFor("the streak to start", async () => {
      const view = await webhookView(t, id);
      return view.failingSince !== null && view;
    });
    const failingSince = Date.parse(failing.failingSince ?? "");
    // Wait until the streak is well past what the other tests disable at, and attempts go on.
    await waitFor("three failed attempts over 2.5 s", async () => {
      const view = await webhookView(t, id);
      return view.failCount >= 3 && Date.now() - failingSince > AFTER_MS + 1000;
    });
    await Bun.sleep(1200);
    expect(await webhookView(t, id)).toMatchObject({ enabled: true, healthStatus: "failing" });
  });
});
