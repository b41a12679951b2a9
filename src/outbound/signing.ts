/**
 * The signature headers of SPEC §6.1, computed over the exact body bytes at attempt time:
 * `Contit-Signature` (seed 000's scheme) and the Standard Webhooks trio, so receivers written
 * for either verify Hookpost's requests unchanged.
 *
 * While a secret rotated with a grace period has its previous one still in use (issue 16),
 * every request is signed with both. `webhook-signature` lists both, space-separated, as the
 * Standard Webhooks specification allows (its libraries accept any one that verifies).
 * `Contit-Signature` keeps seed 000's one-signature form and, until the grace ends, the previous
 * secret's signature — what every receiver verifies at the moment of rotation — while
 * `Contit-Signature-Next` carries the new secret's in the same form: a receiver that reads only
 * `Contit-Signature` switches to the new secret when the grace ends; one that also reads
 * `Contit-Signature-Next` may switch any time within it.
 */

import { createHmac } from "node:crypto";

export interface SignatureHeaders {
  "contit-signature": string;
  /** Only while a previous secret is in use: the new secret's `Contit-Signature`. */
  "contit-signature-next"?: string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The names of {@link SignatureHeaders}: headers only signing may set. */
export const SIGNATURE_HEADERS = [
  "contit-signature",
  "contit-signature-next",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
] as const satisfies readonly (keyof SignatureHeaders)[];

/** The secrets a request is signed with: the current one, and the previous one in its grace. */
export interface SigningSecrets {
  secret: string;
  /** Null unless a rotation's grace period runs (see `previousSecretOf`). */
  previous: string | null;
}

/** The prefix of a Standard Webhooks / Svix secret: `whsec_` + the key in base64. */
export const STANDARD_SECRET_PREFIX = "whsec_";

/**
 * The key of the `webhook-signature` HMAC: for a `whsec_<base64>` secret the decoded bytes,
 * which is what `new Webhook(secret)` of `standardwebhooks` and `svix` uses by default; for any
 * other secret its bytes as given (their `format: "raw"`). Validation admits only secrets both
 * readings agree on (printable ASCII, and valid base64 after `whsec_`).
 */
export function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith(STANDARD_SECRET_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), "base64")
    : Buffer.from(secret, "utf8");
}

/**
 * The secrets to sign with at `now`: a webhook's secret, and its previous one while the grace
 * period of its rotation runs.
 */
export function signingSecrets(
  webhook: { secret: string; previous_secret: string | null; previous_secret_until: number | null },
  now: number,
): SigningSecrets {
  const inGrace =
    webhook.previous_secret !== null &&
    webhook.previous_secret_until !== null &&
    webhook.previous_secret_until > now;
  return { secret: webhook.secret, previous: inGrace ? webhook.previous_secret : null };
}

/** Seed 000's `t={t},s={hex}`: hex = HMAC-SHA256(secret as UTF-8, `{t}.{body}`). */
function contitSignature(secret: string, timestamp: number, body: string): string {
  const hex = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},s=${hex}`;
}

/** One `v1,{base64}` of `webhook-signature`, over `{id}.{t}.{body}`. */
function standardSignature(secret: string, messageId: string, timestamp: number, body: string) {
  const base64 = createHmac("sha256", standardWebhooksKey(secret))
    .update(`${messageId}.${timestamp}.${body}`)
    .digest("base64");
  return `v1,${base64}`;
}

/**
 * @param secrets the webhook's secret — `Contit-Signature` uses it as UTF-8 bytes, as seed 000
 *   says, whatever its form; `webhook-signature` uses {@link standardWebhooksKey} — and the
 *   previous one while its grace runs (see the file's header for where each signature goes)
 * @param messageId the delivery id (`webhook-id`)
 * @param timestamp Unix seconds of this attempt
 */
export function signatureHeaders(
  secrets: SigningSecrets,
  messageId: string,
  body: string,
  timestamp: number,
): SignatureHeaders {
  const { secret, previous } = secrets;
  const current = {
    "webhook-id": messageId,
    "webhook-timestamp": String(timestamp),
  };
  if (previous === null) {
    return {
      "contit-signature": contitSignature(secret, timestamp, body),
      ...current,
      "webhook-signature": standardSignature(secret, messageId, timestamp, body),
    };
  }
  return {
    "contit-signature": contitSignature(previous, timestamp, body),
    "contit-signature-next": contitSignature(secret, timestamp, body),
    ...current,
    "webhook-signature": `${standardSignature(secret, messageId, timestamp, body)} ${standardSignature(previous, messageId, timestamp, body)}`,
  };
}

/** What of a webhook the request headers depend on. */
export interface HeaderSource extends SigningSecrets {
  /**
   * The webhook's own headers: JSON text of `[{key, value}]`, as the `headers` column holds
   * it (written by Hookpost from validated input, so it parses to that shape).
   */
  headers: string;
}

/**
 * Every header of an outbound request: the webhook's own headers, then the fixed ones, then
 * the signatures (a webhook cannot override those: `PUT /webhooks` refuses the names).
 * @param userAgent the `User-Agent` value (the app's name and version, which this folder
 *   does not import)
 */
export function requestHeaders(
  webhook: HeaderSource,
  messageId: string,
  body: string,
  timestamp: number,
  userAgent: string,
): { headers: Record<string, string>; signature: string } {
  const signature = signatureHeaders(webhook, messageId, body, timestamp);
  const custom = JSON.parse(webhook.headers) as { key: string; value: string }[];
  return {
    headers: {
      ...Object.fromEntries(custom.map((entry) => [entry.key.toLowerCase(), entry.value])),
      "content-type": "application/json",
      "user-agent": userAgent,
      ...signature,
    },
    signature: signature["contit-signature"],
  };
}
