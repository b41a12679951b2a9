/**
 * Template engines by name. A webhook's `templateEngine` picks one to render its
 * `customPayload` against the content envelope; `json` is built in, plugins add more. Whatever
 * an engine does — throw, return a Promise, a function, a cycle — becomes a {@link RenderError}
 * for that one delivery, never a failed ingest.
 */

import type { ContentEnvelope } from "../deliveries/envelope.ts";
import type { Templater } from "./api.ts";
import { jsonEngine } from "./json-engine.ts";

export type { Templater } from "./api.ts";

/** The built-in engine's name, and the default `templateEngine` of a webhook. */
export const BUILT_IN_ENGINE = "json";

export class RenderError extends Error {
  override name = "RenderError";
}

/**
 * Why `value` is not plain JSON (`fields.when is a function`), or null when it is. Checked
 * rather than trusted to `JSON.stringify`, which silently drops functions and undefined inside
 * objects and turns NaN into null: a receiver would get a body nobody wrote.
 */
export function nonJsonReason(value: unknown, path = "", seen = new Set<object>()): string | null {
  const where = path === "" ? "the value" : path;
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${where} is ${value}, not a finite number`;
    case "object": {
      if (value === null) return null;
      if (seen.has(value)) return `${where} refers back to itself (a cycle)`;
      if (typeof (value as { then?: unknown }).then === "function") {
        return `${where} is a Promise (template engines must render synchronously)`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
        return `${where} is a ${value.constructor?.name ?? "non-plain"} object, not plain JSON`;
      }
      seen.add(value);
      try {
        const entries: [string, unknown][] = Array.isArray(value)
          ? value.map((item, index) => [String(index), item])
          : Object.entries(value);
        for (const [key, item] of entries) {
          const reason = nonJsonReason(item, path ? `${path}.${key}` : key, seen);
          if (reason) return reason;
        }
        return null;
      } finally {
        seen.delete(value);
      }
    }
    case "undefined":
      return `${where} is undefined`;
    default:
      return `${where} is a ${typeof value}`;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class TemplaterRegistry {
  readonly #engines: Map<string, Templater>;

  /** The built-in `json` engine plus `engines` (names already checked by the plugin loader). */
  constructor(engines: Iterable<readonly [string, Templater]> = []) {
    this.#engines = new Map<string, Templater>([[BUILT_IN_ENGINE, jsonEngine], ...engines]);
  }

  has(name: string): boolean {
    return this.#engines.has(name);
  }

  /**
   * The body text for `template` rendered by engine `name`. Throws {@link RenderError} with a
   * message fit for the delivery log when the engine is missing, throws, or returns something
   * that is not JSON.
   */
  renderToJson(name: string, template: unknown, context: ContentEnvelope): string {
    const engine = this.#engines.get(name);
    if (!engine) throw new RenderError(`template engine "${name}" is not available`);
    let value: unknown;
    try {
      value = engine.render(template, context);
    } catch (error) {
      throw new RenderError(`template engine "${name}" failed: ${reasonOf(error)}`);
    }
    let reason: string | null;
    try {
      reason = nonJsonReason(value);
      if (reason === null) return JSON.stringify(value);
    } catch (error) {
      // A getter that throws while being read: nothing plain JSON has, but never a crash.
      throw new RenderError(`template engine "${name}" failed: ${reasonOf(error)}`);
    }
    throw new RenderError(`template engine "${name}" failed: it returned no JSON: ${reason}`);
  }
}
