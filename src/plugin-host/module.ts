/**
 * Provides the module `hookpost/plugin` to plugin files, wherever they are on disk and with no
 * `node_modules` beside them: a Bun runtime plugin answers the import with the exports of
 * `api.ts`, which are bundled into Hookpost (so it works from the compiled executable too).
 */

import { plugin } from "bun";
import * as api from "./api.ts";

/** The specifier plugins import. */
export const PLUGIN_API_MODULE = "hookpost/plugin";

// Module resolution is process-wide in Bun, so the registration is too: once per process,
// whatever the number of apps (tests build many).
let registered = false;

/** Makes `import … from "hookpost/plugin"` resolve; call before importing plugin files. */
export function registerPluginApi(): void {
  if (registered) return;
  registered = true;
  plugin({
    name: PLUGIN_API_MODULE,
    setup(build) {
      build.module(PLUGIN_API_MODULE, () => ({ exports: { ...api }, loader: "object" }));
    },
  });
}
