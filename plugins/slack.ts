/**
 * A template engine for Slack incoming webhooks: set a webhook's `endpoint` to the Slack
 * webhook URL, `useCustomPayload: true`, `templateEngine: "slack"`, and a `customPayload` of
 *
 * ```json
 * {
 *   "text": "New {{contentType}}: *{{fields.title}}*",
 *   "fields": ["title", "author"],
 *   "link": "https://example.com/articles/{{fields.slug}}"
 * }
 * ```
 *
 * (or just the `text` string). It renders a Block Kit message: the text as a section, the
 * listed content fields side by side, an "Open" button for `link`, and a context line with
 * the event, content type and id. `{{path}}` reaches the content envelope as in the `json`
 * engine; values are escaped for Slack (`<`, `>`, `&`), so content cannot ping `@channel`,
 * and URL-encoded inside `link`. The top-level `text` (what notifications show) is the
 * rendered text too. Microsoft Teams or Discord renderers follow the same pattern.
 */

import { definePlugin, type TemplateContext } from "hookpost/plugin";

/** What the `customPayload` of a Slack webhook may hold. */
export interface SlackTemplate {
  /** The message; Slack mrkdwn, with `{{path}}` placeholders. */
  text: string;
  /** Content field keys shown as a two-column list. */
  fields?: string[];
  /** A URL (with placeholders) for an "Open" button. */
  link?: string;
}

const EVENT_NAMES = [
  "Published",
  "Unpublished",
  "Deleted",
  "Published (created)",
  "Published (updated)",
];
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;
/** Slack's limits: a section's text and a field's text. */
const MAX_SECTION_TEXT = 3000;
const MAX_FIELD_TEXT = 2000;
const MAX_FIELDS = 10;

function valueAt(root: unknown, path: string): unknown {
  let current = root;
  for (const step of path.split(".")) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, step)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Escapes the three characters Slack's mrkdwn gives meaning to. */
export function escapeForSlack(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function fill(template: string, context: TemplateContext, encode: (value: string) => string) {
  return template.replace(PLACEHOLDER, (_, path: string) => encode(asText(valueAt(context, path))));
}

function readTemplate(template: unknown): SlackTemplate {
  if (typeof template === "string") return { text: template };
  if (typeof template !== "object" || template === null || Array.isArray(template)) {
    throw new Error('the template must be a string or { "text": …, "fields"?: […], "link"?: … }');
  }
  const { text, fields, link } = template as Record<string, unknown>;
  if (typeof text !== "string" || text === "") throw new Error('the template needs a "text"');
  if (
    fields !== undefined &&
    (!Array.isArray(fields) || !fields.every((field) => typeof field === "string"))
  ) {
    throw new Error('"fields" must be a list of content field keys');
  }
  if (link !== undefined && typeof link !== "string") throw new Error('"link" must be a string');
  return { text, fields, link };
}

/** The Slack message for `template` and this content. */
export function renderSlackMessage(template: unknown, context: TemplateContext) {
  const { text, fields = [], link } = readTemplate(template);
  const message = cut(fill(text, context, escapeForSlack), MAX_SECTION_TEXT);
  const blocks: Record<string, unknown>[] = [
    { type: "section", text: { type: "mrkdwn", text: message } },
  ];
  if (fields.length > 0) {
    blocks.push({
      type: "section",
      fields: fields.slice(0, MAX_FIELDS).map((key) => ({
        type: "mrkdwn",
        text: cut(
          `*${escapeForSlack(key)}*\n${escapeForSlack(asText(context.fields[key])) || "–"}`,
          MAX_FIELD_TEXT,
        ),
      })),
    });
  }
  if (link !== undefined) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open" },
          url: fill(link, context, encodeURIComponent),
        },
      ],
    });
  }
  const event = EVENT_NAMES[context.eventType] ?? `Event ${context.eventType}`;
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: escapeForSlack(`${event} · ${context.contentType} ${context.contentId}`),
      },
    ],
  });
  // With blocks, Slack shows `text` only in notifications; it is escaped the same way.
  return { text: message, blocks };
}

export default definePlugin({
  name: "slack",
  templaters: {
    slack: { render: renderSlackMessage },
  },
});
