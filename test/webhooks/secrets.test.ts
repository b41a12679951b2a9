/**
 * Signing secrets: generated on create, overridable, kept on update, rotated on demand; only
 * secrets the receiver libraries can use are taken.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, reopenEnv, type TestApp } from "../helpers/test-app.ts";

interface Saved {
  id: string;
  secret: string;
}

describe("webhook secrets", () => {
  let app: TestApp;
  const put = async (json: Record<string, unknown>): Promise<Saved> => {
    const response = await app.request("PUT", "/webhooks", { key: app.keys.write, json });
    expect(response.status).toBe(200);
    return response.body as Saved;
  };
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test("each new webhook gets its own generated wh_ + 32-character secret", async () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { secret } = await put({ endpoint: "https://example.com/a" });
      expect(secret).toMatch(/^wh_[A-Za-z0-9]{32}$/);
      secrets.add(secret);
    }
    expect(secrets.size).toBe(20);
  });

  test("a non-empty secret in the body overrides the generated one", async () => {
    const { secret } = await put({
      endpoint: "https://example.com/a",
      secret: "imported-secret-123",
    });
    expect(secret).toBe("imported-secret-123");
  });

  test("an update without a secret keeps the current one", async () => {
    const created = await put({ endpoint: "https://example.com/a" });
    const updated = await put({ id: created.id, endpoint: "https://example.com/b" });
    expect(updated.secret).toBe(created.secret);
  });

  test("an update with an empty secret keeps the current one", async () => {
    const created = await put({ endpoint: "https://example.com/a" });
    const updated = await put({ id: created.id, endpoint: "https://example.com/b", secret: "" });
    expect(updated.secret).toBe(created.secret);
  });

  test("an update with a new secret replaces it", async () => {
    const created = await put({ endpoint: "https://example.com/a" });
    const updated = await put({
      id: created.id,
      endpoint: "https://example.com/a",
      secret: "replacement-secret",
    });
    expect(updated.secret).toBe("replacement-secret");
  });

  test("rotation makes a fresh secret and the old one is gone everywhere", async () => {
    const created = await put({ endpoint: "https://example.com/a" });
    const rotated = await app.request("POST", `/webhooks/${created.id}/rotate-secret`, {
      key: app.keys.write,
    });
    const { secret } = rotated.body as Saved;
    expect(secret).toMatch(/^wh_[A-Za-z0-9]{32}$/);
    expect(secret).not.toBe(created.secret);
    const list = await app.request("GET", "/webhooks", { key: app.keys.read });
    expect(list.text).toContain(secret);
    expect(list.text).not.toContain(created.secret);
  });

  test("secrets never reach the log", async () => {
    const { secret } = await put({
      endpoint: "https://example.com/a",
      secret: "log-canary-secret-42",
    });
    await app.request("POST", "/webhooks/wh_missing/rotate-secret", { key: app.keys.write });
    expect(secret).toBe("log-canary-secret-42");
    const log = app.logLines.join("\n");
    expect(log).not.toContain("log-canary-secret-42");
    expect(log).not.toContain(app.keys.write);
  });

  test("a secret in the Standard Webhooks form (whsec_ + base64) is taken as sent", async () => {
    const { secret } = await put({
      endpoint: "https://example.com/a",
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });
    expect(secret).toBe("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  });

  test.each([
    ["non-ASCII", "sécret-ключ-🔑"],
    ["whitespace only", "          "],
    ["whsec_ with a remainder that is not base64", "whsec_not*base64*at*all!"],
    ["whsec_ of fewer than 24 bytes", "whsec_AAAAAAAAAAAAAAAAAAAAAA=="],
  ])(
    "a %s secret is a 400 naming secret, on create and update, and changes nothing",
    async (_name, secret) => {
      const created = await put({ endpoint: "https://example.com/a" });
      for (const json of [
        { endpoint: "https://example.com/a", secret },
        { id: created.id, endpoint: "https://example.com/a", secret },
      ]) {
        const response = await app.request("PUT", "/webhooks", { key: app.keys.write, json });
        expect(response.status).toBe(400);
        expect(response.body).toMatchObject({
          error: { details: { fields: [{ field: "secret" }] } },
        });
      }
      const read = await app.request("GET", `/webhooks/${created.id}`, { key: app.keys.read });
      expect((read.body as Saved).secret).toBe(created.secret);
    },
  );
});

describe("secrets stored before the rules", () => {
  test("are named at startup by webhook id, never quoted", async () => {
    const first = await createTestApp();
    let reopened: TestApp | undefined;
    try {
      const created = await first.request("PUT", "/webhooks", {
        key: first.keys.write,
        json: { endpoint: "https://example.com/old" },
      });
      const { id } = created.body as Saved;
      // What an older version let through: the rules now refuse it at PUT.
      await first.app.store.db
        .updateTable("webhooks")
        .set({ secret: "sécret-ключ-🔑" })
        .where("id", "=", id)
        .execute();
      await first.app.stop();
      reopened = await createTestApp(reopenEnv(first.app));
      const warnings = reopened.logLines.filter((line) =>
        line.includes("stored secret cannot be verified"),
      );
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0] ?? "{}")).toMatchObject({
        level: "warn",
        webhookId: id,
        workspace: "default",
      });
      expect(reopened.logLines.join("\n")).not.toContain("ключ");
    } finally {
      await reopened?.close();
      await first.close();
    }
  });
});
