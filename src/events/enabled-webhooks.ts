/**
 * The enabled webhooks of each workspace, kept in memory for ingestion with their filters
 * compiled, and read again only after a webhook of that workspace changed (see
 * `WebhookDerived`): another tenant's changes cost nothing here.
 */

import type { Executor, WebhookRow } from "../db/database.ts";
import {
  type GenerationOf,
  WebhookDerived,
  workspaceWebhooksGeneration,
} from "../db/webhook-generation.ts";
import type { GroupCommit } from "../store/group-commit.ts";
import { type Matcher, matcherOf } from "./matching.ts";

/** The columns a new delivery is built from (`buildDelivery`) and matched with. */
export type IngestWebhook = Pick<
  WebhookRow,
  | "id"
  | "workspace"
  | "event_types"
  | "slot"
  | "languages"
  | "use_custom_payload"
  | "custom_payload"
  | "template_engine"
  | "retry_policy"
  | "max_attempts"
  | "retry_schedule"
>;

export interface Candidate {
  webhook: IngestWebhook;
  matches: Matcher;
}

/** The columns ingestion reads of a webhook ({@link IngestWebhook}). */
const INGEST_COLUMNS = [
  "id",
  "workspace",
  "event_types",
  "slot",
  "languages",
  "use_custom_payload",
  "custom_payload",
  "template_engine",
  "retry_policy",
  "max_attempts",
  "retry_schedule",
] as const;

/** The workspace's enabled webhooks in id order: the one query of them, on either backend. */
export function enabledWebhooksQuery(db: Executor, workspace: string) {
  return db
    .selectFrom("webhooks")
    .select(INGEST_COLUMNS)
    .where("workspace", "=", workspace)
    .where("enabled", "=", 1)
    .orderBy("id");
}

/** The webhooks with their filters compiled. */
export function candidatesOf(webhooks: readonly IngestWebhook[]): Candidate[] {
  return webhooks.map((webhook) => ({ webhook, matches: matcherOf(webhook) }));
}

/** The SQLite adapter's cache: read synchronously, inside the batch that writes the event. */
export class EnabledWebhooks {
  private readonly byWorkspace = new WebhookDerived<string, readonly Candidate[]>();
  private readonly generationOf: GenerationOf<string>;

  constructor(
    private readonly db: Executor,
    private readonly statements: GroupCommit,
  ) {
    this.generationOf = workspaceWebhooksGeneration(db, statements);
  }

  /**
   * The workspace's enabled webhooks in id order. Synchronous: call it inside the transaction
   * that writes the event, so the list is the one that transaction sees.
   */
  of(workspace: string): readonly Candidate[] {
    return this.byWorkspace.at(workspace, this.generationOf(workspace), () =>
      candidatesOf(this.statements.rows(enabledWebhooksQuery(this.db, workspace).compile())),
    );
  }
}
