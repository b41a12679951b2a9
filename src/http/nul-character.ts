/**
 * The NUL character (U+0000) in a request. PostgreSQL's text cannot hold it (a write or a lookup
 * with one fails), and no name, id, endpoint or content of a CMS needs it, so a request that
 * carries one — in its path, its query or a string of its JSON body — is refused with a 400 on
 * either backend, before any route sees it.
 */

const NUL = "\u0000";

/** Whether the JSON text holds a NUL: raw, or as the escape `\u0000` inside a string. */
export function jsonTextHoldsNul(text: string): boolean {
  if (text.includes(NUL)) return true;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (!inString) {
      if (code === 0x22) inString = true;
    } else if (code === 0x22) {
      inString = false;
    } else if (code === 0x5c) {
      // A backslash escapes the next character; `\u0000` is the NUL.
      if (text[index + 1] === "u" && /^0000$/.test(text.slice(index + 2, index + 6))) return true;
      index++;
    }
  }
  return false;
}

/**
 * Where in the JSON text the first NUL is, as a field path (`headers.0.value`; a key holding
 * one is named by its object's path): the error names it. For a text {@link jsonTextHoldsNul}
 * found one in, whose nesting is bounded (the front door checks it first); `fallback` when the
 * text does not parse.
 */
export function nulFieldOf(text: string, fallback: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fallback;
  }
  return pathOfNul(value, []) ?? fallback;
}

function pathOfNul(value: unknown, path: string[]): string | null {
  if (typeof value === "string") return value.includes(NUL) ? path.join(".") || "(body)" : null;
  if (value === null || typeof value !== "object") return null;
  for (const [key, inner] of Object.entries(value)) {
    if (key.includes(NUL)) return path.join(".") || "(body)";
    const found = pathOfNul(inner, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

/** Whether the URL's path or query, decoded, holds a NUL. */
export function urlHoldsNul(url: URL): boolean {
  if (url.pathname.includes("%00") || url.pathname.includes(NUL)) return true;
  for (const [name, value] of url.searchParams) {
    if (name.includes(NUL) || value.includes(NUL)) return true;
  }
  return false;
}
