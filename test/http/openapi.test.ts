/**
 * The OpenAPI document at `/swagger/json` is one that tools accept and that describes the
 * server: Redocly's recommended rules find no error in it, its models are named components,
 * the committed client types are generated from it, and a typed `openapi-fetch` client runs a
 * whole flow against a real listening server and a real receiver (and `tsc` checks that flow
 * against the generated types).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import createClient from "openapi-fetch";
import { API_TYPES_PATH, generateApiTypes } from "../../scripts/openapi-types.ts";
import type { paths } from "../generated/hookpost-api.d.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

interface LintProblem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content?: Record<string, { schema: unknown }> };
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      }
    >
  >;
  components: { schemas: Record<string, unknown> };
}

/** The tolerated warnings: the open operations never answer a 4xx of their own. */
const TOLERATED_WARNINGS = [
  "operation-4xx-response #/paths/~1health/get/responses",
  "operation-4xx-response #/paths/~1metrics/get/responses",
];

/** Every problem Redocly's recommended ruleset finds in the document, as `rule pointer`. */
async function lint(documentJson: string, dir: string): Promise<LintProblem[]> {
  const file = join(dir, "openapi.json");
  await Bun.write(file, documentJson);
  const redocly = Bun.spawn(
    [
      join(import.meta.dir, "../../node_modules/.bin/redocly"),
      "lint",
      "--extends=recommended",
      "--format=json",
      "--max-problems=10000",
      file,
    ],
    {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    },
  );
  const output = await new Response(redocly.stdout).text();
  await redocly.exited;
  return (JSON.parse(output) as { problems: LintProblem[] }).problems;
}

const describeProblem = (problem: LintProblem) =>
  `${problem.ruleId} ${problem.location[0]?.pointer ?? "?"}`;

