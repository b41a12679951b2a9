/**
 * The composition root: `createApp(config)` loads the plugins, takes the database's server
 * lock (one server per file, see db/server-lock.ts), opens and migrates the database,
 * bootstraps API keys, and builds the scheduler (with the plugins' hooks and
 * pollers) and the HTTP application from the feature modules. Nothing here is global, so a
 * test can build as many independent apps as it likes, each on its own database file.
 */

import { apiKeyRoutes } from "./api-keys/index.ts";
import { bootstrapApiKeys } from "./api-keys/service.ts";
import type { Config } from "./config.ts";
import { contentTypeRoutes } from "./content-types/index.ts";
import type { Backend } from "./db/backend.ts";
import { openBackend } from "./db/open.ts";
import { acquireServerLock } from "./db/server-lock.ts";
import { deliveryLogRoutes } from "./deliveries/index.ts";
import { eventRoutes } from "./events/index.ts";
import { ingestContextOf } from "./events/service.ts";
import { healthRoutes } from "./health/index.ts";
import { authPlugin } from "./http/auth.ts";
import { errorEnvelope } from "./http/envelope.ts";
import { type Handler, screenBodies } from "./http/front-door.ts";
import { newRequestId } from "./http/request-id.ts";
import { createHttpServer } from "./http/server.ts";
import { createLogger, type Logger } from "./log.ts";
import { Mailer, smtpTransport } from "./mail/mailer.ts";
import { recordFailureNotice } from "./mail/notices.ts";
import { MemoryGuard } from "./memory-guard.ts";
import { metricsRoutes } from "./metrics/index.ts";
import { Metrics } from "./metrics/metrics.ts";
import { OutboundGuard, type Resolver } from "./outbound/outbound-guard.ts";
import { ReceiverAuthenticator } from "./outbound/receiver-auth.ts";
import { DeliveryHookChain } from "./plugin-host/hooks.ts";
import { loadPlugins } from "./plugin-host/loader.ts";
import { PollerRunner } from "./plugin-host/pollers.ts";
import { pluginRoutes, SOURCES_PATH_PREFIX } from "./plugin-host/routes.ts";
import { ingestSourceEvents } from "./plugin-host/sources.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import type { Services } from "./services.ts";
import { dashboardRoutes } from "./ui/index.ts";
import { USER_AGENT } from "./version.ts";
import { AutoDisabler } from "./webhooks/auto-disable.ts";
import { WEBHOOK_IMPORT_UPLOAD, webhookRoutes } from "./webhooks/index.ts";
import { pingRoutes } from "./webhooks/ping.ts";
import { webhooksWithUnusableSecrets } from "./webhooks/service.ts";

export interface AppOptions {
  log?: Logger;
  /** Where a generated first-start key is shown, once (stdout by default, not the log). */
  announce?: (text: string) => void;
  /** How endpoint host names are resolved (the system resolver by default; tests pin names). */
  resolver?: Resolver;
}

/** How long shutdown waits for requests in progress before closing their connections. */
const REQUEST_GRACE_MS = 5000;

/** Stops accepting; requests in progress get a bounded wait, then their sockets are closed. */
async function stopListening(http: { stop(closeActiveConnections?: boolean): Promise<unknown> }) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graceful = http.stop().then(() => true);
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), REQUEST_GRACE_MS);
  });
  const finished = await Promise.race([graceful, late]);
  clearTimeout(timer);
  if (!finished) await http.stop(true);
}

/** How long a connection may stay silent (keep-alive, or a slow body) before it is closed. */
const IDLE_TIMEOUT_SECONDS = 30;

/** An SMTP server that stays down is retried at least this often. */
const MAIL_MAX_RETRY_DELAY_MS = 15 * 60_000;

/** The routes that also take their JSON body as a file in a form (seed 002's import). */
const FORM_UPLOADS = [WEBHOOK_IMPORT_UPLOAD];

function buildHttp(services: Services, store: Backend, startedAt: number, inFlight: () => number) {
  return createHttpServer(services.log, FORM_UPLOADS)
    .use(healthRoutes(() => store.writeProblem(), startedAt))
    .use(
      webhookRoutes(services.store, services.auth, {
        isTemplateEngine: (name) => services.templaters.has(name),
        endpointRefusal: (url) => services.guard.literalRefusal(url),
        maxWebhooks: services.config.maxWebhooks,
      }),
    )
    .use(pingRoutes(services))
    .use(eventRoutes(services))
    .use(contentTypeRoutes(services))
    .use(deliveryLogRoutes(services))
    .use(pluginRoutes(services))
    .use(metricsRoutes(services, inFlight))
    .use(apiKeyRoutes(services.auth))
    .use(dashboardRoutes());
}

export type HttpApp = ReturnType<typeof buildHttp>;

export interface App {
  config: Config;
  /** The database: SQLite or PostgreSQL. */
  store: Backend;
  log: Logger;
  http: HttpApp;
  /** Answers one request as the listening server does: the body checks, then the routes. */
  handle: Handler;
  services: Services;
  scheduler: Scheduler;
  /** Starts listening and the scheduler; resolves with the base URL. */
  start(): Promise<string>;
  /**
   * Stops listening, stops the scheduler (attempts in flight get a bounded wait, the rest go
   * back to Waiting), closes the database and releases the server lock. Safe to call twice.
   */
  stop(): Promise<void>;
}

