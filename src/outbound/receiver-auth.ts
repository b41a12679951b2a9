/**
 * Receiver authentication at send time (seed 002). `basic` and `bearer` add a fixed
 * `Authorization` header. `oauth2` first gets an access token with the client-credentials
 * grant — a form POST to the token URL through the same outbound guard and address pinning as
 * deliveries — and caches it per webhook until 30 s before it expires; a 401 from the receiver
 * drops it, so the next attempt asks for a new one. When no token can be had, the attempt fails
 * with a clear error — which never quotes the token endpoint's answer — and the delivery body
 * is not sent.
 */

import { createHash } from "node:crypto";
import type { OutboundGuard } from "./outbound-guard.ts";
import {
  type AttemptResult,
  isSuccessStatus,
  noResponse,
  type OutboundRequest,
  RESPONSE_READ_LIMIT,
  sendAttempt,
} from "./sender.ts";

/** A cached token is used until this long before it expires. */
export const TOKEN_EXPIRY_MARGIN_MS = 30_000;
/** How long a token is kept when the token endpoint does not say (`expires_in` missing). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;
/**
 * The longest a token request may take (or the attempt's own timeout, if shorter), so a token
 * request does not hold a delivery's slot much past the attempt's own timeout.
 */
export const TOKEN_TIMEOUT_MS = 10_000;
/** Prefix of every error about getting a token, as the delivery log shows it. */
export const TOKEN_ERROR_PREFIX = "oauth2 token request failed";

/**
 * How to authenticate to a receiver, as sending reads it: the shape of a webhook's `auth`
 * (seed 002), whose schema `webhooks/model.ts` owns; a test keeps the two the same.
 */
export type ReceiverCredentials =
  | { type: "none" }
  | { type: "basic"; username: string; password: string }
  | { type: "bearer"; token: string }
  | { type: "oauth2"; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };

type OAuth2Auth = Extract<ReceiverCredentials, { type: "oauth2" }>;

interface Token {
  value: string;
  /** When the cached token stops being used (ms). */
  usableUntil: number;
}

type TokenOutcome = { ok: true; token: Token } | { ok: false; error: string; aborted: boolean };

interface CacheEntry {
  /** Which credentials the token was issued for: changed credentials mean a new token. */
  fingerprint: string;
  token?: Token;
  /** A token request in flight, shared by the attempts that need it meanwhile. */
  pending?: Promise<TokenOutcome>;
}

export interface AuthenticatedSend {
  result: AttemptResult;
  /** The headers sent (or that would have been): for the attempt record, which masks them. */
  headers: Record<string, string>;
}

/** Beyond this many cached webhooks, expired tokens are swept out when a new one is stored. */
const SWEEP_ABOVE = 1000;

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

function fingerprintOf(auth: OAuth2Auth): string {
  return createHash("sha256")
    .update(JSON.stringify([auth.tokenUrl, auth.clientId, auth.clientSecret, auth.scope ?? null]))
    .digest("base64");
}

/**
 * Why a token request failed, quoting nothing the token endpoint sent: an endpoint that echoes
 * its request (some do, in their error pages) would put `client_secret=…` in the delivery log,
 * the ping answer and the failure mail, where a read key sees it. The status, and a fixed text.
 */
function tokenFailure(result: AttemptResult): string {
  const status = result.statusCode;
  // No answer, or one that broke off: the error is Hookpost's own words.
  if (status === null || isSuccessStatus(status)) return result.error ?? "no answer";
  const redirect = status >= 300 && status < 400 ? " (a redirect, not followed)" : "";
  return `the token endpoint answered HTTP ${status}${redirect}; its answer is not shown, as it may repeat the credentials`;
}

/** Why a token request's answer gives no token, or the token and its lifetime in seconds. */
function readTokenAnswer(
  body: string,
): { ok: true; token: string; expiresIn: number } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Some servers answer form-encoded despite `Accept: application/json`. Anything else is
    // not quoted: a 2xx answer may hold a token, which must not reach the delivery log.
    const form = new URLSearchParams(body);
    if (!form.has("access_token")) return { ok: false, error: "the answer is not JSON" };
    parsed = Object.fromEntries(form);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { ok: false, error: "the answer is not a JSON object" };
  }
  const answer = parsed as Record<string, unknown>;
  const token = answer.access_token;
  if (typeof token !== "string" || token === "") {
    return { ok: false, error: "the answer has no access_token" };
  }
  if (!/^[!-~]+$/.test(token)) {
    return { ok: false, error: "the access_token is not a valid header value" };
  }
  const raw = answer.expires_in;
  const expiresIn = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  return {
    ok: true,
    token,
    expiresIn:
      typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn >= 0
        ? expiresIn
        : DEFAULT_TOKEN_LIFETIME_SECONDS,
  };
}

