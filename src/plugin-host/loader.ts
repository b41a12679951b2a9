/**
 * Loads the plugin folder at startup (SPEC §8): every `*.ts` / `*.js` file directly in
 * `HOOKPOST_PLUGINS_DIR`, in file name order, imported by absolute path (Bun transpiles
 * TypeScript at run time, from source and from the compiled executable alike). A file that
 * does not import, exports no valid plugin, or claims a name another plugin has, stops startup
 * with a {@link PluginLoadError} naming the file. A missing folder means no plugins.
 */

import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "../log.ts";
import type { ContentType } from "./api.ts";
import { registerPluginApi } from "./module.ts";
import { type LoadedPlugin, PluginLoadError, PluginRegistry } from "./registry.ts";
import { checkPlugin, readContentTypes } from "./validate.ts";

/** Plugin files: `.ts` and `.js`, but not declaration files (`.d.ts`), which hold no code. */
export function isPluginFile(name: string): boolean {
  return (name.endsWith(".ts") || name.endsWith(".js")) && !name.endsWith(".d.ts");
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The plugin files of `dir` (absolute paths, name order), or null when there is no `dir`. */
function listPluginFiles(dir: string): string[] | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ENOTDIR") {
      throw new PluginLoadError(`HOOKPOST_PLUGINS_DIR ${dir} is not a folder`);
    }
    throw new PluginLoadError(`cannot read HOOKPOST_PLUGINS_DIR ${dir}: ${reasonOf(error)}`);
  }
  return names
    .filter(isPluginFile)
    .sort()
    .map((name) => join(dir, name))
    .filter((file) => statSync(file, { throwIfNoEntry: false })?.isFile() ?? false);
}

/** Imports one file and checks its default export. */
async function loadPluginFile(file: string): Promise<LoadedPlugin> {
  let module: { default?: unknown };
  try {
    module = await import(file);
  } catch (error) {
    throw new PluginLoadError(`plugin ${file} failed to import: ${reasonOf(error)}`);
  }
  const checked = checkPlugin(module.default);
  if (!checked.ok) {
    throw new PluginLoadError(`plugin ${file} is invalid: ${checked.problems.join("; ")}`);
  }
  const contentTypes = new Map<string, readonly ContentType[]>();
  for (const [name, adapter] of Object.entries(checked.plugin.sources ?? {})) {
    const declared = readContentTypes(name, adapter.contentTypes?.bind(adapter));
    if (!declared.ok) {
      throw new PluginLoadError(`plugin ${file} is invalid: ${declared.problems.join("; ")}`);
    }
    contentTypes.set(name, declared.contentTypes);
  }
  return { file, plugin: checked.plugin, contentTypes };
}

/**
 * Every plugin of `dir` (relative to the working directory), checked and registered.
 *
 * @throws PluginLoadError naming the file and the reason
 */
export async function loadPlugins(dir: string, log: Logger): Promise<PluginRegistry> {
  const folder = resolve(dir);
  const files = listPluginFiles(folder);
  if (files === null) {
    log.info("no plugins folder; running without plugins", { pluginsDir: folder });
    return new PluginRegistry([]);
  }
  registerPluginApi();
  const loaded: LoadedPlugin[] = [];
  for (const file of files) loaded.push(await loadPluginFile(file));
  const registry = new PluginRegistry(loaded);
  for (const summary of registry.describe()) {
    log.info("plugin loaded", {
      plugin: summary.name,
      file: summary.file,
      templaters: summary.templaters,
      sources: summary.sources.map((source) => source.name),
      hooks: summary.hooks,
    });
  }
  if (loaded.length === 0) log.info("plugins folder holds no plugins", { pluginsDir: folder });
  return registry;
}
