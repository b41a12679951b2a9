/**
 * The failure mail (SPEC §7), composed from a webhook's pending failure notices: a subject
 * naming the webhook and the count, and the same digest as plain text and HTML — how many
 * deliveries failed, the last status and error, the delivery ids and the API calls that retry
 * them. Nothing secret goes in: no webhook secret, no credentials, no endpoint path or query
 * (a Slack-style URL carries its token there), only the endpoint's host.
 */

import type { NoticeKind } from "../db/database.ts";

export interface FailureNotice {
  webhookId: string;
  deliveryId: string;
  kind: NoticeKind;
  statusCode: number | null;
  error: string | null;
  attempts: number;
  occurredAt: number;
  /** When the failed delivery was created (replay windows are on creation time). */
  deliveryCreatedAt: number;
  /** The webhook's description (or name) when the failure happened. */
  webhookLabel: string;
  /** The endpoint's host when the failure happened. */
  endpointHost: string;
}

export interface Digest {
  subject: string;
  text: string;
  html: string;
}

/** Delivery ids listed one by one; the rest are counted. */
export const LISTED_DELIVERIES = 25;

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function describeOutcome(notice: FailureNotice): string {
  if (notice.attempts === 0) return `not sent: ${notice.error ?? "unknown reason"}`;
  const status = notice.statusCode === null ? "no response" : `HTTP ${notice.statusCode}`;
  return notice.error && notice.error !== `HTTP ${notice.statusCode}`
    ? `${status}: ${notice.error}`
    : status;
}

function afterAttempts(notice: FailureNotice): string {
  return notice.attempts === 0 ? "" : ` after ${plural(notice.attempts, "attempt", "attempts")}`;
}

/**
 * The digest of `notices` (all of one webhook, oldest first). The latest notice supplies the
 * webhook's label and host.
 */
export function composeDigest(all: readonly FailureNotice[]): Digest {
  const autoDisabled = all.findLast((notice) => notice.kind === "webhook_auto_disabled");
  const notices = all.filter((notice) => notice.kind !== "webhook_auto_disabled");
  if (autoDisabled && notices.length === 0) return composeAutoDisabled(autoDisabled);
  const last = notices[notices.length - 1];
  const first = notices[0];
  if (!last || !first) throw new RangeError("a digest needs at least one notice");
  return composeFailures(notices, first, last, autoDisabled && autoDisabledParagraph(autoDisabled));
}

/** What an auto-disable notice says: since when every attempt failed, and how to resume. */
function autoDisabledParagraph(notice: FailureNotice): { text: string; html: string } {
  const since = new Date(notice.deliveryCreatedAt).toISOString();
  const enable = `POST /webhooks/${notice.webhookId}/enable`;
  const text = [
    `Every attempt since ${since} failed (${plural(notice.attempts, "attempt", "attempts")} in a row), for longer`,
    "than HOOKPOST_AUTO_DISABLE_AFTER_MS allows, so the webhook was disabled. Its waiting",
    "deliveries stay waiting; enable it again to resume them:",
    `  ${enable}`,
  ].join("\n");
  const html =
    `<p>Every attempt since ${escapeHtml(since)} failed (${escapeHtml(plural(notice.attempts, "attempt", "attempts"))} ` +
    "in a row), for longer than <code>HOOKPOST_AUTO_DISABLE_AFTER_MS</code> allows, so the " +
    "webhook was <strong>disabled</strong>. Its waiting deliveries stay waiting; enable it again " +
    `to resume them: <code>${escapeHtml(enable)}</code></p>`;
  return { text, html };
}