describe("the OpenAPI document", () => {
  let t: TestApp;
  let base: string;
  let documentJson: string;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32", HOOKPOST_TICK_MS: "20" });
    base = await t.app.start();
    receiver = startReceiver();
    documentJson = await (await fetch(`${base}/swagger/json`)).text();
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  test("passes Redocly's recommended rules with no error and no unexpected warning", async () => {
    const problems = await lint(documentJson, t.dir);
    const errors = problems.filter((problem) => problem.severity === "error");
    expect(errors.map((error) => `${describeProblem(error)}: ${error.message}`)).toEqual([]);
    const warnings = problems.map(describeProblem);
    expect(warnings).toEqual(TOLERATED_WARNINGS);
  }, 30_000);

  test("names the models as components and references them instead of copying them", () => {
    const document = JSON.parse(documentJson) as OpenApiDocument;
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining([
        "ErrorEnvelope",
        "WebhookModel",
        "WebhookEventLogModel",
        "AttemptModel",
        "ContentTypeModel",
        "PingResultModel",
      ]),
    );
    const schemaOf = (path: string, method: string, status: string) =>
      document.paths[path]?.[method]?.responses[status]?.content?.["application/json"]?.schema;
    expect(schemaOf("/webhooks/{id}", "get", "200")).toEqual({
      $ref: "#/components/schemas/WebhookModel",
    });
    expect(schemaOf("/webhooks/{id}/test", "post", "200")).toEqual({
      $ref: "#/components/schemas/PingResultModel",
    });
    expect(schemaOf("/webhooks/{id}/events/{eventId}/attempts", "get", "200")).toMatchObject({
      items: { $ref: "#/components/schemas/AttemptModel" },
    });
    // Every 4xx of every operation answers the one error envelope.
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!status.startsWith("4")) continue;
          expect(
            response.content?.["application/json"]?.schema,
            `${method} ${path} ${status}`,
          ).toEqual({ $ref: "#/components/schemas/ErrorEnvelope" });
        }
      }
    }
    // No inline copy is left behind: a `$id` only ever names a component.
    expect(documentJson).not.toContain('"$id"');
  });

  test("keeps what each enum value means, and types integer enums as integers", () => {
    const document = JSON.parse(documentJson) as OpenApiDocument;
    const eventBody = document.paths["/events"]?.post?.requestBody?.content?.["application/json"];
    expect(eventBody?.schema).toMatchObject({
      properties: {
        eventType: {
          type: "integer",
          enum: [0, 1, 2, 3, 4],
          description: expect.stringContaining("0 Published, 1 Unpublished"),
        },
      },
    });
    expect(document.components.schemas.WebhookEventLogModel).toMatchObject({
      properties: {
        processStatus: {
          type: "integer",
          enum: [-1, 0, 1, 2],
          description: expect.stringContaining("-1 Error, 0 Waiting"),
        },
      },
    });
  });

  test("offers the media types the front door accepts: JSON, and the import's form upload", () => {
    const document = JSON.parse(documentJson) as OpenApiDocument;
    const mediaTypes = (path: string, method: string) =>
      Object.keys(document.paths[path]?.[method]?.requestBody?.content ?? {}).sort();
    for (const [path, method] of [
      ["/webhooks", "put"],
      ["/events", "post"],
      ["/content-types/{key}", "put"],
      ["/webhooks/{id}/replay", "post"],
    ] as const) {
      expect(mediaTypes(path, method)).toEqual(["application/json"]);
    }
    for (const path of ["/webhooks/import", "/webhooks/{id}/import"]) {
      expect(mediaTypes(path, "post")).toEqual(["application/json", "multipart/form-data"]);
      expect(
        document.paths[path]?.post?.requestBody?.content?.["multipart/form-data"]?.schema,
      ).toMatchObject({ required: ["webhook"] });
    }
    // Every route that takes a body says what the front door answers a body it refuses.
    const errorEnvelope = { $ref: "#/components/schemas/ErrorEnvelope" };
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!operation.requestBody) continue;
        for (const status of ["413", "415"]) {
          expect(
            operation.responses[status]?.content?.["application/json"]?.schema,
            `${method} ${path} ${status}`,
          ).toEqual(errorEnvelope);
        }
      }
    }
  });

  test("the committed client types are generated from it (else run `npm run openapi:types`)", async () => {
    const committed = await Bun.file(API_TYPES_PATH).text();
    const current = await generateApiTypes(documentJson);
    expect(committed === current, "test/generated/hookpost-api.d.ts is stale").toBe(true);
  });

  test("a typed client creates a webhook, publishes an event, reads the log and retries", async () => {
    const client = createClient<paths>({
      baseUrl: base,
      headers: { "x-api-key": t.keys.write },
    });

    const created = await client.PUT("/webhooks", {
      body: {
        endpoint: `${receiver.url}/hooks`,
        eventTypes: { article: [0] },
        retryPolicy: "manual",
      },
    });
    expect(created.response.status).toBe(200);
    const webhook = created.data;
    if (!webhook) throw new Error(`create failed: ${JSON.stringify(created.error)}`);
    expect(webhook.eventTypes).toEqual({ article: [0] });

    const ping = await client.POST("/webhooks/{id}/test", { params: { path: { id: webhook.id } } });
    expect(ping.data?.isSuccessStatusCode).toBe(true);

    const published = await client.POST("/events", {
      body: { eventType: 0, contentType: "article", contentId: "c_1", fields: { title: "Hi" } },
    });
    expect(published.response.status).toBe(202);
    const deliveryId = published.data?.deliveries[0]?.deliveryId;
    if (!deliveryId) throw new Error(`publish failed: ${JSON.stringify(published.error)}`);

    const sent = await waitFor("the delivery to be logged as sent", async () => {
      const log = await client.GET("/webhooks/{id}/events", {
        params: { path: { id: webhook.id }, query: { pageSize: "10" } },
      });
      const entry = log.data?.items.find((item) => item.id === deliveryId);
      return entry?.state === "success" ? entry : undefined;
    });
    expect(sent).toMatchObject({ eventType: 0, contentType: "article", responseStatusCode: 200 });
    expect(receiver.requests.some((request) => request.body.includes(deliveryId))).toBe(true);

    const attempts = await client.GET("/webhooks/{id}/events/{eventId}/attempts", {
      params: { path: { id: webhook.id, eventId: deliveryId } },
    });
    expect(attempts.data?.map((attempt) => attempt.statusCode)).toEqual([200]);

    const retried = await client.POST("/webhooks/{id}/events/{eventId}/retry", {
      params: { path: { id: webhook.id, eventId: deliveryId } },
    });
    const retry = retried.data;
    if (!retry) throw new Error(`retry failed: ${JSON.stringify(retried.error)}`);
    expect(retry.retryOf).toBe(deliveryId);
    await waitFor("the retry to be delivered", async () => {
      const read = await client.GET("/webhooks/{id}/events/{eventId}", {
        params: { path: { id: webhook.id, eventId: retry.id } },
      });
      return read.data?.state === "success";
    });

    const stats = await client.GET("/webhooks/{id}/stats", {
      params: { path: { id: webhook.id }, query: { window: "1h" } },
    });
    expect(stats.data?.totals).toMatchObject({ sent: 2, attempts: 2, failedAttempts: 0 });
    expect(stats.data?.intervals).toHaveLength(61);

    const missing = await client.GET("/webhooks/{id}", { params: { path: { id: "wh_missing" } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe("not_found");
  }, 30_000);
});
