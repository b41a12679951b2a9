/**
 * The schema as the compiler sees it: one interface per table, checked against every query.
 * Nullable columns are `T | null`; columns with a database default are `Generated<T>`.
 * Times are integer milliseconds since the epoch; JSON columns are text.
 */

import type { Generated, Insertable, Kysely, Selectable } from "kysely";

export interface WorkspaceTable {
  name: string;
  created_at: number;
}

export type Access = "read" | "write";

export interface ApiKeyTable {
  id: string;
  workspace: string;
  access: Access;
  key_hash: string;
  key_prefix: string;
  label: string | null;
  created_at: number;
  revoked_at: number | null;
}

export type HealthStatus = "unknown" | "working" | "failing" | "disabled";
export type RetryPolicy = "automatic" | "manual";
/** Which content an event is about, and which a webhook listens to: published or preview. */
export type Slot = "published" | "preview";

export interface WebhookTable {
  id: string;
  workspace: string;
  name: string;
  description: string | null;
  endpoint: string;
  secret: string;
  event_types: string;
  use_custom_payload: Generated<number>;
  custom_payload: string | null;
  template_engine: Generated<string>;
  error_email_to: string | null;
  enabled: Generated<number>;
  headers: Generated<string>;
  timeout_seconds: Generated<number>;
  max_attempts: number | null;
  retry_policy: Generated<RetryPolicy>;
  fail_count: Generated<number>;
  last_delivered_at: number | null;
  health_status: Generated<HealthStatus>;
  created_at: number;
  last_modified: number;
  /** JSON text of the receiver authentication, `{"type":"none"}` by default (credentials plain). */
  auth: Generated<string>;
  slot: Generated<Slot>;
  /** JSON text of language codes; `[]` means every language. */
  languages: Generated<string>;
  /** 1: one delivery at a time, in the order their events were accepted (issue 16). */
  ordered: Generated<number>;
  /** At most this many attempts start in any one-second window; null for no limit. */
  rate_limit_per_second: number | null;
  /** JSON text of the delays in seconds replacing the exponential backoff; null for backoff. */
  retry_schedule: string | null;
  /** The secret before the last rotation with a grace period: it signs too until then. */
  previous_secret: string | null;
  previous_secret_until: number | null;
  /** When the current streak of failed attempts began; null while the webhook has none. */
  failing_since: number | null;
}

export interface ContentTypeTable {
  workspace: string;
  key: string;
  name: string;
  fields: string;
  created_at: number;
  updated_at: number;
}

export interface EventTable {
  id: string;
  workspace: string;
  idempotency_key: string | null;
  event_type: number;
  content_type: string;
  content_id: string;
  fields: string;
  translations: string;
  source: string;
  created_at: number;
  slot: Generated<Slot>;
  language: string | null;
}

export interface DeliveryTable {
  id: string;
  workspace: string;
  webhook_id: string;
  event_id: string;
  retry_of: string | null;
  /**
   * The Standard Webhooks message id (`webhook-id`) of a retry or replay: the id of the original
   * delivery at the root of its `retry_of` chain. Null for an original, whose own id is its
   * message id.
   */
  message_id: string | null;
  event_type: number;
  content_type: string;
  content_id: string;
  /**
   * Unused: an event's content (fields, translations) is stored once, in `events`, and every
   * reader takes it from there. Rows written before that kept a copy here; new rows write
   * {@link NO_CONTENT_COPY}. Nothing reads these two columns; they stay (NOT NULL) only because
   * dropping them or relaxing NOT NULL means rebuilding the whole table, and old copies go with
   * their rows through retention.
   */
  fields: string;
  translations: string;
  custom_payload: string | null;
  body: string;
  process_status: Generated<number>;
  attempts: Generated<number>;
  max_attempts: number;
  next_attempt_at: number;
  /**
   * PostgreSQL: until when the node in `lease_owner` holds the delivery in flight
   * (store/postgres/queue.ts). Unused on SQLite since its migration 0013: taking a delivery
   * writes nothing there (store/in-flight.ts).
   */
  lease_until: number | null;
  /** PostgreSQL only (SQLite has no such column): the node holding the delivery in flight. */
  lease_owner?: string | null;
  response_status_code: number | null;
  response_message: string | null;
  last_error: string | null;
  duration_ms: number | null;
  signature: string | null;
  created_at: number;
  updated_at: number;
}

/** What a delivery row stores in its unused `fields`/`translations` columns (see DeliveryTable). */
export const NO_CONTENT_COPY = "";

export interface AttemptTable {
  id: string;
  delivery_id: string;
  /** Its delivery's webhook, so a webhook's attempts of a window are one index range (stats). */
  webhook_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  request_headers: string;
}

/**
 * `delivery_failed` and `webhook_disabled` (a `410 Gone`) are a delivery's failure;
 * `webhook_auto_disabled` says the webhook was disabled after failing too long (no delivery:
 * its `delivery_id` is empty, `attempts` its failed attempts in a row, `delivery_created_at`
 * when the streak began).
 */
export type NoticeKind = "delivery_failed" | "webhook_disabled" | "webhook_auto_disabled";

/** A delivery failure the webhook's owners are to be told about (the mail outbox). */
export interface FailureNoticeTable {
  id: string;
  workspace: string;
  webhook_id: string;
  delivery_id: string;
  kind: NoticeKind;
  status_code: number | null;
  error: string | null;
  attempts: number;
  occurred_at: number;
  delivery_created_at: number;
  recipients: string;
  webhook_label: string;
  endpoint_host: string;
  /** Null until a mail including this notice was accepted by the SMTP server. */
  mailed_at: number | null;
}

/** Per webhook: when the last failure mail went out, and the SMTP retry backoff. */
export interface MailStateTable {
  webhook_id: string;
  last_sent_at: number | null;
  failures: Generated<number>;
  next_attempt_at: Generated<number>;
  last_error: string | null;
}

/** Deliveries per webhook and status, kept by triggers (the delivery log's totals). */
export interface DeliveryCountTable {
  webhook_id: string;
  process_status: number;
  count: number;
}

/**
 * `retrying` and `exhausted` deliveries per webhook, kept by triggers (the state filter's
 * totals; `pending` and `failed` are their status's count minus these).
 */
export interface DeliveryStateCountTable {
  webhook_id: string;
  state: "retrying" | "exhausted";
  count: number;
}

/**
 * A number that moves whenever a webhook changes in a way that matters to delivery (moved by
 * triggers; see db/webhook-generation.ts): one row (id 1) for all webhooks.
 */
export interface WebhookGenerationTable {
  id: number;
  value: number;
}

/** The same number per workspace, moved only by that workspace's webhooks. */
export interface WebhookGenerationByWorkspaceTable {
  workspace: string;
  value: number;
}

export interface Database {
  workspaces: WorkspaceTable;
  api_keys: ApiKeyTable;
  webhooks: WebhookTable;
  content_types: ContentTypeTable;
  events: EventTable;
  deliveries: DeliveryTable;
  attempts: AttemptTable;
  failure_notices: FailureNoticeTable;
  mail_state: MailStateTable;
  delivery_counts: DeliveryCountTable;
  delivery_state_counts: DeliveryStateCountTable;
  webhook_generation: WebhookGenerationTable;
  webhook_generation_by_workspace: WebhookGenerationByWorkspaceTable;
}

/** The database, or a transaction on it: repositories accept either. */
export type Executor = Kysely<Database>;

export type ApiKeyRow = Selectable<ApiKeyTable>;
export type WebhookRow = Selectable<WebhookTable>;
export type NewWebhookRow = Insertable<WebhookTable>;
