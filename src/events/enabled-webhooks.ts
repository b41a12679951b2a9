/**
 * The enabled webhooks of each workspace, kept in memory for ingestion with their filters
 * compiled, and read again only after a webhook of that workspace changed (see
 * `WebhookDerived`): another tenant's changes cost nothing here.
 */

import type { WebhookRow } from "../db/database.ts";
import { WebhookDerived, workspaceWebhooksGeneration } from "../db/webhook-generation.ts";
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
>;

export interface Candidate {
  webhook: IngestWebhook;
  matches: Matcher;
}

const ENABLED_SQL = `select id, workspace, event_types, slot, languages, use_custom_payload,
  custom_payload, template_engine, retry_policy, max_attempts
  from webhooks where workspace = ? and enabled = 1 order by id`;

export class EnabledWebhooks {
  private readonly byWorkspace: WebhookDerived<string, readonly Candidate[]>;

  constructor(statements: GroupCommit) {
    this.byWorkspace = new WebhookDerived(workspaceWebhooksGeneration(statements), (workspace) =>
      (statements.get(ENABLED_SQL).all(workspace) as IngestWebhook[]).map((webhook) => ({
        webhook,
        matches: matcherOf(webhook),
      })),
    );
  }

  /**
   * The workspace's enabled webhooks in id order. Synchronous: call it inside the transaction
   * that writes the event, so the list is the one that transaction sees.
   */
  of(workspace: string): readonly Candidate[] {
    return this.byWorkspace.get(workspace);
  }
}
