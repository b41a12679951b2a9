/**
 * Failure mail end to end (SPEC §7): real receivers that fail, the real scheduler, a real SMTP
 * server on loopback (`smtp-server`, parsed with `mailparser`), real SQLite — and a kill -9
 * between the failure and the mail.
 */

import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProcess } from "../helpers/process-server.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { type SmtpTestServer, startSmtp } from "../helpers/smtp.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp, tempDir } from "../helpers/test-app.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function failingReceiver(status = 500): Promise<Receiver> {
  const receiver = startReceiver(() => new Response("broken", { status }));
  cleanups.push(() => receiver.stop());
  return receiver;
}

async function smtp(options?: { user?: string; pass?: string }): Promise<SmtpTestServer> {
  const server = await startSmtp(options);
  cleanups.push(() => server.stop());
  return server;
}

async function app(env: Record<string, string>): Promise<TestApp> {
  const t = await createTestApp({
    ...LOOPBACK_DELIVERY,
    HOOKPOST_RETRY_BASE_MS: "30",
    HOOKPOST_RETRY_MAX_DELAY_MS: "200",
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
  const body = response.body as { deliveries: { deliveryId: string }[] };
  const id = body.deliveries[0]?.deliveryId;
  if (!id) throw new Error(`no delivery: ${response.text}`);
  return id;
}

function textOf(mail: SmtpTestServer["mails"][number]): string {
  return mail.parsed.text ?? "";
}

describe("failure mail", () => {
  test("a delivery ending in Error mails the owners: recipients, subject, text and HTML", async () => {
    const server = await smtp({ user: "mailer", pass: "s3cret-pass" });
    const receiver = await failingReceiver();
    const t = await app({ HOOKPOST_SMTP_URL: server.url });
    const webhook = await createWebhook(t, {
      endpoint: `${receiver.url}/hooks?token=endpoint-token`,
      description: "Article sync",
      errorEmailTo: "ops@example.com, dev@example.com",
      maxAttempts: 2,
    });
    const deliveryId = await publish(t, "c1");
    const mail = await waitFor("the failure mail", () => server.mails[0]);
    expect(server.logins).toContain("mailer:s3cret-pass");
    expect(mail.envelopeTo.sort()).toEqual(["dev@example.com", "ops@example.com"]);
    expect(mail.parsed.from?.text).toBe("hookpost@example.test");
    expect(mail.parsed.subject).toBe(
      `[Hookpost] Webhook "Article sync" (${webhook.id}): 1 delivery failed`,
    );
    expect(textOf(mail)).toContain(deliveryId);
    expect(textOf(mail)).toContain("Last outcome: HTTP 500 after 2 attempts.");
    expect(textOf(mail)).toContain(`POST /webhooks/${webhook.id}/events/${deliveryId}/retry`);
    expect(mail.parsed.html).toContain(deliveryId);
    for (const secret of [webhook.secret, "endpoint-token", "s3cret-pass", t.keys.write]) {
      expect(textOf(mail)).not.toContain(secret);
      expect(String(mail.parsed.html)).not.toContain(secret);
    }
    // Marked sent once the SMTP server has taken it: a moment after the mail arrives.
    const notices = await waitFor("the notice marked as mailed", async () => {
      const rows = await t.app.store.db.selectFrom("failure_notices").selectAll().execute();
      return rows.every((row) => row.mailed_at !== null) ? rows : undefined;
    });
    expect(notices).toHaveLength(1);
    expect(notices[0]?.mailed_at).toBeGreaterThan(0);
  });

  test("a webhook without errorEmailTo mails nobody", async () => {
    const server = await smtp();
    const receiver = await failingReceiver();
    const t = await app({ HOOKPOST_SMTP_URL: server.url, HOOKPOST_MAX_ATTEMPTS: "1" });
    await createWebhook(t, { endpoint: receiver.url });
    const deliveryId = await publish(t, "c1");
    await waitFor("the delivery to fail", async () => {
      const row = await t.app.store.db
        .selectFrom("deliveries")
        .select("process_status")
        .where("id", "=", deliveryId)
        .executeTakeFirstOrThrow();
      return row.process_status === -1;
    });
    expect(await t.app.store.db.selectFrom("failure_notices").selectAll().execute()).toEqual([]);
    expect(server.mails).toHaveLength(0);
  });

  test("410 Gone: the mail says the webhook was disabled", async () => {
    const server = await smtp();
    const receiver = await failingReceiver(410);
    const t = await app({ HOOKPOST_SMTP_URL: server.url });
    const webhook = await createWebhook(t, {
      endpoint: receiver.url,
      errorEmailTo: "ops@example.com",
    });
    await publish(t, "c1");
    const mail = await waitFor("the mail", () => server.mails[0]);
    expect(mail.parsed.subject).toContain("was disabled");
    expect(textOf(mail)).toContain(`POST /webhooks/${webhook.id}/enable`);
  });

  test("the throttle folds the failures of the window into one digest", async () => {
    const server = await smtp();
    const receiver = await failingReceiver();
    const t = await app({
      HOOKPOST_SMTP_URL: server.url,
      HOOKPOST_MAX_ATTEMPTS: "1",
      HOOKPOST_MAIL_THROTTLE_MS: "3000",
    });
    const webhook = await createWebhook(t, {
      endpoint: receiver.url,
      errorEmailTo: "ops@example.com",
    });
    const first = await publish(t, "first");
    await waitFor("the first mail", () => server.mails[0]);
    const later = [];
    for (let i = 0; i < 5; i++) later.push(await publish(t, `later-${i}`));
    // All five fail inside the window; no mail for them until it has passed.
    await waitFor("five more notices", async () => {
      const rows = await t.app.store.db
        .selectFrom("failure_notices")
        .select("id")
        .where("mailed_at", "is", null)
        .execute();
      return rows.length === 5;
    });
    expect(server.mails).toHaveLength(1);
    const digest = await waitFor("the digest", () => server.mails[1]);
    expect(digest.parsed.subject).toBe(
      `[Hookpost] Webhook "${receiver.url.replace("http://", "")}" (${webhook.id}): 5 deliveries failed`,
    );
    for (const id of later) expect(textOf(digest)).toContain(id);
    expect(textOf(digest)).not.toContain(first);
    expect(server.mails).toHaveLength(2);
  });

  test("with the SMTP server down, notices pile up and all go out once it is back", async () => {
    const server = await smtp();
    await server.stop();
    const receiver = await failingReceiver();
    // The mailer tries SMTP again on the retry backoff: short here, so its next try after the
    // server is back comes within a second, however many tries failed before.
    const t = await app({
      HOOKPOST_SMTP_URL: server.url,
      HOOKPOST_MAX_ATTEMPTS: "1",
      HOOKPOST_RETRY_BASE_MS: "100",
      HOOKPOST_RETRY_MAX_DELAY_MS: "500",
    });
    await createWebhook(t, { endpoint: receiver.url, errorEmailTo: "ops@example.com" });
    const ids = [await publish(t, "a"), await publish(t, "b"), await publish(t, "c")];
    const state = await waitFor("a failed SMTP attempt", async () => {
      const row = await t.app.store.db.selectFrom("mail_state").selectAll().executeTakeFirst();
      return row && row.failures > 0 ? row : undefined;
    });
    expect(state.last_error).toContain("ECONNREFUSED");
    // Deliveries keep flowing while mail is down.
    const fourth = await publish(t, "d");
    ids.push(fourth);
    // Its notice is written before SMTP comes back: one written after the first mail would
    // wait out the hour's throttle.
    await waitFor("the fourth failure's notice", async () => {
      const notices = await t.app.store.db.selectFrom("failure_notices").select("id").execute();
      return notices.length === ids.length;
    });
    await server.restart();
    const mail = await waitFor("the mail after SMTP came back", () => {
      const all = server.mails.map(textOf).join("\n");
      return ids.every((id) => all.includes(id)) ? server.mails : undefined;
    });
    expect(mail.length).toBeGreaterThanOrEqual(1);
    // Marked sent once the SMTP server has taken them: a moment after the mail arrives.
    await waitFor("every notice marked as mailed", async () => {
      const unmailed = await t.app.store.db
        .selectFrom("failure_notices")
        .select("id")
        .where("mailed_at", "is", null)
        .execute();
      return unmailed.length === 0;
    });
  });

  test("without HOOKPOST_SMTP_URL notices are kept and a warning is logged once", async () => {
    const receiver = await failingReceiver();
    const t = await app({ HOOKPOST_MAX_ATTEMPTS: "1" });
    await createWebhook(t, { endpoint: receiver.url, errorEmailTo: "ops@example.com" });
    await publish(t, "c1");
    await waitFor("a notice", async () =>
      (await t.app.store.db.selectFrom("failure_notices").select("id").execute()).length === 1
        ? true
        : undefined,
    );
    const warnings = t.logLines.filter((line) => line.includes("HOOKPOST_SMTP_URL is not set"));
    expect(warnings).toHaveLength(1);
  });
});

describe("failure mail and kill -9", () => {
  test("a failure committed just before a kill -9 is mailed after the restart", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "hookpost.db");
    const receiver = await failingReceiver();
    const server = await smtp();
    await server.stop(); // first life: SMTP unreachable, so the notice cannot be mailed yet
    const key = `hpk_${"k".repeat(40)}`;
    const env = {
      HOOKPOST_API_KEY: key,
      ...LOOPBACK_DELIVERY,
      HOOKPOST_MAX_ATTEMPTS: "1",
      HOOKPOST_SMTP_URL: server.url,
      HOOKPOST_RETRY_BASE_MS: "30",
      HOOKPOST_RETRY_MAX_DELAY_MS: "200",
    };
    const first = await startServerProcess({ dbPath, env });
    cleanups.push(async () => {
      await first.kill();
    });
    const created = await first.request("PUT", "/webhooks", {
      key,
      json: {
        endpoint: receiver.url,
        eventTypes: { article: [0] },
        errorEmailTo: "ops@example.com",
      },
    });
    expect(created.status).toBe(200);
    const accepted = await first.request("POST", "/events", {
      key,
      json: { eventType: 0, contentType: "article", contentId: "c1" },
    });
    const deliveryId = (accepted.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    await waitFor("the notice to be committed", () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        const row = db.query("select count(*) as n from failure_notices").get() as { n: number };
        return row.n === 1;
      } finally {
        db.close();
      }
    });
    await first.kill("SIGKILL");
    expect(server.mails).toHaveLength(0);

    await server.restart();
    const second = await startServerProcess({ dbPath, env });
    cleanups.push(async () => {
      await second.kill();
    });
    const mail = await waitFor("the mail after the restart", () => server.mails[0]);
    expect(textOf(mail)).toContain(deliveryId ?? "missing");
  });
});
