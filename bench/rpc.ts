/**
 * A tiny JSON-lines RPC over a child process's stdin and stdout. The orchestrator drives the
 * load generator, the receiver, the baseline insert server, the minimal program and the peer
 * this way, each in a process of its own. A child exits when its stdin closes, so it never
 * outlives the orchestrator.
 *
 * A child module exports its handlers (and `typeof handlers` as its API type) and calls
 * `serveRpc(handlers)` when it is the main module; the parent calls them with `Worker.call`.
 */

import { join } from "node:path";
import type { Subprocess } from "bun";
import { cleanEnv, track } from "./processes.ts";

/** A child's commands: name → handler taking one JSON argument. */
// `never` accepts handlers of any single parameter type; callers get the real types via Api.
export type Handlers = Record<string, (args: never) => unknown>;

interface Call {
  id: number;
  cmd: string;
  args: unknown;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Child side: answers calls read from stdin until stdin closes, then exits. */
export function serveRpc(handlers: Handlers): void {
  const write = (reply: Reply) => process.stdout.write(`${JSON.stringify(reply)}\n`);
  void (async () => {
    for await (const line of console) {
      if (line.trim() === "") continue;
      const call = JSON.parse(line) as Call;
      const handler = handlers[call.cmd];
      if (!handler) {
        write({ id: call.id, ok: false, error: `unknown command ${call.cmd}` });
        continue;
      }
      // Calls run concurrently: a long `closed` load run does not block a `stats` call.
      void (async () => {
        try {
          write({ id: call.id, ok: true, result: await handler(call.args as never) });
        } catch (error) {
          write({
            id: call.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
        }
      })();
    }
    process.exit(0);
  })();
}

type Arg<F> = F extends (args: infer A) => unknown ? A : never;
type Result<F> = F extends (args: never) => infer R ? Awaited<R> : never;

/** Parent side: one child process and its pending calls. */
export class Worker<Api extends Handlers> {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private stderrTail = "";

  private constructor(
    readonly name: string,
    readonly proc: Subprocess<"pipe", "pipe", "pipe">,
  ) {}

  /** Starts `bench/<script>` with the same Bun as the orchestrator. */
  static spawn<Api extends Handlers>(script: string, name: string): Worker<Api> {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, script)], {
      env: cleanEnv(),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    track(proc);
    const worker = new Worker<Api>(name, proc);
    void worker.readReplies();
    void worker.readStderr();
    void proc.exited.then((code) => {
      const error = new Error(`${name} exited (${code}) ${worker.stderrTail.slice(-2000)}`);
      for (const call of worker.pending.values()) call.reject(error);
      worker.pending.clear();
    });
    return worker;
  }

  get pid(): number {
    return this.proc.pid;
  }

  call<K extends keyof Api & string>(cmd: K, args: Arg<Api[K]>): Promise<Result<Api[K]>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.proc.stdin.write(`${JSON.stringify({ id, cmd, args })}\n`);
      this.proc.stdin.flush();
    });
  }

  /** Closes stdin (the child exits) and waits for the exit. */
  async close(): Promise<void> {
    try {
      this.proc.stdin.end();
    } catch {
      // already closed
    }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.proc.exited;
    clearTimeout(timer);
  }

  private async readReplies(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of this.proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        if (line.trim() === "") continue;
        const reply = JSON.parse(line) as Reply;
        const call = this.pending.get(reply.id);
        if (!call) continue;
        this.pending.delete(reply.id);
        if (reply.ok) call.resolve(reply.result);
        else call.reject(new Error(`${this.name} ${reply.error}`));
      }
    }
  }

  private async readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc.stderr) {
      this.stderrTail = (this.stderrTail + decoder.decode(chunk, { stream: true })).slice(-8000);
    }
  }
}
