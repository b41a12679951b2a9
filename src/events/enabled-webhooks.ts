/**
 * The enabled webhooks of each workspace, kept in memory for ingestion with their filters
 * compiled. Every read first checks the generation that triggers move on any change to the
 * webhooks that matters here (migration 0005), so a change made by any connection — this
 * process's API, the scheduler disabling a webhook on `410 Gone`, another process — is seen by
 * the next event. Reading the generation is one lookup in a one-row table; reading the
 * webhooks again happens only after a change.
 */

import type { WebhookRow } from "../db/database.ts";
import type { StatementCache } from "../db/statement-cache.ts";
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

const GENERATION_SQL = "select value from webhook_generation where id = 1";
const ENABLED_SQL = `select id, workspace, event_types, slot, languages, use_custom_payload,
  custom_payload, template_engine, retry_policy, max_attempts
  from webhooks where workspace = ? and enabled = 1 order by id`;

export class EnabledWebhooks {
  private generation: number | undefined;
  private readonly byWorkspace = new Map<string, readonly Candidate[]>();

  constructor(private readonly statements: StatementCache) {}

  /**
   * The workspace's enabled webhooks in id order. Synchronous: call it inside the transaction
   * that writes the event, so the list is the one that transaction sees.
   */
  of(workspace: string): readonly Candidate[] {
    const row = this.statements.get(GENERATION_SQL).get() as { value: number } | null;
    if (row?.value !== this.generation) {
      this.byWorkspace.clear();
      this.generation = row?.value;
    }
    let candidates = this.byWorkspace.get(workspace);
    if (!candidates) {
      const rows = this.statements.get(ENABLED_SQL).all(workspace) as IngestWebhook[];
      candidates = rows.map((webhook) => ({ webhook, matches: matcherOf(webhook) }));
      // Without a generation (its row missing) nothing can say when to read again: no cache.
      if (row) this.byWorkspace.set(workspace, candidates);
    }
    return candidates;
  }
}
