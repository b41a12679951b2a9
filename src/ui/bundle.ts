/**
 * The dashboard's script, bundled as a Bun macro: `src/ui/index.ts` imports `clientBundle`
 * `with { type: "macro" }`, so the bundle is made when that file is transpiled — at
 * `npm run build` it is written into the executable as a string, and from source it is made
 * again at each start (about 60 ms) from `src/ui/app/`. One way to get the assets in both cases,
 * and nothing to build by hand.
 *
 * `Bun.build` cannot be called from a macro (the bundler would wait for itself), so this runs
 * Bun's CLI, as Bun's own message advises.
 */

import { join } from "node:path";

/** The client's entry point. */
const ENTRY = join(import.meta.dir, "app", "main.ts");

/** The minified ES module of the dashboard, Preact and htm included. */
export function clientBundle(): string {
  const built = Bun.spawnSync(
    [process.execPath, "build", ENTRY, "--target=browser", "--format=esm", "--minify"],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
  );
  if (!built.success) {
    throw new Error(`bundling the dashboard failed\n${built.stderr.toString()}`);
  }
  return built.stdout.toString();
}
