/**
 * A resent message keeps its identity (Standard Webhooks: `webhook-id` "will be the same when
 * the same webhook is being resent"; seed 000: a retry uses "the original payload snapshot").
 * An automatic retry, a manual retry, a retry of that retry and a replay all reach a real
 * receiver with the original delivery's `webhook-id` and its body byte for byte, each verified
 * by the `standardwebhooks` package; the log keeps one record per send, chained by `retryOf`.
 * Retries made before the upgrade (migration 0011) get the id of their chain's original.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Migrator } from "kysely";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { migrations } from "../../migrations/index.ts";
import { openStore } from "../../src/db/connect.ts";
import { migrateToLatest } from "../../src/db/migrator.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { deliveryRow, iso } from "../deliveries/helpers.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import { createTestApp, QUICK_RETRIES, type TestApp, tempDir } from "../helpers/test-app.ts";

let t: TestApp;
let target: Receiver;

beforeAll(async () => {
  t = await createTestApp({
    ...QUICK_RETRIES,
  });
  // The first request of each test's content fails, so the original needs an automatic retry.
  const failedOnce = new Set<string>();
  target = startReceiver((request) => {
    const contentType = new URL(`http://x${request.path}`).searchParams.get("type") ?? "";
    if (failedOnce.has(contentType)) return Response.json({ ok: true });
    failedOnce.add(contentType);
    return new Response("not yet", { status: 500 });
  });
  await t.app.start();
});

afterAll(async () => {
  await t.close();
  await target.stop();
});

async function settled(deliveryId: string) {
  return waitFor(`delivery ${deliveryId} to be sent`, async () => {
    const row = await deliveryRow(t, deliveryId);
    return row.process_status === ProcessStatus.Sent ? row : undefined;
  });
}

/** `POST …/retry` of `deliveryId`; the new delivery's id. */
async function retry(webhookId: string, deliveryId: string): Promise<string> {
  const response = await t.request("POST", `/webhooks/${webhookId}/events/${deliveryId}/retry`, {
    key: t.keys.write,
  });
  expect(response.status).toBe(200);
  return (freshBody(response) as { id: string }).id;
}

/** A verifier for the webhook's secret, in the form the receiver libraries take it. */
function verifierFor(secret: string): StandardWebhook {
  return secret.startsWith("whsec_")
    ? new StandardWebhook(secret)
    : new StandardWebhook(secret, { format: "raw" });
}

describe("a resent message keeps its webhook-id and its bytes", () => {
  test.each([
    ["the default envelope", {}],
    [
      "a custom payload",
      { useCustomPayload: true, customPayload: { id: "{{deliveryId}}", t: "{{fields.title}}" } },
    ],
  ])("%s: automatic retry, manual retry, retry of a retry and replay", async (_name, payload) => {
    const type = `type_${crypto.randomUUID().slice(0, 8)}`;
    const since = Date.now() - 1000;
    const webhook = await createWebhook(t, {
      endpoint: `${target.url}/hooks?type=${type}`,
      eventTypes: { [type]: [0] },
      ...payload,
    });
    const published = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType: type, contentId: "c_1", fields: { title: "Hello" } },
    });
    const original = (published.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!original) throw new Error("no delivery");
    // The original: a 500, then the automatic retry of the same row succeeds.
    expect((await settled(original)).attempts).toBe(2);

    const manual = await retry(webhook.id, original);
    await settled(manual);
    const again = await retry(webhook.id, manual);
    await settled(again);
    const replay = await t.request("POST", `/webhooks/${webhook.id}/replay`, {
      key: t.keys.write,
      json: { since: iso(since) },
    });
    const replayed = (freshBody(replay) as { deliveryIds: string[] }).deliveryIds;
    expect(replayed).toHaveLength(1);
    const replayedId = replayed[0] ?? "";
    await settled(replayedId);

    const received = target.requests.filter((request) => request.path.endsWith(`=${type}`));
    expect(received).toHaveLength(5);
    const body = (await deliveryRow(t, original)).body;
    const verifier = verifierFor(webhook.secret);
    for (const request of received) {
      expect(request.headers.get("webhook-id")).toBe(original);
      expect(request.body).toBe(body);
      expect(verifier.verify(request.body, Object.fromEntries(request.headers.entries()))).toEqual(
        JSON.parse(body),
      );
    }
    // Whatever the body, it names the original delivery: `deliveryId` or `{{deliveryId}}`.
    expect(body).toContain(`"${original}"`);

    // Four records, each with its own id, chained by retryOf; every attempt recorded the id sent.
    const log = await t.request("GET", `/webhooks/${webhook.id}/events`, { key: t.keys.read });
    const items = (freshBody(log) as { items: { id: string; retryOf: string | null }[] }).items;
    expect(items.map((item) => [item.id, item.retryOf])).toEqual([
      [replayedId, again],
      [again, manual],
      [manual, original],
      [original, null],
    ]);
    const recorded = await t.app.store.db
      .selectFrom("attempts")
      .select("request_headers")
      .where("delivery_id", "in", [original, manual, again, replayedId])
      .execute();
    expect(recorded).toHaveLength(5);
    for (const attempt of recorded) {
      expect(JSON.parse(attempt.request_headers)["webhook-id"]).toBe(original);
    }
  });
});

test("migration 0011 gives retries made before it the id at the root of their retryOf chain", async () => {
  const dir = tempDir();
  const store = openStore(join(dir, "hookpost.db"));
  try {
    const db = store.db;
    const before = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await before.migrateTo("0009_queue_from_counts")).error).toBeUndefined();
    const row = (id: string, retryOf: string | null) => ({
      id,
      workspace: "default",
      webhook_id: "wh_1",
      event_id: "evt_1",
      retry_of: retryOf,
      event_type: 0,
      content_type: "article",
      content_id: "c_1",
      fields: "{}",
      translations: "{}",
      body: "{}",
      max_attempts: 1,
      next_attempt_at: 0,
      created_at: 0,
      updated_at: 0,
    });
    // dlv_gone was removed by retention; dlv_orphan's chain ends at the id it still names.
    await db
      .insertInto("deliveries")
      .values([
        row("dlv_a", null),
        row("dlv_b", "dlv_a"),
        row("dlv_c", "dlv_b"),
        row("dlv_d", "dlv_c"),
        row("dlv_orphan", "dlv_gone"),
        row("dlv_e", "dlv_orphan"),
      ])
      .execute();
    await migrateToLatest(db);
    const rows = await db
      .selectFrom("deliveries")
      .select(["id", "message_id"])
      .orderBy("id")
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.message_id]))).toEqual({
      dlv_a: null,
      dlv_b: "dlv_a",
      dlv_c: "dlv_a",
      dlv_d: "dlv_a",
      dlv_e: "dlv_gone",
      dlv_orphan: "dlv_gone",
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
