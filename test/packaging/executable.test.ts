/**
 * The single executable of SPEC §11, as an operator runs it: built with the same flags as
 * `npm run build`, copied nowhere near the repository, started in an empty folder on a
 * temporary database with its own plugin folder. It must answer `/health`, serve Swagger UI
 * and its script and stylesheet from inside itself, document every route, and run its
 * embedded migrations. Prints the executable's size and its startup time.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { buildExecutable, megabytes, REPO_ROOT } from "../../scripts/build.ts";
import {
  environmentWithoutHookpost,
  type RunningExecutable,
  startExecutable,
} from "../../scripts/lib/executable.ts";
import { clientBundle } from "../../src/ui/bundle.ts";
import { UI_PATH } from "../../src/ui/index.ts";
import { createTestDatabase, postgresAvailable } from "../helpers/postgres.ts";
import { DOCKERFILE, healthcheckCommand, readDockerfile } from "./dockerfile.ts";

/** A plugin file the executable loads from its plugin folder at startup. */
interface PluginFixture {
  /** File name inside the plugin folder, `*.ts` or `*.js`. */
  file: string;
  source: string;
  /** The name `GET /plugins` must list for it. */
  name: string;
}

/**
 * EXTENSION POINT for the plugin system: the plugins written into the executable's plugin
 * folder before it starts. Empty, the folder is empty — which must work (no plugins). Add a
 * fixture here (e.g. one importing `definePlugin` from "hookpost/plugin") and the test below
 * expects `GET /plugins` to list it by name, proving the compiled executable provides the
 * plugin API to a file outside it.
 */
const PLUGINS_FOR_THE_EXECUTABLE: PluginFixture[] = ["slack", "strapi"].map((name) => ({
  file: `${name}.ts`,
  name,
  source: readFileSync(join(REPO_ROOT, "plugins", `${name}.ts`), "utf8"),
}));

/** Operations a caller may use without `X-Api-Key`; every other one declares `ApiKeyAuth`. */
const OPEN_OPERATIONS = new Set(["GET /health", "GET /metrics"]);

interface OpenApiMedia {
  schema?: unknown;
}
interface OpenApiOperation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { content?: Record<string, OpenApiMedia> };
  responses?: Record<string, { content?: Record<string, OpenApiMedia> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

function writePluginFolder(folder: string, plugins: readonly PluginFixture[]): void {
  mkdirSync(folder, { recursive: true });
  for (const plugin of plugins) writeFileSync(join(folder, plugin.file), plugin.source);
}

/** Whether `value` has an example, looking into the components that it `$ref`s. */
function containsExample(value: unknown, schemas: Record<string, unknown>): boolean {
  if (Array.isArray(value)) return value.some((item) => containsExample(item, schemas));
  if (typeof value !== "object" || value === null) return false;
  if ("examples" in value || "example" in value) return true;
  if ("$ref" in value && typeof value.$ref === "string") {
    return containsExample(schemas[value.$ref.replace("#/components/schemas/", "")], schemas);
  }
  return Object.values(value).some((item) => containsExample(item, schemas));
}

function randomKey(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(40));
  return `hpk_${Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("")}`;
}

