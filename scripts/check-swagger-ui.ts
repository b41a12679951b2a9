/**
 * `npm run check:swagger-ui` — opt-in (needs Debian's Chromium: `apt-get install chromium`).
 *
 * Builds the executable, starts it on a temporary database with an empty plugin folder, and
 * opens `/swagger` in headless Chromium with every other host unreachable: the resolver maps
 * all names to nothing, and any request to another origin is aborted and counted. It checks
 * that the page renders every operation of `/swagger/json`, authorizes with an `X-Api-Key`,
 * runs "Try it out" on `GET /webhooks` and sees 200, and saves screenshots.
 *
 * Usage: bun scripts/check-swagger-ui.ts [--out DIR] [--executable PATH]
 *   --out         where the screenshots go (default dist/swagger-ui-check)
 *   --executable  test this executable instead of building one
 *   CHROMIUM      path of the browser (default /usr/bin/chromium)
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { buildExecutable, megabytes, REPO_ROOT } from "./build.ts";
import { startExecutable } from "./lib/executable.ts";

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // The network, closed: no name resolves except the loopback address the server is on.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function randomKey(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(40));
  return `hpk_${Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("")}`;
}

const failures: string[] = [];
function check(ok: boolean, what: string): void {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}

const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(browserPath)) {
  console.error(`no browser at ${browserPath}: apt-get install chromium (or set CHROMIUM)`);
  process.exit(2);
}
const outDir = resolve(option("--out") ?? join(REPO_ROOT, "dist", "swagger-ui-check"));
mkdirSync(outDir, { recursive: true });
const root = mkdtempSync(join(tmpdir(), "hookpost-swagger-ui-"));
const apiKey = randomKey();
const started = performance.now();

let executable = option("--executable");
if (executable) {
  executable = resolve(executable);
} else {
  const built = await buildExecutable(join(root, "hookpost"));
  executable = built.path;
  console.log(`built ${executable}: ${megabytes(built.bytes)} in ${built.buildMs} ms`);
}
mkdirSync(join(root, "plugins"));
const server = await startExecutable({
  executable,
  cwd: root,
  dbPath: join(root, "data", "hookpost.db"),
  pluginsDir: join(root, "plugins"),
  env: { HOOKPOST_API_KEY: apiKey },
});
console.log(`executable listening on ${server.baseUrl} after ${server.startupMs} ms`);
const browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_FLAGS });
try {
  const origin = new URL(server.baseUrl).origin;
  const spec = (await (await fetch(`${server.baseUrl}/swagger/json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const operations = Object.values(spec.paths).reduce(
    (sum, item) => sum + Object.keys(item).length,
    0,
  );

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const blocked: string[] = [];
  const served: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) {
      served.push(url);
      return route.continue();
    }
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });

  const response = await page.goto(`${server.baseUrl}/swagger`, { waitUntil: "load" });
  check(response?.status() === 200, `GET /swagger answered ${response?.status()}`);
  await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
  const title = (await page.locator(".info .title").textContent())?.trim() ?? "";
  check(title.startsWith("Hookpost API"), `the page shows the title "${title}"`);
  const listed = await page.locator(".opblock").count();
  check(listed === operations, `${listed} operations listed, ${operations} in /swagger/json`);
  const tagSections = await page.locator(".opblock-tag").all();
  const tags = await Promise.all(tagSections.map((section) => section.getAttribute("data-tag")));
  check(tags.length >= 5, `${tags.length} tag sections: ${tags.join(", ")}`);
  await page.screenshot({ path: join(outDir, "swagger-ui.png"), fullPage: true });

  // Authorize with the key, then "Try it out" on GET /webhooks.
  await page.locator(".auth-wrapper .btn.authorize").click();
  await page.locator(".modal-ux input").first().fill(apiKey);
  await page.locator(".modal-ux .btn.modal-btn.auth.authorize").click();
  await page.locator(".modal-ux .btn-done, .modal-ux .btn.modal-btn.auth.btn-done").first().click();
  const listWebhooks = page
    .locator(".opblock.opblock-get")
    .filter({ has: page.locator('.opblock-summary-path[data-path="/webhooks"]') });
  await listWebhooks.locator(".opblock-summary").click();
  await listWebhooks.locator(".try-out__btn").click();
  await listWebhooks.locator(".btn.execute").click();
  const status = listWebhooks.locator(".live-responses-table .response .response-col_status");
  await status.first().waitFor({ timeout: 10_000 });
  const statusText = (await status.first().textContent())?.trim() ?? "";
  check(statusText.startsWith("200"), `"Try it out" GET /webhooks with X-Api-Key: ${statusText}`);
  await listWebhooks.screenshot({ path: join(outDir, "swagger-ui-try-it-out.png") });

  const assets = served.filter((url) => url.includes("/swagger/assets/"));
  check(assets.length === 2, `assets loaded from the executable: ${assets.join(", ")}`);
  check(blocked.length === 0, `requests to other hosts: ${blocked.length} ${blocked.join(" ")}`);
  check(pageErrors.length === 0, `page errors: ${pageErrors.length} ${pageErrors.join(" | ")}`);
  console.log(`screenshots: ${join(outDir, "swagger-ui.png")}, swagger-ui-try-it-out.png`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
console.log(
  `${failures.length === 0 ? "PASSED" : "FAILED"} in ${Math.round(performance.now() - started)} ms`,
);
process.exit(failures.length === 0 ? 0 : 1);
