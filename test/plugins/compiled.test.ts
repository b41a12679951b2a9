/**
 * The same plugin folder works with the compiled executable (SPEC §8, §11): `bun build
 * --compile` of `src/main.ts` (as the packaged `dist/hookpost` is built), run on a folder of
 * plugins outside the repository — no node_modules, no tsconfig — serves the shipped Strapi
 * source and Slack engine, and still refuses a bad plugin with exit code 2.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitFor } from "../helpers/receiver.ts";
import { tempDir } from "../helpers/test-app.ts";
import { pluginFolder, removePluginFolders, SHIPPED_PLUGINS } from "./helpers.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
const API_KEY = "hpk_CompiledExecutablePluginTest000000000";

let workDir: string;
let executable: string;

beforeAll(async () => {
  workDir = tempDir("hookpost-compiled-");
  executable = join(workDir, "hookpost");
  const build = Bun.spawn(
    [process.execPath, "build", "--compile", "src/main.ts", "--outfile", executable],
    { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" },
  );
  const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()]);
  if (code !== 0) throw new Error(`bun build --compile failed: ${stderr}`);
}, 60_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  removePluginFolders();
});

function run(pluginsDir: string, dbName: string) {
  return Bun.spawn([executable, "serve"], {
    // Outside the repository: nothing but the executable can provide `hookpost/plugin`.
    cwd: workDir,
    env: {
      PATH: process.env.PATH ?? "",
      HOOKPOST_DB_PATH: join(workDir, dbName),
      HOOKPOST_HOST: "127.0.0.1",
      HOOKPOST_PORT: "0",
      HOOKPOST_API_KEY: API_KEY,
      HOOKPOST_PLUGINS_DIR: pluginsDir,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("the compiled executable", () => {
  let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let baseUrl = "";

  beforeAll(async () => {
    const plugins = pluginFolder({});
    for (const file of ["strapi.ts", "slack.ts"]) {
      copyFileSync(join(SHIPPED_PLUGINS, file), join(plugins, file));
    }
    writeFileSync(
      join(plugins, "hello.js"),
      'import { definePlugin } from "hookpost/plugin";\n' +
        'export default definePlugin({ name: "hello", hooks: { beforeDelivery() {} } });\n',
    );
    server = run(plugins, "served.db");
    let out = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of server.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    baseUrl = await waitFor("the executable to listen", () => {
      if (server?.exitCode !== null) throw new Error(`exited with ${server?.exitCode}: ${out}`);
      return /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    });
  }, 30_000);

  afterAll(async () => {
    server?.kill("SIGTERM");
    await server?.exited;
  });

  test("loads the plugin folder and lists it", async () => {
    const response = await fetch(`${baseUrl}/plugins`, { headers: { "x-api-key": API_KEY } });
    expect(response.status).toBe(200);
    const plugins = (await response.json()) as { name: string; file: string }[];
    expect(plugins.map((plugin) => [plugin.name, plugin.file])).toEqual([
      ["hello", "hello.js"],
      ["slack", "slack.ts"],
      ["strapi", "strapi.ts"],
    ]);
  });

  test("serves a Strapi webhook through the shipped source", async () => {
    const response = await fetch(`${baseUrl}/sources/strapi`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ event: "entry.delete", model: "article", entry: { id: 3 } }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      events: [{ eventId: expect.stringMatching(/^evt_/), deliveries: [] }],
    });
  });

  test("accepts a webhook using the shipped slack engine", async () => {
    const response = await fetch(`${baseUrl}/webhooks`, {
      method: "PUT",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        endpoint: "https://hooks.slack.com/services/T000/B000/XXXX",
        templateEngine: "slack",
        useCustomPayload: true,
        customPayload: { text: "{{fields.title}}" },
      }),
    });
    expect(response.status).toBe(200);
  });

  test("refuses to start with a bad plugin: exit code 2 and the file named", async () => {
    const plugins = pluginFolder({ "broken.ts": "export default 42;\n" });
    const proc = run(plugins, "refused.db");
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(2);
    expect(stderr).toContain(`hookpost: plugin ${join(plugins, "broken.ts")} is invalid`);
  });
});
