/**
 * Template engines by name. A webhook's `templateEngine` picks one to render its
 * `customPayload` against the content envelope; `json` is built in, plugins add more. Whatever
 * an engine does — throw, return a Promise, a function, a cycle, a body over the 1 MiB bound —
 * becomes a {@link RenderError} for that one delivery, never a failed ingest.
 */

import type { ContentEnvelope } from "../deliveries/envelope.ts";
import type { Templater } from "./api.ts";
import { BodyBudget, BodyTooLarge } from "./body-budget.ts";
import { jsonEngine } from "./json-engine.ts";

export type { Templater } from "./api.ts";

/** The built-in engine's name, and the default `templateEngine` of a webhook. */
export const BUILT_IN_ENGINE = "json";

export class RenderError extends Error {
  override name = "RenderError";
}

/** Why a value is not plain JSON, with where in the value (`fields.when is a function`). */
class NotJson extends Error {}

/**
 * The JSON text of `value`, its size spent from `budget` piece by piece: an engine cannot be
 * stopped while it renders, but a result that shares one large object a thousand times is
 * refused before its text is built. Checked rather than trusted to `JSON.stringify`, which
 * silently drops functions and undefined inside objects and turns NaN into null: a receiver
 * would get a body nobody wrote. Throws {@link NotJson} or {@link BodyTooLarge}.
 */
function boundedJson(
  value: unknown,
  budget: BodyBudget,
  path = "",
  seen = new Set<object>(),
): string {
  const where = path === "" ? "the value" : path;
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new NotJson(`${where} is ${value}, not a finite number`);
      return spent(budget, JSON.stringify(value));
    case "string":
    case "boolean":
      return spent(budget, JSON.stringify(value));
    case "object": {
      if (value === null) return spent(budget, "null");
      if (seen.has(value)) throw new NotJson(`${where} refers back to itself (a cycle)`);
      if (typeof (value as { then?: unknown }).then === "function") {
        throw new NotJson(`${where} is a Promise (template engines must render synchronously)`);
      }
      const prototype = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
        throw new NotJson(
          `${where} is a ${value.constructor?.name ?? "non-plain"} object, not plain JSON`,
        );
      }
      seen.add(value);
      try {
        const inner = (key: string, item: unknown) =>
          boundedJson(item, budget, path ? `${path}.${key}` : key, seen);
        const parts: string[] = [];
        if (Array.isArray(value)) {
          // Brackets and commas.
          budget.spend(Math.max(2, value.length + 1));
          for (let index = 0; index < value.length; index++) {
            parts.push(inner(String(index), value[index]));
          }
          return `[${parts.join(",")}]`;
        }
        const entries = Object.entries(value);
        budget.spend(Math.max(2, entries.length + 1));
        for (const [key, item] of entries) {
          const name = spent(budget, `${JSON.stringify(key)}:`);
          parts.push(name + inner(key, item));
        }
        return `{${parts.join(",")}}`;
      } finally {
        seen.delete(value);
      }
    }
    case "undefined":
      throw new NotJson(`${where} is undefined`);
    default:
      throw new NotJson(`${where} is a ${typeof value}`);
  }
}

/** `jsonText`, once its size is spent from `budget`. */
function spent(budget: BodyBudget, jsonText: string): string {
  budget.spendText(jsonText);
  return jsonText;
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
   * that is not JSON or whose JSON would pass the body bound.
   */
  renderToJson(name: string, template: unknown, context: ContentEnvelope): string {
    const engine = this.#engines.get(name);
    if (!engine) throw new RenderError(`template engine "${name}" is not available`);
    try {
      return boundedJson(engine.render(template, context), new BodyBudget());
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        throw new RenderError(`template engine "${name}": ${error.message}`);
      }
      // Anything else thrown — by the engine, or by a getter read while serializing — is the
      // engine's failure, never a crash.
      const reason =
        error instanceof NotJson ? `it returned no JSON: ${error.message}` : reasonOf(error);
      throw new RenderError(`template engine "${name}" failed: ${reason}`);
    }
  }
}
