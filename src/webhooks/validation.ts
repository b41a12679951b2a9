/**
 * The rules a webhook configuration must satisfy beyond its schema's types. Each check is a
 * pure function returning the problems it found, so one 400 can name every offending field.
 */

import type { FieldProblem } from "../errors.ts";
import { parseAddressList } from "../mail/address-list.ts";

/** Headers Hookpost sets itself; a webhook may not override them. */
const RESERVED_HEADERS = new Set([
  "content-length",
  "content-type",
  "host",
  "transfer-encoding",
  "connection",
  "user-agent",
  "contit-signature",
  "contit-test",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
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

export function checkHeaders(headers: readonly { key: string }[]): FieldProblem[] {
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
  });
  return problems;
}

export function checkSecret(secret: string): FieldProblem[] {
  return secret.length < 8
    ? [{ field: "secret", message: "must be at least 8 characters (or omitted to generate one)" }]
    : [];
}

/** Normalises an address list for storage: `a@x.com, b@y.com`, or null when empty. */
export function normaliseErrorEmailTo(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const { addresses } = parseAddressList(value);
  return addresses.length === 0 ? null : addresses.join(", ");
}
