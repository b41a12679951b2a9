/**
 * A rendered body is bounded at 1 MiB (issue 13: a 13 KB template of 1,000 × `"{{fields}}"`
 * and one 100 KB event made a 100 MB body, 1.29 GB of RSS and 663 MB of database). Such a
 * delivery fails at once with a clear error, stores no body, reaches no receiver, and is
 * reported like any render error: the log says `failed`, and the owners get the failure mail.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildDelivery } from "../../src/deliveries/build.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import type { IngestWebhook } from "../../src/events/enabled-webhooks.ts";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { TemplaterRegistry } from "../../src/plugin-host/templaters.ts";
import { deliveryRow } from "../deliveries/helpers.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import { type SmtpTestServer, startSmtp } from "../helpers/smtp.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";

const TOO_LARGE = `exceeds ${MAX_BODY_BYTES} bytes, the most a delivery may send`;

/** The template: 1,000 × `"{{fields}}"` (13 KB). */
const REPEATED_FIELDS = Array.from({ length: 1000 }, () => "{{fields}}");

describe("a template that would render more than 1 MiB", () => {
  let t: TestApp;
  let target: Receiver;
  let smtp: SmtpTestServer;

  beforeAll(async () => {
    smtp = await startSmtp();
    target = startReceiver();
    t = await createTestApp({
      ...LOOPBACK_DELIVERY,
      HOOKPOST_SMTP_URL: smtp.url,
      HOOKPOST_MAIL_FROM: "hookpost@example.test",
    });
    await t.app.start();
  });

  afterAll(async () => {
    await t.close();
    await target.stop();
    await smtp.stop();
  });

  async function publishTo(webhookType: string, fieldBytes: number) {
    const response = await t.request("POST", "/events", {
      key: t.keys.write,
      json: {
        eventType: 0,
        contentType: webhookType,
        contentId: "c_1",
        fields: { text: "a".repeat(fieldBytes) },
      },
    });
    expect(response.status).toBe(202);
    const id = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!id) throw new Error("no delivery");
    return id;
  }

  async function repeatingWebhook(): Promise<{ id: string; type: string }> {
    const type = `type_${crypto.randomUUID().slice(0, 8)}`;
    const webhook = await createWebhook(t, {
      endpoint: target.url,
      eventTypes: { [type]: [0] },
      useCustomPayload: true,
      customPayload: REPEATED_FIELDS,
      errorEmailTo: "ops@example.com",
    });
    return { id: webhook.id, type };
  }

  test("the delivery fails at once with a clear error, stores no body and is mailed", async () => {
    const webhook = await repeatingWebhook();
    // 1,000 × a 2 KB event: 2 MB of body.
    const deliveryId = await publishTo(webhook.type, 2_000);

    const stored = await deliveryRow(t, deliveryId);
    expect(stored).toMatchObject({
      process_status: ProcessStatus.Error,
      attempts: 0,
      body: "",
      custom_payload: null,
    });
    expect(stored.last_error).toBe(`template engine "json": the rendered body ${TOO_LARGE}`);
    const entry = await t.request("GET", `/webhooks/${webhook.id}/events/${deliveryId}`, {
      key: t.keys.read,
    });
    expect(freshBody(entry)).toMatchObject({
      state: "failed",
      processStatus: -1,
      lastError: stored.last_error,
    });

    const mail = await waitFor("the failure mail", () => smtp.mails[0]);
    expect(mail.envelopeTo).toEqual(["ops@example.com"]);
    expect(mail.parsed.text).toContain(deliveryId);
    expect(mail.parsed.text).toContain(TOO_LARGE);
    expect(target.requests).toHaveLength(0);
  });

  test("at the issue's scale (1,000 × a 100 KB event) memory stays near where it was", async () => {
    const webhook = await repeatingWebhook();
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    const deliveryId = await publishTo(webhook.type, 100_000);
    const after = process.memoryUsage().rss;
    // The body it refused is 100 MB: rendering it whole took RSS up by 280 MB (now: 2 MB).
    expect(after - before).toBeLessThan(64 * 1024 * 1024);
    expect((await deliveryRow(t, deliveryId)).body).toBe("");
  });
});

describe("the default envelope", () => {
  const webhook: IngestWebhook = {
    id: "wh_1",
    workspace: "default",
    event_types: "{}",
    slot: "published",
    languages: "[]",
    use_custom_payload: 0,
    custom_payload: null,
    template_engine: "json",
    retry_policy: "automatic",
    max_attempts: null,
    retry_schedule: null,
  };
  const build = (text: string) =>
    buildDelivery({
      webhook,
      content: {
        eventId: "evt_1",
        eventType: 0,
        contentType: "article",
        contentId: "c_1",
        fields: { text },
        translations: {},
        acceptedAt: 0,
      },
      templaters: new TemplaterRegistry(),
      defaultMaxAttempts: 3,
      now: 0,
    });

  test("is held to the same bound: an envelope of an event over 1 MiB fails, no body stored", () => {
    const fits = build("a".repeat(MAX_BODY_BYTES - 1000));
    expect(fits.process_status).toBe(ProcessStatus.Waiting);
    expect(fits.body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const over = build("a".repeat(MAX_BODY_BYTES));
    expect(over).toMatchObject({
      process_status: ProcessStatus.Error,
      body: "",
      last_error: `the content envelope: the rendered body ${TOO_LARGE}`,
    });
  });
});
