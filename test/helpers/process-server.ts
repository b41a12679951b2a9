/**
 * `hookpost serve` as a real child process (`bun src/main.ts serve`) on a SQLite file the test
 * chooses, for what only a separate process can show: a `kill -9` in the middle of deliveries,
 * a restart on the same file, signals. The port is picked by the server (`HOOKPOST_PORT=0`) and
 * read from its `listening` log line.
 */

import { join } from "node:path";
import type { Subprocess } from "bun";
import { buildRequest, type RequestOptions, readResponse, type TestResponse } from "./test-app.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");

export interface ServerProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  baseUrl: string;
  /** Everything the process wrote to stdout so far (its JSON log lines). */
  stdout(): string;
  stderr(): string;
  /** Sends a real HTTP request to the process. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Sends `signal` (unless the process has already exited) and waits for the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number>;
}

export interface ServerProcessOptions {
  dbPath: string;
  /** HOOKPOST_* settings; HOOKPOST_DB_PATH, _HOST and _PORT are set by this helper. */
  env?: Record<string, string>;
  /** How long to wait for `GET /health` (15 s). */
  readyTimeoutMs?: number;
}

/** The runner's environment without any HOOKPOST_* the developer may have set. */
function baseEnv(): Record<string, string> {
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

const LISTENING = /"msg":"listening","url":"(http:\/\/[^"]+)"/;

/**
 * Starts `hookpost serve` and resolves once `GET /health` answers 200. On failure the process
 * is killed and the error carries its output.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(),
      ...options.env,
      HOOKPOST_DB_PATH: options.dbPath,
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
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return proc.exited;
  };
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
      await Bun.sleep(20);
    }
    const url = baseUrl;
    return {
      proc,
      baseUrl: url,
      stdout: () => out,
      stderr: () => err,
      async request(method, path, requestOptions) {
        return readResponse(await fetch(buildRequest(url, method, path, requestOptions)));
      },
      kill,
    };
  } catch (error) {
    await kill();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${out}\n${err}`);
  }
}
