/**
 * Stored credentials of a webhook — receiver authentication (seed 002) and credential-looking
 * custom headers — are never shown: every response carries "********" in their place. A client
 * may send that mask back on update to keep the stored value, so it can `PUT` what it `GET`s.
 * Pure functions: masking for responses, and resolving masks against the stored values.
 */

import type { FieldProblem } from "../errors.ts";
import { MASKED, type ReceiverAuth } from "./model.ts";

type HeaderEntry = { key: string; value: string };

/**
 * Header names whose values are credentials (`Authorization`, `X-Api-Key`, `x-functions-key`,
 * `Ocp-Apim-Subscription-Key`, `Cookie`, …); the same test masks attempt records.
 */
const CREDENTIAL_HEADER =
  /auth|cookie|token|secret|password|passwd|credential|session|api[-_]?key|(^|[-_])key$/i;

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

/** The receiver authentication as every response shows it: secrets replaced by the mask. */
export function maskAuth(auth: ReceiverAuth): ReceiverAuth {
  switch (auth.type) {
    case "none":
      return auth;
    case "basic":
      return { ...auth, password: MASKED };
    case "bearer":
      return { ...auth, token: MASKED };
    case "oauth2":
      return { ...auth, clientSecret: MASKED };
  }
}

/** Custom headers as every response shows them: credential-looking values masked. */
export function maskHeaderValues(headers: readonly HeaderEntry[]): HeaderEntry[] {
  return headers.map((header) =>
    isCredentialHeader(header.key) ? { key: header.key, value: MASKED } : header,
  );
}

export interface Resolved<T> {
  value: T;
  problems: FieldProblem[];
}

function cannotKeep(field: string, reason: string): FieldProblem {
  return {
    field,
    message: `is masked ("${MASKED}") and ${reason}: send the real value`,
  };
}

/**
 * The authentication to store, given what the client sent and what is stored (none on create).
 * A masked secret keeps the stored one when the `type` is unchanged; otherwise it is a problem
 * naming the field (`auth.password`), since the real value cannot be recovered.
 */
export function resolveAuth(
  input: ReceiverAuth,
  stored: ReceiverAuth | undefined,
): Resolved<ReceiverAuth> {
  const reason =
    stored !== undefined && stored.type !== input.type
      ? `auth.type changed from ${stored.type} to ${input.type}`
      : "there is no stored value to keep";
  const problems: FieldProblem[] = [];
  const keep = (field: string, sent: string, kept: string | undefined): string => {
    if (sent !== MASKED) return sent;
    if (kept !== undefined) return kept;
    problems.push(cannotKeep(`auth.${field}`, reason));
    return sent;
  };
  switch (input.type) {
    case "none":
      return { value: input, problems };
    case "basic": {
      const kept = stored?.type === "basic" ? stored.password : undefined;
      return { value: { ...input, password: keep("password", input.password, kept) }, problems };
    }
    case "bearer": {
      const kept = stored?.type === "bearer" ? stored.token : undefined;
      return { value: { ...input, token: keep("token", input.token, kept) }, problems };
    }
    case "oauth2": {
      const kept = stored?.type === "oauth2" ? stored.clientSecret : undefined;
      return {
        value: { ...input, clientSecret: keep("clientSecret", input.clientSecret, kept) },
        problems,
      };
    }
  }
}

/**
 * The custom headers to store: a masked value of a credential-looking header keeps the stored
 * value of the header with the same name (case-insensitive), or is a problem naming the field.
 */
export function resolveHeaders(
  input: readonly HeaderEntry[],
  stored: readonly HeaderEntry[],
): Resolved<HeaderEntry[]> {
  const problems: FieldProblem[] = [];
  const value = input.map((header, index) => {
    if (header.value !== MASKED || !isCredentialHeader(header.key)) return header;
    const name = header.key.toLowerCase();
    const kept = stored.find((entry) => entry.key.toLowerCase() === name);
    if (kept) return { key: header.key, value: kept.value };
    problems.push(
      cannotKeep(`headers.${index}.value`, `no header "${header.key}" is stored to keep`),
    );
    return header;
  });
  return { value, problems };
}
