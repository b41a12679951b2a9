/**
 * The dashboard in a real browser (issue 17): a real Hookpost (this process, on SQLite), two
 * real receivers on loopback — one answering 200, one 500 — and headless Chromium driving
 * `/ui` the way an operator would, by the controls' accessible names. Every test also checks
 * that the page threw nothing, logged no error and asked no other host for anything. The run
 * writes the README's screenshots to docs/screenshots/.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Locator, Page } from "playwright-core";
import { createApiKey, revokeApiKey } from "../../src/api-keys/service.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, QUICK_RETRIES, type TestApp } from "../helpers/test-app.ts";
import {
  chromiumAvailable,
  launchBrowser,
  openPage,
  type PageWatch,
  screenshot,
} from "./browser.ts";

interface LogPage {
  total: number;
  items: { id: string; state: string }[];
}

/** Polls a locator's text until it holds `expected`; fails with what it held at the deadline. */
async function expectText(locator: Locator, expected: string | RegExp): Promise<string> {
  let last = "";
  await waitFor(`text ${expected}`, async () => {
    last = (await locator.first().textContent()) ?? "";
    return typeof expected === "string" ? last.includes(expected) : expected.test(last);
  }).catch((error: unknown) => {
    throw new Error(`${String(error)}; the text was: ${last}`);
  });
  return last;
}