let root = "";
let executable = "";
let server: RunningExecutable;
const apiKey = randomKey();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "hookpost-exe-"));
  const built = await buildExecutable(join(root, "bin", "hookpost"));
  executable = built.path;
  console.log(
    `[packaging] executable: ${megabytes(built.bytes)} (${built.bytes} bytes), built in ${built.buildMs} ms`,
  );
  const workdir = join(root, "run");
  const pluginsDir = join(workdir, "plugins");
  writePluginFolder(pluginsDir, PLUGINS_FOR_THE_EXECUTABLE);
  server = await startExecutable({
    executable,
    cwd: workdir,
    dbPath: join(workdir, "data", "hookpost.db"),
    pluginsDir,
    env: { HOOKPOST_API_KEY: apiKey },
  });
  console.log(`[packaging] startup: ${server.startupMs} ms until GET /health answered 200`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the compiled executable", () => {
  test("is one file under 200 MB that reports the package version", async () => {
    const size = Bun.file(executable).size;
    expect(size).toBeGreaterThan(1024 * 1024);
    expect(size).toBeLessThan(200 * 1024 * 1024);
    const proc = Bun.spawn([executable, "--version"], { cwd: root, stdout: "pipe" });
    expect((await new Response(proc.stdout).text()).trim()).toBe(packageJson.version);
    expect(await proc.exited).toBe(0);
  });

  test("answers GET /health with ok and its version", async () => {
    const response = await fetch(`${server.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ok",
      version: packageJson.version,
      db: "ok",
    });
  });

  test("serves the Swagger UI page with only its own assets, identical to swagger-ui-dist", async () => {
    const page = await fetch(`${server.baseUrl}/swagger`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets.sort()).toEqual([
      "/swagger/assets/swagger-ui-bundle.js",
      "/swagger/assets/swagger-ui.css",
    ]);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const expected: Record<string, [string, string]> = {
      "/swagger/assets/swagger-ui-bundle.js": ["javascript", "swagger-ui-bundle.js"],
      "/swagger/assets/swagger-ui.css": ["text/css", "swagger-ui.css"],
    };
    for (const asset of assets) {
      const [contentType, file] = expected[asset] ?? ["", ""];
      const response = await fetch(`${server.baseUrl}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get("content-type"), asset).toContain(contentType);
      const served = new Uint8Array(await response.arrayBuffer());
      const original = readFileSync(join(REPO_ROOT, "node_modules", "swagger-ui-dist", file));
      expect(served.byteLength, asset).toBe(original.byteLength);
      expect(Bun.hash(served), asset).toBe(Bun.hash(original));
    }
  });

  test("serves the dashboard from inside itself: the script bundled from src/ui/app", async () => {
    const redirect = await fetch(`${server.baseUrl}/`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe(UI_PATH);
    const page = await fetch(`${server.baseUrl}${UI_PATH}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((match) => match[1] ?? "");
    const script = assets.find((asset) => asset.endsWith(".js")) ?? "";
    const stylesheet = assets.find((asset) => asset.endsWith(".css")) ?? "";
    const served = await fetch(`${server.baseUrl}${script}`);
    expect(served.status).toBe(200);
    // The macro ran at build time: the executable holds the bundle of this source tree.
    expect(await served.text()).toBe(clientBundle());
    const styles = await fetch(`${server.baseUrl}${stylesheet}`);
    expect(styles.status).toBe(200);
    expect(await styles.text()).toBe(
      readFileSync(join(REPO_ROOT, "src", "ui", "app", "styles.css"), "utf8"),
    );
  });

  test("documents every operation: summary, description, tag, schemas, examples, X-Api-Key", async () => {
    const response = await fetch(`${server.baseUrl}/swagger/json`);
    expect(response.status).toBe(200);
    const spec = (await response.json()) as OpenApiDocument;
    expect(spec.components.securitySchemes.ApiKeyAuth).toEqual({
      type: "apiKey",
      in: "header",
      name: "X-Api-Key",
    });
    const problems: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        operations += 1;
        const name = `${method.toUpperCase()} ${path.replace(/(.)\/$/, "$1")}`;
        const problem = (what: string) => problems.push(`${name}: ${what}`);
        if (!operation.summary?.trim()) problem("no summary");
        if (!operation.description?.trim()) problem("no description");
        if (!operation.tags?.length) problem("no tag");
        const open = OPEN_OPERATIONS.has(name);
        if (!open && JSON.stringify(operation.security) !== '[{"ApiKeyAuth":[]}]') {
          problem("does not declare the ApiKeyAuth security scheme");
        }
        if (open && JSON.stringify(operation.security) !== "[]") {
          problem("open route does not declare `security: []`");
        }
        const responses = Object.entries(operation.responses ?? {});
        const success = responses.filter(([status]) => status.startsWith("2"));
        if (success.length === 0) problem("no 2xx response");
        for (const [status, answer] of responses) {
          const media = Object.values(answer.content ?? {});
          if (media.length === 0 || media.some((entry) => entry.schema === undefined)) {
            problem(`response ${status} has no schema`);
          }
        }
        if (!success.some(([, answer]) => containsExample(answer, spec.components.schemas))) {
          problem("no example on its 2xx response");
        }
        if (!open && !responses.some(([status]) => status === "401")) problem("no 401 response");
        if (operation.requestBody) {
          const media = Object.values(operation.requestBody.content ?? {});
          if (media.length === 0 || media.some((entry) => entry.schema === undefined)) {
            problem("request body has no schema");
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(operations).toBeGreaterThanOrEqual(20);
  });

  test("the X-Api-Key given in HOOKPOST_API_KEY works, as 'Try it out' sends it", async () => {
    const refused = await fetch(`${server.baseUrl}/webhooks`);
    expect(refused.status).toBe(401);
    const listed = await fetch(`${server.baseUrl}/webhooks`, { headers: { "x-api-key": apiKey } });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual([]);
  });

  test("loads the plugins of its plugin folder", async () => {
    expect(server.stdout() + server.stderr()).not.toMatch(/"level":"error"/);
    for (const plugin of PLUGINS_FOR_THE_EXECUTABLE) {
      const response = await fetch(`${server.baseUrl}/plugins`, {
        headers: { "x-api-key": apiKey },
      });
      expect(response.status).toBe(200);
      expect(JSON.stringify(await response.json())).toContain(`"${plugin.name}"`);
    }
  });

  test("the Dockerfile's HEALTHCHECK, run with this executable, passes; on a closed port it fails", async () => {
    const command = healthcheckCommand(readDockerfile(DOCKERFILE)).map((arg) =>
      arg === "/usr/local/bin/hookpost" ? executable : arg,
    );
    expect(command).toContain(executable);
    const check = async (port: string) => {
      const proc = Bun.spawn(command, {
        cwd: root,
        env: { ...environmentWithoutHookpost(), HOOKPOST_PORT: port },
        stdout: "ignore",
        stderr: "ignore",
      });
      return proc.exited;
    };
    expect(await check(new URL(server.baseUrl).port)).toBe(0);
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedPort = String(closed.port);
    closed.stop(true);
    expect(await check(closedPort)).not.toBe(0);
  });

  test("starts without a plugin folder, and runs its embedded migrations by itself", async () => {
    const workdir = join(root, "bare");
    mkdirSync(workdir);
    const dbPath = join(workdir, "nested", "hookpost.db");
    const migrate = Bun.spawn([executable, "migrate"], {
      cwd: workdir,
      env: { ...environmentWithoutHookpost(), HOOKPOST_DB_PATH: dbPath },
      stdout: "pipe",
      stderr: "pipe",
    });
    const migrated = await new Response(migrate.stdout).text();
    expect(await migrate.exited).toBe(0);
    expect(migrated).toMatch(/^applied 0001_/);
    expect(existsSync(dbPath)).toBe(true);

    const bare = await startExecutable({
      executable,
      cwd: workdir,
      dbPath,
      pluginsDir: join(workdir, "no-such-folder"),
    });
    try {
      expect((await fetch(`${bare.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await bare.stop()).toBe(0);
    }
  });

  test("runs on PostgreSQL from the same file: migrates it, serves, and delivers a signed event", async () => {
    if (!(await postgresAvailable())) {
      console.warn(
        "[packaging] PostgreSQL unreachable: the executable's PostgreSQL run is skipped",
      );
      return;
    }
    const database = await createTestDatabase();
    const workdir = join(root, "postgres");
    mkdirSync(workdir);
    // The signature of each request received (read in the handler: Bun lets a request go
    // once it is answered).
    const received: string[] = [];
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        received.push(request.headers.get("webhook-signature") ?? "");
        return new Response("ok");
      },
    });
    const node = await startExecutable({
      executable,
      cwd: workdir,
      dbPath: join(workdir, "unused.db"),
      pluginsDir: join(workdir, "no-such-folder"),
      env: {
        HOOKPOST_DATABASE_URL: database.url,
        HOOKPOST_API_KEY: apiKey,
        HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32",
      },
    });
    try {
      const headers = { "x-api-key": apiKey, "content-type": "application/json" };
      const created = await fetch(`${node.baseUrl}/webhooks`, {
        method: "PUT",
        headers,
        body: JSON.stringify({
          endpoint: `http://127.0.0.1:${receiver.port}/hook`,
          eventTypes: { "*": [0] },
        }),
      });
      expect(created.status).toBe(200);
      const published = await fetch(`${node.baseUrl}/events`, {
        method: "POST",
        headers,
        body: JSON.stringify({ eventType: 0, contentType: "article", contentId: "exe-1" }),
      });
      expect(published.status).toBe(202);
      const deadline = Date.now() + 15_000;
      while (received.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatch(/^v1,/);
      // Nothing of it went to a SQLite file.
      expect(existsSync(join(workdir, "unused.db"))).toBe(false);
    } finally {
      expect(await node.stop()).toBe(0);
      receiver.stop(true);
      await database.drop();
    }
  }, 60_000);
});
