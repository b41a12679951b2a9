/**
 * The built-in `json` template engine (SPEC §8). It walks the template: a string that is
 * exactly `{{path}}` becomes the value at that path with its type kept (object, number, array,
 * null); `{{path}}` inside a longer string is interpolated as text. Paths are dot-separated and
 * reach the content envelope (`fields.title`, `translations.it`, `fields.tags.0`); a missing
 * path renders `null` (or nothing, inside a longer string).
 *
 * The walk counts the JSON size of what it builds against the body bound ({@link BodyBudget})
 * and stops at the first piece that passes it: a short template can repeat a large field a
 * thousand times, and must fail before it has built the result, not after.
 */

import { BodyBudget, byteLength } from "./body-budget.ts";
import type { Templater } from "./templaters.ts";

const WHOLE = /^\{\{\s*([^{}\s]+)\s*\}\}$/;
const INLINE = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/** The value at a dot-separated path, or undefined when any step is missing. */
export function valueAtPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const step of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** One rendering: its budget, and the JSON text of each whole-string path already measured. */
class Rendering {
  readonly budget = new BodyBudget();
  /** A path used many times is serialized once, however often it is repeated. */
  readonly #sizeByPath = new Map<string, number>();

  constructor(readonly context: unknown) {}

  /** The value at `path`, its JSON size spent. */
  valueOf(path: string): unknown {
    const value = valueAtPath(this.context, path) ?? null;
    let size = this.#sizeByPath.get(path);
    if (size === undefined) {
      const text = JSON.stringify(value);
      this.budget.ensureRoom(text.length);
      size = byteLength(text);
      this.#sizeByPath.set(path, size);
    }
    this.budget.spend(size);
    return value;
  }
}

function renderString(template: string, rendering: Rendering): unknown {
  const whole = WHOLE.exec(template);
  if (whole?.[1]) return rendering.valueOf(whole[1]);
  // The text's length so far, a lower bound of its JSON size, checked as each piece goes in.
  let built = template.length;
  const text = template.replace(INLINE, (placeholder: string, path: string) => {
    const piece = asText(valueAtPath(rendering.context, path));
    built += piece.length - placeholder.length;
    rendering.budget.ensureRoom(built);
    return piece;
  });
  rendering.budget.spendText(JSON.stringify(text));
  return text;
}

function renderValue(template: unknown, rendering: Rendering): unknown {
  if (typeof template === "string") return renderString(template, rendering);
  if (Array.isArray(template)) {
    // Brackets and commas.
    rendering.budget.spend(Math.max(2, template.length + 1));
    return template.map((item) => renderValue(item, rendering));
  }
  if (template !== null && typeof template === "object") {
    const entries = Object.entries(template);
    rendering.budget.spend(Math.max(2, entries.length + 1));
    // fromEntries defines own keys, so "__proto__" stays a key instead of setting a prototype.
    return Object.fromEntries(
      entries.map(([key, item]) => {
        rendering.budget.spendText(`${JSON.stringify(key)}:`);
        return [key, renderValue(item, rendering)];
      }),
    );
  }
  rendering.budget.spendText(JSON.stringify(template));
  return template;
}

export const jsonEngine: Templater = {
  render: (template, context) => renderValue(template, new Rendering(context)),
};
