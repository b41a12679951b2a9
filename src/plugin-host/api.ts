/**
 * `hookpost/plugin`: the public contract between Hookpost and its plugins (SPEC §8).
 *
 * A plugin is one `.ts` or `.js` file in `HOOKPOST_PLUGINS_DIR` whose default export is
 * `definePlugin({...})`. Hookpost provides this module itself, so a plugin needs no
 * `node_modules`. This file imports nothing on purpose: it is the module's source and its
 * documentation in one, and plugin authors may copy it for their editor's types.
 *
 * Stability: these names and shapes are a public contract. Additions are optional properties;
 * nothing here is renamed or removed without a major version.
 *
 * @example
 * ```ts
 * import { definePlugin, EventType } from "hookpost/plugin";
 *
 * export default definePlugin({
 *   name: "acme",
 *   templaters: {
 *     upper: { render: (template, context) => ({ title: String(context.fields.title).toUpperCase() }) },
 *   },
 *   sources: {
 *     acme: {
 *       contentTypes: () => [{ key: "article", name: "Article", fields: ["title"] }],
 *       async handle(request) {
 *         const body = await request.json();
 *         return [{ eventType: EventType.Published, contentType: "article", contentId: String(body.id) }];
 *       },
 *     },
 *   },
 *   hooks: {
 *     beforeDelivery(request) {
 *       request.headers["x-acme-tenant"] = "blue";
 *     },
 *   },
 * });
 * ```
 */

/**
 * The event types of seed 000 by name, so plugins need not remember the numbers.
 *
 * @example `{ eventType: EventType.Unpublished, contentType: "article", contentId: "42" }`
 */
export const EventType = Object.freeze({
  Published: 0,
  Unpublished: 1,
  Deleted: 2,
  PublishedCreated: 3,
  PublishedUpdated: 4,
} as const);

/** `0` Published, `1` Unpublished, `2` Deleted, `3` PublishedCreated, `4` PublishedUpdated. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/**
 * A content event, exactly as `POST /events` accepts it. What a source adapter's `handle` and
 * `poll.run` return; Hookpost validates each one and ingests it like `POST /events` (same
 * matching, same transaction, same idempotency on `id`).
 */
export interface IncomingEvent {
  /**
   * Your id for this event (1–200 characters). A repeated id in the same workspace is not
   * enqueued twice, so derive it from what makes the change unique (e.g. entry id + updatedAt):
   * a CMS that sends the same webhook twice, or a poller that sees the same change twice, then
   * delivers it once.
   */
  id?: string;
  eventType: EventType;
  /** The content-type key (1–100 characters), e.g. `article`. */
  contentType: string;
  /** The content's id (1–200 characters). */
  contentId: string;
  fields?: Record<string, unknown>;
  translations?: Record<string, unknown>;
  /** `published` (default) or `preview`: the event reaches only webhooks of the same slot. */
  slot?: "published" | "preview";
  /** The content's language (e.g. `en-US`); webhooks with `languages` filter on it. */
  language?: string;
}

/**
 * A content type a source contributes to the registry (`GET /content-types`, generate-sample).
 * Keys and field keys: 1–100 characters of `A-Z a-z 0-9 _ . -`. Plugin types are read-only
 * through the API and the same in every workspace.
 */
export interface ContentType {
  key: string;
  name: string;
  fields: string[];
}

/**
 * What a template is rendered against: the content envelope of SPEC §6.1, the default body.
 * Read it; do not change it.
 */
export interface TemplateContext {
  /** One of {@link EventType}. */
  eventType: number;
  contentId: string;
  contentType: string;
  fields: Record<string, unknown>;
  translations: Record<string, unknown>;
  webhookId: string;
  deliveryId: string;
  /** When the event was accepted, ISO-8601. */
  timestamp: string;
}

/**
 * A template engine. A webhook with `templateEngine: "<name>"` has its `customPayload`
 * rendered by it, once, when the delivery is created.
 *
 * `render` is synchronous and must return a JSON value (null, boolean, finite number, string,
 * array, plain object). Throwing, or returning anything else (undefined, a function, a BigInt,
 * a Promise, a cycle), fails that one delivery with `template engine "<name>" failed: …`;
 * the process and other deliveries are unaffected.
 *
 * @example
 * ```ts
 * const shout: Templater = {
 *   render: (template, context) => ({ text: `${String(template)}: ${context.contentId}`.toUpperCase() }),
 * };
 * ```
 */
export interface Templater {
  render(template: unknown, context: TemplateContext): unknown;
}

/**
 * Writes JSON log lines through Hookpost's logger, tagged with the plugin's name. Use it
 * instead of `console.log`, which would break the one-JSON-object-per-line log.
 */
export interface PluginLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a source's `handle` gets beside the request. */
export interface SourceContext {
  /** The workspace of the API key that sent the request: the events go there. */
  workspace: string;
  log: PluginLogger;
}

/** What a poller's `run` gets. */
export interface PollContext {
  /** The workspace the events go to (`poll.workspace`, default `default`). */
  workspace: string;
  /**
   * When the last successful run of this poller started, or null for the first run since
   * Hookpost started (it is not persisted: make event ids idempotent instead).
   */
  lastSuccessAt: Date | null;
  /** Aborted when Hookpost shuts down: pass it to `fetch`. */
  signal: AbortSignal;
  log: PluginLogger;
}

