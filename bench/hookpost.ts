/**
 * The Hookpost server under test: the real CLI (`bun src/main.ts serve`) as a child process on
 * a SQLite file in a temp dir or on a PostgreSQL database (which several such servers may
 * share: the nodes of a cluster), port 0 (the URL is read from its `listening` log line), and a
 * few API calls the scenarios need.
 */

import { join } from "node:path";
import type { Subprocess } from "bun";
import { randomString } from "../src/ids.ts";
import { cleanEnv, isRunning, outputTail, REPO_ROOT, terminate, track } from "./processes.ts";

/**
 * Where the server keeps its data: a SQLite file (`HOOKPOST_DB_PATH`), or a PostgreSQL database
 * (`HOOKPOST_DATABASE_URL`), which every server started on the same URL shares.
 */
export type HookpostDatabase = { dbPath: string } | { databaseUrl: string };

export type HookpostOptions = HookpostDatabase & {
  apiKey: string;
  /** Extra HOOKPOST_* settings (e.g. HOOKPOST_CONCURRENCY). */
  env?: Record<string, string>;
  /** Write a CPU profile (markdown and .cpuprofile) into this directory when the server stops. */
  cpuProfileDir?: string;
};

export interface HookpostServer {
  url: string;
  pid: number;
  /** From spawn to the first `GET /health` 200. */
  startupMs: number;
  /** SIGTERM (graceful: attempts in flight finish) and wait for the exit. */
  stop(): Promise<void>;
  output(): string;
}

/** A write key of workspace `default`, registered by the server at start. */
export function newApiKey(): string {
  return `hpk_${randomString(40)}`;
}

const LISTENING = /"msg":"listening","url":"(http:\/\/[^"]+)"/;

export async function startHookpost(options: HookpostOptions): Promise<HookpostServer> {
  const profile = options.cpuProfileDir
    ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${options.cpuProfileDir}`]
    : [];
  const began = performance.now();
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    [process.execPath, ...profile, "src/main.ts", "serve"],
    {
      cwd: REPO_ROOT,
      env: {
        ...cleanEnv(),
        // `info` logs only start, stop and rare events (no per-request lines) and includes
        // the `listening` line with the port the server picked.
        HOOKPOST_LOG_LEVEL: "info",
        HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32",
        ...options.env,
        ...("dbPath" in options
          ? { HOOKPOST_DB_PATH: options.dbPath }
          : { HOOKPOST_DATABASE_URL: options.databaseUrl }),
        HOOKPOST_API_KEY: options.apiKey,
        HOOKPOST_HOST: "127.0.0.1",
        HOOKPOST_PORT: "0",
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  track(proc);
  const output = outputTail(proc);
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  for (;;) {
    if (!isRunning(proc)) throw new Error(`hookpost serve exited (${proc.exitCode}):\n${output()}`);
    url ??= output().match(LISTENING)?.[1];
    if (url) {
      const health = await fetch(`${url}/health`).catch(() => null);
      if (health?.status === 200) break;
    }
    if (Date.now() > deadline) {
      await terminate(proc, 1000);
      throw new Error(`hookpost serve did not answer GET /health within 60 s:\n${output()}`);
    }
    await Bun.sleep(10);
  }
  const base = url;
  return {
    url: base,
    pid: proc.pid,
    startupMs: Math.round(performance.now() - began),
    stop: () => terminate(proc),
    output,
  };
}

/** A tiny client of the Hookpost API for setting up scenarios. */
export class HookpostApi {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  get headers(): Record<string, string> {
    return { "content-type": "application/json", "x-api-key": this.apiKey };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: this.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Creates a webhook sending every `article` event type to `endpoint`; returns its id. */
  async createWebhook(endpoint: string, extra: Record<string, unknown> = {}): Promise<string> {
    const webhook = await this.request<{ id: string }>("PUT", "/webhooks", {
      endpoint,
      eventTypes: { article: [0, 1, 2, 3, 4] },
      ...extra,
    });
    return webhook.id;
  }

  async disableWebhook(id: string): Promise<void> {
    await this.request("POST", `/webhooks/${id}/disable`);
  }
}

/** Where a server's database lives inside a scenario's temp dir. */
export function dbPathIn(dir: string, name = "hookpost.db"): string {
  return join(dir, name);
}
