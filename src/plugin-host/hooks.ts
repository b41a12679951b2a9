/**
 * The plugins' delivery hooks as two ordered chains (after PocketBase's hooks): every
 * `beforeDelivery` in plugin load order on one mutable copy of the request, then, once the
 * attempt is recorded, every `afterDelivery`. A failing `beforeDelivery` fails that attempt;
 * a failing `afterDelivery` is logged and forgotten.
 */

import type { Logger } from "../log.ts";
import { SIGNATURE_HEADERS } from "../outbound/signing.ts";
import type {
  AfterDeliveryHook,
  BeforeDeliveryHook,
  DeliveryContext,
  DeliveryHooks,
  DeliveryResult,
  OutgoingRequest,
} from "./api.ts";

/** All `beforeDelivery` hooks of one attempt together get this long. */
export const BEFORE_DELIVERY_BUDGET_MS = 10_000;

/**
 * Headers hooks cannot set: the signatures (`src/outbound/signing.ts`) are computed after
 * the hooks, over the final body, and the sender sets the framing ones itself.
 */
const RESERVED_HEADERS = new Set<string>([...SIGNATURE_HEADERS, "host", "content-length"]);

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible characters, spaces and tabs: no CR/LF to split the request with. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type BeforeDeliveryOutcome =
  | { kind: "ready"; headers: Record<string, string>; body: string }
  | { kind: "failed"; error: string }
  | { kind: "aborted" };

/** `headers` without the signature headers: what hooks are shown. */
export function unsignedHeaders(headers: Record<string, string>): Record<string, string> {
  const unsigned = { ...headers };
  for (const name of SIGNATURE_HEADERS) delete unsigned[name];
  return unsigned;
}

/** The request as a hook left it, checked and with lower-case header names, or what is wrong. */
function checkRequest(
  request: OutgoingRequest,
  url: string,
): { ok: true; headers: Record<string, string> } | { ok: false; error: string } {
  if (request.url !== url) {
    return { ok: false, error: "it changed the url; the endpoint is the webhook's to set" };
  }
  if (typeof request.body !== "string") {
    return { ok: false, error: `the body must be a string, got ${typeof request.body}` };
  }
  const headers = request.headers as unknown;
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    return { ok: false, error: "headers must be an object of header names to strings" };
  }
  // Entries, not `checked[name] = value`: a header named __proto__ must stay a header.
  const checked: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) return { ok: false, error: `invalid header name "${name}"` };
    if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
      return { ok: false, error: `header "${lower}" must be a string without line breaks` };
    }
    if (RESERVED_HEADERS.has(lower)) {
      return { ok: false, error: `header "${lower}" cannot be set by a hook` };
    }
    checked.push([lower, value]);
  }
  return { ok: true, headers: Object.fromEntries(checked) };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class OutOfTime extends Error {}
class Aborted extends Error {}

/** `work`, or a rejection when `ms` pass or `signal` aborts first. */
function withinBudget<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Aborted());
      return;
    }
    const onAbort = () => reject(new Aborted());
    const timer = setTimeout(() => reject(new OutOfTime()), Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
  });
}

export class DeliveryHookChain {
  readonly #before: { plugin: string; hook: BeforeDeliveryHook }[] = [];
  readonly #after: { plugin: string; hook: AfterDeliveryHook }[] = [];
  readonly #log: Logger;
  readonly #budgetMs: number;

  /** @param plugins in load order: the order the hooks run in */
  constructor(
    plugins: readonly { plugin: string; hooks: DeliveryHooks }[],
    log: Logger,
    budgetMs = BEFORE_DELIVERY_BUDGET_MS,
  ) {
    for (const { plugin, hooks } of plugins) {
      if (hooks.beforeDelivery) this.#before.push({ plugin, hook: hooks.beforeDelivery });
      if (hooks.afterDelivery) this.#after.push({ plugin, hook: hooks.afterDelivery });
    }
    this.#log = log;
    this.#budgetMs = budgetMs;
  }

  get hasBeforeDelivery(): boolean {
    return this.#before.length > 0;
  }

  /**
   * Runs every `beforeDelivery` hook on a copy of the request. `failed` names the plugin and
   * why (a throw, a change the hooks may not make, the budget running out); `aborted` means
   * `signal` fired (shutdown).
   */
  async beforeDelivery(
    request: { url: string; headers: Record<string, string>; body: string },
    context: DeliveryContext,
    signal?: AbortSignal,
  ): Promise<BeforeDeliveryOutcome> {
    const deadline = Date.now() + this.#budgetMs;
    const copy: OutgoingRequest = {
      url: request.url,
      headers: { ...request.headers },
      body: request.body,
    };
    const frozenContext = Object.freeze({ ...context });
    for (const { plugin, hook } of this.#before) {
      const failed = (why: string): BeforeDeliveryOutcome => ({
        kind: "failed",
        error: `beforeDelivery hook of plugin "${plugin}" failed: ${why}`,
      });
      try {
        await withinBudget(
          Promise.resolve().then(() => hook(copy, frozenContext)),
          deadline - Date.now(),
          signal,
        );
      } catch (error) {
        if (error instanceof Aborted) return { kind: "aborted" };
        if (error instanceof OutOfTime) {
          return failed(`no answer within ${this.#budgetMs} ms`);
        }
        return failed(reasonOf(error));
      }
      const checked = checkRequest(copy, request.url);
      if (!checked.ok) return failed(checked.error);
      copy.headers = checked.headers;
    }
    return { kind: "ready", headers: copy.headers, body: copy.body };
  }

  /** Tells every `afterDelivery` hook; not awaited, so a slow observer holds up no delivery. */
  afterDelivery(result: DeliveryResult, context: DeliveryContext): void {
    for (const { plugin, hook } of this.#after) {
      Promise.resolve()
        .then(() => hook({ ...result }, { ...context }))
        .catch((error: unknown) => {
          this.#log.warn("afterDelivery hook failed", {
            plugin,
            deliveryId: context.deliveryId,
            error: reasonOf(error),
          });
        });
    }
  }
}
