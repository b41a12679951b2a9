/**
 * The signature headers against the receiver libraries themselves: the Standard Webhooks and
 * Svix test vector, both secret forms with `standardwebhooks` and `svix`, and the seed 000
 * scheme, which uses every secret as given.
 */

import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { signatureHeaders } from "../../src/outbound/signing.ts";
import { checkSecret } from "../../src/webhooks/validation.ts";

/** The vector of the standardwebhooks and svix libraries' own tests. */
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  messageId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const now = () => Math.floor(Date.now() / 1000);

describe("webhook-signature", () => {
  test("signs the shared Standard Webhooks / Svix test vector as both libraries do", () => {
    const { secret, messageId, timestamp, body, signature } = VECTOR;
    const at = new Date(timestamp * 1000);
    expect(new StandardWebhook(secret).sign(messageId, at, body)).toBe(signature);
    expect(new SvixWebhook(secret).sign(messageId, at, body)).toBe(signature);
    expect(
      signatureHeaders({ secret, previous: null }, messageId, body, timestamp)["webhook-signature"],
    ).toBe(signature);
  });

  test("a whsec_ secret verifies with both libraries in their default mode", () => {
    const secret = VECTOR.secret;
    const headers = { ...signatureHeaders({ secret, previous: null }, "dlv_1", '{"a":1}', now()) };
    expect(new StandardWebhook(secret).verify('{"a":1}', headers)).toEqual({ a: 1 });
    expect(() => new SvixWebhook(secret).verify('{"a":1}', headers)).not.toThrow();
  });

  test("a plain secret verifies with both libraries given it raw", () => {
    const secret = "wh_k3J9s0aZq1LmN4bV7cX2dR5tY8uI6oP0";
    const headers = { ...signatureHeaders({ secret, previous: null }, "dlv_1", '{"a":1}', now()) };
    expect(new StandardWebhook(secret, { format: "raw" }).verify('{"a":1}', headers)).toEqual({
      a: 1,
    });
    const key = new TextEncoder().encode(secret);
    expect(() => new SvixWebhook(key, { format: "raw" }).verify('{"a":1}', headers)).not.toThrow();
  });

  test("each character a plain secret may hold means the same key to standardwebhooks", () => {
    for (let code = 33; code < 127; code++) {
      const secret = `secret-${String.fromCharCode(code)}-secret`;
      expect(checkSecret(secret)).toEqual([]);
      const headers = { ...signatureHeaders({ secret, previous: null }, "dlv_1", "{}", now()) };
      expect(new StandardWebhook(secret, { format: "raw" }).verify("{}", headers)).toEqual({});
    }
  });

  test("a non-ASCII secret, which the API refuses, could never verify with standardwebhooks", () => {
    const secret = "sécret-ключ-🔑";
    expect(checkSecret(secret)).not.toEqual([]);
    const headers = { ...signatureHeaders({ secret, previous: null }, "dlv_1", "{}", now()) };
    expect(() => new StandardWebhook(secret, { format: "raw" }).verify("{}", headers)).toThrow();
  });
});

describe("Contit-Signature (seed 000)", () => {
  test("uses the secret as given, the whsec_ form included", () => {
    for (const secret of [VECTOR.secret, "plain-secret-123"]) {
      const header = signatureHeaders({ secret, previous: null }, "dlv_1", "{}", 1700000000)[
        "contit-signature"
      ];
      const hex = createHmac("sha256", Buffer.from(secret, "utf8"))
        .update("1700000000.{}")
        .digest("hex");
      expect(header).toBe(`t=1700000000,s=${hex}`);
    }
  });
});

describe("while a rotated secret's grace runs", () => {
  const previous = VECTOR.secret;
  const next = "wh_k3J9s0aZq1LmN4bV7cX2dR5tY8uI6oP0";
  const body = '{"a":1}';
  const at = now();
  const headers = signatureHeaders({ secret: next, previous }, "dlv_1", body, at);

  /** Whether each library, holding `secret`, verifies the request. */
  function verifies(secret: string): { standardwebhooks: boolean; svix: boolean } {
    const raw = !secret.startsWith("whsec_");
    const standard = raw
      ? new StandardWebhook(secret, { format: "raw" })
      : new StandardWebhook(secret);
    const svixSecret = raw ? `whsec_${Buffer.from(secret).toString("base64")}` : secret;
    const run = (verify: () => unknown) => {
      try {
        verify();
        return true;
      } catch {
        return false;
      }
    };
    return {
      standardwebhooks: run(() => standard.verify(body, { ...headers })),
      svix: run(() => new SvixWebhook(svixSecret).verify(body, { ...headers })),
    };
  }

  test("webhook-signature carries both, space-separated, and each library verifies with either", () => {
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(verifies(previous)).toEqual({ standardwebhooks: true, svix: true });
    expect(verifies(next)).toEqual({ standardwebhooks: true, svix: true });
    expect(verifies("wh_SomeOtherSecretNeverUsed000000")).toEqual({
      standardwebhooks: false,
      svix: false,
    });
  });

  test("Contit-Signature is the previous secret's, Contit-Signature-Next the new one's", () => {
    const contit = (secret: string) =>
      `t=${at},s=${createHmac("sha256", secret).update(`${at}.${body}`).digest("hex")}`;
    expect(headers["contit-signature"]).toBe(contit(previous));
    expect(headers["contit-signature-next"]).toBe(contit(next));
  });

  test("without a previous secret there is one signature and no Contit-Signature-Next", () => {
    const single = signatureHeaders({ secret: next, previous: null }, "dlv_1", body, at);
    expect(single["webhook-signature"].split(" ")).toHaveLength(1);
    expect(single).not.toHaveProperty("contit-signature-next");
  });
});

describe("which secrets are accepted", () => {
  test.each([
    ["a generated-form secret", "wh_k3J9s0aZq1LmN4bV7cX2dR5tY8uI6oP0"],
    ["a whsec_ secret of 24 bytes", VECTOR.secret],
    ["a whsec_ secret of 32 bytes", `whsec_${Buffer.alloc(32, 7).toString("base64")}`],
  ])("%s is accepted", (_name, secret) => {
    expect(checkSecret(secret)).toEqual([]);
  });

  test.each([
    ["non-ASCII (no receiver library can use it)", "sécret-ключ-🔑"],
    ["whitespace only", "          "],
    ["with a space", "two words here"],
    ["with a control character", "secret\u0001secret"],
    ["shorter than 8 characters", "short"],
    ["whsec_ with a remainder that is not base64", "whsec_not*base64*at*all!"],
    ["whsec_ with unpadded base64", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"],
    ["whsec_ of fewer than 24 bytes", `whsec_${Buffer.alloc(16, 7).toString("base64")}`],
  ])("%s is refused", (_name, secret) => {
    expect(checkSecret(secret)).toEqual([{ field: "secret", message: expect.any(String) }]);
  });
});
