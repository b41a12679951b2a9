/**
 * One outbound HTTP attempt (SPEC §6.1–6.3): resolve the endpoint through the outbound guard,
 * connect to the checked address (the URL's host is sent as `Host` and, for HTTPS, as the TLS
 * server name, so there is no DNS-rebinding window), POST the stored body without following
 * redirects, and read at most 64 KB of the answer. Never throws: every failure becomes a
 * result with a readable error.
 *
 * Answers are asked for and read uncompressed (`Accept-Encoding: identity`, and Bun's own
 * decompression off): the 64 KB cap counts bytes as they arrive, and a 1 MB gzip bomb would
 * otherwise be inflated towards 1 GiB behind it. A receiver that compresses anyway gets its
 * status recorded and its body described, not decoded.
 */

import { checkServerIdentity } from "node:tls";
import { BlockedTargetError, type OutboundGuard, ResolveError } from "./outbound-guard.ts";

/** The most of a response body that is read; the rest is discarded unread. */
export const RESPONSE_READ_LIMIT = 64 * 1024;
/** The most of a response body that is stored. */
export const RESPONSE_STORE_LIMIT = 2000;

export interface OutboundRequest {
  endpoint: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
  /**
   * How much of the response body to keep (default {@link RESPONSE_STORE_LIMIT}); a caller
   * that parses the answer, such as an OAuth2 token request, keeps up to the read limit.
   */
  maxResponseChars?: number;
}

export interface AttemptResult {
  /** The status code, or null when no response arrived. */
  statusCode: number | null;
  /** Null on success; otherwise what went wrong, for people (`connection refused`, `HTTP 500`). */
  error: string | null;
  /** The response body cut to 2,000 characters, or null when there was no response. */
  responseBody: string | null;
  /** The response's reason phrase, when it had one. */
  statusText: string | null;
  /** The response's `Retry-After` header, raw. */
  retryAfter: string | null;
  durationMs: number;
  /** True when `signal` aborted the attempt (shutdown), not a timeout or a network fault. */
  aborted: boolean;
}

export function isSuccessStatus(status: number | null): boolean {
  return status !== null && status >= 200 && status < 300;
}

/** The URL with its host replaced by the checked address; port, path and query kept. */
function pinnedUrl(url: URL, address: string, family: 4 | 6): string {
  const pinned = new URL(url.href);
  pinned.hostname = family === 6 ? `[${address}]` : address;
  return pinned.href;
}

function networkError(error: unknown): string {
  const code =
    error && typeof error === "object" && "code" in error && typeof error.code === "string"
      ? error.code
      : null;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset by the server";
    case "ETIMEDOUT":
      return "connection timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "CERT_HAS_EXPIRED":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS certificate rejected (${code})`;
    case "Malformed_HTTP_Response":
    case "HPE_INVALID_CONSTANT":
      return "malformed HTTP response (the server did not answer with HTTP)";
    default: {
      const message = error instanceof Error ? error.message : String(error);
      const text = code && !message.includes(code) ? `${code}: ${message}` : message;
      return text.length > 300 ? `${text.slice(0, 300)}…` : text;
    }
  }
}

/** What is recorded instead of a body sent with a `Content-Encoding` that was not asked for. */
function encodedBody(encoding: string): string {
  return `(a body with Content-Encoding ${encoding.slice(0, 50)}, not decoded: Hookpost asks for identity)`;
}

/**
 * The length of a message's body when its headers declare one the HTTP parser holds it to: a
 * Content-Length that is a whole number, and no Transfer-Encoding (chunked overrides a length
 * sent beside it, so such a length says nothing). Null otherwise. Such a body can be read whole
 * once its length is known to be within a cap; any other is read chunk by chunk, up to the cap.
 */
export function heldLength(headers: Headers): number | null {
  if (headers.has("transfer-encoding")) return null;
  const declared = Number(headers.get("content-length") ?? Number.NaN);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
}

/** Reads up to {@link RESPONSE_READ_LIMIT} bytes, then stops; returns the text cut to `keep`. */
/**
 * The answer as it can be stored: a NUL (U+0000), which a receiver may well send but PostgreSQL
 * text cannot hold, becomes U+FFFD, so the outcome is recorded on either backend.
 */
