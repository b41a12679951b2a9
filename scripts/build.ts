/**
 * `npm run build`: compiles Hookpost into one executable, `dist/hookpost` — the API, the
 * migrations, the Swagger UI assets and the `hookpost/plugin` module, with the Bun runtime.
 * Plugins stay outside, in `HOOKPOST_PLUGINS_DIR`.
 *
 * Flags: bytecode for a fast cold start (bytecode of ESM needs `--format=esm`); whitespace and
 * syntax minification but not identifiers, so stack traces in the logs keep their names and
 * Elysia's handler analysis sees the code it expects. No source map: nothing beside the file.
 *
 * Usage: `bun scripts/build.ts [OUTFILE]` (default `dist/hookpost`). Used by the Dockerfile and
 * by `test/packaging/`, so every executable is built the same way.
 */

import { statSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "..");
export const DEFAULT_OUTFILE = join(REPO_ROOT, "dist", "hookpost");
export const ENTRY = join(REPO_ROOT, "src", "main.ts");

export const BUILD_FLAGS = [
  "--compile",
  "--target=bun",
  "--format=esm",
  "--bytecode",
  "--minify-whitespace",
  "--minify-syntax",
] as const;

export interface BuiltExecutable {
  path: string;
  bytes: number;
  buildMs: number;
}

/** Runs `bun build --compile` with {@link BUILD_FLAGS}; throws with Bun's output on failure. */
export async function buildExecutable(outfile: string = DEFAULT_OUTFILE): Promise<BuiltExecutable> {
  const started = performance.now();
  const proc = Bun.spawn(
    [process.execPath, "build", ...BUILD_FLAGS, ENTRY, "--outfile", resolve(outfile)],
    { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`bun build --compile failed (${code})\n${stdout}\n${stderr}`);
  const path = resolve(outfile);
  return { path, bytes: statSync(path).size, buildMs: Math.round(performance.now() - started) };
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

if (import.meta.main) {
  const built = await buildExecutable(process.argv[2] ?? DEFAULT_OUTFILE);
  console.log(`built ${built.path} (${megabytes(built.bytes)}) in ${built.buildMs} ms`);
}
