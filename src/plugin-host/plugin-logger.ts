/** The logger plugins get: Hookpost's JSON-lines log, each line tagged with the plugin's name. */

import type { Logger } from "../log.ts";
import type { PluginLogger } from "./api.ts";

export function pluginLogger(log: Logger, plugin: string): PluginLogger {
  return {
    debug: (message, fields) => log.debug(message, { ...fields, plugin }),
    info: (message, fields) => log.info(message, { ...fields, plugin }),
    warn: (message, fields) => log.warn(message, { ...fields, plugin }),
    error: (message, fields) => log.error(message, { ...fields, plugin }),
  };
}
