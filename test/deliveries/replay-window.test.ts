/**
 * The replay window's refusals say which bound is wrong and why: a `since` in the future with
 * no `until` is in the future (`until` defaults to now), not "later than until", a field the
 * caller never sent.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createWebhook, expectErrorEnvelope, freshBody } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { countDeliveries, deliveryOf, iso, publish } from "./helpers.ts";

const HOUR = 3_600_000;

describe("POST /webhooks/{id}/replay: the window", () => {
  let app: TestApp;
  let webhook = "";
  const replay = (json: Record<string, string>) =>
    app.request("POST", `/webhooks/${webhook}/replay`, { key: app.keys.write, json });

  beforeAll(async () => {
    app = await createTestApp();
    webhook = (await createWebhook(app)).id;
    deliveryOf(await publish(app), webhook);
  });
  afterAll(async () => {
    await app.close();
  });

  test("since in the future without until is a 400 saying so, and enqueues nothing", async () => {
    const count = await countDeliveries(app);
    const before = Date.now();
    const response = await replay({ since: iso(before + HOUR) });
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
    const { message } = (response.body as { error: { message: string } }).error;
    expect(message).toMatch(/^since: is in the future \(now is (.+)\); until defaults to now$/);
    const now = Date.parse(/now is (.+)\)/.exec(message)?.[1] ?? "");
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    expect(freshBody(response)).toMatchObject({
      error: { details: { fields: [{ field: "since" }] } },
    });
    expect(await countDeliveries(app)).toBe(count);
  });

  test("since later than the until sent is a 400 naming until", async () => {
    const response = await replay({
      since: "2026-05-15T10:00:00Z",
      until: "2026-05-15T09:00:00Z",
    });
    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toBe(
      "since: must not be later than until",
    );
  });
});
