/**
 * The scheduler keeps the enabled webhooks in memory between ticks; every change that decides
 * how a delivery is sent must reach the next one: a rotated secret, a moved endpoint, new
 * headers and receiver authentication, disabling — through the API or by another connection.
 */

import { expect, test } from "bun:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { publish } from "../deliveries/helpers.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, otherConnection, type TestApp } from "../helpers/test-app.ts";

async function delivered(target: Receiver, count: number) {
  const request = await waitFor(`delivery ${count}`, () => target.requests[count - 1]);
  return { request, headers: Object.fromEntries(request.headers.entries()) };
}

async function write(t: TestApp, method: string, path: string, json?: unknown) {
  const response = await t.request(method, path, { key: t.keys.write, json });
  expect(response.status).toBeLessThan(300);
  return response.body as { secret: string };
}

test("each change to a webhook decides how its next delivery is sent", async () => {
  const first = startReceiver();
  const second = startReceiver();
  const t = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32", HOOKPOST_TICK_MS: "20" });
  try {
    await t.app.start();
    const webhook = await createWebhook(t, { endpoint: `${first.url}/a` });
    await publish(t, { contentId: "1" });
    const one = await delivered(first, 1);
    expect(() =>
      new StandardWebhook(webhook.secret, { format: "raw" }).verify(one.request.body, one.headers),
    ).not.toThrow();

    const { secret } = await write(t, "POST", `/webhooks/${webhook.id}/rotate-secret`);
    await publish(t, { contentId: "2" });
    const two = await delivered(first, 2);
    expect(() =>
      new StandardWebhook(secret, { format: "raw" }).verify(two.request.body, two.headers),
    ).not.toThrow();
    expect(() =>
      new StandardWebhook(webhook.secret, { format: "raw" }).verify(two.request.body, two.headers),
    ).toThrow();

    await write(t, "PUT", "/webhooks", {
      id: webhook.id,
      endpoint: `${second.url}/b`,
      eventTypes: { article: [0] },
      headers: [{ key: "X-Tenant", value: "blue" }],
      auth: { type: "bearer", token: "t0ken" },
    });
    await publish(t, { contentId: "3" });
    const three = await delivered(second, 1);
    expect(three.request.path).toBe("/b");
    expect(three.headers["x-tenant"]).toBe("blue");
    expect(three.headers.authorization).toBe("Bearer t0ken");
    expect(first.requests).toHaveLength(2);

    // Changed by another connection (another process): the next tick sees it.
    const other = otherConnection(t.app);
    try {
      await other.db
        .updateTable("webhooks")
        .set({ endpoint: `${first.url}/c` })
        .where("id", "=", webhook.id)
        .execute();
    } finally {
      await other.close();
    }
    await publish(t, { contentId: "4" });
    const four = await delivered(first, 3);
    expect(four.request.path).toBe("/c");
    expect(second.requests).toHaveLength(1);
  } finally {
    await t.close();
    await first.stop();
    await second.stop();
  }
});
