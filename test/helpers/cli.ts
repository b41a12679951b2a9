/**
 * The `hookpost` command as an operator runs it: one `bun src/main.ts …` child process run to
 * completion, with the environment the test gives (the database it names included).
 */

import { expect } from "bun:test";
import { REPO_ROOT } from "../../scripts/build.ts";

/** The id `keys create` prints. */
export const KEY_ID_PATTERN = /key_[0-9a-z]{22}/;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command to completion (killed after 15 s so a command that serves cannot hang). */
export async function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const proc = Bun.spawn([process.execPath, "src/main.ts", ...args], {
    cwd: REPO_ROOT,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const guard = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(guard);
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}

export function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines[lines.length - 1] ?? "";
}

/** Creates a key with the CLI (`keys create`) and returns its id and plain value. */
export async function createKeyWithCli(
  env: Record<string, string>,
  workspace: string,
  access: "read" | "write",
): Promise<{ id: string; key: string }> {
  const result = await runCli(
    ["keys", "create", "--workspace", workspace, "--access", access],
    env,
  );
  expect(result.code).toBe(0);
  const key = lastLine(result.stdout);
  expect(key).toMatch(/^hpk_[A-Za-z0-9]{40}$/);
  const id = result.stdout.match(KEY_ID_PATTERN)?.[0];
  if (!id) throw new Error(`no key id in: ${result.stdout}`);
  return { id, key };
}
