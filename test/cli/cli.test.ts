/**
 * The `hookpost` command as an operator uses it: a real `bun src/main.ts` child process on a
 * real SQLite file in a temporary folder.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import packageJson from "../../package.json" with { type: "json" };
import { createKeyWithCli, KEY_ID_PATTERN, lastLine, runCli } from "../helpers/cli.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;
const API_KEY_PATTERN = /hpk_[A-Za-z0-9]{40}/g;

/** Every variable of SPEC §2, spelled out so a renamed or missing one fails the help test. */
const SPEC_VARIABLES = [
  "HOOKPOST_HOST",
  "HOOKPOST_PORT",
  "HOOKPOST_DB_PATH",
  "HOOKPOST_API_KEY",
  "HOOKPOST_SMTP_URL",
  "HOOKPOST_MAIL_FROM",
  "HOOKPOST_PLUGINS_DIR",
  "HOOKPOST_ALLOW_PRIVATE_TARGETS",
  "HOOKPOST_ALLOWED_CIDRS",
  "HOOKPOST_MAX_ATTEMPTS",
  "HOOKPOST_RETRY_BASE_MS",
  "HOOKPOST_RETRY_MAX_DELAY_MS",
  "HOOKPOST_TICK_MS",
  "HOOKPOST_CONCURRENCY",
  "HOOKPOST_RETENTION_DAYS",
  "HOOKPOST_LOG_LEVEL",
];

let root = "";
let counter = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "hookpost-cli-"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A database path of its own, in a folder that does not exist yet. */
function freshDbPath(): string {
  counter += 1;
  return join(root, `case-${counter}`, "h.db");
}

/** The runner's environment without any HOOKPOST_* the developer may have set. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("HOOKPOST_") && value !== undefined) env[name] = value;
  }
  return env;
}

function cliEnv(dbPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...baseEnv(),
    HOOKPOST_DB_PATH: dbPath,
    HOOKPOST_HOST: "127.0.0.1",
    HOOKPOST_PLUGINS_DIR: join(root, "plugins"),
    ...extra,
  };
}

/** The SQLite file and its write-ahead log, as text, however much of it is checkpointed. */
function databaseBytes(dbPath: string): string {
  let text = "";
  for (const path of [dbPath, `${dbPath}-wal`]) {
    if (existsSync(path)) text += readFileSync(path).toString("latin1");
  }
  return text;
}

/** Polls `condition` until it holds or the deadline passes. */
async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  if (port === undefined) throw new Error("could not find a free port");
  return port;
}

interface RunningServer {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  baseUrl: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once the "listening" log line, which follows any announced key, is out. */
  untilListening(): Promise<void>;
  get(path: string, key?: string): Promise<Response>;
  kill(): Promise<void>;
}