function storable(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

async function readCapped(response: Response, keep: number): Promise<string> {
  const encoding = response.headers.get("content-encoding")?.trim() ?? "";
  if (encoding !== "" && encoding.toLowerCase() !== "identity") {
    await response.body?.cancel().catch(() => undefined);
    return encodedBody(encoding).slice(0, keep);
  }
  // A held length within the cap is read whole: the common small answer skips the stream
  // machinery. Anything else is read chunk by chunk, up to the cap.
  const length = heldLength(response.headers);
  if (length !== null && length <= RESPONSE_READ_LIMIT) {
    return (await response.text()).slice(0, keep);
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_READ_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= RESPONSE_READ_LIMIT) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  const bytes = new Uint8Array(Math.min(size, RESPONSE_READ_LIMIT));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.byteLength - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
    if (offset >= bytes.byteLength) break;
  }
  return new TextDecoder().decode(bytes).slice(0, keep);
}

/**
 * The result of an attempt that got no response: refused by the outbound guard, a network
 * failure, a timeout — or, for callers, a request never sent (a token or a hook failed).
 */
export function noResponse(error: string, durationMs: number, aborted = false): AttemptResult {
  return {
    statusCode: null,
    error,
    responseBody: null,
    statusText: null,
    retryAfter: null,
    durationMs,
    aborted,
  };
}

function failure(
  started: number,
  error: string,
  aborted = false,
  response?: { statusCode: number; body: string; statusText: string; retryAfter: string | null },
): AttemptResult {
  const result = noResponse(error, Math.round(performance.now() - started), aborted);
  if (!response) return result;
  return {
    ...result,
    statusCode: response.statusCode,
    responseBody: response.body,
    statusText: response.statusText,
    retryAfter: response.retryAfter,
  };
}

function statusError(response: Response): string | null {
  if (isSuccessStatus(response.status)) return null;
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location");
    return `redirect not followed (HTTP ${response.status}${location ? ` to ${location.slice(0, 200)}` : ""})`;
  }
  return `HTTP ${response.status}`;
}

class Aborted extends Error {}

/** `work`, or a rejection with {@link Aborted} as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export async function sendAttempt(
  guard: OutboundGuard,
  request: OutboundRequest,
): Promise<AttemptResult> {
  const started = performance.now();
  let url: URL;
  try {
    url = new URL(request.endpoint);
  } catch {
    return failure(started, `invalid endpoint URL ${request.endpoint}`);
  }
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), request.timeoutMs);
  const signal = request.signal
    ? AbortSignal.any([timeout.signal, request.signal])
    : timeout.signal;
  const whyAborted = (error: unknown): AttemptResult => {
    if (request.signal?.aborted)
      return failure(started, "aborted: Hookpost is shutting down", true);
    if (timeout.signal.aborted) return failure(started, `timeout after ${request.timeoutMs} ms`);
    return failure(started, networkError(error));
  };
  try {
    let target: Awaited<ReturnType<OutboundGuard["resolve"]>>;
    try {
      // The lookup counts against the attempt's timeout too: a resolver that never answers
      // must not hold a delivery's slot forever.
      target = await untilAborted(guard.resolve(url), signal);
    } catch (error) {
      if (error instanceof BlockedTargetError || error instanceof ResolveError) {
        return failure(started, error.message);
      }
      if (error instanceof Aborted) return whyAborted(error);
      throw error;
    }
    if (signal.aborted) return whyAborted(null);
    const isHttps = url.protocol === "https:";
    const namedHost = target.address !== target.hostname;
    let response: Response;
    try {
      response = await fetch(pinnedUrl(url, target.address, target.family), {
        method: "POST",
        headers: { ...request.headers, host: url.host, "accept-encoding": "identity" },
        body: request.body,
        redirect: "manual",
        decompress: false,
        signal,
        ...(isHttps && namedHost
          ? {
              tls: {
                serverName: target.hostname,
                checkServerIdentity: (
                  _host: string,
                  cert: Parameters<typeof checkServerIdentity>[1],
                ) => checkServerIdentity(target.hostname, cert),
              },
            }
          : {}),
      });
    } catch (error) {
      return whyAborted(error);
    }
    const head = {
      statusCode: response.status,
      statusText: response.statusText,
      retryAfter: response.headers.get("retry-after"),
    };
    let body: string;
    try {
      body = await readCapped(response, request.maxResponseChars ?? RESPONSE_STORE_LIMIT);
    } catch (error) {
      const reason = whyAborted(error);
      if (reason.aborted) return reason;
      return failure(started, `${reason.error} while reading the response`, false, {
        ...head,
        body: "",
      });
    }
    const error = statusError(response);
    return {
      ...head,
      error,
      responseBody: storable(body),
      durationMs: Math.round(performance.now() - started),
      aborted: false,
    };
  } finally {
    clearTimeout(timer);
  }
}
