/**
 * The delivery log's small decisions, as tables: seed 004's state, the date-times the log
 * accepts, the cursor round trip; and that the scheduler is woken only after new deliveries
 * were committed.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DeliveryState } from "../../src/deliveries/model.ts";
import {
  decodeCursor,
  type EnqueueContext,
  encodeCursor,
  parseDateTime,
  replayDeliveries,
  retryDelivery,
} from "../../src/deliveries/service.ts";
import { deliveryState, ProcessStatus } from "../../src/deliveries/status.ts";
import { NotFound } from "../../src/errors.ts";
import { TemplaterRegistry } from "../../src/plugin-host/templaters.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import { deliveryOf, publish } from "./helpers.ts";

describe("deliveryState", () => {
  test.each<[number, number, number, DeliveryState]>([
    [ProcessStatus.Waiting, 0, 10, "pending"],
    [ProcessStatus.Waiting, 1, 10, "retrying"],
    [ProcessStatus.Processing, 0, 10, "processing"],
    [ProcessStatus.Processing, 3, 10, "processing"],
    [ProcessStatus.Sent, 1, 10, "success"],
    [ProcessStatus.Error, 10, 10, "exhausted"],
    [ProcessStatus.Error, 1, 1, "exhausted"],
    [ProcessStatus.Error, 0, 10, "failed"],
    [ProcessStatus.Error, 4, 10, "failed"],
  ])("status %d with %d of %d attempts is %s", (status, attempts, maxAttempts, state) => {
    expect(deliveryState({ process_status: status, attempts, max_attempts: maxAttempts })).toBe(
      state,
    );
  });
});

describe("parseDateTime", () => {
  test.each([
    ["2026-05-15T14:02:11Z", Date.UTC(2026, 4, 15, 14, 2, 11)],
    ["2026-05-15T14:02:11.250Z", Date.UTC(2026, 4, 15, 14, 2, 11, 250)],
    ["2026-05-15T16:02:11+02:00", Date.UTC(2026, 4, 15, 14, 2, 11)],
    ["2026-05-15T14:02Z", Date.UTC(2026, 4, 15, 14, 2)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ])("%s is accepted", (text, ms) => {
    expect(parseDateTime(text)).toBe(ms);
  });

  test.each([
    "2026-05-15",
    "2026-05-15T14:02:11",
    "2026-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-05-15T25:00:00Z",
    "2026-05-15 14:02:11Z",
    "15/05/2026",
    "Fri May 15 2026 14:02:11 GMT+0000",
    "",
  ])("%p is refused", (text) => {
    expect(parseDateTime(text)).toBeNull();
  });
});

describe("cursors", () => {
  test("round-trip a position", () => {
    const position = { createdAt: 1778853731123, id: "dlv_01jd3x8k2mq4v9f7r2c8tb6n" };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  test.each([
    "",
    "!!!",
    Buffer.from("no-colon").toString("base64url"),
    Buffer.from("abc:dlv_1").toString("base64url"),
    Buffer.from("123:").toString("base64url"),
    Buffer.from("123:has space").toString("base64url"),
  ])("%p is not a cursor", (cursor) => {
    expect(decodeCursor(cursor)).toBeNull();
  });
});

describe("waking the scheduler", () => {
  let app: TestApp;
  let context: EnqueueContext;
  let wakes = 0;
  beforeAll(async () => {
    app = await createTestApp();
    context = {
      store: app.app.services.store,
      templaters: new TemplaterRegistry(),
      defaultMaxAttempts: 10,
      wake: () => {
        wakes++;
      },
    };
  });
  afterAll(async () => {
    await app.close();
  });

  test("a retry wakes it", async () => {
    const { id: webhook } = await createWebhook(app);
    const original = deliveryOf(await publish(app), webhook);
    const before = wakes;
    const retried = await retryDelivery(context, "default", webhook, original);
    expect(wakes).toBe(before + 1);
    expect(retried.retryOf).toBe(original);
  });

  test("a replay wakes it once for all its deliveries", async () => {
    const { id: webhook } = await createWebhook(app);
    await publish(app);
    await publish(app);
    const before = wakes;
    const result = await replayDeliveries(context, "default", webhook, {
      since: "2000-01-01T00:00:00Z",
    });
    expect(result.replayed).toBe(2);
    expect(wakes).toBe(before + 1);
  });

  test("a refused retry or an empty replay does not wake it", async () => {
    const { id: webhook } = await createWebhook(app);
    const before = wakes;
    await expect(retryDelivery(context, "default", webhook, "dlv_nothing")).rejects.toBeInstanceOf(
      NotFound,
    );
    const result = await replayDeliveries(context, "default", webhook, {
      since: "2000-01-01T00:00:00Z",
    });
    expect(result.replayed).toBe(0);
    expect(wakes).toBe(before);
  });
});
