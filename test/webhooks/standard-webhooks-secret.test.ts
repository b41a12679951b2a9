/**
 * A webhook whose secret is in the Standard Webhooks / Svix form (`whsec_<base64>`) is one the
 * receiver libraries verify as they are documented: `new Webhook(secret).verify(body, headers)`,
 * no options. A real receiver runs both `standardwebhooks` and `svix` on every request, for a
 * delivery and for a test ping.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import {
  type ReceivedRequest,
  type Receiver,
  startReceiver,
  waitFor,
} from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** What each library said of one request: "ok" or its error. */
interface Verdicts {
  standardwebhooks: string;
  svix: string;
}

function verdict(verify: () => unknown): string {
  try {
    verify();
    return "ok";
  } catch (error) {
    return String(error);
  }
}

function verdictsOf(request: ReceivedRequest): Verdicts {
  const headers = Object.fromEntries(request.headers.entries());
  return {
    standardwebhooks: verdict(() => new StandardWebhook(SECRET).verify(request.body, headers)),
    svix: verdict(() => new SvixWebhook(SECRET).verify(request.body, headers)),
  };
}

let t: TestApp;
let receiver: Receiver;
const verdicts: Verdicts[] = [];

beforeAll(async () => {
  t = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32", HOOKPOST_TICK_MS: "20" });
  await t.app.start();
  receiver = startReceiver((request) => {
    const said = verdictsOf(request);
    verdicts.push(said);
    const verified = said.standardwebhooks === "ok" && said.svix === "ok";
    return new Response(verified ? "verified" : "bad signature", { status: verified ? 200 : 401 });
  });
});

afterAll(async () => {
  await t.close();
  await receiver.stop();
});

test("a delivery and a test ping signed with a whsec_ secret verify with standardwebhooks and svix", async () => {
  const { id, secret } = await createWebhook(t, {
    endpoint: `${receiver.url}/hooks`,
    secret: SECRET,
  });
  expect(secret).toBe(SECRET);

  const published = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: "article", contentId: "c_1", fields: { title: "é ✓" } },
  });
  expect(published.status).toBe(202);
  await waitFor("the delivery", () => verdicts[0]);
  expect(verdicts[0]).toEqual({ standardwebhooks: "ok", svix: "ok" });

  const ping = await t.request("POST", `/webhooks/${id}/test`, { key: t.keys.write });
  expect(ping.body).toMatchObject({ statusCode: 200 });
  expect(verdicts[1]).toEqual({ standardwebhooks: "ok", svix: "ok" });
  expect(receiver.requests[1]?.headers.get("contit-test")).toBe("true");
});
