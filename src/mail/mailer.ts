/**
 * The failure mailer (SPEC §7). On the scheduler's timer it looks for webhooks with pending
 * failure notices and, unless a mail went to that webhook's owners within the throttle window
 * or the SMTP server is being backed off, sends one digest of all of them through nodemailer.
 * A notice is marked mailed only after the SMTP server accepted the mail; an SMTP server that
 * is down, refuses or times out gets its own exponential backoff and never blocks deliveries.
 */

import nodemailer from "nodemailer";
import type { Executor } from "../db/database.ts";
import type { Logger } from "../log.ts";
import { type BackoffPolicy, backoffDelay } from "../outbound/backoff.ts";
import { parseAddressList } from "./address-list.ts";
import { composeDigest, type FailureNotice } from "./digest.ts";
import {
  countPendingNotices,
  getMailState,
  listPendingNotices,
  listWebhooksWithPendingNotices,
  markMailed,
  type NoticeRow,
  recordMailFailure,
  recordMailSent,
} from "./repository.ts";

export interface OutgoingMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Where mail goes: SMTP in production; the interface keeps the mailer testable end to end. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
}

/** An SMTP transport for `smtp://user:pass@host:587` or `smtps://…` URLs. */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(mail) {
      await transporter.sendMail(mail);
    },
  };
}

export interface MailerOptions {
  db: Executor;
  log: Logger;
  /** Null when `HOOKPOST_SMTP_URL` is not set: notices are kept, nothing is sent. */
  transport: MailTransport | null;
  from: string;
  /** At most one mail per webhook per this many ms. */
  throttleMs: number;
  /** The SMTP retry backoff. */
  backoff: BackoffPolicy;
}

/** Notices gathered into one mail at most; the rest wait for the next one. */
const NOTICES_PER_MAIL = 1000;

function toNotice(row: NoticeRow): FailureNotice {
  return {
    webhookId: row.webhook_id,
    deliveryId: row.delivery_id,
    kind: row.kind,
    statusCode: row.status_code,
    error: row.error,
    attempts: row.attempts,
    occurredAt: row.occurred_at,
    deliveryCreatedAt: row.delivery_created_at,
    webhookLabel: row.webhook_label,
    endpointHost: row.endpoint_host,
  };
}

function smtpError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code =
    error && typeof error === "object" && "code" in error && typeof error.code === "string"
      ? error.code
      : null;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export class Mailer {
  private readonly options: MailerOptions;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(options: MailerOptions) {
    this.options = options;
  }

  /** Says once, at startup, what happens to failure notices without an SMTP server. */
  async announce(): Promise<void> {
    if (this.options.transport) return;
    const pending = await countPendingNotices(this.options.db);
    this.options.log.warn(
      "HOOKPOST_SMTP_URL is not set: failure mail is off; notices are kept and sent once it is set",
      { pendingNotices: pending },
    );
  }

  /** Starts a round unless one is running; never throws, never waits for SMTP. */
  trigger(): void {
    if (!this.options.transport || this.running || this.stopping) return;
    this.running = this.runOnce()
      .catch((error: unknown) => {
        this.options.log.error("failure mailer round failed", { error: String(error) });
      })
      .finally(() => {
        this.running = null;
      });
  }

  /**
   * Stops starting rounds and waits for the one in progress for up to `graceMs` (shutdown).
   * A mail cut off here was not marked sent, so it goes out after the next start.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([this.running, timedOut]);
    clearTimeout(timer);
  }

  /** One round: every webhook with pending notices that is neither throttled nor backed off. */
  async runOnce(now: number = Date.now()): Promise<void> {
    const { db, transport } = this.options;
    if (!transport) return;
    for (const webhookId of await listWebhooksWithPendingNotices(db)) {
      if (this.stopping) return;
      const state = await getMailState(db, webhookId);
      if (state?.last_sent_at != null && now - state.last_sent_at < this.options.throttleMs) {
        continue;
      }
      if (state && state.next_attempt_at > now) continue;
      const rows = await listPendingNotices(db, webhookId, NOTICES_PER_MAIL);
      const latest = rows[rows.length - 1];
      if (!latest) continue;
      const recipients = parseAddressList(latest.recipients).addresses;
      const digest = composeDigest(rows.map(toNotice));
      try {
        await transport.send({ from: this.options.from, to: recipients, ...digest });
      } catch (error) {
        const failures = (state?.failures ?? 0) + 1;
        const delay = backoffDelay(this.options.backoff, failures);
        const reason = smtpError(error);
        await recordMailFailure(db, webhookId, {
          failures,
          nextAttemptAt: now + delay,
          error: reason,
        });
        this.options.log.warn("failure mail not sent; will retry", {
          webhookId,
          notices: rows.length,
          failures,
          retryInMs: delay,
          error: reason,
        });
        continue;
      }
      const sentAt = Date.now();
      await db.transaction().execute(async (trx) => {
        await markMailed(
          trx,
          rows.map((row) => row.id),
          sentAt,
        );
        await recordMailSent(trx, webhookId, sentAt);
      });
      this.options.log.info("failure mail sent", {
        webhookId,
        notices: rows.length,
        recipients: recipients.length,
      });
    }
  }
}
