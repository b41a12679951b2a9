/**
 * The shipped Slack template engine (`plugins/slack.ts`): a text or `{text, fields, link}`
 * template becomes a Block Kit message with escaped content; and, loaded from the shipped
 * `plugins/` folder, a webhook with `templateEngine: "slack"` delivers that message.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import slackPlugin, { escapeForSlack, renderSlackMessage } from "../../plugins/slack.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import type { TemplateContext } from "../../src/plugin-host/api.ts";
import { type Receiver, startReceiver } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp } from "../helpers/test-app.ts";
import { SHIPPED_PLUGINS, settled } from "./helpers.ts";

const context: TemplateContext = {
  eventType: 0,
  contentId: "c_42",
  contentType: "article",
  fields: { title: "Fish & <Chips>", slug: "fish & chips", author: "Ann", views: 3 },
  translations: {},
  webhookId: "wh_1",
  deliveryId: "dlv_1",
  timestamp: "2025-03-01T10:00:00.000Z",
};

describe("rendering a Slack message", () => {
  test("a text template: one section and a context line", () => {
    expect(renderSlackMessage("New {{contentType}}: *{{fields.title}}*", context)).toEqual({
      text: "New article: *Fish &amp; &lt;Chips&gt;*",
      blocks: [
        {
          type: "section",
          text: { type: "mrkdwn", text: "New article: *Fish &amp; &lt;Chips&gt;*" },
        },
        {
          type: "context",
          elements: [{ type: "mrkdwn", text: "Published · article c_42" }],
        },
      ],
    });
  });

  test("fields side by side and an Open button whose URL is encoded", () => {
    const message = renderSlackMessage(
      {
        text: "{{fields.title}}",
        fields: ["author", "views", "missing"],
        link: "https://example.com/a/{{fields.slug}}",
      },
      { ...context, eventType: 4 },
    );
    expect(message.blocks).toEqual([
      { type: "section", text: { type: "mrkdwn", text: "Fish &amp; &lt;Chips&gt;" } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: "*author*\nAnn" },
          { type: "mrkdwn", text: "*views*\n3" },
          { type: "mrkdwn", text: "*missing*\n–" },
        ],
      },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            text: { type: "plain_text", text: "Open" },
            url: "https://example.com/a/fish%20%26%20chips",
          },
        ],
      },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: "Published (updated) · article c_42" }],
      },
    ]);
  });

  test("content cannot mention @channel or make links", () => {
    const message = renderSlackMessage("{{fields.title}}", {
      ...context,
      fields: { title: "<!channel> see <https://evil.example|here>" },
    });
    expect(message.text).toBe("&lt;!channel&gt; see &lt;https://evil.example|here&gt;");
    expect(escapeForSlack("a&b<c>d")).toBe("a&amp;b&lt;c&gt;d");
  });

  test("text longer than Slack allows is cut", () => {
    const message = renderSlackMessage("{{fields.title}}", {
      ...context,
      fields: { title: "x".repeat(5000) },
    });
    expect(message.text).toHaveLength(3000);
    expect(message.text.endsWith("…")).toBe(true);
  });

  const INVALID = [
    { name: "a number", template: 7, error: "the template must be a string or" },
    { name: "no text", template: { fields: ["a"] }, error: 'the template needs a "text"' },
    {
      name: "fields that are not keys",
      template: { text: "x", fields: [1] },
      error: '"fields" must be a list of content field keys',
    },
    { name: "a link that is not text", template: { text: "x", link: 1 }, error: '"link"' },
  ];
  for (const invalid of INVALID) {
    test(`a template with ${invalid.name} throws (the delivery fails with the reason)`, () => {
      expect(() => renderSlackMessage(invalid.template, context)).toThrow(invalid.error);
    });
  }

  test("the plugin declares the slack engine", () => {
    expect(slackPlugin.name).toBe("slack");
    expect(Object.keys(slackPlugin.templaters)).toEqual(["slack"]);
  });
});

describe("a webhook with templateEngine slack", () => {
  let app: TestApp;
  let target: Receiver;

  beforeAll(async () => {
    app = await createTestApp({
      HOOKPOST_PLUGINS_DIR: SHIPPED_PLUGINS,
      ...LOOPBACK_DELIVERY,
    });
    await app.app.start();
    target = startReceiver();
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
  });

  test("delivers the rendered Block Kit message to the receiver", async () => {
    await createWebhook(app, {
      endpoint: `${target.url}/services/T000/B000/XXXX`,
      eventTypes: { article: [0] },
      useCustomPayload: true,
      templateEngine: "slack",
      customPayload: { text: "Published: *{{fields.title}}*", fields: ["author"] },
    });
    const accepted = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: "article", contentId: "c_7", fields: context.fields },
    });
    const deliveryId = (accepted.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
      ?.deliveryId;
    if (!deliveryId) throw new Error(accepted.text);
    expect(await settled(app, deliveryId)).toMatchObject({ process_status: ProcessStatus.Sent });
    const body = JSON.parse(target.requests[0]?.body ?? "{}");
    expect(body).toEqual({
      text: "Published: *Fish &amp; &lt;Chips&gt;*",
      blocks: [
        {
          type: "section",
          text: { type: "mrkdwn", text: "Published: *Fish &amp; &lt;Chips&gt;*" },
        },
        { type: "section", fields: [{ type: "mrkdwn", text: "*author*\nAnn" }] },
        { type: "context", elements: [{ type: "mrkdwn", text: "Published · article c_7" }] },
      ],
    });
  });
});
