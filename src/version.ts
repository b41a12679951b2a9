/** The running version, from package.json (bundled into the executable at build time). */

import packageJson from "../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;

/** The `User-Agent` of every request Hookpost sends: deliveries, pings and token requests. */
export const USER_AGENT = `Hookpost/${VERSION}`;
