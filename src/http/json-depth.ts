/**
 * How deeply a JSON body nests, measured on its text without recursion. Parsers, validators'
 * error messages and `JSON.stringify` recurse, so a body nested tens of thousands of levels
 * deep (well under the size limit) could overflow the stack or block the event loop. Requests
 * are refused above {@link MAX_JSON_DEPTH} levels instead.
 */

/** Deeper than any content model needs; far below what overflows the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply the JSON text nests, read from the text itself (brackets outside strings), so a
 * body can be refused before anything recursive — a parser, a validator's error message —
 * touches it. Stops counting once past `limit`.
 */
export function textNestingExceeds(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c)
        index++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth++;
      if (depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}
