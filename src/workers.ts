/**
 * Where worker threads' entry points are. This module sits at the root of `src/`, as the
 * executable's entry does, so a path relative to it is right both when running the sources
 * and inside the compiled executable, where every module's `import.meta.url` is the entry's
 * (workers are entry points of their own there: scripts/build.ts).
 */

export const CHECKPOINT_WORKER = new URL("./db/checkpoint-worker.ts", import.meta.url).href;