function announceToStdout(text: string): void {
  process.stdout.write(`${text}\n`);
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const announce = options.announce ?? announceToStdout;
  const startedAt = Date.now();
  // Plugins first: a bad one stops startup before anything is opened.
  const plugins = await loadPlugins(config.pluginsDir, log);
  // Before a SQLite file is opened: a second server on the file stops here, having touched
  // nothing. Held until stop(), or until the process dies. (PostgreSQL is shared by design.)
  const lock = config.databaseUrl === null ? acquireServerLock(config.dbPath) : null;
  let store: Backend;
  try {
    store = openBackend(config, log);
  } catch (error) {
    lock?.release();
    throw error;
  }
  try {
    const applied = await store.migrate();
    if (applied.length > 0) log.info("database migrated", { applied, database: store.location });
    const outcome = await store.serialized("bootstrap-api-keys", (trx) =>
      bootstrapApiKeys(trx, config.apiKey),
    );
    if (outcome.kind === "generated") {
      log.warn("created workspace default and a write key; it is printed once, store it now", {
        keyId: outcome.created.id,
      });
      announce(
        `\n  Hookpost API key (workspace "default", write access), shown only once:\n\n  ${outcome.created.key}\n`,
      );
    } else if (outcome.kind === "env-key-revoked") {
      log.warn("HOOKPOST_API_KEY is a revoked key and will not authenticate", {
        keyId: outcome.keyId,
      });
    }
    for (const unusable of await webhooksWithUnusableSecrets(store.db)) {
      log.warn("a webhook's stored secret cannot be verified by receiver libraries; rotate it", {
        webhookId: unusable.id,
        workspace: unusable.workspace,
        problem: unusable.problem,
      });
    }
  } catch (error) {
    await store.close();
    lock?.release();
    throw error;
  }

  const guard = new OutboundGuard(
    { allowPrivateTargets: config.allowPrivateTargets, allowedCidrs: config.allowedCidrs },
    options.resolver,
  );
  const { templaters } = plugins;
  const metrics = new Metrics();
  const authenticator = new ReceiverAuthenticator(guard, USER_AGENT);
  const mailer = new Mailer({
    db: store.db,
    log,
    transport: config.smtpUrl ? smtpTransport(config.smtpUrl) : null,
    from: config.mailFrom,
    throttleMs: config.mailThrottleMs,
    backoff: {
      baseMs: config.retryBaseMs,
      maxDelayMs: Math.min(config.retryMaxDelayMs, MAIL_MAX_RETRY_DELAY_MS),
    },
  });
  // Failed deliveries write their mail notice in the transaction that records the failure.
  const deliveries = store.deliveryStore(recordFailureNotice);
  // The work that runs once for the whole deployment runs where the leadership is.
  const leadership = store.leadership();
  const autoDisabler = new AutoDisabler({
    db: store.db,
    log,
    afterMs: config.autoDisableAfterMs,
  });
  const scheduler = new Scheduler({
    store: deliveries,
    config,
    log,
    authenticator,
    metrics,
    leads: () => leadership.leads(),
    // The failure mail's outbox and the source pollers: once for the whole deployment.
    timerTasks: [
      () => leadership.leads() && autoDisabler.trigger(),
      () => leadership.leads() && mailer.trigger(),
      () => leadership.leads() && pollers.trigger(),
    ],
    hooks: new DeliveryHookChain(plugins.hooks(), log),
  });
  const services: Services = {
    config,
    db: store.db,
    log,
    auth: authPlugin(store.keyByHash),
    store: deliveries,
    plugins,
    templaters,
    guard,
    authenticator,
    wake: (webhookIds) => scheduler.wake(webhookIds),
    metrics,
  };
  const ingest = ingestContextOf(services);
  const pollers = new PollerRunner(
    plugins
      .sources()
      .flatMap(({ plugin, name, adapter }) =>
        adapter.poll ? [{ plugin, source: name, poll: adapter.poll }] : [],
      ),
    (workspace, source, events) => ingestSourceEvents(ingest, workspace, source, events),
    log,
  );
  // Other nodes' new work wakes this scheduler too (PostgreSQL; nothing on SQLite).
  const stopWatchingDue = await store.watchDue((webhookIds) => scheduler.wake(webhookIds));
  const http = buildHttp(services, store, startedAt, () => scheduler.inFlight);
  const handle = screenBodies((request) => http.handle(request), {
    rawBodyPaths: [SOURCES_PATH_PREFIX],
    formUploads: FORM_UPLOADS,
  });
  const memory = new MemoryGuard();
  let server: ReturnType<typeof Bun.serve> | undefined;
  let stopping: Promise<void> | undefined;

  return {
    config,
    store,
    log,
    http,
    handle,
    services,
    scheduler,
    async start() {
      server = Bun.serve({
        hostname: config.host,
        port: config.port,
        // No cap at the socket: Bun's would answer a bare 413, without the envelope or
        // X-Request-Id. The front door (and the source route) read every body with a cap of
        // MAX_BODY_BYTES and stop reading there, so nothing larger is ever held in memory.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        fetch: handle,
        // Elysia answers its own errors; this is for anything thrown before it is reached.
        error: (error) => {
          log.error("unhandled error", { error: String(error) });
          return Response.json(
            errorEnvelope("internal_error", "internal error", {}, newRequestId()),
            { status: 500 },
          );
        },
      });
      const url = `http://${server.hostname}:${server.port}`;
      log.info("listening", { url, database: store.location });
      memory.start();
      await scheduler.start();
      await mailer.announce();
      return url;
    },
    stop() {
      stopping ??= (async () => {
        // No new events first, then let attempts in flight finish (bounded), then the database.
        memory.stop();
        if (server) await stopListening(server);
        await pollers.stop();
        await stopWatchingDue();
        await scheduler.stop();
        await mailer.stop();
        await deliveries.flush();
        await leadership.stop();
        await store.close();
        lock?.release();
      })();
      return stopping;
    },
  };
}
