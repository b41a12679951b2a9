/**
 * Shared set-up for the delivery log tests: publish events through the API, and put
 * deliveries into the states the scheduler would (Sent, Error, retrying…) by writing rows, or
 * in flight (Processing) by taking them through the store.
 */

import { expect } from "bun:test";
import type { Updateable } from "kysely";
import type { DeliveryTable } from "../../src/db/database.ts";
import { recountTotals } from "../../src/store/counts.ts";
import type { DeliveryStore } from "../../src/store/delivery-store.ts";
import type { DispatchableWebhook, DueDelivery } from "../../src/store/queue.ts";
import type { TestApp } from "../helpers/test-app.ts";

export interface Published {
  eventId: string;
  /** Delivery id by webhook id. */
  deliveries: Record<string, string>;
}

/** `POST /events` with the write key; fails the test unless it is accepted. */
export async function publish(
  app: TestApp,
  event: Record<string, unknown> = {},
  key: string = app.keys.write,
): Promise<Published> {
  const response = await app.request("POST", "/events", {
    key,
    json: { eventType: 0, contentType: "article", contentId: "c1", ...event },
  });
  if (response.status !== 202) throw new Error(`event not accepted: ${response.text}`);
  const body = response.body as {
    eventId: string;
    deliveries: { webhookId: string; deliveryId: string }[];
  };
  return {
    eventId: body.eventId,
    deliveries: Object.fromEntries(body.deliveries.map((d) => [d.webhookId, d.deliveryId])),
  };
}

/** The delivery id of `webhookId` in a publish answer; fails when there is none. */
export function deliveryOf(published: Published, webhookId: string): string {
  const id = published.deliveries[webhookId];
  if (!id) throw new Error(`no delivery for ${webhookId}`);
  return id;
}

/**
 * Writes delivery columns directly, as the scheduler would, then derives the log's kept totals
 * again (the store keeps them for the writes it makes, and these are not its writes).
 */
export async function setDelivery(
  app: TestApp,
  id: string,
  changes: Updateable<DeliveryTable>,
): Promise<void> {
  await app.app.store.db.updateTable("deliveries").set(changes).where("id", "=", id).execute();
  await recountTotals(app.app.store.db);
}

/**
 * Takes the Waiting delivery `id` of `webhookId` for an attempt, as the scheduler would (the
 * app must not be started): it is then in flight, Processing to readers, until the app stops.
 */
export async function takeInFlight(app: TestApp, webhookId: string, id: string): Promise<void> {
  // Due before any other, so it is the one taken.
  await setDelivery(app, id, { next_attempt_at: 0 });
  const taken = await takeDue(app.app.services.store, webhookId, 1);
  expect(taken.map((delivery) => delivery.id)).toEqual([id]);
}

/**
 * Takes up to `count` of the webhook's due deliveries, oldest due first, as the scheduler
 * would (the app must not be started): in flight until recorded or released.
 */
export async function takeDue(
  store: DeliveryStore,
  webhookId: string,
  count: number,
): Promise<DueDelivery[]> {
  const webhook = (await store.dispatchableWebhooks()).find((each) => each.id === webhookId);
  if (!webhook) throw new Error(`webhook ${webhookId} is not enabled`);
  return takeDueOf(store, webhook, count);
}

/** {@link takeDue} for a webhook given whole (one the test made up, say). */
export async function takeDueOf(
  store: DeliveryStore,
  webhook: DispatchableWebhook,
  count: number,
): Promise<DueDelivery[]> {
  // No limit of attempts in flight: the test takes what it asks for.
  const want = {
    webhook,
    room: count,
    busy: 0,
    limit: 1e6,
    failingLimit: 1e6,
    failingAfter: 1e6,
  };
  const taken = await store.take(Date.now(), [want], count);
  return taken.deliveries.map(([, delivery]) => delivery);
}

export async function deliveryRow(app: TestApp, id: string) {
  return app.app.store.db
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

export async function countDeliveries(app: TestApp): Promise<number> {
  const row = await app.app.store.db
    .selectFrom("deliveries")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
