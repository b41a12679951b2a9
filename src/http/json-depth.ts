/**
 * How deeply a JSON value nests, measured without recursion. Hookpost stores and re-encodes
 * event fields and payload templates; `JSON.stringify` recurses, so a body nested tens of
 * thousands of levels deep (well under the size limit) would overflow the stack. Requests are
 * refused above {@link MAX_JSON_DEPTH} levels instead.
 */

/** Deeper than any content model needs; far below what overflows the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * The path of the first value nested deeper than `limit` (e.g. `fields.a.0.b`), or null.
 *
 * @example tooDeep({ a: [[1]] }, 2) // "a.0"
 */
export function tooDeep(value: unknown, limit: number = MAX_JSON_DEPTH): string | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: "" }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item || item.value === null || typeof item.value !== "object") continue;
    if (item.depth >= limit) return item.path || "(root)";
    const entries = Array.isArray(item.value)
      ? item.value.map((child, index) => [String(index), child] as const)
      : Object.entries(item.value);
    for (const [key, child] of entries) {
      stack.push({
        value: child,
        depth: item.depth + 1,
        path: item.path ? `${item.path}.${key}` : key,
      });
    }
  }
  return null;
}
