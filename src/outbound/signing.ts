/**
 * The signature headers of SPEC §6.1, computed over the exact body bytes at attempt time:
 * `Contit-Signature` (seed 000's scheme) and the Standard Webhooks trio, so receivers written
 * for either verify Hookpost's requests unchanged.
 */

import { createHmac } from "node:crypto";

export interface SignatureHeaders {
  "contit-signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The names of {@link SignatureHeaders}: headers only signing may set. */
export const SIGNATURE_HEADERS = [
  "contit-signature",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
] as const satisfies readonly (keyof SignatureHeaders)[];

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
 * @param secret the webhook's secret: `Contit-Signature` uses it as UTF-8 bytes, as seed 000
 *   says, whatever its form; `webhook-signature` uses {@link standardWebhooksKey}
 * @param messageId the delivery id (`webhook-id`)
 * @param timestamp Unix seconds of this attempt
 */
export function signatureHeaders(
  secret: string,
  messageId: string,
  body: string,
  timestamp: number,
): SignatureHeaders {
  const contit = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  const standard = createHmac("sha256", standardWebhooksKey(secret))
    .update(`${messageId}.${timestamp}.${body}`)
    .digest("base64");
  return {
    "contit-signature": `t=${timestamp},s=${contit}`,
    "webhook-id": messageId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${standard}`,
  };
}

/** What of a webhook row the request headers depend on. */
export interface HeaderSource {
  secret: string;
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
  const signature = signatureHeaders(webhook.secret, messageId, body, timestamp);
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
