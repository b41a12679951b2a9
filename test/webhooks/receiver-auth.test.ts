/**
 * Receiver authentication (seed 002): the `auth` field and credential-looking custom headers
 * are masked as "********" in every response, a mask sent back keeps the stored value, and
 * deliveries and the test ping carry the right `Authorization` header — basic, bearer, or an
 * OAuth2 client-credentials token fetched from a real token endpoint and cached. A token
 * endpoint's answer is never quoted: one that repeats its request would show the client secret.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { OutboundGuard } from "../../src/outbound/outbound-guard.ts";
import { ReceiverAuthenticator, TOKEN_ERROR_PREFIX } from "../../src/outbound/receiver-auth.ts";
import { USER_AGENT } from "../../src/version.ts";
import type { ReceiverAuth } from "../../src/webhooks/model.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook, freshBody, runScenarios } from "../helpers/scenarios.ts";
import { type SmtpTestServer, startSmtp } from "../helpers/smtp.ts";
import {
  createTestApp,
  LOOPBACK_DELIVERY,
  QUICK_RETRIES,
  type TestApp,
} from "../helpers/test-app.ts";

const MASK = "********";
const basic = { type: "basic", username: "hookpost", password: "pa55-word-basic" };
const bearer = { type: "bearer", token: "bearer-token-0123456789" };
const oauth2 = {
  type: "oauth2",
  tokenUrl: "https://auth.example.com/oauth/token",
  clientId: "hookpost-client",
  clientSecret: "client-secret-0123456789",
  scope: "hooks:write",
};

/** The whole error for a token endpoint's refusal: its status, and none of its answer. */
function tokenRefused(status: number): string {
  return `the token endpoint answered HTTP ${status}; its answer is not shown, as it may repeat the credentials`;
}

