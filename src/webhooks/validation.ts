/**
 * The rules a webhook configuration must satisfy beyond its schema's types. Each check is a
 * pure function returning the problems it found, so one 400 can name every offending field.
 */

import { MAX_CONTENT_TYPE_KEY_LENGTH } from "../content-types/model.ts";
import type { FieldProblem } from "../errors.ts";
import { parseAddressList } from "../mail/address-list.ts";
import { SIGNATURE_HEADERS, STANDARD_SECRET_PREFIX } from "../outbound/signing.ts";

/**
 * Headers Hookpost sets itself, and those seed 001 reserves for tracing (`request-id`,
 * `traceparent`, `request-context`); a webhook may not set them.
 */
const RESERVED_HEADERS = new Set([
  "content-length",
  "content-type",
  "host",
  "transfer-encoding",
  "connection",
  "user-agent",
  ...SIGNATURE_HEADERS,
  "contit-test",
  "request-id",
  "traceparent",
  "request-context",
]);

/** An outbound URL (the endpoint, an OAuth2 token URL): absolute http(s), no credentials. */
export function checkEndpoint(endpoint: string, field = "endpoint"): FieldProblem[] {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ field, message: "must be an absolute http(s) URL" }];
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return [{ field, message: `must use http or https, not ${url.protocol}` }];
  }
  if (url.hostname === "") {
    return [{ field, message: "must name a host" }];
  }
  if (url.username !== "" || url.password !== "") {
    return [
      {
        field,
        message: "must not contain credentials (they would be shown in every response)",
      },
    ];
  }
  return [];
}

/** Language codes are compared case-insensitively, so `en` and `EN` are the same one. */
export function checkLanguages(languages: readonly string[]): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  languages.forEach((language, index) => {
    const code = language.toLowerCase();
    if (seen.has(code)) {
      problems.push({ field: `languages.${index}`, message: `"${language}" appears twice` });
    }
    seen.add(code);
  });
  return problems;
}

/**
 * A custom `Authorization` header and receiver authentication would fight over the same
 * header: with `auth` set, the custom one is refused.
 */
export function checkAuthorizationHeader(
  authType: string,
  headers: readonly { key: string }[],
): FieldProblem[] {
  if (authType === "none") return [];
  const index = headers.findIndex((header) => header.key.toLowerCase() === "authorization");
  return index === -1
    ? []
    : [
        {
          field: `headers.${index}.key`,
          message: `"${headers[index]?.key}" is set by auth (type ${authType}); remove the header or set auth to none`,
        },
      ];
}

export function checkErrorEmailTo(value: string): FieldProblem[] {
  const { invalid } = parseAddressList(value);
  return invalid.map((address) => ({
    field: "errorEmailTo",
    message: `"${address}" is not a valid e-mail address`,
  }));
}

/**
 * Why a header value could not be sent as stored, or null. A request cannot carry control
 * characters (CR, LF and NUL would end or split the header), `fetch` trims surrounding
 * whitespace (the receiver would get another value) and other characters than ASCII reach
 * receivers as whatever bytes their server guesses: only printable ASCII, with spaces and tabs
 * inside, is always sent as written (seed 001 allows the same set).
 */
function headerValueProblem(value: string): string | null {
  const isControl = (code: number) => (code < 0x20 && code !== 0x09) || code === 0x7f;
  if (Array.from(value, (character) => character.charCodeAt(0)).some(isControl)) {
    return "must not contain control characters (CR, LF, NUL, …): no request can carry them";
  }
  if (/[^\t\x20-\x7e]/.test(value)) return "must be printable ASCII";
  if (value.trim() === "") return "must not be empty or only whitespace";
  if (value.trim() !== value) {
    return "must not start or end with whitespace (it would be dropped when sent)";
  }
  return null;
}

/**
 * Custom headers: not one Hookpost or seed 001 reserves, no name twice (case-insensitive), and
 * every value one a request carries as stored (see `headerValueProblem`).
 */
