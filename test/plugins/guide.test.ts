/**
 * The worked example of the plugin author's guide (`plugins/README.md`) works as printed: it
 * is read out of the guide, loaded as a plugin, and driven the way the guide says — a signed
 * CMS request to its source, its Teams engine, its hook — to a real receiver.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { loadPlugins } from "../../src/plugin-host/loader.ts";
import { type Receiver, startReceiver } from "../helpers/receiver.ts";
import { createWebhook, freshBody } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";
import {
  appWithPlugins,
  attemptRows,
  pluginFolder,
  removePluginFolders,
  SHIPPED_PLUGINS,
  settled,
} from "./helpers.ts";

/** The first TypeScript block after "Save it as `plugins/inkwell.ts`" in the guide. */
function workedExample(): string {
  const guide = readFileSync(join(SHIPPED_PLUGINS, "README.md"), "utf8");
  const match = /Save it as `plugins\/inkwell\.ts`:\s*```ts\n([\s\S]*?)```/.exec(guide);
  if (!match?.[1]) throw new Error("the worked example is missing from plugins/README.md");
  return match[1];
}

const SECRET = "s3cret";

describe("the guide's worked example", () => {
  let app: TestApp;
  let target: Receiver;

  beforeAll(async () => {
    process.env.INKWELL_WEBHOOK_SECRET = SECRET;
    app = await appWithPlugins({ "inkwell.ts": workedExample() });
    delete process.env.INKWELL_WEBHOOK_SECRET;
    await app.app.start();
    target = startReceiver();
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
    removePluginFolders();
  });

  function postFromInkwell(body: string, signature: string) {
    return app.request("POST", "/sources/inkwell", {
      key: app.keys.write,
      rawBody: body,
      headers: { "content-type": "application/json", "x-inkwell-signature": signature },
    });
  }

  test("loads with its source, content type, engine and hook", async () => {
    const plugins = await app.request("GET", "/plugins", { key: app.keys.read });
    expect(freshBody(plugins)).toEqual([
      {
        name: "inkwell",
        file: "inkwell.ts",
        templaters: ["teams"],
        sources: [{ name: "inkwell", handles: true, polls: false, contentTypes: ["story"] }],
        hooks: ["beforeDelivery"],
      },
    ]);
  });

  test("a signed Inkwell request becomes a Teams card delivered with the hook's header", async () => {
    await createWebhook(app, {
      endpoint: `${target.url}/teams`,
      eventTypes: { story: [0] },
      useCustomPayload: true,
      templateEngine: "teams",
      customPayload: "New story",
    });
    const body = JSON.stringify({
      type: "document.published",
      document: { uid: "st_1", collection: "story", rev: 3, data: { headline: "Hi" } },
    });
    const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    const response = await postFromInkwell(body, signature);
    expect(response.status).toBe(202);
    const deliveryId = (
      freshBody(response) as { events: { deliveries: { deliveryId: string }[] }[] }
    ).events[0]?.deliveries[0]?.deliveryId;
    if (!deliveryId) throw new Error(response.text);
    await settled(app, deliveryId);
    const request = target.requests[0];
    expect(request?.headers.get("x-origin")).toBe("inkwell");
    expect(JSON.parse(request?.body ?? "{}")).toMatchObject({
      type: "message",
      attachments: [
        {
          content: {
            body: [
              { type: "TextBlock", text: "New story" },
              { type: "TextBlock", text: "story st_1" },
            ],
          },
        },
      ],
    });
    const [attempt] = await attemptRows(app, deliveryId);
    expect(JSON.parse(attempt?.request_headers ?? "{}")).toMatchObject({ "x-origin": "inkwell" });
  });

  test("a request with a wrong signature is 400 and ingests nothing", async () => {
    const response = await postFromInkwell('{"type":"document.published"}', "sha256=00");
    expect(response.status).toBe(400);
    expect(freshBody(response)).toMatchObject({
      error: { message: 'source "inkwell" rejected the request: bad X-Inkwell-Signature' },
    });
  });

  test("without its setting it stops startup, naming the file and the reason", async () => {
    const dir = pluginFolder({ "inkwell.ts": workedExample() });
    await expect(
      loadPlugins(
        dir,
        createLogger("error", () => undefined),
      ),
    ).rejects.toThrow(
      `plugin ${join(dir, "inkwell.ts")} failed to import: set INKWELL_WEBHOOK_SECRET`,
    );
  });
});
