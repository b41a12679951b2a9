/**
 * The delivery log: one webhook's deliveries newest first, filtered, counted and paged; one
 * delivery and its attempts; the latest delivery per event for a replay. A delivery in flight
 * is Waiting in its row and Processing to readers: the queries take the webhook's ids in flight
 * ({@link InFlightOf}) and the store shows those rows as Processing.
 */

import {
  type Expression,
  type ExpressionBuilder,
  type Selectable,
  type SqlBool,
  sql,
} from "kysely";
import type { AttemptTable, Database, DeliveryTable, Executor } from "../db/database.ts";
import type { DeliveryState } from "../deliveries/model.ts";
import { ProcessStatus, type ProcessStatusValue } from "../deliveries/status.ts";
import { type KeptState, keptStateCount, keptStatusCount, SPLIT_STATE } from "./counts.ts";

/**
 * Every column of a delivery but the unused ones (the content copies `fields`, `translations`:
 * the content is its event's; the lease), so reading a log page does not load them.
 */
const DELIVERY_COLUMNS = [
  "id",
  "workspace",
  "webhook_id",
  "event_id",
  "retry_of",
  "message_id",
  "event_type",
  "content_type",
  "content_id",
  "custom_payload",
  "body",
  "process_status",
  "attempts",
  "max_attempts",
  "next_attempt_at",
  "response_status_code",
  "response_message",
  "last_error",
  "duration_ms",
  "signature",
  "created_at",
  "updated_at",
] as const;

/** A stored delivery as its readers see it (without the unused columns). */
export type DeliveryRow = Omit<
  Selectable<DeliveryTable>,
  "fields" | "translations" | "lease_until" | "lease_owner"
>;
export type AttemptRow = Selectable<AttemptTable>;

/** What the delivery log can be narrowed to; every bound is inclusive. */
export interface DeliveryLogFilter {
  processStatus?: number;
  state?: DeliveryState;
  eventType?: number;
  contentType?: string;
  /** Insert date bounds (ms). */
  from?: number;
  to?: number;
  /** Response status code bounds. */
  statusCodeFrom?: number;
  statusCodeTo?: number;
}

/** The webhook's deliveries in flight: Waiting in their rows, Processing to readers. */
export interface InFlightOf {
  ids: readonly string[];
  /** How many of them had no attempt before this one (`pending` in their rows). */
  firstAttempts: number;
}

/** A position in the newest-first log: the last item of the previous page. */
export interface LogPosition {
  createdAt: number;
  id: string;
}

/**
 * Each state's process status. The states that share a status (`kept` set) are told apart by
 * SPLIT_STATE; their totals come from the kept count of one of the pair, or from their status's
 * count minus it (`complement`).
 */
const STATE_STATUS: Record<
  DeliveryState,
  { status: ProcessStatusValue; kept?: { state: KeptState; complement: boolean } }
> = {
  pending: { status: ProcessStatus.Waiting, kept: { state: "retrying", complement: true } },
  retrying: { status: ProcessStatus.Waiting, kept: { state: "retrying", complement: false } },
  processing: { status: ProcessStatus.Processing },
  success: { status: ProcessStatus.Sent },
  failed: { status: ProcessStatus.Error, kept: { state: "exhausted", complement: true } },
  exhausted: { status: ProcessStatus.Error, kept: { state: "exhausted", complement: false } },
};

/**
 * The filter's `status` and `state` as one condition: a state that is a whole status
 * (`success`) becomes that status, which the status index and the counts serve; Processing
 * (`processing`) is the deliveries in flight; a status that contradicts the state matches
 * nothing.
 */
type StatusCondition =
  | { kind: "any" }
  | { kind: "inFlight" }
  | { kind: "status"; status: number }
  | {
      kind: "state";
      state: DeliveryState;
      status: ProcessStatusValue;
      kept: { state: KeptState; complement: boolean };
    }
  | { kind: "nothing" };

/** A whole status: Processing is the deliveries in flight, any other the rows in it. */
function wholeStatus(status: number): StatusCondition {
  return status === ProcessStatus.Processing ? { kind: "inFlight" } : { kind: "status", status };
}

function statusCondition({ processStatus, state }: DeliveryLogFilter): StatusCondition {
  if (state === undefined) {
    return processStatus === undefined ? { kind: "any" } : wholeStatus(processStatus);
  }
  const { status, kept } = STATE_STATUS[state];
  if (processStatus !== undefined && processStatus !== status) return { kind: "nothing" };
  return kept ? { kind: "state", state, status, kept } : wholeStatus(status);
}

