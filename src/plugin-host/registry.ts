/**
 * The loaded plugins and what they contribute, by name: template engines, content-source
 * adapters (with their content types) and delivery hooks. Built once at startup; a name that
 * two plugins claim stops startup with a message naming both files.
 */

import { basename } from "node:path";
import type { ContentType as ContentTypeModel } from "../content-types/model.ts";
import type { PluginContentTypes } from "../content-types/service.ts";
import type { ContentType, DeliveryHooks, Plugin, SourceAdapter } from "./api.ts";
import { TemplaterRegistry } from "./templaters.ts";

/** A plugin that cannot be used; the message names its file and what is wrong. */
export class PluginLoadError extends Error {
  override name = "PluginLoadError";
}

/** One plugin file, imported and checked. */
export interface LoadedPlugin {
  /** Absolute path of the file. */
  file: string;
  plugin: Plugin;
  /** Each source's content types, read once at load time. */
  contentTypes: ReadonlyMap<string, readonly ContentType[]>;
}

/** A content-source adapter and the plugin it comes from. */
export interface RegisteredSource {
  name: string;
  plugin: string;
  file: string;
  adapter: SourceAdapter;
}

/** What `GET /plugins` shows of one plugin. */
export interface PluginSummary {
  name: string;
  file: string;
  templaters: string[];
  sources: { name: string; handles: boolean; polls: boolean; contentTypes: string[] }[];
  hooks: ("beforeDelivery" | "afterDelivery")[];
}

/** Who first claimed a name: for the clash message. */
function owner(plugin: LoadedPlugin): string {
  return `${plugin.file} (plugin "${plugin.plugin.name}")`;
}

export class PluginRegistry {
  /** In load order (file name order): the order hooks run in. */
  readonly plugins: readonly LoadedPlugin[];
  readonly templaters: TemplaterRegistry;
  /** Content types of every source, by key: read-only and the same in every workspace. */
  readonly contentTypes: PluginContentTypes;
  readonly #sources = new Map<string, RegisteredSource>();

  /**
   * @param loadedAt shown as `createdAt`/`updatedAt` of the plugins' content types
   * @throws PluginLoadError when two plugins claim the same plugin, engine, source or
   * content-type name
   */
  constructor(plugins: readonly LoadedPlugin[], loadedAt = Date.now()) {
    this.plugins = plugins;
    const clashes: string[] = [];
    const claim = <T>(
      claimed: Map<string, { by: LoadedPlugin; item: T }>,
      what: string,
      name: string,
      by: LoadedPlugin,
      item: T,
    ) => {
      const first = claimed.get(name);
      if (first) {
        clashes.push(`${what} "${name}" is defined by both ${owner(first.by)} and ${owner(by)}`);
      } else {
        claimed.set(name, { by, item });
      }
    };
    const names = new Map<string, { by: LoadedPlugin; item: null }>();
    const engines = new Map<string, { by: LoadedPlugin; item: null }>();
    const sources = new Map<string, { by: LoadedPlugin; item: SourceAdapter }>();
    const types = new Map<
      string,
      { by: LoadedPlugin; item: { source: string; type: ContentType } }
    >();
    for (const loaded of plugins) {
      const { plugin } = loaded;
      claim(names, "plugin name", plugin.name, loaded, null);
      for (const name of Object.keys(plugin.templaters ?? {})) {
        claim(engines, "template engine", name, loaded, null);
      }
      for (const [name, adapter] of Object.entries(plugin.sources ?? {})) {
        claim(sources, "source", name, loaded, adapter);
        for (const type of loaded.contentTypes.get(name) ?? []) {
          claim(types, "content type", type.key, loaded, { source: name, type });
        }
      }
    }
    if (clashes.length > 0) throw new PluginLoadError(`plugins clash: ${clashes.join("; ")}`);

    this.templaters = new TemplaterRegistry(
      plugins.flatMap(({ plugin }) => Object.entries(plugin.templaters ?? {})),
    );
    for (const [name, { by, item }] of sources) {
      this.#sources.set(name, { name, plugin: by.plugin.name, file: by.file, adapter: item });
    }
    const at = new Date(loadedAt).toISOString();
    this.contentTypes = new Map(
      [...types].map(
        ([key, { item }]): [string, { contentType: ContentTypeModel; source: string }] => [
          key,
          {
            source: item.source,
            contentType: {
              ...item.type,
              fields: [...item.type.fields],
              createdAt: at,
              updatedAt: at,
            },
          },
        ],
      ),
    );
  }

  /** The source adapter of that name, if a plugin provides one. */
  source(name: string): RegisteredSource | undefined {
    return this.#sources.get(name);
  }

  /** Every source adapter, in load order. */
  sources(): RegisteredSource[] {
    return [...this.#sources.values()];
  }

  /** Each plugin's delivery hooks, in load order. */
  hooks(): { plugin: string; hooks: DeliveryHooks }[] {
    return this.plugins.flatMap(({ plugin }) =>
      plugin.hooks ? [{ plugin: plugin.name, hooks: plugin.hooks }] : [],
    );
  }

  /** `GET /plugins`: each plugin, its file and what it contributes. */
  describe(): PluginSummary[] {
    return this.plugins.map(({ file, plugin, contentTypes }) => ({
      name: plugin.name,
      file: basename(file),
      templaters: Object.keys(plugin.templaters ?? {}),
      sources: Object.entries(plugin.sources ?? {}).map(([name, adapter]) => ({
        name,
        handles: adapter.handle !== undefined,
        polls: adapter.poll !== undefined,
        contentTypes: (contentTypes.get(name) ?? []).map((type) => type.key),
      })),
      hooks: (["beforeDelivery", "afterDelivery"] as const).filter(
        (hook) => plugin.hooks?.[hook] !== undefined,
      ),
    }));
  }
}