/** Starts `hookpost serve` and waits until `GET /health` answers 200. */
async function startServer(dbPath: string, extra: Record<string, string> = {}) {
  const port = freePort();
  const proc = Bun.spawn([BUN, "src/main.ts", "serve"], {
    cwd: REPO_ROOT,
    env: cliEnv(dbPath, { HOOKPOST_PORT: String(port), ...extra }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  };
  void pump(proc.stdout, (text) => {
    out += text;
  });
  void pump(proc.stderr, (text) => {
    err += text;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: RunningServer = {
    proc,
    baseUrl,
    stdout: () => out,
    stderr: () => err,
    untilListening: () =>
      waitFor("the listening log line", () => out.includes('"msg":"listening"')),
    get: (path, key) => fetch(`${baseUrl}${path}`, { headers: key ? { "x-api-key": key } : {} }),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  try {
    await waitFor("GET /health to answer 200", async () => {
      if (proc.exitCode !== null) {
        throw new Error(`serve exited with ${proc.exitCode}: ${err}`);
      }
      try {
        return (await server.get("/health")).status === 200;
      } catch {
        return false;
      }
    });
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

describe("hookpost --version and --help", () => {
  test("--version prints the package.json version", async () => {
    const result = await runCli(["--version"], cliEnv(freshDbPath()));
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  test("-v is --version", async () => {
    const result = await runCli(["-v"], cliEnv(freshDbPath()));
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  test("--help lists every HOOKPOST_* variable, its flag, and the commands", async () => {
    const result = await runCli(["--help"], cliEnv(freshDbPath()));
    expect(result.code).toBe(0);
    for (const name of SPEC_VARIABLES) {
      expect(result.stdout).toContain(name);
      const flag = `--${name.replace("HOOKPOST_", "").toLowerCase().replaceAll("_", "-")}`;
      expect(result.stdout).toContain(flag);
    }
    for (const command of ["serve", "migrate", "keys create", "keys list", "keys revoke"]) {
      expect(result.stdout).toContain(command);
    }
  });

  test("--help does not print a configured API key", async () => {
    const secret = "configured-secret-value-that-must-stay-hidden";
    const result = await runCli(
      ["--help"],
      cliEnv(freshDbPath(), {
        HOOKPOST_API_KEY: secret,
        HOOKPOST_SMTP_URL: `smtp://u:${secret}@h`,
      }),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(secret);
  });
});

describe("usage errors exit with code 2", () => {
  test("HOOKPOST_PORT=abc stops startup with code 2, naming HOOKPOST_PORT", async () => {
    const result = await runCli([], cliEnv(freshDbPath(), { HOOKPOST_PORT: "abc" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("HOOKPOST_PORT");
  });

  test("a bad --port flag is reported under HOOKPOST_PORT with code 2", async () => {
    const result = await runCli(["migrate", "--port", "70000"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("HOOKPOST_PORT");
  });

  test("a bad SMTP URL stops startup without echoing its password", async () => {
    const result = await runCli(
      ["migrate"],
      cliEnv(freshDbPath(), { HOOKPOST_SMTP_URL: "ftp://user:hunter2@host" }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("HOOKPOST_SMTP_URL");
    expect(result.stderr + result.stdout).not.toContain("hunter2");
  });

  test("an unknown command exits 2 and names it", async () => {
    const result = await runCli(["frobnicate"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("frobnicate");
  });

  test("copy-data without a postgres:// --to exits 2 before opening anything", async () => {
    const dbPath = freshDbPath();
    for (const args of [["copy-data"], ["copy-data", "--to", "mysql://host/db"]]) {
      const result = await runCli(args, cliEnv(dbPath));
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--to is required");
    }
    expect(existsSync(dbPath)).toBe(false);
  });

  test("an unknown keys subcommand exits 2", async () => {
    const result = await runCli(["keys", "rotate"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("keys rotate");
  });

  test("an unknown flag exits 2 and names it", async () => {
    const result = await runCli(["migrate", "--frobnicate", "yes"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--frobnicate");
  });

  test("a flag of another command is refused", async () => {
    const result = await runCli(["keys", "list", "--workspace", "acme"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--workspace");
  });

  test("a flag missing its value exits 2", async () => {
    const result = await runCli(["migrate", "--db-path"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--db-path");
  });

  test("a usage error does not touch the database", async () => {
    const dbPath = freshDbPath();
    const result = await runCli(["frobnicate"], cliEnv(dbPath));
    expect(result.code).toBe(2);
    expect(existsSync(dbPath)).toBe(false);
  });
});

describe("hookpost migrate", () => {
  test("migrate creates the database file and its missing directory", async () => {
    const dbPath = join(root, "migrate", "nested", "deeper", "h.db");
    expect(existsSync(join(root, "migrate"))).toBe(false);
    const result = await runCli(["migrate"], cliEnv(dbPath));
    expect(result.code).toBe(0);
    expect(existsSync(dbPath)).toBe(true);
  });

  test("migrate on an up-to-date database succeeds and says so", async () => {
    const dbPath = freshDbPath();
    expect((await runCli(["migrate"], cliEnv(dbPath))).code).toBe(0);
    const again = await runCli(["migrate"], cliEnv(dbPath));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("up to date");
  });

  test("--db-path overrides HOOKPOST_DB_PATH", async () => {
    const fromEnv = freshDbPath();
    const fromFlag = freshDbPath();
    const result = await runCli(["migrate", "--db-path", fromFlag], cliEnv(fromEnv));
    expect(result.code).toBe(0);
    expect(existsSync(fromFlag)).toBe(true);
    expect(existsSync(fromEnv)).toBe(false);
  });

  test("migrate on a fresh database reports that it applied migrations", async () => {
    const result = await runCli(["migrate"], cliEnv(freshDbPath()));
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("up to date");
  });
});

describe("hookpost keys", () => {
  test("keys create prints the new key alone on the last line of stdout", async () => {
    const dbPath = freshDbPath();
    const result = await runCli(
      ["keys", "create", "--workspace", "acme", "--access", "read"],
      cliEnv(dbPath),
    );
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith("\n")).toBe(true);
    expect(lastLine(result.stdout)).toMatch(/^hpk_[A-Za-z0-9]{40}$/);
    // The key appears once: scripts capturing the last line get the only copy.
    expect(result.stdout.match(API_KEY_PATTERN)).toHaveLength(1);
  });

  test("keys list shows id, workspace and access of each key but never the key", async () => {
    const dbPath = freshDbPath();
    const read = await createKeyWithCli(cliEnv(dbPath), "acme", "read");
    const write = await createKeyWithCli(cliEnv(dbPath), "beta", "write");
    const result = await runCli(["keys", "list"], cliEnv(dbPath));
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    const readLine = lines.find((line) => line.startsWith(read.id));
    const writeLine = lines.find((line) => line.startsWith(write.id));
    expect(readLine?.split("\t").slice(0, 3)).toEqual([read.id, "acme", "read"]);
    expect(writeLine?.split("\t").slice(0, 3)).toEqual([write.id, "beta", "write"]);
    expect(readLine).toContain("active");
    expect(result.stdout).not.toContain(read.key);
    expect(result.stdout).not.toContain(write.key);
    expect(result.stdout).not.toMatch(API_KEY_PATTERN);
  });

  test("keys list on an empty database says there are no keys", async () => {
    const result = await runCli(["keys", "list"], cliEnv(freshDbPath()));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("no API keys");
  });

  test("keys create with an access other than read or write exits 2", async () => {
    const dbPath = freshDbPath();
    const result = await runCli(
      ["keys", "create", "--workspace", "acme", "--access", "admin"],
      cliEnv(dbPath),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--access");
    expect(result.stdout).not.toMatch(API_KEY_PATTERN);
  });

  test("keys create without --access exits 2", async () => {
    const result = await runCli(["keys", "create", "--workspace", "acme"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--access");
  });

  test("keys create with a workspace name that is not a slug exits 2", async () => {
    const result = await runCli(
      ["keys", "create", "--workspace", "a b", "--access", "read"],
      cliEnv(freshDbPath()),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--workspace");
  });

  test("keys revoke marks the key revoked in keys list", async () => {
    const dbPath = freshDbPath();
    const { id } = await createKeyWithCli(cliEnv(dbPath), "acme", "write");
    const revoked = await runCli(["keys", "revoke", id], cliEnv(dbPath));
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(id);
    const listed = await runCli(["keys", "list"], cliEnv(dbPath));
    const line = listed.stdout.split("\n").find((candidate) => candidate.startsWith(id));
    expect(line).toContain("revoked");
    expect(line).not.toContain("active");
  });

  test("revoking an unknown id exits non-zero with a message naming it", async () => {
    const dbPath = freshDbPath();
    const result = await runCli(["keys", "revoke", "key_doesnotexist"], cliEnv(dbPath));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("key_doesnotexist");
  });

  test("revoking a key twice fails the second time", async () => {
    const dbPath = freshDbPath();
    const { id } = await createKeyWithCli(cliEnv(dbPath), "acme", "read");
    expect((await runCli(["keys", "revoke", id], cliEnv(dbPath))).code).toBe(0);
    const again = await runCli(["keys", "revoke", id], cliEnv(dbPath));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(id);
  });

  test("keys revoke without an id exits 2", async () => {
    const result = await runCli(["keys", "revoke"], cliEnv(freshDbPath()));
    expect(result.code).toBe(2);
  });

  test("the database file never contains the plain key", async () => {
    const dbPath = freshDbPath();
    const { id, key } = await createKeyWithCli(cliEnv(dbPath), "acme", "write");
    const bytes = databaseBytes(dbPath);
    // The key's row is in these bytes (its id is), so the key's absence means something.
    expect(bytes).toContain(id);
    expect(bytes).not.toContain(key);
    expect(bytes).not.toContain(key.slice(4));
  });
});

describe("hookpost serve on a fresh database without HOOKPOST_API_KEY", () => {
  let dbPath = "";
  let server: RunningServer | undefined;
  let generatedKey = "";

  beforeAll(async () => {
    dbPath = freshDbPath();
    server = await startServer(dbPath);
    await server.untilListening();
    generatedKey = server.stdout().match(API_KEY_PATTERN)?.[0] ?? "";
  });

  afterAll(async () => {
    await server?.kill();
  });

  function running(): RunningServer {
    if (!server) throw new Error("the server did not start");
    return server;
  }

  test("prints a generated write key once on stdout", () => {
    expect(generatedKey).toMatch(/^hpk_[A-Za-z0-9]{40}$/);
    expect(running().stdout().match(API_KEY_PATTERN)).toHaveLength(1);
  });

  test("the generated key is never in a log line", () => {
    const logLines = running()
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(line).not.toContain(generatedKey);
  });

  test("the generated key works on GET /webhooks", async () => {
    const response = await running().get("/webhooks", generatedKey);
    expect(response.status).toBe(200);
  });

  test("GET /webhooks without a key or with a made-up key answers 401", async () => {
    expect((await running().get("/webhooks")).status).toBe(401);
    const madeUp = "hpk_ThisKeyWasNeverIssuedByThisServer0000000";
    expect((await running().get("/webhooks", madeUp)).status).toBe(401);
  });

  test("keys list shows the generated key as a write key of workspace default", async () => {
    const result = await runCli(["keys", "list"], cliEnv(dbPath));
    expect(result.code).toBe(0);
    const fields = result.stdout.trimEnd().split("\n")[0]?.split("\t") ?? [];
    expect(fields[0]).toMatch(KEY_ID_PATTERN);
    expect(fields.slice(1, 3)).toEqual(["default", "write"]);
    expect(result.stdout).not.toContain(generatedKey);
  });

  test("a key created with the CLI works on the running server at once", async () => {
    const { key } = await createKeyWithCli(cliEnv(dbPath), "default", "write");
    const response = await running().get("/webhooks", key);
    expect(response.status).toBe(200);
  });

  test("a key revoked with the CLI is refused by the running server at once", async () => {
    const { id, key } = await createKeyWithCli(cliEnv(dbPath), "default", "write");
    expect((await running().get("/webhooks", key)).status).toBe(200);
    const revoked = await runCli(["keys", "revoke", id], cliEnv(dbPath));
    expect(revoked.code).toBe(0);
    expect((await running().get("/webhooks", key)).status).toBe(401);
    // Revoking one key leaves the others working.
    expect((await running().get("/webhooks", generatedKey)).status).toBe(200);
  });

  test("while the server runs, the database file and its WAL never hold a plain key", async () => {
    const { id, key } = await createKeyWithCli(cliEnv(dbPath), "acme", "read");
    const bytes = databaseBytes(dbPath);
    expect(bytes).toContain(id);
    expect(bytes).not.toContain(key);
    expect(bytes).not.toContain(generatedKey);
  });
});

describe("hookpost serve with HOOKPOST_API_KEY", () => {
  const configuredKey = "my-configured-hookpost-key-0123456789";

  test("registers the configured key as a write key and prints no generated key", async () => {
    const dbPath = freshDbPath();
    const server = await startServer(dbPath, { HOOKPOST_API_KEY: configuredKey });
    try {
      await server.untilListening();
      expect((await server.get("/webhooks", configuredKey)).status).toBe(200);
      expect((await server.get("/webhooks", `${configuredKey}x`)).status).toBe(401);
      expect(server.stdout()).not.toMatch(API_KEY_PATTERN);
      expect(server.stdout()).not.toContain("shown only once");
      expect(server.stdout()).not.toContain(configuredKey);
    } finally {
      await server.kill();
    }
    expect(databaseBytes(dbPath)).not.toContain(configuredKey);
  });
});

describe("hookpost serve lifecycle", () => {
  test("SIGTERM stops the server with exit code 0", async () => {
    const server = await startServer(freshDbPath());
    try {
      await server.untilListening();
      expect((await server.get("/health")).status).toBe(200);
      server.proc.kill("SIGTERM");
      const code = await server.proc.exited;
      expect(code).toBe(0);
      expect(server.proc.signalCode).toBeNull();
    } finally {
      await server.kill();
    }
  });

  test("a restart on the same database prints no new key and the first key still works", async () => {
    const dbPath = freshDbPath();
    const first = await startServer(dbPath);
    let key = "";
    try {
      await first.untilListening();
      key = first.stdout().match(API_KEY_PATTERN)?.[0] ?? "";
      expect(key).toMatch(/^hpk_[A-Za-z0-9]{40}$/);
      first.proc.kill("SIGTERM");
      expect(await first.proc.exited).toBe(0);
    } finally {
      await first.kill();
    }
    const second = await startServer(dbPath);
    try {
      await second.untilListening();
      expect(second.stdout()).not.toMatch(API_KEY_PATTERN);
      expect((await second.get("/webhooks", key)).status).toBe(200);
    } finally {
      await second.kill();
    }
  });
});

describe("one hookpost serve per database file", () => {
  let dbPath = "";
  let first: RunningServer | undefined;

  beforeAll(async () => {
    dbPath = freshDbPath();
    first = await startServer(dbPath);
  });

  afterAll(async () => {
    await first?.kill();
  });

  function running(): RunningServer {
    if (!first) throw new Error("the first server did not start");
    return first;
  }

  test("a second serve on the file exits 1 naming the file and its lock; the first keeps serving", async () => {
    const second = await runCli(["serve"], cliEnv(dbPath, { HOOKPOST_PORT: String(freePort()) }));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another hookpost server is already running on ${dbPath} (it holds ${dbPath}-serve.lock)`,
    );
    expect(second.stdout).not.toContain('"msg":"listening"');
    expect((await running().get("/health")).status).toBe(200);
  });

  test("migrate, keys create and keys list work beside the running server", async () => {
    const migrate = await runCli(["migrate"], cliEnv(dbPath));
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toContain("database is up to date");
    const { id, key } = await createKeyWithCli(cliEnv(dbPath), "default", "read");
    const list = await runCli(["keys", "list"], cliEnv(dbPath));
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect((await running().get("/webhooks", key)).status).toBe(200);
  });

  test("after the first is killed with SIGKILL, a new server starts on the file", async () => {
    await running().kill();
    expect(running().proc.signalCode).toBe("SIGKILL");
    // The lock file stays behind; only the OS lock it carried died with the process.
    expect(existsSync(`${dbPath}-serve.lock`)).toBe(true);
    const next = await startServer(dbPath);
    try {
      expect((await next.get("/health")).status).toBe(200);
    } finally {
      await next.kill();
    }
  });
});
