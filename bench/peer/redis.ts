/**
 * The peer's Redis: the bench's own `redis-server` (Debian's package), never the system's,
 * on a free loopback port with a temp `--dir`, append-only file fsynced every second (the
 * durability a team would configure for a job queue) and no RDB snapshots. It is a tracked
 * child: stopped with everything else on exit, error, Ctrl-C or the time bound.
 */

import { createServer } from "node:net";
import type { Subprocess } from "bun";
import { cleanEnv, isRunning, outputTail, terminate, track } from "../processes.ts";

/** Where `redis-server` is, or null when it is not installed (the peer is then skipped). */
export function redisServerPath(): string | null {
  return Bun.which("redis-server");
}

export interface RedisServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the kernel picks it; Redis takes it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Starts Redis with its data in `dir` and resolves once it accepts connections. */
export async function startRedis(binary: string, dir: string): Promise<RedisServer> {
  const port = await freePort();
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    [
      binary,
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--save",
      "",
      "--daemonize",
      "no",
      "--logfile",
      "",
    ],
    { env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  track(proc);
  const output = outputTail(proc);
  const deadline = Date.now() + 20_000;
  while (!output().includes("Ready to accept connections")) {
    if (!isRunning(proc)) throw new Error(`redis-server exited (${proc.exitCode}):\n${output()}`);
    if (Date.now() > deadline) {
      await terminate(proc, 1000);
      throw new Error(`redis-server was not ready within 20 s:\n${output()}`);
    }
    await Bun.sleep(10);
  }
  return { port, pid: proc.pid, stop: () => terminate(proc, 5000) };
}