async function storedRow(app: TestApp, id: string) {
  return app.app.store.db
    .selectFrom("webhooks")
    .select(["auth", "headers"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

async function storedAuth(app: TestApp, id: string): Promise<ReceiverAuth> {
  return JSON.parse((await storedRow(app, id)).auth) as ReceiverAuth;
}

describe("auth and credential headers in the API", () => {
  runScenarios([
    {
      name: "a new webhook has no receiver authentication",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a" },
      expectedStatus: 200,
      expectedContent: { auth: { type: "none" } },
    },
    {
      name: "basic: the password is masked in the PUT answer, stored in plain",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: basic },
      expectedStatus: 200,
      expectedContent: { auth: { type: "basic", username: "hookpost", password: MASK } },
      notExpectedContent: [basic.password],
      after: async (response, app) => {
        const { id } = response.body as { id: string };
        expect(await storedAuth(app, id)).toEqual(basic as ReceiverAuth);
      },
    },
    {
      name: "bearer: the token is masked in GET",
      method: "GET",
      url: "/webhooks/{id}",
      key: "read",
      setup: async (app) => createWebhook(app, { auth: bearer }),
      expectedStatus: 200,
      expectedContent: { auth: { type: "bearer", token: MASK } },
      notExpectedContent: [bearer.token],
    },
    {
      name: "oauth2: only the client secret is masked, in the list too",
      method: "GET",
      url: "/webhooks",
      key: "read",
      setup: async (app) => createWebhook(app, { auth: oauth2 }),
      expectedStatus: 200,
      notExpectedContent: [oauth2.clientSecret],
      after: (response, _app, vars) => {
        const listed = (freshBody(response) as { id: string; auth: unknown }[]).find(
          (webhook) => webhook.id === vars.id,
        );
        expect(listed?.auth).toEqual({ ...oauth2, clientSecret: MASK });
      },
    },
    {
      name: "credential-looking custom headers are masked, others shown",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        headers: [
          { key: "X-Api-Key", value: "api-key-value-1" },
          { key: "X-Auth-Token", value: "token-value-2" },
          { key: "Cookie", value: "session=cookie-value-3" },
          { key: "X-Tenant", value: "acme" },
        ],
      },
      expectedStatus: 200,
      expectedContent: {
        headers: [
          { key: "X-Api-Key", value: MASK },
          { key: "X-Auth-Token", value: MASK },
          { key: "Cookie", value: MASK },
          { key: "X-Tenant", value: "acme" },
        ],
      },
      notExpectedContent: ["api-key-value-1", "token-value-2", "cookie-value-3"],
    },
    {
      name: "enable, disable and rotate-secret answers mask too",
      method: "POST",
      url: "/webhooks/{id}/rotate-secret",
      setup: async (app) =>
        createWebhook(app, {
          auth: basic,
          headers: [{ key: "X-Api-Key", value: "api-key-value-1" }],
        }),
      expectedStatus: 200,
      expectedContent: { auth: { password: MASK }, headers: [{ value: MASK }] },
      notExpectedContent: [basic.password, "api-key-value-1"],
    },
    {
      name: "basic without a password is 400 naming auth.password",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: { type: "basic", username: "u" } },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "auth.password" }] } } },
    },
    {
      name: "an unknown auth type is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: { type: "digest", username: "u" } },
      expectedStatus: 400,
      expectedContent: { error: { code: "validation_failed" } },
    },
    {
      name: "a basic username with a colon is 400",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        auth: { type: "basic", username: "a:b", password: "x" },
      },
      expectedStatus: 400,
    },
    {
      name: "a bearer token that is not a header value is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: { type: "bearer", token: "two\nlines" } },
      expectedStatus: 400,
    },
    {
      name: "an oauth2 field from another type is 400",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: { ...oauth2, password: "x" } },
      expectedStatus: 400,
    },
    {
      name: "a relative token URL is 400 naming auth.tokenUrl",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", auth: { ...oauth2, tokenUrl: "/token" } },
      expectedStatus: 400,
      expectedContent: {
        error: { code: "invalid_request", details: { fields: [{ field: "auth.tokenUrl" }] } },
      },
    },
    {
      name: "a token URL on a private address is refused like an endpoint",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        auth: { ...oauth2, tokenUrl: "http://169.254.169.254/token" },
      },
      expectedStatus: 400,
      expectedContent: {
        error: {
          details: {
            fields: [{ field: "auth.tokenUrl", message: expect.stringContaining("private") }],
          },
        },
      },
    },
    {
      name: "a masked secret on create is 400: there is nothing to keep",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/masked", auth: { ...bearer, token: MASK } },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "auth.token" }] } } },
      after: async (_response, app) => {
        const list = await app.request("GET", "/webhooks", { key: app.keys.read });
        expect(list.text).not.toContain("example.com/masked");
      },
    },
    {
      name: "a masked custom header on create is 400 naming the value",
      method: "PUT",
      url: "/webhooks",
      json: { endpoint: "https://example.com/a", headers: [{ key: "X-Api-Key", value: MASK }] },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "headers.0.value" }] } } },
    },
    {
      name: "a custom Authorization header beside auth is 400",
      method: "PUT",
      url: "/webhooks",
      json: {
        endpoint: "https://example.com/a",
        auth: bearer,
        headers: [{ key: "authorization", value: "Bearer other" }],
      },
      expectedStatus: 400,
      expectedContent: { error: { details: { fields: [{ field: "headers.0.key" }] } } },
    },
    {
      name: "a read key cannot set credentials",
      method: "PUT",
      url: "/webhooks",
      key: "read",
      json: { endpoint: "https://example.com/a", auth: basic },
      expectedStatus: 403,
    },
  ]);
});

