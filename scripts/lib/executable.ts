/**
 * Starts a compiled `hookpost` executable as an operator would — its own working folder, a
 * database path and a plugin folder, nothing else beside it — and measures how long it takes
 * until `GET /health` answers 200. Shared by `test/packaging/` and `scripts/check-swagger-ui.ts`.
 */

import type { Subprocess } from "bun";

export interface RunningExecutable {
  baseUrl: string;
  /** Milliseconds from spawn until `GET /health` first answered 200. */
  startupMs: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (5 s); resolves to the exit code. */
  stop(graceMs?: number): Promise<number>;
}

export interface StartOptions {
  executable: string;
  /** Working folder of the process (holds nothing it needs). */
  cwd: string;
  dbPath: string;
  pluginsDir: string;
  /** More HOOKPOST_* settings; host, port, database and plugin folder are set here. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

const LISTENING = /"msg":"listening","url":"(http:\/\/[^"]+)"/;

/** The caller's environment without any HOOKPOST_* a developer may have set. */
export function environmentWithoutHookpost(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("HOOKPOST_") && value !== undefined) env[name] = value;
  }
  return env;
}

async function pump(stream: ReadableStream<Uint8Array>, append: (text: string) => void) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
}

async function stopProcess(proc: Subprocess, graceMs: number): Promise<number> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exited;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

export interface SpawnedServer {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  baseUrl: string;
  /** Milliseconds from spawn until `GET /health` first answered 200. */
  startupMs: number;
  stdout(): string;
  stderr(): string;
}

/**
 * Spawns a `hookpost serve` command on loopback port 0 with a clean environment plus `env`,
 * reads the URL from its `listening` log line and resolves once `GET /health` answers 200. On
 * failure the process is killed and the error carries its output. Shared by the executable's
 * checks and the tests that run the server from source as a child process.
 */
export async function spawnServer(options: {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<SpawnedServer> {
  const started = performance.now();
  const proc = Bun.spawn(options.command, {
    cwd: options.cwd,
    env: {
      ...environmentWithoutHookpost(),
      ...options.env,
      HOOKPOST_HOST: "127.0.0.1",
      HOOKPOST_PORT: "0",
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  void pump(proc.stdout, (text) => {
    out += text;
  });
  void pump(proc.stderr, (text) => {
    err += text;
  });
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
    let baseUrl: string | undefined;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`serve exited with ${proc.exitCode}`);
      baseUrl ??= out.match(LISTENING)?.[1];
      if (baseUrl) {
        const health = await fetch(`${baseUrl}/health`).catch(() => null);
        if (health?.status === 200) break;
      }
      if (Date.now() > deadline) throw new Error("serve did not answer GET /health in time");
      await Bun.sleep(5);
    }
    return {
      proc,
      baseUrl,
      startupMs: Math.round(performance.now() - started),
      stdout: () => out,
      stderr: () => err,
    };
  } catch (error) {
    await stopProcess(proc, 0);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${out}\n${err}`);
  }
}

/** Spawns `executable serve` on port 0 and resolves once `/health` answers 200. */
export async function startExecutable(options: StartOptions): Promise<RunningExecutable> {
  const server = await spawnServer({
    command: [options.executable, "serve"],
    cwd: options.cwd,
    env: {
      ...options.env,
      HOOKPOST_DB_PATH: options.dbPath,
      HOOKPOST_PLUGINS_DIR: options.pluginsDir,
    },
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return {
    baseUrl: server.baseUrl,
    startupMs: server.startupMs,
    stdout: server.stdout,
    stderr: server.stderr,
    stop: (graceMs = 5_000) => stopProcess(server.proc, graceMs),
  };
}
