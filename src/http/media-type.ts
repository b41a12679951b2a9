/**
 * The media type of a request (RFC 9110 §8.3.1): `type/subtype` and its parameters, so the front
 * door can tell `application/json; charset=utf-8` from `multipart/form-data; boundary=…` without
 * substring guesses (`text/json-ish` is not JSON; `application/vnd.api+json` is).
 */

/** A parsed `Content-Type`: the lower-case `type/subtype` and the parameters by lower-case name. */
export interface MediaType {
  essence: string;
  parameters: Map<string, string>;
}

/** `Content-Type` parsed, or null when there is none or it is not `type/subtype`. */
export function parseMediaType(header: string | null): MediaType | null {
  if (header === null) return null;
  const [essencePart = "", ...parameterParts] = header.split(";");
  const essence = essencePart.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(essence)) return null;
  const parameters = new Map<string, string>();
  for (const part of parameterParts) {
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    const value = part
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (name && !parameters.has(name)) parameters.set(name, value);
  }
  return { essence, parameters };
}

/** `application/json` and the structured-syntax `+json` types (RFC 6839), e.g. `application/merge-patch+json`. */
export function isJsonMediaType(mediaType: MediaType): boolean {
  return (
    mediaType.essence === "application/json" || /^application\/[^/]+\+json$/.test(mediaType.essence)
  );
}

/** JSON is UTF-8 (RFC 8259 §8.1): a charset other than that would be decoded wrongly, silently. */
export function declaresOtherCharsetThanUtf8(mediaType: MediaType): boolean {
  const charset = mediaType.parameters.get("charset");
  return charset !== undefined && !/^utf-?8$/i.test(charset);
}