/** How many of the webhook's deliveries in flight are, in their rows, in this state. */
function inFlightIn(inFlight: InFlightOf, state: DeliveryState): number {
  if (state === "pending") return inFlight.firstAttempts;
  if (state === "retrying") return inFlight.ids.length - inFlight.firstAttempts;
  return 0;
}

function logConditions(
  eb: ExpressionBuilder<Database, "deliveries">,
  webhookId: string,
  filter: DeliveryLogFilter,
  inFlight: InFlightOf,
  use: "count" | "page",
): Expression<SqlBool>[] {
  // webhook_id first, then the status, the state or created_at: what the log indexes are keyed
  // on. A webhook's deliveries all belong to its workspace; callers check that ownership once
  // (hasDeliveryLog / findWebhook), so the workspace need not be read from every row.
  const conditions: Expression<SqlBool>[] = [eb("webhook_id", "=", webhookId)];
  const status = statusCondition(filter);
  const ids = [...inFlight.ids];
  // Waiting in the row: in flight (Processing), or truly waiting (Waiting, pending, retrying).
  if (status.kind === "inFlight") {
    conditions.push(
      ids.length === 0
        ? sql<SqlBool>`false`
        : eb.and([eb("process_status", "=", ProcessStatus.Waiting), eb("id", "in", ids)]),
    );
  }
  const waiting =
    (status.kind === "status" || status.kind === "state") &&
    status.status === ProcessStatus.Waiting;
  if (waiting && ids.length > 0) conditions.push(eb("id", "not in", ids));
  if (status.kind === "status") conditions.push(eb("process_status", "=", status.status));
  // Only the expression, without its status: then `deliveries_log_by_state` is the one index
  // with two equalities, and SQLite cannot prefer `deliveries_log_by_status`.
  if (status.kind === "state" && status.state === "pending") {
    conditions.push(eb("process_status", "=", status.status), eb("attempts", "=", 0));
  } else if (status.kind === "state") {
    conditions.push(sql<SqlBool>`${SPLIT_STATE} = ${status.state}`);
  }
  if (status.kind === "nothing") conditions.push(sql<SqlBool>`false`);
  if (filter.from !== undefined) conditions.push(eb("created_at", ">=", filter.from));
  if (filter.to !== undefined) conditions.push(eb("created_at", "<=", filter.to));
  if (filter.eventType !== undefined) conditions.push(eb("event_type", "=", filter.eventType));
  if (filter.contentType !== undefined) {
    conditions.push(eb("content_type", "=", filter.contentType));
  }
  // Counting walks the status-code index; a page walks the log newest first and checks codes
  // as it goes (`+column` keeps SQLite from choosing the code index and sorting every match).
  const code = use === "count" ? sql.ref("response_status_code") : sql`+response_status_code`;
  if (filter.statusCodeFrom !== undefined) {
    conditions.push(sql<SqlBool>`${code} >= ${filter.statusCodeFrom}`);
  }
  if (filter.statusCodeTo !== undefined) {
    conditions.push(sql<SqlBool>`${code} <= ${filter.statusCodeTo}`);
  }
  return conditions;
}

/**
 * How many deliveries of the webhook match `filter`. Like {@link listDeliveryLog}, it does not
 * check the workspace: a webhook's deliveries all belong to its workspace, and the caller checks
 * that ownership once (the log indexes hold no workspace column).
 */