describe("a mask sent back keeps the stored credential", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  const put = (json: Record<string, unknown>) =>
    app.request("PUT", "/webhooks", { key: app.keys.write, json });

  test("PUT back what GET answered: every credential stays, shown fields change", async () => {
    const { id } = await createWebhook(app, {
      auth: oauth2,
      headers: [
        { key: "X-Api-Key", value: "api-key-value-1" },
        { key: "X-Tenant", value: "acme" },
      ],
    });
    const got = freshBody(await app.request("GET", `/webhooks/${id}`, { key: app.keys.read })) as {
      endpoint: string;
      auth: Record<string, string>;
      headers: { key: string; value: string }[];
    };
    const response = await put({
      id,
      endpoint: got.endpoint,
      auth: { ...got.auth, scope: "hooks:read" },
      headers: [...got.headers, { key: "X-Extra", value: "1" }],
    });
    expect(response.status).toBe(200);
    expect(freshBody(response)).toMatchObject({
      auth: { clientSecret: MASK, scope: "hooks:read" },
    });
    expect(await storedAuth(app, id)).toEqual({ ...oauth2, scope: "hooks:read" } as ReceiverAuth);
    expect(JSON.parse((await storedRow(app, id)).headers)).toEqual([
      { key: "X-Api-Key", value: "api-key-value-1" },
      { key: "X-Tenant", value: "acme" },
      { key: "X-Extra", value: "1" },
    ]);
  });

  test("a real value replaces the stored one", async () => {
    const { id } = await createWebhook(app, { auth: basic });
    const response = await put({
      id,
      endpoint: "https://example.com/hooks",
      auth: { ...basic, password: "new-password" },
    });
    expect(response.status).toBe(200);
    expect(await storedAuth(app, id)).toEqual({
      ...basic,
      password: "new-password",
    } as ReceiverAuth);
  });

  test("omitting auth keeps it; type none removes it", async () => {
    const { id } = await createWebhook(app, { auth: bearer });
    expect((await put({ id, endpoint: "https://example.com/other" })).status).toBe(200);
    expect(await storedAuth(app, id)).toEqual(bearer as ReceiverAuth);
    expect(
      (await put({ id, endpoint: "https://example.com/a", auth: { type: "none" } })).status,
    ).toBe(200);
    expect(await storedAuth(app, id)).toEqual({ type: "none" });
  });

  test("a changed type needs real credentials; the 400 changes nothing", async () => {
    const { id } = await createWebhook(app, { auth: basic });
    const response = await put({
      id,
      endpoint: "https://example.com/changed",
      auth: { type: "bearer", token: MASK },
    });
    expect(response.status).toBe(400);
    expect(freshBody(response)).toMatchObject({
      error: {
        details: {
          fields: [{ field: "auth.token", message: expect.stringContaining("basic to bearer") }],
        },
      },
    });
    expect(await storedAuth(app, id)).toEqual(basic as ReceiverAuth);
    const fetched = await app.request("GET", `/webhooks/${id}`, { key: app.keys.read });
    expect(fetched.body).toMatchObject({ endpoint: "https://example.com/hooks" });
  });

  test("a masked header whose name is not stored is 400", async () => {
    const { id } = await createWebhook(app, {
      headers: [{ key: "X-Api-Key", value: "api-key-value-1" }],
    });
    const response = await put({
      id,
      endpoint: "https://example.com/hooks",
      headers: [{ key: "X-Other-Token", value: MASK }],
    });
    expect(response.status).toBe(400);
    expect(freshBody(response)).toMatchObject({
      error: { details: { fields: [{ field: "headers.0.value" }] } },
    });
  });

  test("the mask of a header keeps the value whatever the case of its name", async () => {
    const { id } = await createWebhook(app, {
      headers: [{ key: "X-Api-Key", value: "api-key-value-1" }],
    });
    const response = await put({
      id,
      endpoint: "https://example.com/hooks",
      headers: [{ key: "x-api-key", value: MASK }],
    });
    expect(response.status).toBe(200);
    expect(JSON.parse((await storedRow(app, id)).headers)).toEqual([
      { key: "x-api-key", value: "api-key-value-1" },
    ]);
  });
});

