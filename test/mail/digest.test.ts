/** The failure digest's text: subject, counts, last outcome, ids, retry calls, and no secrets. */

import { describe, expect, test } from "bun:test";
import { composeDigest, type FailureNotice, LISTED_DELIVERIES } from "../../src/mail/digest.ts";

function notice(index: number, extra: Partial<FailureNotice> = {}): FailureNotice {
  return {
    webhookId: "wh_abc",
    deliveryId: `dlv_${String(index).padStart(3, "0")}`,
    kind: "delivery_failed",
    statusCode: 500,
    error: "HTTP 500",
    attempts: 10,
    occurredAt: Date.parse("2026-11-23T10:00:00Z") + index * 60_000,
    deliveryCreatedAt: Date.parse("2026-11-23T08:00:00Z") + index * 60_000,
    webhookLabel: "Production <sync>",
    endpointHost: "hooks.example.com",
    ...extra,
  };
}

describe("composeDigest", () => {
  test("one failure: subject names the webhook and the count", () => {
    const digest = composeDigest([notice(1, { statusCode: null, error: "connection refused" })]);
    expect(digest.subject).toBe(
      '[Hookpost] Webhook "Production <sync>" (wh_abc): 1 delivery failed',
    );
    expect(digest.text).toContain(
      "Last outcome: no response: connection refused after 10 attempts.",
    );
    expect(digest.text).toContain("POST /webhooks/wh_abc/events/dlv_001/retry");
    expect(digest.html).toContain("Production &lt;sync&gt;");
    expect(digest.html).not.toContain("<sync>");
  });

  test("a digest counts every failure, lists the newest ids, and gives the replay window", () => {
    const notices = Array.from({ length: LISTED_DELIVERIES + 5 }, (_, i) => notice(i + 1));
    const last = notices[notices.length - 1];
    notices[notices.length - 1] = { ...notice(notices.length), statusCode: 503, error: "HTTP 503" };
    const digest = composeDigest(notices);
    expect(digest.subject).toContain(`${LISTED_DELIVERIES + 5} deliveries failed`);
    expect(digest.text).toContain("… and 5 earlier ones");
    expect(digest.text).not.toContain("dlv_005 ");
    expect(digest.text).toContain("dlv_006");
    expect(digest.text).toContain(last?.deliveryId ?? "missing");
    expect(digest.text).toContain("Last outcome: HTTP 503 after 10 attempts.");
    expect(digest.text).toContain(
      'POST /webhooks/wh_abc/replay  {"since": "2026-11-23T08:01:00.000Z", "until": "2026-11-23T08:30:00.000Z"}',
    );
  });

  test("a 410 says the webhook was disabled and how to enable it", () => {
    const digest = composeDigest([
      notice(1, { kind: "webhook_disabled", statusCode: 410, error: "HTTP 410", attempts: 1 }),
    ]);
    expect(digest.subject).toBe(
      '[Hookpost] Webhook "Production <sync>" (wh_abc) was disabled: 1 delivery failed',
    );
    expect(digest.text).toContain("POST /webhooks/wh_abc/enable");
    expect(digest.text).toContain("after 1 attempt.");
  });

  test("a delivery whose template failed was never sent, and says so", () => {
    const digest = composeDigest([
      notice(1, { statusCode: null, error: 'template engine "x" failed: boom', attempts: 0 }),
    ]);
    expect(digest.text).toContain('Last outcome: not sent: template engine "x" failed: boom.');
  });

  test("an auto-disable alone says since when every attempt failed, and how to resume", () => {
    const since = Date.parse("2026-11-18T09:30:00Z");
    const digest = composeDigest([
      notice(1, {
        kind: "webhook_auto_disabled",
        deliveryId: "",
        statusCode: null,
        error: null,
        attempts: 42,
        deliveryCreatedAt: since,
      }),
    ]);
    expect(digest.subject).toBe(
      '[Hookpost] Webhook "Production <sync>" (wh_abc) was disabled after failing since 2026-11-18T09:30:00.000Z',
    );
    expect(digest.text).toContain(
      "Every attempt since 2026-11-18T09:30:00.000Z failed (42 attempts in a row)",
    );
    expect(digest.text).toContain("HOOKPOST_AUTO_DISABLE_AFTER_MS");
    expect(digest.text).toContain("Its waiting\ndeliveries stay waiting");
    expect(digest.text).toContain("POST /webhooks/wh_abc/enable");
    expect(digest.text).toContain("endpoint host hooks.example.com");
    // No failed delivery to list, retry or replay.
    expect(digest.text).not.toContain("deliveries failed");
    expect(digest.text).not.toContain("/retry");
    expect(digest.html).toContain("<strong>disabled</strong>");
    expect(digest.html).toContain("Production &lt;sync&gt;");
    expect(digest.html).not.toContain("<sync>");
  });

  test("an auto-disable with failed deliveries: the failures' digest, saying it was disabled", () => {
    const digest = composeDigest([
      notice(1),
      notice(2, {
        kind: "webhook_auto_disabled",
        deliveryId: "",
        statusCode: null,
        error: null,
        attempts: 7,
        deliveryCreatedAt: Date.parse("2026-11-18T09:30:00Z"),
      }),
      notice(3, { statusCode: 502, error: "HTTP 502" }),
    ]);
    expect(digest.subject).toBe(
      '[Hookpost] Webhook "Production <sync>" (wh_abc) was disabled: 2 deliveries failed',
    );
    expect(digest.text).toContain("Last outcome: HTTP 502 after 10 attempts.");
    expect(digest.text).toContain(
      "Every attempt since 2026-11-18T09:30:00.000Z failed (7 attempts in a row)",
    );
    expect(digest.text).toContain("POST /webhooks/wh_abc/enable");
    expect(digest.text).toContain("dlv_001");
    expect(digest.text).toContain("dlv_003");
    // The notice is not a failed delivery: no row with an empty id among them.
    expect(digest.text).not.toContain("POST /webhooks/wh_abc/events//retry");
    expect(digest.text).not.toMatch(/^ {4}\d{4}-/m);
    expect(digest.html).toContain("<strong>disabled</strong>");
    // Not the 410's wording: nothing answered 410.
    expect(digest.text).not.toContain("410 Gone");
  });

  test("an empty list is a programming error", () => {
    expect(() => composeDigest([])).toThrow(RangeError);
  });
});
