/**
 * Loading the plugin folder (SPEC §8): a good folder loads in file name order, a missing one
 * means no plugins, and every broken or clashing plugin stops startup with a message naming
 * the file and the reason — from `createApp` and from `hookpost serve` (exit code 2).
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/app.ts";
import { createLogger } from "../../src/log.ts";
import { loadPlugins } from "../../src/plugin-host/loader.ts";
import { PluginLoadError } from "../../src/plugin-host/registry.ts";
import { freshBody, runScenarios } from "../helpers/scenarios.ts";
import { createTestApp, tempDir, testConfig } from "../helpers/test-app.ts";
import { pluginFolder, removePluginFolders } from "./helpers.ts";

afterAll(removePluginFolders);

const REPO_ROOT = join(import.meta.dir, "..", "..");

function quietLog(lines: string[] = []) {
  return createLogger("debug", (line) => lines.push(line));
}

const GOOD_TEMPLATER = `
import { definePlugin } from "hookpost/plugin";
export default definePlugin({
  name: "upper",
  templaters: { upper: { render: (template) => String(template).toUpperCase() } },
});
`;

const GOOD_SOURCE_JS = `
import { definePlugin, EventType } from "hookpost/plugin";
export default definePlugin({
  name: "cms",
  sources: {
    cms: {
      contentTypes: () => [{ key: "post", name: "Post", fields: ["title"] }],
      handle: async () => [{ eventType: EventType.Published, contentType: "post", contentId: "1" }],
      poll: { intervalMs: 60000, run: () => [] },
    },
  },
  hooks: { afterDelivery() {} },
});
`;

describe("a good plugin folder", () => {
  test("loads every .ts and .js file directly in it, in file name order", async () => {
    const dir = pluginFolder({
      "b-upper.ts": GOOD_TEMPLATER,
      "a-cms.js": GOOD_SOURCE_JS,
      "notes.md": "not a plugin",
      "types.d.ts": "declare const x: number;",
      "data.json": "{}",
    });
    const registry = await loadPlugins(dir, quietLog());
    expect(registry.describe()).toEqual([
      {
        name: "cms",
        file: "a-cms.js",
        templaters: [],
        sources: [{ name: "cms", handles: true, polls: true, contentTypes: ["post"] }],
        hooks: ["afterDelivery"],
      },
      { name: "upper", file: "b-upper.ts", templaters: ["upper"], sources: [], hooks: [] },
    ]);
    expect(registry.templaters.has("upper")).toBe(true);
    expect(registry.templaters.has("json")).toBe(true);
    expect(registry.contentTypes.get("post")?.source).toBe("cms");
  });

  test("a plugin may import node built-ins and files beside it, with no node_modules", async () => {
    const dir = pluginFolder({
      "with-helper.ts": `
        import { definePlugin } from "hookpost/plugin";
        import { createHash } from "node:crypto";
        import { shout } from "./lib/shout.ts";
        export default definePlugin({
          name: "with-helper",
          templaters: { digest: { render: (t) => ({ h: createHash("sha1").update(shout(String(t))).digest("hex") }) } },
        });`,
    });
    // A sub-folder is not scanned for plugins, but a plugin may import from it.
    const lib = join(dir, "lib");
    await Bun.write(join(lib, "shout.ts"), "export const shout = (s: string) => s.toUpperCase();");
    const registry = await loadPlugins(dir, quietLog());
    expect(registry.describe().map((plugin) => plugin.name)).toEqual(["with-helper"]);
  });

  test("a missing folder means no plugins, logged at info", async () => {
    const lines: string[] = [];
    const registry = await loadPlugins(join(tempDir(), "absent"), quietLog(lines));
    expect(registry.describe()).toEqual([]);
    expect(lines.join("")).toContain(
      '"level":"info","msg":"no plugins folder; running without plugins"',
    );
  });

  test("an empty folder means no plugins", async () => {
    expect((await loadPlugins(pluginFolder({}), quietLog())).describe()).toEqual([]);
  });
});

/** A plugin file's source with `body` as the argument of definePlugin. */
function plugin(body: string): string {
  return `import { definePlugin } from "hookpost/plugin";\nexport default definePlugin(${body});\n`;
}

