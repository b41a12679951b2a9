/** The running version, from package.json (bundled into the executable at build time). */

import packageJson from "../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;
