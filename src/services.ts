/**
 * What feature modules get from the composition root: the database, the auth macro, the
 * outbound guard, the plugins and their template engines, the scheduler's wake-up call and
 * the metrics. Route factories take this one object, so adding a dependency does not change
 * every signature.
 */

import type { Config } from "./config.ts";
import type { Executor } from "./db/database.ts";
import type { StatementCache } from "./db/statement-cache.ts";
import type { FailureHook } from "./deliveries/failure.ts";
import type { EnabledWebhooks } from "./events/enabled-webhooks.ts";
import type { AuthPlugin } from "./http/auth.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics/metrics.ts";
import type { OutboundGuard } from "./outbound/outbound-guard.ts";
import type { ReceiverAuthenticator } from "./outbound/receiver-auth.ts";
import type { PluginRegistry } from "./plugin-host/registry.ts";
import type { TemplaterRegistry } from "./plugin-host/templaters.ts";

export interface Services {
  config: Config;
  db: Executor;
  /** Prepared statements on the same connection, for the synchronous hot paths. */
  statements: StatementCache;
  log: Logger;
  auth: AuthPlugin;
  /** The enabled webhooks events are matched against, cached until a webhook changes. */
  enabledWebhooks: EnabledWebhooks;
  /** The loaded plugins: sources, their content types, hooks, and what `GET /plugins` shows. */
  plugins: PluginRegistry;
  /** The built-in `json` engine and the plugins' engines (`plugins.templaters`). */
  templaters: TemplaterRegistry;
  guard: OutboundGuard;
  /** Sends to receivers with their webhook's authentication (and the OAuth2 token cache). */
  authenticator: ReceiverAuthenticator;
  /** Tells the scheduler that new Waiting deliveries were committed. */
  wake: (webhookIds?: readonly string[]) => void;
  /** Told, inside the transaction, when a delivery ends in Error (writes the mail outbox). */
  onDeliveryFailed: FailureHook;
  metrics: Metrics;
}
