/**
 * The front door, on a real listening server: bodies are JSON only and screened before any
 * parsing (the multipart attack of issue 13 is a quick 415), every body is capped at 1 MiB
 * however it is sent and however large (the envelope and X-Request-Id, never Bun's bare 413,
 * and memory stays bounded), a request without a body passes whatever its Content-Type, a
 * repeated query parameter is a 400, and a wrong method on a known path is a 405 with `Allow`.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.ts";
import { startServerProcess } from "../helpers/process-server.ts";
import { expectErrorEnvelope, freshBody } from "../helpers/scenarios.ts";
import { chunked, repeatedBytes, sendStreamed } from "../helpers/streamed-upload.ts";
import { createTestApp, readResponse, type TestApp, tempDir } from "../helpers/test-app.ts";

const FIVE_MIB = 5 * 1024 * 1024;

describe("the front door of a listening server", () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await t.app.start();
  });
  afterAll(async () => {
    await t.close();
  });

  async function webhookIds(): Promise<string[]> {
    const list = await fetch(`${base}/webhooks`, { headers: { "x-api-key": t.keys.read } });
    return ((await list.json()) as { id: string }[]).map((webhook) => webhook.id);
  }

  async function send(method: string, path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set("x-api-key", t.keys.write);
    return readResponse(await fetch(`${base}${path}`, { ...init, method, headers }));
  }

  test("a multipart PUT /webhooks with a customPayload nested 100,000 levels deep is 415 and creates nothing", async () => {
    const before = await webhookIds();
    const form = new FormData();
    form.set("endpoint", "https://example.com/hooks");
    form.set("useCustomPayload", "true");
    form.set("customPayload", `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    const response = await send("PUT", "/webhooks", { body: form });
    expect(response.status).toBe(415);
    expectErrorEnvelope(response);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(freshBody(response)).toMatchObject({
      error: {
        code: "unsupported_media_type",
        message: "Content-Type multipart/form-data is not accepted here: send application/json",
        details: { accepted: ["application/json"] },
      },
    });
    expect(await webhookIds()).toEqual(before);
  });

  const refusedBodies: { name: string; contentType: string | null; body: string }[] = [
    {
      name: "an urlencoded form (it used to create a webhook from its fields)",
      contentType: "application/x-www-form-urlencoded",
      body: "endpoint=https%3A%2F%2Fexample.com%2Fform",
    },
    {
      name: "JSON text sent as text/plain",
      contentType: "text/plain;charset=UTF-8",
      body: '{"endpoint":"https://example.com/text"}',
    },
    {
      name: "a type that merely contains json",
      contentType: "text/json-like",
      body: '{"endpoint":"https://example.com/ish"}',
    },
    {
      name: "JSON declared in another charset",
      contentType: "application/json; charset=iso-8859-1",
      body: '{"endpoint":"https://example.com/latin"}',
    },
    {
      name: "a body without a Content-Type",
      contentType: null,
      body: '{"endpoint":"https://example.com/none"}',
    },
  ];
  for (const refused of refusedBodies) {
    test(`${refused.name} is 415 and creates nothing`, async () => {
      const before = await webhookIds();
      // A Blob body: fetch adds no Content-Type of its own.
      const response = await send("PUT", "/webhooks", {
        headers: refused.contentType ? { "content-type": refused.contentType } : {},
        body: new Blob([refused.body]),
      });
      expect(response.status).toBe(415);
      expectErrorEnvelope(response);
      expect(freshBody(response)).toMatchObject({
        error: { code: "unsupported_media_type", details: { contentType: refused.contentType } },
      });
      expect(await webhookIds()).toEqual(before);
    });
  }

  test("JSON with a UTF-8 charset or as a +json type is accepted", async () => {
    for (const contentType of [
      "application/json; charset=utf-8",
      'Application/JSON;Charset="UTF-8"',
      "application/merge-patch+json",
    ]) {
      const response = await send("PUT", "/webhooks", {
        headers: { "content-type": contentType },
        body: JSON.stringify({ endpoint: "https://example.com/typed", name: "Typed: é" }),
      });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 200 });
      expect(freshBody(response)).toMatchObject({ name: "Typed: é" });
    }
  });

  test("a request without a body passes whatever its Content-Type (curl -X POST sends a form type)", async () => {
    const created = await send("PUT", "/webhooks", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endpoint: "https://example.com/toggle", enabled: false }),
    });
    const { id } = freshBody(created) as { id: string };
    for (const contentType of [
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "application/json",
      "text/plain",
    ]) {
      const disabled = await send("POST", `/webhooks/${id}/disable`, {
        headers: { "content-type": contentType },
      });
      const enabled = await send("POST", `/webhooks/${id}/enable`, {
        headers: { "content-type": contentType },
      });
      expect({ contentType, disabled: disabled.status, enabled: enabled.status }).toEqual({
        contentType,
        disabled: 200,
        enabled: 200,
      });
      expect(freshBody(enabled)).toMatchObject({ id, enabled: true });
    }
    // An empty chunked body, which declares no length, is no body either.
    const answer = await sendStreamed(
      base,
      `POST /webhooks/${id}/disable HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${t.keys.write}\r\n` +
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n" +
        "\r\n",
      chunked(repeatedBytes(0)),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id, enabled: false });
  });

  for (const framing of ["Content-Length", "chunked"] as const) {
    test(`a 5 MiB body on a raw socket (${framing}) is the 413 envelope with X-Request-Id, not Bun's bare 413`, async () => {
      const before = await webhookIds();
      const head =
        `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${t.keys.write}\r\n` +
        "Content-Type: application/json\r\n" +
        (framing === "chunked"
          ? "Transfer-Encoding: chunked\r\n\r\n"
          : `Content-Length: ${FIVE_MIB}\r\n\r\n`);
      const body = repeatedBytes(FIVE_MIB);
      const answer = await sendStreamed(base, head, framing === "chunked" ? chunked(body) : body);
      expect(answer.status).toBe(413);
      expect(answer.headers["x-request-id"]).toMatch(/^req_/);
      expect(JSON.parse(answer.body)).toMatchObject({
        error: { code: "payload_too_large", details: { limitBytes: MAX_BODY_BYTES } },
        meta: { requestId: answer.headers["x-request-id"] },
      });
      expect(await webhookIds()).toEqual(before);
    });
  }

  test("a 5 MiB body from fetch, with a length or streamed, is the 413 envelope too", async () => {
    const source = repeatedBytes(FIVE_MIB);
    const streamed = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await source.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
    for (const body of [new Uint8Array(FIVE_MIB), streamed]) {
      const response = await send("PUT", "/webhooks", {
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(413);
      expectErrorEnvelope(response);
    }
  });

  test("after a refused upload from a client that keeps its connection, the server stops without waiting out its grace period", async () => {
    const own = await createTestApp();
    const ownBase = await own.app.start();
    // Bodies the client has finished sending when the answer comes: refused unread, they used
    // to leave their connections waited on.
    for (const [contentType, size, status] of [
      ["text/plain", 1_000_000, 415],
      ["application/json", MAX_BODY_BYTES + 1, 413],
    ] as const) {
      const refused = await fetch(`${ownBase}/webhooks`, {
        method: "PUT",
        headers: { "x-api-key": own.keys.write, "content-type": contentType },
        body: "x".repeat(size),
      });
      expect(refused.status).toBe(status);
    }
    // The grace period for requests in progress is 5 s; a connection left half-read is waited on.
    const stopped = await Promise.race([
      own.close().then(() => "stopped"),
      Bun.sleep(4000).then(() => "still waiting"),
    ]);
    expect(stopped).toBe("stopped");
  }, 15_000);

  test("a query naming a parameter twice is 400 naming it, not last-wins", async () => {
    const response = await send("GET", "/webhooks?ordering=name&ordering=-name");
    expect(response.status).toBe(400);
    expectErrorEnvelope(response);
    expect(freshBody(response)).toMatchObject({
      error: {
        code: "validation_failed",
        details: {
          on: "query",
          fields: [{ field: "ordering", message: "given 2 times: give it once" }],
        },
      },
    });
  });

  test("a wrong method on a known path is 405 with Allow naming the methods of its routes", async () => {
    const cases: [string, string, string][] = [
      ["PATCH", "/webhooks/wh_x", "GET, HEAD, DELETE"],
      ["POST", "/health", "GET, HEAD"],
      ["DELETE", "/webhooks", "GET, HEAD, PUT"],
      ["PUT", "/webhooks/import", "GET, HEAD, POST, DELETE"],
      ["GET", "/webhooks/wh_x/enable", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await send(method, path);
      expect({
        method,
        path,
        status: response.status,
        allow: response.headers.get("allow"),
      }).toEqual({
        method,
        path,
        status: 405,
        allow,
      });
      expectErrorEnvelope(response);
    }
    const unknown = await send("GET", "/nowhere");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("allow")).toBeNull();
  });
});

describe("large uploads to a server process", () => {
  function peakRssKib(pid: number): number {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  }

  // A separate process, because there the race is real: answering while the client is still
  // sending and closing lost most answers (a reset drops them before the client reads them).
  test("every refused upload gets its 413 envelope, and 100 MiB bodies grow peak memory far less than 100 MiB", async () => {
    const dir = tempDir();
    const key = `hpk_${"m".repeat(40)}`;
    const server = await startServerProcess({
      dbPath: join(dir, "hookpost.db"),
      env: { HOOKPOST_API_KEY: key },
    });
    const head = `PUT /webhooks HTTP/1.1\r\nHost: h\r\nX-Api-Key: ${key}\r\nContent-Type: application/json\r\n`;
    /** A 5 MiB body with its length declared, then a 100 MiB chunked one. */
    const uploadPair = async () => {
      const declared = await sendStreamed(
        server.baseUrl,
        `${head}Content-Length: ${FIVE_MIB}\r\n\r\n`,
        repeatedBytes(FIVE_MIB),
      );
      const streamed = await sendStreamed(
        server.baseUrl,
        `${head}Transfer-Encoding: chunked\r\n\r\n`,
        chunked(repeatedBytes(100 * 1024 * 1024)),
      );
      return [declared, streamed] as const;
    };
    try {
      // One pair first, so the peak counts what the uploads hold, not the first request's
      // compilation of the request path.
      await uploadPair();
      const before = peakRssKib(server.proc.pid);
      const statuses: (number | null)[] = [];
      const codes: unknown[] = [];
      const codeOf = (body: string) => (body ? JSON.parse(body).error?.code : null);
      for (let round = 0; round < 5; round++) {
        const [declared, streamed] = await uploadPair();
        statuses.push(declared.status, streamed.status);
        codes.push(codeOf(declared.body), codeOf(streamed.body));
      }
      expect({ statuses, codes }).toEqual({
        statuses: Array(10).fill(413),
        codes: Array(10).fill("payload_too_large"),
      });
      const grownMib = (peakRssKib(server.proc.pid) - before) / 1024;
      expect(grownMib).toBeLessThan(40);
    } finally {
      await server.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
