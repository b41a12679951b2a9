/**
 * The built-in `json` template engine (SPEC §8). It walks the template: a string that is
 * exactly `{{path}}` becomes the value at that path with its type kept (object, number, array,
 * null); `{{path}}` inside a longer string is interpolated as text. Paths are dot-separated and
 * reach the content envelope (`fields.title`, `translations.it`, `fields.tags.0`); a missing
 * path renders `null` (or nothing, inside a longer string).
 */

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

function renderValue(template: unknown, context: unknown): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole?.[1]) return valueAtPath(context, whole[1]) ?? null;
    return template.replace(INLINE, (_, path: string) => asText(valueAtPath(context, path)));
  }
  if (Array.isArray(template)) return template.map((item) => renderValue(item, context));
  if (template !== null && typeof template === "object") {
    // fromEntries defines own keys, so "__proto__" stays a key instead of setting a prototype.
    return Object.fromEntries(
      Object.entries(template).map(([key, item]) => [key, renderValue(item, context)]),
    );
  }
  return template;
}

export const jsonEngine: Templater = {
  render: (template, context) => renderValue(template, context),
};