describe("sending with receiver authentication", () => {
  let t: TestApp;
  const servers: Receiver[] = [];

  function server(handler?: Parameters<typeof startReceiver>[0]): Receiver {
    const started = startReceiver(handler);
    servers.push(started);
    return started;
  }

  /** A token endpoint issuing `tok-1`, `tok-2`, … */
  function tokenServer(expiresIn = 3600): Receiver {
    return server((_request, index) =>
      Response.json({
        access_token: `tok-${index + 1}`,
        expires_in: expiresIn,
        token_type: "Bearer",
      }),
    );
  }

  beforeAll(async () => {
    t = await createTestApp({
      ...QUICK_RETRIES,
    });
    await t.app.start();
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(servers.map((started) => started.stop()));
  });

  const uniqueType = () => `type_${crypto.randomUUID().slice(0, 8)}`;

  async function publish(contentType: string): Promise<string> {
    const response = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType, contentId: crypto.randomUUID() },
    });
    expect(response.status).toBe(202);
    const deliveryId = (response.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!deliveryId) throw new Error("no delivery");
    return deliveryId;
  }

  function settled(deliveryId: string) {
    return waitFor(`delivery ${deliveryId} to finish`, async () => {
      const row = await t.app.store.db
        .selectFrom("deliveries")
        .selectAll()
        .where("id", "=", deliveryId)
        .executeTakeFirstOrThrow();
      return row.process_status === ProcessStatus.Sent || row.process_status === ProcessStatus.Error
        ? row
        : undefined;
    });
  }

  function attempts(deliveryId: string) {
    return t.app.store.db
      .selectFrom("attempts")
      .selectAll()
      .where("delivery_id", "=", deliveryId)
      .orderBy("number")
      .execute();
  }

  async function webhookTo(endpoint: string, fields: Record<string, unknown>) {
    const type = uniqueType();
    const webhook = await createWebhook(t, { endpoint, eventTypes: { [type]: [0] }, ...fields });
    return { ...webhook, type };
  }

  test("basic: the receiver gets Authorization Basic; the attempt record masks it", async () => {
    const target = server();
    const { type } = await webhookTo(target.url, {
      auth: { type: "basic", username: "hookpost", password: "pä55:word" },
    });
    const deliveryId = await publish(type);
    expect((await settled(deliveryId)).process_status).toBe(ProcessStatus.Sent);
    const expected = `Basic ${Buffer.from("hookpost:pä55:word", "utf8").toString("base64")}`;
    expect(target.requests[0]?.headers.get("authorization")).toBe(expected);
    const [attempt] = await attempts(deliveryId);
    expect(JSON.parse(attempt?.request_headers ?? "{}")).toMatchObject({ authorization: MASK });
    expect(attempt?.request_headers).not.toContain(expected.slice(6));
  });

  test("bearer: the receiver gets Authorization Bearer; custom credential headers go in plain", async () => {
    const target = server();
    const { type } = await webhookTo(target.url, {
      auth: { type: "bearer", token: "bearer-token-0123456789" },
      headers: [{ key: "X-Api-Key", value: "api-key-value-1" }],
    });
    const deliveryId = await publish(type);
    expect((await settled(deliveryId)).process_status).toBe(ProcessStatus.Sent);
    expect(target.requests[0]?.headers.get("authorization")).toBe("Bearer bearer-token-0123456789");
    expect(target.requests[0]?.headers.get("x-api-key")).toBe("api-key-value-1");
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.request_headers).not.toContain("bearer-token-0123456789");
    expect(attempt?.request_headers).not.toContain("api-key-value-1");
  });

  test("oauth2: one client-credentials token request serves two deliveries", async () => {
    const tokens = tokenServer();
    const target = server();
    const { type } = await webhookTo(target.url, {
      auth: { ...oauth2, tokenUrl: `${tokens.url}/oauth/token` },
    });
    const [first, second] = [await publish(type), await publish(type)];
    expect((await settled(first)).process_status).toBe(ProcessStatus.Sent);
    expect((await settled(second)).process_status).toBe(ProcessStatus.Sent);

    expect(tokens.requests).toHaveLength(1);
    const request = tokens.requests[0];
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/oauth/token");
    expect(request?.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      grant_type: "client_credentials",
      client_id: oauth2.clientId,
      client_secret: oauth2.clientSecret,
      scope: oauth2.scope,
    });
    expect(target.requests.map((received) => received.headers.get("authorization"))).toEqual([
      "Bearer tok-1",
      "Bearer tok-1",
    ]);
    const [attempt] = await attempts(first);
    expect(attempt?.request_headers).not.toContain("tok-1");
  });

  test("oauth2: a 401 from the receiver drops the token; the retry gets a new one", async () => {
    const tokens = tokenServer();
    const target = server((request) =>
      request.headers.get("authorization") === "Bearer tok-1"
        ? new Response("token revoked", { status: 401 })
        : Response.json({ ok: true }),
    );
    const { type } = await webhookTo(target.url, {
      auth: { ...oauth2, tokenUrl: `${tokens.url}/token` },
    });
    const deliveryId = await publish(type);
    const row = await settled(deliveryId);
    expect(row).toMatchObject({ process_status: ProcessStatus.Sent, attempts: 2 });
    expect(tokens.requests).toHaveLength(2);
    expect(target.requests.map((received) => received.headers.get("authorization"))).toEqual([
      "Bearer tok-1",
      "Bearer tok-2",
    ]);
    expect((await attempts(deliveryId)).map((attempt) => attempt.status_code)).toEqual([401, 200]);
  });

  test("oauth2: a failing token endpoint fails the attempt clearly and sends nothing", async () => {
    const tokens = server(() => Response.json({ error: "invalid_client" }, { status: 400 }));
    const target = server();
    const { type } = await webhookTo(target.url, {
      auth: { ...oauth2, tokenUrl: `${tokens.url}/token` },
      maxAttempts: 1,
    });
    const deliveryId = await publish(type);
    const row = await settled(deliveryId);
    expect(row.process_status).toBe(ProcessStatus.Error);
    expect(row.last_error).toBe(`${TOKEN_ERROR_PREFIX}: ${tokenRefused(400)}`);
    const [attempt] = await attempts(deliveryId);
    expect(attempt).toMatchObject({ status_code: null, error: row.last_error });
    expect(target.requests).toHaveLength(0);
  });

  test("oauth2: an answer without access_token is a clear error", async () => {
    const tokens = server(() => Response.json({ token_type: "Bearer" }));
    const target = server();
    const { type } = await webhookTo(target.url, {
      auth: { ...oauth2, tokenUrl: `${tokens.url}/token` },
      maxAttempts: 1,
    });
    const row = await settled(await publish(type));
    expect(row.last_error).toBe("oauth2 token request failed: the answer has no access_token");
    expect(target.requests).toHaveLength(0);
  });

  test("the test ping uses the webhook's authentication", async () => {
    const target = server();
    const { id } = await webhookTo(target.url, { auth: bearer });
    const response = await t.request("POST", `/webhooks/${id}/test`, { key: t.keys.write });
    expect(response.body).toMatchObject({ isSuccessStatusCode: true, statusCode: 200 });
    expect(target.requests[0]?.headers.get("authorization")).toBe(`Bearer ${bearer.token}`);
    expect(target.requests[0]?.headers.get("contit-test")).toBe("true");
  });

  test("the test ping reports a token failure with status 0 and reaches no receiver", async () => {
    const tokens = server(() => new Response("down", { status: 503 }));
    const target = server();
    const { id } = await webhookTo(target.url, {
      auth: { ...oauth2, tokenUrl: `${tokens.url}/token` },
    });
    const response = await t.request("POST", `/webhooks/${id}/test`, { key: t.keys.write });
    expect(response.body).toMatchObject({
      isSuccessStatusCode: false,
      statusCode: 0,
      message: `${TOKEN_ERROR_PREFIX}: ${tokenRefused(503)}`,
    });
    expect(target.requests).toHaveLength(0);
  });
});