/** The header value for the credentials that need no round trip. */
function fixedAuthorization(
  auth: Exclude<ReceiverCredentials, { type: "none" | "oauth2" }>,
): string {
  return auth.type === "basic"
    ? `Basic ${base64(`${auth.username}:${auth.password}`)}`
    : `Bearer ${auth.token}`;
}

/**
 * Sends requests to receivers with their webhook's authentication, and holds the OAuth2 token
 * cache. One per app (made in `createApp`): the scheduler and the test ping share it.
 */
export class ReceiverAuthenticator {
  private readonly tokens = new Map<string, CacheEntry>();

  /** @param userAgent the token requests' `User-Agent` (deliveries carry their own headers) */
  constructor(
    private readonly guard: OutboundGuard,
    private readonly userAgent: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Sends `request` with the `Authorization` header `auth` calls for. Never throws: a token
   * that cannot be had is a failed result (`statusCode` null) and the receiver is not called.
   */
  async send(
    webhookId: string,
    auth: ReceiverCredentials,
    request: OutboundRequest,
  ): Promise<AuthenticatedSend> {
    if (auth.type === "none") {
      return { result: await sendAttempt(this.guard, request), headers: request.headers };
    }
    if (auth.type !== "oauth2") {
      const headers = { ...request.headers, authorization: fixedAuthorization(auth) };
      return { result: await sendAttempt(this.guard, { ...request, headers }), headers };
    }
    const started = performance.now();
    const outcome = await this.token(webhookId, auth, request);
    if (!outcome.ok) {
      return {
        result: noResponse(
          `${TOKEN_ERROR_PREFIX}: ${outcome.error}`,
          Math.round(performance.now() - started),
          outcome.aborted,
        ),
        headers: request.headers,
      };
    }
    const headers = { ...request.headers, authorization: `Bearer ${outcome.token.value}` };
    const result = await sendAttempt(this.guard, { ...request, headers });
    if (result.statusCode === 401) this.forget(webhookId, outcome.token);
    return { result, headers };
  }

  /** The cached token if still usable, else the one being fetched, else a new request. */
  private token(
    webhookId: string,
    auth: OAuth2Auth,
    request: OutboundRequest,
  ): Promise<TokenOutcome> {
    const fingerprint = fingerprintOf(auth);
    const entry = this.tokens.get(webhookId);
    if (entry?.fingerprint === fingerprint) {
      if (entry.token && entry.token.usableUntil > this.clock()) {
        return Promise.resolve({ ok: true, token: entry.token });
      }
      if (entry.pending) return entry.pending;
    }
    const pending: Promise<TokenOutcome> = this.requestToken(auth, request).then((outcome) => {
      if (this.tokens.get(webhookId)?.pending === pending) {
        if (outcome.ok) this.store(webhookId, { fingerprint, token: outcome.token });
        else this.tokens.delete(webhookId);
      }
      return outcome;
    });
    this.tokens.set(webhookId, { fingerprint, pending });
    return pending;
  }

  private store(webhookId: string, entry: CacheEntry): void {
    if (this.tokens.size > SWEEP_ABOVE) {
      const now = this.clock();
      for (const [id, cached] of this.tokens) {
        if (cached.token && cached.token.usableUntil <= now) this.tokens.delete(id);
      }
    }
    this.tokens.set(webhookId, entry);
  }

  /** The receiver refused the token: the next attempt asks for a new one. */
  private forget(webhookId: string, token: Token): void {
    if (this.tokens.get(webhookId)?.token === token) this.tokens.delete(webhookId);
  }

  /** The client-credentials grant (RFC 6749 §4.4), credentials in the form body. */
  private async requestToken(auth: OAuth2Auth, request: OutboundRequest): Promise<TokenOutcome> {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
    });
    if (auth.scope !== undefined) form.set("scope", auth.scope);
    const requestedAt = this.clock();
    const result = await sendAttempt(this.guard, {
      endpoint: auth.tokenUrl,
      body: form.toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        "user-agent": this.userAgent,
      },
      timeoutMs: Math.min(request.timeoutMs, TOKEN_TIMEOUT_MS),
      signal: request.signal,
      maxResponseChars: RESPONSE_READ_LIMIT,
    });
    if (result.error !== null) {
      return { ok: false, error: tokenFailure(result), aborted: result.aborted };
    }
    const answer = readTokenAnswer(result.responseBody ?? "");
    if (!answer.ok) return { ok: false, error: answer.error, aborted: false };
    return {
      ok: true,
      token: {
        value: answer.token,
        usableUntil: requestedAt + answer.expiresIn * 1000 - TOKEN_EXPIRY_MARGIN_MS,
      },
    };
  }
}