/** The mail of an auto-disable with no failed delivery to list beside it. */
function composeAutoDisabled(notice: FailureNotice): Digest {
  const webhookId = notice.webhookId;
  const label = notice.webhookLabel ? `"${notice.webhookLabel}" (${webhookId})` : webhookId;
  const subject = `[Hookpost] Webhook ${label} was disabled after failing since ${new Date(notice.deliveryCreatedAt).toISOString()}`;
  const paragraph = autoDisabledParagraph(notice);
  const intro = `Hookpost could not deliver to webhook ${label} (endpoint host ${notice.endpointHost}).`;
  const text = [
    intro,
    "",
    paragraph.text,
    "",
    `The delivery log: GET /webhooks/${webhookId}/events`,
    "Every call takes an X-Api-Key header with a write key (read key for the log).",
  ].join("\n");
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif">',
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>${escapeHtml(intro)}</p>`,
    paragraph.html,
    `<p>The delivery log: <code>GET /webhooks/${escapeHtml(webhookId)}/events</code></p>`,
    "</body></html>",
  ].join("\n");
  return { subject, text: `${text}\n`, html };
}

/** The digest of failed deliveries (`first` and `last` of `notices`). */
function composeFailures(
  notices: readonly FailureNotice[],
  first: FailureNotice,
  last: FailureNotice,
  autoDisabled: { text: string; html: string } | undefined,
): Digest {
  const webhookId = last.webhookId;
  const label = last.webhookLabel ? `"${last.webhookLabel}" (${webhookId})` : webhookId;
  const disabled = notices.some((notice) => notice.kind === "webhook_disabled");
  const count = notices.length;
  const failed = plural(count, "delivery failed", "deliveries failed");
  const subject =
    disabled || autoDisabled
      ? `[Hookpost] Webhook ${label} was disabled: ${failed}`
      : `[Hookpost] Webhook ${label}: ${failed}`;
  const since = new Date(first.occurredAt).toISOString();
  const until = new Date(last.occurredAt).toISOString();
  const created = notices.map((notice) => notice.deliveryCreatedAt);
  const replaySince = new Date(Math.min(...created)).toISOString();
  const replayUntil = new Date(Math.max(...created)).toISOString();
  const listed = notices.slice(-LISTED_DELIVERIES);
  const unlisted = count - listed.length;

  const lines = [
    `Hookpost could not deliver to webhook ${label} (endpoint host ${last.endpointHost}).`,
    "",
    `${failed} between ${since} and ${until}.`,
    `Last outcome: ${describeOutcome(last)}${afterAttempts(last)}.`,
  ];
  if (autoDisabled) lines.push("", autoDisabled.text);
  if (disabled) {
    lines.push(
      "",
      "The receiver answered 410 Gone, so the webhook was disabled. Enable it again with:",
      `  POST /webhooks/${webhookId}/enable`,
    );
  }
  lines.push("", "Failed deliveries (newest last):");
  if (unlisted > 0) lines.push(`  … and ${unlisted} earlier ones`);
  for (const notice of listed) {
    lines.push(
      `  ${notice.deliveryId}  ${new Date(notice.occurredAt).toISOString()}  ${describeOutcome(notice)}`,
    );
  }
  lines.push(
    "",
    "To send one again (a new delivery with the same payload):",
    `  POST /webhooks/${webhookId}/events/{deliveryId}/retry`,
    `  e.g. POST /webhooks/${webhookId}/events/${last.deliveryId}/retry`,
    "To send again every event of these deliveries (replay works on their creation time):",
    `  POST /webhooks/${webhookId}/replay  {"since": "${replaySince}", "until": "${replayUntil}"}`,
    `The delivery log: GET /webhooks/${webhookId}/events?status=-1`,
    "",
    "Every call takes an X-Api-Key header with a write key (read key for the log).",
    "You get at most one of these mails per webhook per throttle window; failures in between",
    "are gathered into the next one.",
  );

  const rows = listed
    .map(
      (notice) =>
        `<tr><td><code>${escapeHtml(notice.deliveryId)}</code></td>` +
        `<td>${escapeHtml(new Date(notice.occurredAt).toISOString())}</td>` +
        `<td>${escapeHtml(describeOutcome(notice))}</td></tr>`,
    )
    .join("\n");
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif">',
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>Hookpost could not deliver to webhook <strong>${escapeHtml(label)}</strong> ` +
      `(endpoint host <code>${escapeHtml(last.endpointHost)}</code>).</p>`,
    `<p><strong>${escapeHtml(failed)}</strong> between ${escapeHtml(since)} and ${escapeHtml(until)}.<br>` +
      `Last outcome: ${escapeHtml(describeOutcome(last))}${escapeHtml(afterAttempts(last))}.</p>`,
    autoDisabled?.html ?? "",
    disabled
      ? `<p>The receiver answered <strong>410 Gone</strong>, so the webhook was disabled. ` +
        `Enable it again with <code>POST /webhooks/${escapeHtml(webhookId)}/enable</code>.</p>`
      : "",
    unlisted > 0 ? `<p>… and ${unlisted} earlier failed deliveries.</p>` : "",
    '<table border="1" cellpadding="4" cellspacing="0">',
    "<tr><th>Delivery</th><th>Failed at</th><th>Outcome</th></tr>",
    rows,
    "</table>",
    "<p>To send one again: " +
      `<code>POST /webhooks/${escapeHtml(webhookId)}/events/{deliveryId}/retry</code><br>` +
      "To send again every event of the window: " +
      `<code>POST /webhooks/${escapeHtml(webhookId)}/replay {"since": "${escapeHtml(replaySince)}", "until": "${escapeHtml(replayUntil)}"}</code><br>` +
      `The delivery log: <code>GET /webhooks/${escapeHtml(webhookId)}/events?status=-1</code></p>`,
    "<p>Every call takes an <code>X-Api-Key</code> header. You get at most one of these mails " +
      "per webhook per throttle window; failures in between are gathered into the next one.</p>",
    "</body></html>",
  ]
    .filter((line) => line !== "")
    .join("\n");

  return { subject, text: `${lines.join("\n")}\n`, html };
}