export function checkHeaders(headers: readonly { key: string; value: string }[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  headers.forEach((header, index) => {
    const name = header.key.toLowerCase();
    if (RESERVED_HEADERS.has(name)) {
      problems.push({
        field: `headers.${index}.key`,
        message: `"${header.key}" is set by Hookpost`,
      });
    } else if (seen.has(name)) {
      problems.push({ field: `headers.${index}.key`, message: `"${header.key}" appears twice` });
    }
    seen.add(name);
    const valueProblem = headerValueProblem(header.value);
    if (valueProblem) problems.push({ field: `headers.${index}.value`, message: valueProblem });
  });
  return problems;
}

/** Svix makes 24-byte keys; a shorter `whsec_` key is a typo or a truncated paste. */
const MIN_STANDARD_KEY_BYTES = 24;

/**
 * A secret must be one both receiver readings can use: `standardwebhooks` and `svix` take a
 * plain secret as Latin-1 code units (`format: "raw"`), so only ASCII means the same bytes to
 * them and to Hookpost, and a `whsec_` secret must be base64 they can decode.
 */
export function checkSecret(secret: string): FieldProblem[] {
  const problem = (message: string): FieldProblem[] => [{ field: "secret", message }];
  if (secret.trim() === "") return problem("must not be only whitespace");
  if (!/^[!-~]+$/.test(secret)) {
    return problem(
      "must be printable ASCII without spaces: receiver libraries (standardwebhooks, svix) cannot use other characters",
    );
  }
  if (secret.length < 8) {
    return problem("must be at least 8 characters (or omitted to generate one)");
  }
  if (!secret.startsWith(STANDARD_SECRET_PREFIX)) return [];
  const key = secret.slice(STANDARD_SECRET_PREFIX.length);
  if (key.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
    return problem(
      `after "${STANDARD_SECRET_PREFIX}" must come the key in standard base64, padded (the Standard Webhooks and Svix form)`,
    );
  }
  const bytes = Buffer.from(key, "base64").length;
  return bytes < MIN_STANDARD_KEY_BYTES
    ? problem(
        `a ${STANDARD_SECRET_PREFIX} key must be at least ${MIN_STANDARD_KEY_BYTES} bytes; this one is ${bytes}`,
      )
    : [];
}

/**
 * Content-type keys of `eventTypes` are 1–`MAX_CONTENT_TYPE_KEY_LENGTH` (100) characters, as
 * every content-type key. A schema cannot say so (a record's key schema is a pattern), hence
 * the check; the key count and the arrays are bounded by it.
 */
export function checkEventTypes(eventTypes: Readonly<Record<string, unknown>>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(eventTypes)) {
    if (key.length === 0) {
      problems.push({ field: "eventTypes", message: "a content-type key must not be empty" });
    } else if (key.length > MAX_CONTENT_TYPE_KEY_LENGTH) {
      problems.push({
        field: "eventTypes",
        message: `content-type key "${key.slice(0, 40)}…" is ${key.length} characters; at most ${MAX_CONTENT_TYPE_KEY_LENGTH}`,
      });
    }
  }
  return problems;
}

/** A custom payload template's bound as JSON text: ample for any envelope a receiver wants. */
export const MAX_CUSTOM_PAYLOAD_BYTES = 64 * 1024;

/** The custom payload template within {@link MAX_CUSTOM_PAYLOAD_BYTES} as JSON text. */
export function checkCustomPayload(template: unknown): FieldProblem[] {
  const bytes = Buffer.byteLength(JSON.stringify(template) ?? "");
  return bytes > MAX_CUSTOM_PAYLOAD_BYTES
    ? [
        {
          field: "customPayload",
          message: `must be at most ${MAX_CUSTOM_PAYLOAD_BYTES} bytes as JSON; this one is ${bytes}`,
        },
      ]
    : [];
}

/** Normalises an address list for storage: `a@x.com, b@y.com`, or null when empty. */
export function normaliseErrorEmailTo(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const { addresses } = parseAddressList(value);
  return addresses.length === 0 ? null : addresses.join(", ");
}