/**
 * A poller: `run` is called on the scheduler's timer, at most once every `intervalMs` and never
 * twice at once. A run that throws is logged (warn) and tried again at the next interval.
 */
export interface Poller {
  /** Milliseconds between the starts of two runs (a positive integer); checked on every tick. */
  intervalMs: number;
  /** The workspace the events go to (default `default`). */
  workspace?: string;
  run(context: PollContext): IncomingEvent[] | Promise<IncomingEvent[]>;
}

/**
 * A content-source adapter: turns a CMS's own webhook (`POST /sources/<name>`) or its API
 * (`poll`) into events. It needs `handle`, `poll`, or both.
 */
export interface SourceAdapter {
  /** The content types this source knows; called once, at startup. */
  contentTypes?(): ContentType[];
  /**
   * Serves `POST /sources/<name>` (authenticated with a write key, `X-Api-Key`, which is not
   * passed on). Return the events the request means (an empty array ignores it). Throwing
   * answers 400 with the error's message; so does returning an invalid event.
   */
  handle?(request: Request, context: SourceContext): IncomingEvent[] | Promise<IncomingEvent[]>;
  /**
   * The media types (`type/subtype`) `handle` reads; default `["application/json"]`. A request
   * whose body has another Content-Type, or none, is answered 415 (`unsupported_media_type`,
   * naming these) before its body is read and before `handle` runs; a request without a body
   * passes. Compared by type and subtype, case-insensitively: parameters such as `charset` are
   * ignored, so decode the body as it says. No wildcards; `application/json` does not cover
   * `+json` types (list each one).
   *
   * @example `mediaTypes: ["application/json", "application/x-www-form-urlencoded"]`
   */
  mediaTypes?: readonly string[];
  poll?: Poller;
}

/** The request about to be sent: a copy the hook may change. */
export interface OutgoingRequest {
  /** The webhook's endpoint. Read-only: a hook that changes it fails the attempt. */
  readonly url: string;
  /**
   * Lower-case header names. Add or change headers here. The signature headers are computed
   * after the hooks, over the final body, and cannot be set; nor can `host` and
   * `content-length`. The receiver's `Authorization` (webhook `auth`) is added after the hooks.
   */
  headers: Record<string, string>;
  /** The stored body. A hook may replace it (then that attempt sends, and signs, the new one). */
  body: string;
}

/** Which attempt a hook is called for. */
export interface DeliveryContext {
  deliveryId: string;
  webhookId: string;
  workspace: string;
  /** The number of this attempt, 1 for the first. */
  attempt: number;
  maxAttempts: number;
}

/** What became of an attempt. */
export interface DeliveryResult {
  /** The receiver's status code, or null when no answer arrived. */
  statusCode: number | null;
  /** Null on success; otherwise what went wrong (`HTTP 500`, `connection refused`, …). */
  error: string | null;
  durationMs: number;
  /** `sent` (2xx), `retry` (another attempt is scheduled) or `failed` (the delivery is in Error). */
  outcome: "sent" | "retry" | "failed";
  /** When the next attempt is due, for `retry`; null otherwise. */
  nextAttemptAt: Date | null;
}

/**
 * Runs before each attempt, in plugin load order (file name order), each hook seeing the
 * changes of the ones before. May be async; all hooks of an attempt share a 10 s budget.
 * Throwing fails the attempt with `beforeDelivery hook of plugin "<name>" failed: …`; it is
 * recorded and retried like any failed attempt.
 */
export type BeforeDeliveryHook = (
  request: OutgoingRequest,
  context: DeliveryContext,
) => void | Promise<void>;

/** Observes each recorded attempt. Not awaited by deliveries; errors are logged and ignored. */
export type AfterDeliveryHook = (
  result: DeliveryResult,
  context: DeliveryContext,
) => void | Promise<void>;

/** Hooks into delivery attempts (not into the test ping of `POST /webhooks/{id}/test`). */
export interface DeliveryHooks {
  beforeDelivery?: BeforeDeliveryHook;
  afterDelivery?: AfterDeliveryHook;
}

/**
 * A plugin. `name`, template-engine names and source names are 1–64 characters of
 * `a-z 0-9 _ -` starting with a letter or digit, unique across all loaded plugins; `json` is
 * the built-in engine's name.
 */
export interface Plugin {
  name: string;
  /** Template engines by name, for webhooks' `templateEngine`. */
  templaters?: Record<string, Templater>;
  /** Content-source adapters by name: `POST /sources/<name>`. */
  sources?: Record<string, SourceAdapter>;
  hooks?: DeliveryHooks;
}

/**
 * Declares a plugin: returns it unchanged, and gives your editor the types. Hookpost checks
 * the plugin when it loads it and refuses to start, naming the file, if it is invalid.
 *
 * @example
 * ```ts
 * import { definePlugin } from "hookpost/plugin";
 * export default definePlugin({ name: "hello", hooks: { afterDelivery: (result) => {} } });
 * ```
 */
export function definePlugin<P extends Plugin>(plugin: P): P {
  return plugin;
}