const BROKEN: { name: string; source: string; reason: string }[] = [
  {
    name: "a syntax error",
    source: "export default {",
    reason: "failed to import",
  },
  {
    name: "an error thrown while importing",
    source: 'throw new Error("missing STRAPI_URL");',
    reason: "failed to import: missing STRAPI_URL",
  },
  {
    name: "an import of a package that is not there",
    source: 'import "left-pad-not-installed";\nexport default {};',
    reason: "failed to import",
  },
  {
    name: "no default export",
    source: 'export const plugin = { name: "x" };',
    reason: "it has no default export (export default definePlugin({…}))",
  },
  {
    name: "a default export that is not an object",
    source: "export default () => ({});",
    reason: "the default export must be definePlugin({…}), got a function",
  },
  {
    name: "no name",
    source: plugin("{}"),
    reason:
      "name must be 1–64 characters of a-z 0-9 _ -, starting with a letter or digit, got undefined",
  },
  {
    name: "a name with capitals and spaces",
    source: plugin('{ name: "My Plugin" }'),
    reason: 'got "My Plugin"',
  },
  {
    name: "a misspelt property",
    source: plugin('{ name: "x", hook: {} }'),
    reason: "hook is not a known property (expected name, templaters, sources, hooks)",
  },
  {
    name: "an engine without render",
    source: plugin('{ name: "x", templaters: { upper: { rendr() {} } } }'),
    reason: "templaters.upper.render must be a function, got undefined",
  },
  {
    name: "an engine named json",
    source: plugin('{ name: "x", templaters: { json: { render: () => 1 } } }'),
    reason: 'templaters.json: "json" is the built-in engine\'s name',
  },
  {
    name: "an engine with a bad name",
    source: plugin('{ name: "x", templaters: { "Slack!": { render: () => 1 } } }'),
    reason: 'templaters name "Slack!" must be',
  },
  {
    name: "a source with neither handle nor poll",
    source: plugin('{ name: "x", sources: { cms: { contentTypes: () => [] } } }'),
    reason: "sources.cms needs handle(request), poll, or both",
  },
  {
    name: "a poll without a valid interval",
    source: plugin('{ name: "x", sources: { cms: { poll: { intervalMs: 0, run() {} } } } }'),
    reason: "sources.cms.poll.intervalMs must be a positive whole number of ms, got 0",
  },
  {
    name: "a poll into an invalid workspace",
    source: plugin(
      '{ name: "x", sources: { cms: { poll: { intervalMs: 10, workspace: "a b", run() {} } } } }',
    ),
    reason: 'sources.cms.poll.workspace must be 1–64 letters, digits, _ or -, got "a b"',
  },
  {
    name: "mediaTypes that is not an array",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], mediaTypes: "application/json" } } }',
    ),
    reason:
      'sources.cms.mediaTypes must be a non-empty array of media types ("type/subtype"), got "application/json"',
  },
  {
    name: "mediaTypes that is empty",
    source: plugin('{ name: "x", sources: { cms: { handle: () => [], mediaTypes: [] } } }'),
    reason: "sources.cms.mediaTypes must be a non-empty array of media types",
  },
  {
    name: "a media type that is not type/subtype",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], mediaTypes: ["application/json", "json"] } } }',
    ),
    reason:
      'sources.cms.mediaTypes[1] must be a media type "type/subtype" without parameters, got "json"',
  },
  {
    name: "a media type with parameters",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], mediaTypes: ["text/plain; charset=utf-8"] } } }',
    ),
    reason: 'sources.cms.mediaTypes[0] must be a media type "type/subtype" without parameters',
  },
  {
    name: "a media type that is not a string",
    source: plugin('{ name: "x", sources: { cms: { handle: () => [], mediaTypes: [42] } } }'),
    reason: "sources.cms.mediaTypes[0] must be a media type",
  },
  {
    name: "a hook that is not a function",
    source: plugin('{ name: "x", hooks: { beforeDelivery: "yes" } }'),
    reason: 'hooks.beforeDelivery must be a function, got "yes"',
  },
  {
    name: "contentTypes() that throws",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], contentTypes() { throw new Error("no schema"); } } } }',
    ),
    reason: "sources.cms.contentTypes() threw: no schema",
  },
  {
    name: "a content type with an invalid key",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], contentTypes: () => [{ key: "a b", name: "A", fields: [] }] } } }',
    ),
    reason: "sources.cms.contentTypes()[0].key:",
  },
  {
    name: "a content type with a repeated field",
    source: plugin(
      '{ name: "x", sources: { cms: { handle: () => [], contentTypes: () => [{ key: "a", name: "A", fields: ["t", "t"] }] } } }',
    ),
    reason: 'sources.cms.contentTypes()[0].fields: duplicate field key "t"',
  },
];

describe("a broken plugin stops loading with a message naming the file and the reason", () => {
  for (const broken of BROKEN) {
    test(broken.name, async () => {
      const dir = pluginFolder({ "a-good.ts": GOOD_TEMPLATER, "broken.ts": broken.source });
      const file = join(dir, "broken.ts");
      const error = await loadPlugins(dir, quietLog()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PluginLoadError);
      const message = (error as Error).message;
      expect(message).toStartWith(`plugin ${file} `);
      expect(message).toContain(broken.reason);
    });
  }

  test("every problem of one plugin is reported at once", async () => {
    const dir = pluginFolder({
      "many.ts": plugin('{ name: "", templaters: { a: {} }, extra: 1 }'),
    });
    const message = await loadPlugins(dir, quietLog()).catch((error: Error) => error.message);
    expect(message).toContain("extra is not a known property");
    expect(message).toContain("name must be");
    expect(message).toContain("templaters.a.render must be a function");
  });

  test("a plugins path that is a file, not a folder", async () => {
    const file = join(tempDir(), "plugins.ts");
    writeFileSync(file, GOOD_TEMPLATER);
    await expect(loadPlugins(file, quietLog())).rejects.toThrow(
      `HOOKPOST_PLUGINS_DIR ${file} is not a folder`,
    );
  });
});

