/**
 * What feature modules get from the composition root: the database, the auth macro, the
 * outbound guard, the plugins and their template engines, the scheduler's wake-up call and
 * the metrics. Route factories take this one object, so adding a dependency does not change
 * every signature.
 */

import type { Config } from "./config.ts";
import type { Executor } from "./db/database.ts";
import type { AuthPlugin } from "./http/auth.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics/metrics.ts";
import type { OutboundGuard } from "./outbound/outbound-guard.ts";
import type { ReceiverAuthenticator } from "./outbound/receiver-auth.ts";
import type { PluginRegistry } from "./plugin-host/registry.ts";
import type { TemplaterRegistry } from "./plugin-host/templaters.ts";
import type { DeliveryStore } from "./store/delivery-store.ts";

export interface Services {
  config: Config;
  db: Executor;
  /** Events, deliveries, attempts, the queue and the log: all of it is read and written here. */
  store: DeliveryStore;
  log: Logger;
  auth: AuthPlugin;
  /** The loaded plugins: sources, their content types, hooks, and what `GET /plugins` shows. */
  plugins: PluginRegistry;
  /** The built-in `json` engine and the plugins' engines (`plugins.templaters`). */
  templaters: TemplaterRegistry;
  guard: OutboundGuard;
  /** Sends to receivers with their webhook's authentication (and the OAuth2 token cache). */
  authenticator: ReceiverAuthenticator;
  /** Tells the scheduler that new Waiting deliveries were committed. */
  wake: (webhookIds?: readonly string[]) => void;
  metrics: Metrics;
}
