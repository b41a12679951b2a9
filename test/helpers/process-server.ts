/**
 * `hookpost serve` as a real child process (`bun src/main.ts serve`) on a SQLite file or a
 * PostgreSQL database the test chooses, for what only a separate process can show: a `kill -9`
 * in the middle of deliveries, a restart on the same file, signals, several nodes of a cluster. The port is picked by the server (`HOOKPOST_PORT=0`) and
 * read from its `listening` log line.
 */

import type { Subprocess } from "bun";
import { REPO_ROOT } from "../../scripts/build.ts";
import { spawnServer } from "../../scripts/lib/executable.ts";
import { buildRequest, type RequestOptions, readResponse, type TestResponse } from "./test-app.ts";

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

export type ServerProcessOptions = (
  | { dbPath: string }
  /** A `postgres://…` URL: the process is a node of the cluster on that database. */
  | { databaseUrl: string }
) & {
  /**
   * HOOKPOST_* settings; HOOKPOST_DB_PATH (or HOOKPOST_DATABASE_URL), _HOST and _PORT are set by
   * this helper.
   */
  env?: Record<string, string>;
  /** How long to wait for `GET /health` (15 s). */
  readyTimeoutMs?: number;
};

/**
 * Starts `hookpost serve` and resolves once `GET /health` answers 200. On failure the process
 * is killed and the error carries its output.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const server = await spawnServer({
    command: [process.execPath, "src/main.ts", "serve"],
    cwd: REPO_ROOT,
    env: {
      ...options.env,
      ...("dbPath" in options
        ? { HOOKPOST_DB_PATH: options.dbPath }
        : { HOOKPOST_DATABASE_URL: options.databaseUrl }),
    },
    readyTimeoutMs: options.readyTimeoutMs,
  });
  const { proc, baseUrl } = server;
  return {
    proc,
    baseUrl,
    stdout: server.stdout,
    stderr: server.stderr,
    async request(method, path, requestOptions) {
      return readResponse(await fetch(buildRequest(baseUrl, method, path, requestOptions)));
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}