describe("a token endpoint's answer is never quoted", () => {
  let t: TestApp;
  let smtp: SmtpTestServer;
  let echo: Receiver;
  let target: Receiver;

  beforeAll(async () => {
    smtp = await startSmtp();
    // A token endpoint that refuses, and repeats the form it got (client_secret included)
    // wherever the test asks: body, JSON, Location.
    echo = startReceiver((request) => {
      const how = new URL(`http://x${request.path}`).searchParams.get("echo");
      const form = request.body;
      if (how === "json") return Response.json({ error: "invalid_client", received: form });
      if (how === "ok-text") return new Response(form);
      if (how === "redirect") {
        return new Response(null, { status: 302, headers: { location: `/login?${form}` } });
      }
      return new Response(`invalid_client: ${form}`, { status: Number(how) });
    });
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
    await Promise.all([echo.stop(), target.stop(), smtp.stop()]);
  });

  test.each([
    ["a 401 repeating the form", "401", tokenRefused(401)],
    ["a 500 repeating the form", "500", tokenRefused(500)],
    [
      "a redirect repeating the form in Location",
      "redirect",
      "the token endpoint answered HTTP 302 (a redirect, not followed); its answer is not shown, as it may repeat the credentials",
    ],
    ["a 200 repeating the form as text", "ok-text", "the answer is not JSON"],
    ["a 200 repeating the form in JSON, no token", "json", "the answer has no access_token"],
  ])("%s: the status and a fixed text, the secret nowhere", async (_name, how, reason) => {
    const type = `type_${crypto.randomUUID().slice(0, 8)}`;
    const recipient = `ops-${type}@example.com`;
    const logFrom = t.logLines.length;
    const webhook = await createWebhook(t, {
      endpoint: target.url,
      eventTypes: { [type]: [0] },
      auth: { ...oauth2, tokenUrl: `${echo.url}/token?echo=${how}` },
      maxAttempts: 1,
      errorEmailTo: recipient,
    });
    const published = await t.request("POST", "/events", {
      key: t.keys.write,
      json: { eventType: 0, contentType: type, contentId: "c_1" },
    });
    const deliveryId = (published.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    const error = `${TOKEN_ERROR_PREFIX}: ${reason}`;
    const entry = await waitFor("the delivery to fail", async () => {
      const response = await t.request("GET", `/webhooks/${webhook.id}/events/${deliveryId}`, {
        key: t.keys.read,
      });
      return (response.body as { state?: string }).state === "exhausted" ? response : undefined;
    });
    expect(entry.body).toMatchObject({ lastError: error, responseMessage: error });
    const attemptsAnswer = await t.request(
      "GET",
      `/webhooks/${webhook.id}/events/${deliveryId}/attempts`,
      { key: t.keys.read },
    );
    expect(attemptsAnswer.body).toMatchObject([{ error, statusCode: null, responseBody: null }]);
    const ping = await t.request("POST", `/webhooks/${webhook.id}/test`, { key: t.keys.write });
    expect(ping.body).toMatchObject({ statusCode: 0, message: error });
    const mail = await waitFor("the failure mail", () =>
      smtp.mails.find((received) => received.envelopeTo.includes(recipient)),
    );
    expect(mail.parsed.text).toContain(error);

    // The endpoint did get (and repeat) the secret; none of what a read key or a mail shows has it.
    expect(echo.requests.some((request) => request.body.includes(oauth2.clientSecret))).toBe(true);
    const shown = [
      entry.text,
      attemptsAnswer.text,
      ping.text,
      t.logLines.slice(logFrom).join("\n"),
      mail.parsed.text ?? "",
      String(mail.parsed.html),
    ];
    for (const text of shown) {
      expect(text).not.toContain(oauth2.clientSecret);
      expect(text).not.toContain("client_secret");
    }
    expect(target.requests).toHaveLength(0);
  });
});

describe("the OAuth2 token cache", () => {
  const guard = new OutboundGuard({ allowPrivateTargets: false, allowedCidrs: ["127.0.0.1/32"] });
  let tokens: Receiver;
  let target: Receiver;
  let expiresIn: number | undefined = 100;
  beforeAll(() => {
    tokens = startReceiver((_request, index) =>
      Response.json({ access_token: `tok-${index + 1}`, expires_in: expiresIn }),
    );
    target = startReceiver();
  });
  afterAll(async () => {
    await Promise.all([tokens.stop(), target.stop()]);
  });

  function setup() {
    let now = 1_000_000;
    const authenticator = new ReceiverAuthenticator(guard, USER_AGENT, () => now);
    const auth = (secret = "s3cret"): ReceiverAuth => ({
      type: "oauth2",
      tokenUrl: `${tokens.url}/token`,
      clientId: "client",
      clientSecret: secret,
    });
    const send = async (webhookId = "wh_a", credentials = auth()) => {
      const { result, headers } = await authenticator.send(webhookId, credentials, {
        endpoint: target.url,
        body: "{}",
        headers: {},
        timeoutMs: 5000,
      });
      expect(result.statusCode).toBe(200);
      return headers.authorization;
    };
    return {
      send,
      auth,
      advance: (ms: number) => {
        now += ms;
      },
      fetched: () => tokens.requests.length,
    };
  }

  test("a token is used until 30 s before expires_in runs out", async () => {
    expiresIn = 100;
    const cache = setup();
    const before = cache.fetched();
    const token = await cache.send();
    cache.advance(69_000);
    expect(await cache.send()).toBe(token);
    expect(cache.fetched()).toBe(before + 1);
    cache.advance(2_000);
    expect(await cache.send()).not.toBe(token);
    expect(cache.fetched()).toBe(before + 2);
  });

  test("without expires_in a token is kept for 5 minutes", async () => {
    expiresIn = undefined;
    const cache = setup();
    const before = cache.fetched();
    await cache.send();
    cache.advance(269_000);
    await cache.send();
    expect(cache.fetched()).toBe(before + 1);
    cache.advance(2_000);
    await cache.send();
    expect(cache.fetched()).toBe(before + 2);
  });

  test("tokens are per webhook and per credentials; concurrent attempts share one request", async () => {
    expiresIn = 3600;
    const cache = setup();
    const before = cache.fetched();
    const [a, b] = await Promise.all([cache.send("wh_a"), cache.send("wh_a")]);
    expect(a).toBe(b ?? "missing");
    expect(cache.fetched()).toBe(before + 1);
    await cache.send("wh_b");
    expect(cache.fetched()).toBe(before + 2);
    const changed = await cache.send("wh_a", cache.auth("another-secret"));
    expect(changed).not.toBe(a);
    expect(cache.fetched()).toBe(before + 3);
  });
});

describe("stored credentials do not follow a moved endpoint", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  async function update(id: string, fields: Record<string, unknown>) {
    return app.request("PUT", "/webhooks", { key: app.keys.write, json: { id, ...fields } });
  }

  test("moving the endpoint to another host needs the secret again", async () => {
    const { id } = await createWebhook(app, {
      endpoint: "https://a.example.com/hook",
      auth: basic,
    });
    for (const fields of [
      { endpoint: "https://evil.example.net/hook" },
      { endpoint: "https://evil.example.net/hook", auth: { ...basic, password: MASK } },
    ]) {
      const refused = await update(id, fields);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain("auth.password");
    }
    expect(await storedRow(app, id)).toMatchObject({ auth: JSON.stringify(basic) });
    const sameHost = await update(id, { endpoint: "https://a.example.com/other-path" });
    expect(sameHost.status).toBe(200);
    const resent = await update(id, {
      endpoint: "https://b.example.org/hook",
      auth: { ...basic, password: "new-password-for-b" },
    });
    expect(resent.status).toBe(200);
    expect(await storedAuth(app, id)).toMatchObject({ password: "new-password-for-b" });
  });

  test("moving the OAuth2 token URL needs the client secret again", async () => {
    const { id } = await createWebhook(app, {
      endpoint: "https://a.example.com/hook",
      auth: oauth2,
    });
    const refused = await update(id, {
      endpoint: "https://a.example.com/hook",
      auth: { ...oauth2, tokenUrl: "https://evil.example.net/token", clientSecret: MASK },
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("auth.clientSecret");
    expect(await storedAuth(app, id)).toEqual(oauth2 as ReceiverAuth);
  });

  test("credential custom headers must be sent again too", async () => {
    const { id } = await createWebhook(app, {
      endpoint: "https://a.example.com/hook",
      headers: [{ key: "X-Api-Key", value: "receiver-key-123" }],
    });
    const refused = await update(id, { endpoint: "https://evil.example.net/hook" });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("X-Api-Key");
    const resent = await update(id, {
      endpoint: "https://evil.example.net/hook",
      headers: [{ key: "X-Api-Key", value: "another-key" }],
    });
    expect(resent.status).toBe(200);
  });
});
