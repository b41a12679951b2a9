/**
 * Every child process, temporary directory and PostgreSQL database the benchmark makes, so that
 * they are all removed however the run ends: normally, on an error, on Ctrl-C (SIGINT) or
 * SIGTERM, or when the run's time bound is exceeded.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const children = new Set<Subprocess>();
const directories = new Set<string>();
const finalizers = new Set<() => Promise<void>>();

/**
 * The last `limit` characters a child wrote to stdout and stderr, interleaved as they came:
 * what a start-up error shows.
 */
export function outputTail(
  proc: Subprocess<"ignore", "pipe", "pipe">,
  limit = 20_000,
): () => string {
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      out = (out + decoder.decode(chunk, { stream: true })).slice(-limit);
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return () => out;
}

/** The repository root (the Hookpost server runs from there). */
export const REPO_ROOT = join(import.meta.dir, "..");

let cleaning: Promise<void> | null = null;

/** True once cleanup has begun: nothing new may start. */
export function isClosing(): boolean {
  return cleaning !== null;
}

export function track(proc: Subprocess): void {
  if (isClosing()) {
    proc.kill("SIGKILL");
    throw new Error("the benchmark is stopping");
  }
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
}

export function isRunning(proc: Subprocess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function terminate(proc: Subprocess, graceMs = 12_000): Promise<void> {
  if (!isRunning(proc)) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    if (isRunning(proc)) proc.kill("SIGKILL");
  }, graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export function makeTempDir(prefix: string): string {
  if (isClosing()) throw new Error("the benchmark is stopping");
  const dir = mkdtempSync(join(tmpdir(), `hookpost-bench-${prefix}-`));
  directories.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  directories.delete(dir);
}

/** The environment without HOOKPOST_* settings the developer may have exported. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("HOOKPOST_") && value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Registers `finalize` (dropping a database) to run at cleanup, after every child has stopped,
 * unless the returned function is called first (the caller removed it itself).
 */
export function atCleanup(finalize: () => Promise<void>): () => void {
  if (isClosing()) throw new Error("the benchmark is stopping");
  finalizers.add(finalize);
  return () => {
    finalizers.delete(finalize);
  };
}

/**
 * Stops every tracked child (SIGTERM, SIGKILL after 3 s), then runs the registered finalizers
 * and removes every temp dir.
 */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((proc) => terminate(proc, 3000)));
    await Promise.allSettled([...finalizers].map((finalize) => finalize()));
    for (const dir of [...directories]) removeTempDir(dir);
  })();
  return cleaning;
}

/**
 * On SIGINT/SIGTERM, or when `limitMs` has passed, cleans up and exits (130, 143, or 124 for
 * the time bound).
 */
export function installCleanupHandlers(limitMs: number): void {
  const exitAfterCleanup = (code: number, message: string) => {
    process.stderr.write(`\n${message}: stopping the benchmark's processes…\n`);
    void cleanup().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => exitAfterCleanup(130, "interrupted"));
  process.on("SIGTERM", () => exitAfterCleanup(143, "terminated"));
  const timer = setTimeout(
    () => exitAfterCleanup(124, `time bound of ${Math.round(limitMs / 1000)} s exceeded`),
    limitMs,
  );
  timer.unref();
}
