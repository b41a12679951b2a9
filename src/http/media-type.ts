/**
 * The media type of a request (RFC 9110 §8.3.1): `type/subtype` and its parameters, so the front
 * door can tell `application/json; charset=utf-8` from `multipart/form-data; boundary=…` without
 * substring guesses (`text/json-ish` is not JSON; `application/vnd.api+json` is) — and the 415
 * every route that reads a body answers with one it does not take.
 */

import { UnsupportedMediaType } from "../errors.ts";

/** The media type of every request body, besides a route's form upload. */
export const JSON_MEDIA_TYPE = "application/json";

/** The media type of a form upload (`FormUpload`). */
export const FORM_MEDIA_TYPE = "multipart/form-data";

/** `type/subtype` in lower case, without parameters (RFC 9110 §8.3.1's tokens). */
const ESSENCE_PATTERN = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** Whether `text` is a bare `type/subtype`, in any case (`Application/JSON` is). */
export function isMediaTypeEssence(text: string): boolean {
  return ESSENCE_PATTERN.test(text.toLowerCase());
}

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
  if (!ESSENCE_PATTERN.test(essence)) return null;
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
    mediaType.essence === JSON_MEDIA_TYPE || /^application\/[^/]+\+json$/.test(mediaType.essence)
  );
}

/** JSON is UTF-8 (RFC 8259 §8.1): a charset other than that would be decoded wrongly, silently. */
export function declaresOtherCharsetThanUtf8(mediaType: MediaType): boolean {
  const charset = mediaType.parameters.get("charset");
  return charset !== undefined && !/^utf-?8$/i.test(charset);
}

/**
 * The 415 for a body of `contentType` (null: none given) where only `accepted` is read; the
 * message names what to send instead.
 */
export function unsupportedMediaType(
  contentType: string | null,
  accepted: readonly string[],
): UnsupportedMediaType {
  const wanted = accepted.join(" or ");
  const essence = parseMediaType(contentType)?.essence ?? contentType;
  return new UnsupportedMediaType(
    contentType === null
      ? `a request body needs Content-Type: ${wanted}`
      : `Content-Type ${essence} is not accepted here: send ${wanted}`,
    { contentType, accepted: [...accepted] },
  );
}
