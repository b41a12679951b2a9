/**
 * The dashboard's only way to the server: Hookpost's public REST API, with the key in
 * `X-Api-Key`. The key is kept in sessionStorage (gone when the tab closes; never a cookie,
 * never in a URL). Errors come back as {@link ApiError} carrying the API's envelope, so a view
 * can show the server's own words ("endpoint: Expected string").
 */

import type { KeyIdentity } from "../../api-keys/model.ts";
import type {
  Attempt,
  DeliveryLogEntry,
  DeliveryLogPage,
  PayloadPreview,
  PayloadPreviewInput,
  ReplayInput,
  ReplayResult,
} from "../../deliveries/model.ts";
import type { PingResult, RotateSecretInput, Webhook } from "../../webhooks/model.ts";
import type { StatsWindow, WebhookStats } from "./stats.ts";

const KEY_STORAGE = "hookpost.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** A refusal from the API: its status and the `error` of its envelope. */
export class ApiError extends Error {
  override name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function envelopeError(status: number, body: unknown): ApiError {
  if (typeof body === "object" && body !== null && "error" in body) {
    const { error } = body;
    if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
      return new ApiError(status, String(error.code), String(error.message));
    }
  }
  return new ApiError(status, "http_error", `the server answered ${status}`);
}

/** What the delivery log can be filtered by: the query parameters of `GET …/events`. */
export type LogFilters = Partial<
  Record<
    | "status"
    | "state"
    | "eventType"
    | "contentType"
    | "from"
    | "to"
    | "statusCodeFrom"
    | "statusCodeTo"
    | "cursor",
    string
  >
>;

export class ApiClient {
  /**
   * `onRefused` is told when the server stops accepting the key (revoked while signed in), so
   * the dashboard can ask for another instead of failing view by view.
   */
  constructor(
    readonly key: string,
    private readonly onRefused: () => void = () => {},
  ) {}

  async request<Answer>(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { "x-api-key": this.key };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: only an error answer can be, and envelopeError names its status.
    }
    if (response.status === 401) this.onRefused();
    if (!response.ok) throw envelopeError(response.status, parsed);
    return parsed as Answer;
  }

  me() {
    return this.request<KeyIdentity>("GET", "/me");
  }

  webhooks() {
    return this.request<Webhook[]>("GET", "/webhooks");
  }

  webhook(id: string) {
    return this.request<Webhook>("GET", `/webhooks/${encodeURIComponent(id)}`);
  }

  saveWebhook(input: Record<string, unknown>) {
    return this.request<Webhook>("PUT", "/webhooks", input);
  }

  setEnabled(id: string, enabled: boolean) {
    const action = enabled ? "enable" : "disable";
    return this.request<Webhook>("POST", `/webhooks/${encodeURIComponent(id)}/${action}`);
  }

  rotateSecret(id: string, input: RotateSecretInput) {
    return this.request<Webhook>(
      "POST",
      `/webhooks/${encodeURIComponent(id)}/rotate-secret`,
      input,
    );
  }

  sendTest(id: string) {
    return this.request<PingResult>("POST", `/webhooks/${encodeURIComponent(id)}/test`);
  }

  log(id: string, filters: LogFilters) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    const suffix = query.size > 0 ? `?${query}` : "";
    return this.request<DeliveryLogPage>(
      "GET",
      `/webhooks/${encodeURIComponent(id)}/events${suffix}`,
    );
  }

  attempts(id: string, deliveryId: string) {
    return this.request<Attempt[]>(
      "GET",
      `/webhooks/${encodeURIComponent(id)}/events/${encodeURIComponent(deliveryId)}/attempts`,
    );
  }

  retry(id: string, deliveryId: string) {
    return this.request<DeliveryLogEntry>(
      "POST",
      `/webhooks/${encodeURIComponent(id)}/events/${encodeURIComponent(deliveryId)}/retry`,
    );
  }

  replay(id: string, window: ReplayInput) {
    return this.request<ReplayResult>("POST", `/webhooks/${encodeURIComponent(id)}/replay`, window);
  }

  previewPayload(input: PayloadPreviewInput) {
    return this.request<PayloadPreview>("POST", "/webhooks/preview-payload", input);
  }

  stats(id: string, window: StatsWindow) {
    return this.request<WebhookStats>(
      "GET",
      `/webhooks/${encodeURIComponent(id)}/stats?window=${window}`,
    );
  }
}
