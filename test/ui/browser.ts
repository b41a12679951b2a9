/**
 * Headless Chromium for the dashboard's tests (Debian's `chromium` through playwright-core),
 * with the network closed but for the test server: no name resolves, and any request to
 * another origin is aborted and recorded. Each page records its script errors and console
 * errors, so a test can assert there were none. Without `/usr/bin/chromium` the tests skip,
 * and say so plainly.
 */

import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "../../scripts/build.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const chromiumAvailable = existsSync(CHROMIUM_PATH);

if (!chromiumAvailable) {
  console.log(
    `\nBrowser tests SKIPPED: no Chromium at ${CHROMIUM_PATH}. ` +
      "Install it (apt-get install chromium) to run the dashboard's tests in test/ui.\n",
  );
}

/**
 * Where the test run writes its screenshots: the README's, in docs/screenshots, when
 * `HOOKPOST_UPDATE_SCREENSHOTS=1` (`npm run screenshots`); otherwise a temp folder, so an
 * ordinary run still takes them but leaves the committed ones alone (each run's differ in their
 * times and ports).
 */
export const SCREENSHOTS_DIR =
  process.env.HOOKPOST_UPDATE_SCREENSHOTS === "1"
    ? join(REPO_ROOT, "docs", "screenshots")
    : join(tmpdir(), "hookpost-screenshots");

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      // The network, closed: no name resolves but the loopback address the server is on.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/** What a page did that it should not have. */
export interface PageWatch {
  page: Page;
  context: BrowserContext;
  /** Uncaught exceptions in the page's scripts. */
  pageErrors: string[];
  /** `console.error` messages, and failed loads the test did not expect. */
  consoleErrors: string[];
  /** Requests to any origin other than the test server's (all aborted). */
  foreignRequests: string[];
}

/**
 * A fresh context and page on `baseUrl`. `expectedFailures`: the paths whose 4xx a test
 * causes on purpose (a wrong key's 401); the browser logs them as console errors.
 */
export async function openPage(
  browser: Browser,
  baseUrl: string,
  options: { width?: number; height?: number; expectedFailures?: RegExp } = {},
): Promise<PageWatch> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    serviceWorkers: "block",
  });
  const page = await context.newPage();
  const watch: PageWatch = {
    page,
    context,
    pageErrors: [],
    consoleErrors: [],
    foreignRequests: [],
  };
  const origin = new URL(baseUrl).origin;
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    watch.foreignRequests.push(url);
    return route.abort();
  });
  page.on("pageerror", (error) => watch.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const where = message.location().url;
    const path = where.startsWith(origin) ? new URL(where).pathname : where;
    if (
      message.text().startsWith("Failed to load resource") &&
      options.expectedFailures?.test(path)
    )
      return;
    watch.consoleErrors.push(`${message.text()} (${where})`);
  });
  return watch;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}
