/**
 * API tests as tables of scenarios (after PocketBase's `ApiScenario`): each row is a request
 * and what the answer must contain. Reading the table is reading the API's contract.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestResponse } from "./test-app.ts";

/** Which key a scenario presents: one of the test app's, a made-up one, or none. */
export type KeyChoice = "write" | "read" | "other" | "unknown" | "none";

export interface Scenario {
  name: string;
  method: string;
  /** May use `{id}`-style placeholders filled from what `setup` returns. */
  url: string;
  key?: KeyChoice;
  json?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** Runs first against the same app; its values fill placeholders in `url` and `json`. */
  setup?: (app: TestApp) => Promise<Record<string, string>>;
  expectedStatus: number;
  /** A subset the JSON body must match (`toMatchObject`). */
  expectedContent?: unknown;
  /** Strings the raw body must not contain. */
  notExpectedContent?: string[];
  /** Further checks, given the response and the app. */
  after?: (
    response: TestResponse,
    app: TestApp,
    vars: Record<string, string>,
  ) => Promise<void> | void;
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) => vars[name] ?? match);
}

function fillJson(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === "string") return fill(value, vars);
  if (Array.isArray(value)) return value.map((item) => fillJson(item, vars));
  // Only plain objects: asymmetric matchers (expect.any, …) must pass through untouched.
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, vars)]));
  }
  return value;
}

function keyFor(app: TestApp, choice: KeyChoice): string | null {
  switch (choice) {
    case "none":
      return null;
    case "unknown":
      return "hpk_ThisKeyWasNeverIssuedByThisServer0000000";
    default:
      return app.keys[choice];
  }
}

/**
 * The body parsed anew: bun's `toMatchObject` writes the expected matchers into the object it
 * checks, so each assertion gets its own copy.
 */
export function freshBody(response: TestResponse): unknown {
  return response.body === undefined ? undefined : JSON.parse(response.text);
}

/** Registers one `test` per scenario; all share one app created for the table. */
export function runScenarios(scenarios: Scenario[]): void {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });
  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const vars = scenario.setup ? await scenario.setup(app) : {};
      const response = await app.request(scenario.method, fill(scenario.url, vars), {
        key: keyFor(app, scenario.key ?? "write"),
        json: scenario.json === undefined ? undefined : fillJson(scenario.json, vars),
        rawBody: scenario.rawBody,
        headers: scenario.headers,
      });
      expect({ status: response.status, body: freshBody(response) }).toMatchObject({
        status: scenario.expectedStatus,
      });
      expect(response.headers.get("x-request-id")).toBeTruthy();
      if (response.status >= 400) expectErrorEnvelope(response);
      if (scenario.expectedContent !== undefined) {
        expect(freshBody(response)).toMatchObject(
          fillJson(scenario.expectedContent, vars) as object,
        );
      }
      for (const unwanted of scenario.notExpectedContent ?? []) {
        expect(response.text).not.toContain(fill(unwanted, vars));
      }
      await scenario.after?.(response, app, vars);
    });
  }
}

/** The one error shape of SPEC §3, with the request id matching the header. */
export function expectErrorEnvelope(response: TestResponse): void {
  expect(freshBody(response)).toMatchObject({
    error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) },
    meta: { requestId: response.headers.get("x-request-id"), timestamp: expect.any(String) },
  });
}

/** Creates a webhook through the API and returns its id and secret. */
export async function createWebhook(
  app: TestApp,
  fields: Record<string, unknown> = {},
  key: string = app.keys.write,
): Promise<{ id: string; secret: string }> {
  const response = await app.request("PUT", "/webhooks", {
    key,
    json: { endpoint: "https://example.com/hooks", eventTypes: { article: [0] }, ...fields },
  });
  if (response.status !== 200) throw new Error(`webhook not created: ${response.text}`);
  const body = response.body as { id: string; secret: string };
  return { id: body.id, secret: body.secret };
}