describe("plugins that clash stop loading with a message naming both files", () => {
  const CASES = [
    {
      name: "two plugins with the same name",
      first: plugin('{ name: "same", hooks: {} }'),
      second: plugin('{ name: "same", hooks: {} }'),
      clash: 'plugin name "same"',
    },
    {
      name: "two template engines with the same name",
      first: plugin('{ name: "one", templaters: { slack: { render: () => 1 } } }'),
      second: plugin('{ name: "two", templaters: { slack: { render: () => 2 } } }'),
      clash: 'template engine "slack"',
    },
    {
      name: "two sources with the same name",
      first: plugin('{ name: "one", sources: { cms: { handle: () => [] } } }'),
      second: plugin('{ name: "two", sources: { cms: { handle: () => [] } } }'),
      clash: 'source "cms"',
    },
    {
      name: "two sources declaring the same content type",
      first: plugin(
        '{ name: "one", sources: { a: { handle: () => [], contentTypes: () => [{ key: "article", name: "A", fields: [] }] } } }',
      ),
      second: plugin(
        '{ name: "two", sources: { b: { handle: () => [], contentTypes: () => [{ key: "article", name: "B", fields: [] }] } } }',
      ),
      clash: 'content type "article"',
    },
  ];
  for (const clash of CASES) {
    test(clash.name, async () => {
      const dir = pluginFolder({ "first.ts": clash.first, "second.ts": clash.second });
      const error = await loadPlugins(dir, quietLog()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PluginLoadError);
      expect((error as Error).message).toContain(
        `${clash.clash} is defined by both ${join(dir, "first.ts")} (plugin "`,
      );
      expect((error as Error).message).toContain(`and ${join(dir, "second.ts")} (plugin "`);
    });
  }
});

describe("startup with a bad plugin", () => {
  test("createApp rejects before it creates the database", async () => {
    const dir = tempDir();
    const config = testConfig(dir, {
      HOOKPOST_PLUGINS_DIR: pluginFolder({ "bad.ts": plugin('{ name: "Bad" }') }),
    });
    await expect(createApp(config, { log: quietLog() })).rejects.toBeInstanceOf(PluginLoadError);
    expect(existsSync(config.dbPath)).toBe(false);
  });

  test("hookpost serve prints the file and the reason and exits with code 2", async () => {
    const plugins = pluginFolder({ "bad.ts": plugin('{ name: "x", hook: {} }') });
    const dir = tempDir();
    const proc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOOKPOST_DB_PATH: join(dir, "hookpost.db"),
        HOOKPOST_PORT: "0",
        HOOKPOST_PLUGINS_DIR: plugins,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(2);
    expect(stderr).toContain(`hookpost: plugin ${join(plugins, "bad.ts")} is invalid: hook is not`);
  });
});

describe("GET /plugins", () => {
  runScenarios([
    {
      name: "an app without plugins lists none",
      method: "GET",
      url: "/plugins",
      key: "read",
      expectedStatus: 200,
      after: (response) => {
        expect(freshBody(response)).toEqual([]);
      },
    },
    { name: "no key is 401", method: "GET", url: "/plugins", key: "none", expectedStatus: 401 },
    {
      name: "an unknown key is 401",
      method: "GET",
      url: "/plugins",
      key: "unknown",
      expectedStatus: 401,
    },
  ]);

  test("lists each plugin with its file and contributions, for a read key of any workspace", async () => {
    const app = await createTestApp({
      HOOKPOST_PLUGINS_DIR: pluginFolder({ "b.ts": GOOD_TEMPLATER, "a.js": GOOD_SOURCE_JS }),
    });
    try {
      for (const key of [app.keys.read, app.keys.other]) {
        const response = await app.request("GET", "/plugins", { key });
        expect(response.status).toBe(200);
        expect(freshBody(response)).toEqual([
          {
            name: "cms",
            file: "a.js",
            templaters: [],
            sources: [{ name: "cms", handles: true, polls: true, contentTypes: ["post"] }],
            hooks: ["afterDelivery"],
          },
          { name: "upper", file: "b.ts", templaters: ["upper"], sources: [], hooks: [] },
        ]);
      }
      const loaded = app.logLines.filter((line) => line.includes('"msg":"plugin loaded"'));
      expect(loaded).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});