export async function countDeliveryLog(
  db: Executor,
  webhookId: string,
  filter: DeliveryLogFilter,
  inFlight: InFlightOf,
): Promise<number> {
  const status = statusCondition(filter);
  if (status.kind === "nothing") return 0;
  const { processStatus: _status, state: _state, ...others } = filter;
  if (Object.values(others).every((value) => value === undefined)) {
    // No filter but a status or a state: the kept totals answer without reading the log, less
    // the deliveries in flight, which their rows count as Waiting.
    if (status.kind === "inFlight") return inFlight.ids.length;
    if (status.kind === "any") return keptStatusCount(db, webhookId, undefined);
    if (status.kind === "status") {
      const flying = status.status === ProcessStatus.Waiting ? inFlight.ids.length : 0;
      return (await keptStatusCount(db, webhookId, status.status)) - flying;
    }
    const count = await keptStateCount(db, webhookId, status.kept.state);
    const kept = status.kept.complement
      ? (await keptStatusCount(db, webhookId, status.status)) - count
      : count;
    return kept - inFlightIn(inFlight, status.state);
  }
  const row = await db
    .selectFrom("deliveries")
    .select((eb) => eb.fn.countAll<number>().as("total"))
    .where((eb) => eb.and(logConditions(eb, webhookId, filter, inFlight, "count")))
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/**
 * One page of the webhook's log, newest first (insert date, then id). Either skips `offset`
 * rows or starts strictly after `after` (keyset pagination, which stays cheap however deep).
 */
export async function listDeliveryLog(
  db: Executor,
  webhookId: string,
  filter: DeliveryLogFilter,
  inFlight: InFlightOf,
  page: { limit: number; offset?: number; after?: LogPosition },
): Promise<DeliveryRow[]> {
  const { after } = page;
  let query = db
    .selectFrom("deliveries")
    .select(DELIVERY_COLUMNS)
    .where((eb) => eb.and(logConditions(eb, webhookId, filter, inFlight, "page")));
  if (after) {
    // The plain `created_at <=` bound lets the index seek; the OR only breaks ties on id.
    query = query
      .where("created_at", "<=", after.createdAt)
      .where((eb) =>
        eb.or([
          eb("created_at", "<", after.createdAt),
          eb.and([eb("created_at", "=", after.createdAt), eb("id", "<", after.id)]),
        ]),
      );
  }
  return query
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(page.limit)
    .offset(page.offset ?? 0)
    .execute();
}

/** Whether the webhook has any delivery in the workspace (its log outlives it). */
export async function hasDeliveryLog(
  db: Executor,
  workspace: string,
  webhookId: string,
): Promise<boolean> {
  // One row tells: a webhook's deliveries all share its workspace. (Filtering on the workspace
  // instead would read every row of another workspace's log before answering no.)
  const row = await db
    .selectFrom("deliveries")
    .select("workspace")
    .where("webhook_id", "=", webhookId)
    .limit(1)
    .executeTakeFirst();
  return row?.workspace === workspace;
}

export async function findDelivery(db: Executor, id: string): Promise<DeliveryRow | undefined> {
  return db
    .selectFrom("deliveries")
    .select(DELIVERY_COLUMNS)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function findDeliveryOfWebhook(
  db: Executor,
  workspace: string,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryRow | undefined> {
  return db
    .selectFrom("deliveries")
    .select(DELIVERY_COLUMNS)
    .where("id", "=", deliveryId)
    .where("webhook_id", "=", webhookId)
    .where("workspace", "=", workspace)
    .executeTakeFirst();
}

export async function listAttemptsOfDelivery(
  db: Executor,
  deliveryId: string,
): Promise<AttemptRow[]> {
  return db
    .selectFrom("attempts")
    .selectAll()
    .where("delivery_id", "=", deliveryId)
    .orderBy("number")
    .execute();
}

/**
 * For every event that has a delivery of the webhook inserted in [since, until], that event's
 * latest delivery of the webhook (which may be newer than the window), by event id (so in
 * acceptance order). At most `limit` rows.
 */
export async function listLatestDeliveryPerEvent(
  db: Executor,
  workspace: string,
  webhookId: string,
  window: { since: number; until: number },
  limit: number,
): Promise<DeliveryRow[]> {
  const eventsInWindow = db
    .selectFrom("deliveries")
    .select("event_id")
    .distinct()
    .where("webhook_id", "=", webhookId)
    .where("workspace", "=", workspace)
    .where("created_at", ">=", window.since)
    .where("created_at", "<=", window.until);
  // CROSS JOIN fixes the join order in SQLite: the window's events first, then each event's
  // deliveries through deliveries_event, instead of scanning the webhook's whole log.
  const ranked = db
    .selectFrom(eventsInWindow.as("w"))
    .crossJoin("deliveries as d")
    .select(DELIVERY_COLUMNS.map((column) => `d.${column}` as const))
    .select((eb) =>
      eb.fn
        .agg<number>("row_number")
        .over((over) =>
          over.partitionBy("d.event_id").orderBy("d.created_at", "desc").orderBy("d.id", "desc"),
        )
        .as("recency"),
    )
    .whereRef("d.event_id", "=", "w.event_id")
    .where("d.webhook_id", "=", webhookId)
    .where("d.workspace", "=", workspace);
  const rows = await db
    .selectFrom(ranked.as("ranked"))
    .selectAll()
    .where("recency", "=", 1)
    .orderBy("event_id")
    .limit(limit)
    .execute();
  return rows.map(({ recency: _recency, ...row }) => row);
}