describe.skipIf(!chromiumAvailable)("the dashboard in Chromium", () => {
  let app: TestApp;
  let baseUrl: string;
  let browser: Browser;
  let healthy: Receiver;
  let failing: Receiver;
  let healthyId: string;
  let brokenId: string;
  /** The current test's page. */
  let watch: PageWatch;

  async function deliveries(id: string, query = ""): Promise<LogPage> {
    const response = await app.request("GET", `/webhooks/${id}/events${query}`, {
      key: app.keys.read,
    });
    return response.body as LogPage;
  }

  async function webhook(id: string): Promise<Record<string, unknown>> {
    const response = await app.request("GET", `/webhooks/${id}`, { key: app.keys.read });
    return response.body as Record<string, unknown>;
  }

  /**
   * A new page, signed in with `key`, on the webhook list. `refused`: the API paths whose 4xx
   * the test causes on purpose.
   */
  async function signedIn(
    key: string,
    options: { width?: number; height?: number; refused?: string } = {},
  ) {
    // The stats route answers 404 on a server without it; the chart says "No statistics".
    const refused = ["/webhooks/[^/]+/stats", ...(options.refused ? [options.refused] : [])];
    watch = await openPage(browser, baseUrl, {
      ...options,
      expectedFailures: new RegExp(`^(${refused.join("|")})$`),
    });
    const { page } = watch;
    await page.goto(`${baseUrl}/ui`);
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    return page;
  }

  async function openBroken(page: Page) {
    await page.getByRole("link", { name: "Broken shop" }).click();
    await page.getByRole("heading", { name: "Broken shop" }).waitFor();
    await page.getByRole("heading", { name: "Delivery log" }).waitFor();
  }

  beforeAll(async () => {
    healthy = startReceiver();
    failing = startReceiver(() => new Response("receiver down", { status: 500 }));
    app = await createTestApp(QUICK_RETRIES);
    baseUrl = await app.app.start();
    // The healthy one is created first: the list must still put the failing one on top.
    healthyId = (
      await createWebhook(app, {
        name: "Healthy blog",
        endpoint: `${healthy.url}/hooks`,
        eventTypes: { article: [0, 1] },
      })
    ).id;
    brokenId = (
      await createWebhook(app, {
        name: "Broken shop",
        endpoint: `${failing.url}/hooks`,
        eventTypes: { article: [0, 1] },
        maxAttempts: 2,
        headers: [{ key: "Authorization", value: "Bearer shop-credential" }],
      })
    ).id;
    const registered = await app.request("PUT", "/content-types/article", {
      key: app.keys.write,
      json: { name: "Article", fields: ["title", "body"] },
    });
    expect(registered.status).toBe(200);
    for (const contentId of ["post-1", "post-2"]) {
      const published = await app.request("POST", "/events", {
        key: app.keys.write,
        json: { eventType: 0, contentType: "article", contentId },
      });
      expect(published.status).toBe(202);
    }
    await waitFor("both deliveries of the broken webhook to be exhausted", async () => {
      return (await deliveries(brokenId, "?state=exhausted")).total === 2;
    });
    await waitFor("both deliveries of the healthy webhook to succeed", async () => {
      return (await deliveries(healthyId, "?state=success")).total === 2;
    });
    await waitFor("the broken webhook to be failing", async () => {
      return (await webhook(brokenId)).healthStatus === "failing";
    });
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await watch?.context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await healthy?.stop();
    await failing?.stop();
  });

  /** Whether this server has the stats route (it came with another branch of issue 17). */
  async function hasStats(): Promise<boolean> {
    const stats = await app.request("GET", `/webhooks/${brokenId}/stats?window=24h`, {
      key: app.keys.read,
    });
    return stats.status !== 404;
  }

  /** The test's page: no script error, no console error, nothing asked of another host. */
  function expectCleanPage() {
    expect(watch.pageErrors).toEqual([]);
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
  }

  test("/ redirects to /ui; a wrong key gets a clear message", async () => {
    watch = await openPage(browser, baseUrl, { expectedFailures: /^\/me$/ });
    const { page } = watch;
    await page.goto(baseUrl);
    expect(new URL(page.url()).pathname).toBe("/ui");
    await page.getByLabel("API key").fill("hpk_not-a-key-of-this-server");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expectText(page.getByRole("alert"), "This API key was not accepted");
    await screenshot(page, "sign-in");
    expectCleanPage();
  });

  test("the failing webhook comes first, with its health in colour and words", async () => {
    const page = await signedIn(app.keys.write);
    const rows = page.locator("table.webhooks tbody tr");
    await expectText(rows.nth(0).getByRole("rowheader"), "Broken shop");
    await expectText(rows.nth(0), "failing");
    expect(await rows.nth(0).locator(".health-failing").count()).toBe(1);
    await expectText(rows.nth(1), "Healthy blog");
    await expectText(rows.nth(1), "working");
    // The 24-hour chart: drawn from the stats route, or said missing when the server has none.
    if (!(await hasStats())) await expectText(rows.nth(0), "No statistics");
    else
      await rows
        .nth(0)
        .getByRole("img", { name: /Deliveries over the last 24h/ })
        .waitFor();
    await screenshot(page, "webhooks");
    expectCleanPage();
  });

  test("a webhook's log: rows, filters and a delivery's attempts with masked headers", async () => {
    const page = await signedIn(app.keys.write);
    await openBroken(page);
    const statistics = page.getByRole("region", { name: "Statistics" });
    if (await hasStats()) {
      await statistics
        .getByRole("img", { name: /Deliveries over the last 24h: \d+ sent, \d+ error/ })
        .waitFor();
      await statistics.getByRole("img", { name: /Latency: p50 .* over the last 24h/ }).waitFor();
      await statistics.getByLabel("Window").selectOption("7d");
      await statistics.getByRole("img", { name: /Deliveries over the last 7d/ }).waitFor();
    } else {
      await expectText(statistics, "No statistics");
    }
    const log = page.getByRole("region", { name: "Delivery log" });
    await expectText(log.getByRole("status"), "2 deliveries");
    const rows = log.locator("li.delivery");
    expect(await rows.count()).toBe(2);
    await expectText(rows.nth(0), "exhausted");
    await expectText(rows.nth(0), "500");
    await expectText(rows.nth(0), "Published");
    await expectText(rows.nth(0), "article");
    await expectText(rows.nth(0), /post-[12]/);

    // Filters: nothing is Unpublished; both answered in the 5xx range.
    await log.getByLabel("Event type").selectOption({ label: "Unpublished" });
    await log.getByRole("button", { name: "Filter", exact: true }).click();
    await expectText(log.getByRole("status"), "0 deliveries");
    await log.getByRole("button", { name: "Clear filters" }).click();
    await log.getByLabel("Status code from").fill("500");
    await log.getByLabel("Status code to").fill("599");
    await log.getByLabel("State").selectOption("exhausted");
    await log.getByRole("button", { name: "Filter", exact: true }).click();
    await expectText(log.getByRole("status"), "2 deliveries");
    await log.getByLabel("Status code from").fill("200");
    await log.getByLabel("Status code to").fill("299");
    await log.getByRole("button", { name: "Filter", exact: true }).click();
    await expectText(log.getByRole("status"), "0 deliveries");
    await log.getByRole("button", { name: "Clear filters" }).click();
    await expectText(log.getByRole("status"), "2 deliveries");

    await rows
      .nth(0)
      .getByRole("button", { name: /^Attempts of dlv_/ })
      .click();
    const attempts = rows.nth(0).locator("ol.attempts > li");
    await expectText(attempts.nth(0), "HTTP 500");
    expect(await attempts.count()).toBe(2);
    await attempts.nth(0).getByText("Request headers").click();
    const headers = await expectText(attempts.nth(0).locator("pre").first(), "authorization");
    expect(headers).toContain("********");
    expect(headers).not.toContain("shop-credential");
    await expectText(attempts.nth(0), "receiver down");
    await screenshot(page, "webhook");
    expectCleanPage();
  });

  test("Send test shows the status code, the duration and the body", async () => {
    const page = await signedIn(app.keys.write);
    await openBroken(page);
    const before = failing.requests.length;
    await page.getByRole("button", { name: "Send test" }).click();
    const result = page.getByLabel("Test result");
    await expectText(result, "Status code 500");
    await expectText(result, /\d+ ms/);
    await expectText(result, "receiver down");
    expect(failing.requests.length).toBe(before + 1);
    expect(failing.requests.at(-1)?.headers.get("contit-test")).toBe("true");
    expectCleanPage();
  });

  test("Retry sends one delivery again; Replay sends a window again", async () => {
    const page = await signedIn(app.keys.write);
    await openBroken(page);
    const log = page.getByRole("region", { name: "Delivery log" });
    await log
      .getByRole("button", { name: /^Retry dlv_/ })
      .first()
      .click();
    await expectText(log.locator("li.delivery").getByRole("status"), /Sent again as dlv_/);
    await waitFor("the retry in the log", async () => (await deliveries(brokenId)).total === 3);
    await expectText(log.getByRole("status").first(), "3 deliveries");

    // The window's default start is an hour ago: both events are in it.
    await page.getByRole("button", { name: "Replay" }).click();
    await expectText(
      page.getByRole("region", { name: "Actions" }).getByRole("status"),
      "Replay: 2 events sent again",
    );
    await waitFor("the replays in the log", async () => (await deliveries(brokenId)).total === 5);
    expectCleanPage();
  });

  test("Disable and Enable switch the webhook; Rotate secret answers a new one", async () => {
    const page = await signedIn(app.keys.write);
    await page.getByRole("link", { name: "Healthy blog" }).click();
    const actions = page.getByRole("region", { name: "Actions" });
    await actions.getByRole("button", { name: "Disable" }).click();
    await actions.getByRole("button", { name: "Enable" }).waitFor();
    expect((await webhook(healthyId)).enabled).toBe(false);
    await actions.getByRole("button", { name: "Enable" }).click();
    await actions.getByRole("button", { name: "Disable" }).waitFor();
    expect((await webhook(healthyId)).enabled).toBe(true);

    const before = (await webhook(healthyId)).secret;
    await actions.getByRole("button", { name: "Rotate secret" }).click();
    await actions.getByRole("button", { name: "Confirm rotation" }).click();
    const said = await expectText(actions.getByRole("status"), "Secret rotated");
    const after = await webhook(healthyId);
    expect(after.secret).not.toBe(before);
    expect(said).toContain(String(after.secret));
    expect(after.previousSecretExpiresAt).toBeNull();

    // With a grace period, the old secret keeps signing for that long, and the page says until when.
    await actions.getByRole("button", { name: "Rotate secret" }).click();
    await actions.getByLabel(/Grace period/).fill("3600");
    await actions.getByRole("button", { name: "Confirm rotation" }).click();
    await expectText(actions.getByRole("status"), "The previous one also signs until");
    const graced = await webhook(healthyId);
    expect(graced.secret).not.toBe(after.secret);
    const expires = Date.parse(String(graced.previousSecretExpiresAt));
    expect(Math.abs(expires - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    await expectText(page.locator("dl.summary"), "Previous secret signs until");
    expectCleanPage();
  });

  test("a new webhook is created through the form, every kind of field included", async () => {
    // The last step saves a refused value on purpose.
    const page = await signedIn(app.keys.write, { refused: "/webhooks" });
    await page.getByRole("link", { name: "New webhook" }).click();
    await page.getByRole("heading", { name: "New webhook" }).waitFor();
    await page.getByLabel("Name (empty: the endpoint's host)").fill("Search index");
    await page.getByLabel("Endpoint URL").fill(`${healthy.url}/search`);
    await page.getByLabel("Content type 1", { exact: true }).fill("article");
    await page.getByRole("checkbox", { name: "Unpublished" }).check();
    await page.getByRole("button", { name: "Add header" }).click();
    await page.getByLabel("Header 1 name").fill("X-Index");
    await page.getByLabel("Header 1 value").fill("articles");
    await page.getByLabel("Authentication type").selectOption("bearer");
    await page.getByLabel("Token").fill("index-token");
    await page.getByLabel("Languages (comma-separated; empty: all)").fill("en, it");
    await page.getByLabel("Ordered: one delivery at a time, in order").check();
    await page.getByLabel("Rate limit (requests per second; empty: none)").fill("5");
    await page.getByLabel(/^Retry schedule/).fill("10, 60");
    const template = page.getByLabel(
      "Template (JSON; {{fields.title}} takes a value from the event)",
    );
    await template.fill('{"title": ');
    const preview = page.getByLabel("Payload preview");
    await expectText(preview, "JSON");
    // The server renders it for a sample article as it is typed.
    await template.fill('{"title": "{{fields.title}}"}');
    await expectText(preview, '"title": "<title>"');
    await expectText(preview, "sample article event");
    await screenshot(page, "webhook-form");
    await page.getByRole("button", { name: "Create webhook" }).click();
    await page.getByRole("heading", { name: "Search index" }).waitFor();
    await expectText(
      page.locator("dl.summary"),
      "ordered, one at a time · at most 5 per second · retries after 10, 60 s",
    );
    const list = (await app.request("GET", "/webhooks", { key: app.keys.read })).body as Record<
      string,
      unknown
    >[];
    const created = list.find((item) => item.name === "Search index");
    expect(created).toMatchObject({
      endpoint: `${healthy.url}/search`,
      eventTypes: { article: [0, 1] },
      headers: [{ key: "X-Index", value: "articles" }],
      auth: { type: "bearer", token: "********" },
      languages: ["en", "it"],
      ordered: true,
      rateLimitPerSecond: 5,
      retrySchedule: [10, 60],
      customPayload: { title: "{{fields.title}}" },
      useCustomPayload: false,
      enabled: true,
    });

    // A refused value is said in the API's words, naming the field.
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Timeout per attempt (seconds, 1–60)").fill("600");
    await page.getByRole("button", { name: "Save" }).click();
    await expectText(page.getByRole("alert"), "timeoutSeconds");
    expectCleanPage();
  });

  test("a read key sees everything and no button that changes anything", async () => {
    const page = await signedIn(app.keys.read);
    await expectText(page.getByRole("note"), "Read-only key");
    expect(await page.getByRole("link", { name: "New webhook" }).count()).toBe(0);
    await openBroken(page);
    await expectText(
      page.getByRole("region", { name: "Delivery log" }).getByRole("status"),
      "deliveries",
    );
    for (const name of ["Send test", "Disable", "Enable", "Rotate secret", "Replay", "Retry"]) {
      expect(await page.getByRole("button", { name, exact: false }).count(), name).toBe(0);
    }
    expect(await page.getByRole("link", { name: "Edit" }).count()).toBe(0);
    // Its attempts are still there to read.
    await page
      .getByRole("button", { name: /^Attempts of dlv_/ })
      .first()
      .click();
    await expectText(page.locator("ol.attempts").first(), "HTTP 500");
    expectCleanPage();
  });

  test("at 375 px wide the list and a webhook read without sideways scrolling", async () => {
    const page = await signedIn(app.keys.write, { width: 375, height: 812 });
    await expectText(page.locator("table.webhooks tbody tr").first(), "Broken shop");
    // Expressions run in the page (this file is type-checked without the DOM's types).
    const overflow = () =>
      page.evaluate<number>(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "webhooks-375px");
    await openBroken(page);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "webhook-375px");
    expectCleanPage();
  });

  test("a key revoked while signed in leads back to sign-in, saying why", async () => {
    const created = await createApiKey(app.app.store.db, { workspace: "default", access: "read" });
    // Every API call after the revocation is refused, and logged by the browser as such.
    const page = await signedIn(created.key, { refused: "/webhooks.*" });
    const link = page.getByRole("link", { name: "Broken shop" });
    await link.waitFor();
    // The rows' charts (each webhook's stats) loaded too: one still asked after the revocation
    // would lead back to sign-in before the click, and the link with it.
    await page.waitForLoadState("networkidle");
    await revokeApiKey(app.app.store.db, created.id);
    await link.click();
    await expectText(page.getByRole("alert"), "no longer accepts this API key");
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate<number>("sessionStorage.length")).toBe(0);
    expectCleanPage();
  });

  test("every control can be reached with the keyboard, with a visible focus", async () => {
    const page = await signedIn(app.keys.write);
    await page.keyboard.press("Tab");
    const focused = () =>
      page.evaluate<{ text: string; outline: string } | null>(`(() => {
        const element = document.activeElement;
        return element
          ? { text: (element.textContent ?? "").trim(), outline: getComputedStyle(element).outlineStyle }
          : null;
      })()`);
    expect(await focused()).toMatchObject({ text: "Hookpost", outline: "solid" });
    // Tab to the failing webhook's link and open it with Enter.
    for (let step = 0; step < 10; step++) {
      const now = await focused();
      if (now?.text === "Broken shop") break;
      await page.keyboard.press("Tab");
    }
    expect((await focused())?.text).toBe("Broken shop");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Broken shop" }).waitFor();
    expectCleanPage();
  });
});
