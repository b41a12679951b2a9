/**
 * `GET /health` says whether the database can be written, not merely read: another connection
 * holding the write lock (as a second process would) makes every write fail, and /health with
 * them — promptly, without waiting out the busy timeout — until the lock is released.
 */

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { VERSION } from "../../src/version.ts";
import { createTestApp, sqliteOf, type TestApp, testOnSqlite } from "../helpers/test-app.ts";

describe("GET /health", () => {
  let t: TestApp;
  let other: Database;
  beforeAll(async () => {
    t = await createTestApp();
    other = new Database(t.app.config.dbPath);
  });
  afterAll(async () => {
    other.close();
    await t.close();
  });

  test("is 200 with db ok while the database can be written", async () => {
    const response = await t.request("GET", "/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: "ok",
      version: VERSION,
      uptimeSeconds: expect.any(Number),
      db: "ok",
    });
  });

  async function expectDegraded(): Promise<void> {
    const health = await t.request("GET", "/health");
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      status: "degraded",
      version: VERSION,
      uptimeSeconds: expect.any(Number),
      db: "error",
      dbError: "database is locked",
    });
  }

  testOnSqlite(
    "is 503 with db error while another connection holds the write lock and writes fail; 200 once released",
    async () => {
      other.exec("BEGIN IMMEDIATE");
      try {
        const write = await t.request("PUT", "/webhooks", {
          key: t.keys.write,
          json: { endpoint: "https://example.com/locked" },
        });
        expect(write.status).toBe(500);
        await expectDegraded();
      } finally {
        other.exec("ROLLBACK");
      }
      expect((await t.request("GET", "/health")).status).toBe(200);
      const write = await t.request("PUT", "/webhooks", {
        key: t.keys.write,
        json: { endpoint: "https://example.com/unlocked" },
      });
      expect(write.status).toBe(200);
    },
    30_000,
  );

  testOnSqlite(
    "waits out a lock another process holds briefly: 200, not a flap to 503",
    async () => {
      other.exec("BEGIN IMMEDIATE");
      const release = setTimeout(() => other.exec("ROLLBACK"), 20);
      try {
        const health = await t.request("GET", "/health");
        expect(health.status).toBe(200);
      } finally {
        clearTimeout(release);
        if (other.inTransaction) other.exec("ROLLBACK");
      }
    },
  );

  testOnSqlite(
    "is 503 while another connection holds an exclusive lock with a write pending",
    async () => {
      other.exec("BEGIN EXCLUSIVE");
      try {
        other.exec("DELETE FROM webhooks");
        await expectDegraded();
      } finally {
        other.exec("ROLLBACK");
      }
      expect((await t.request("GET", "/health")).status).toBe(200);
    },
  );

  testOnSqlite("leaves the connection's busy timeout as it was", async () => {
    const before = sqliteOf(t.app).sqlite.query("PRAGMA busy_timeout").get();
    other.exec("BEGIN IMMEDIATE");
    try {
      expect((await t.request("GET", "/health")).status).toBe(503);
    } finally {
      other.exec("ROLLBACK");
    }
    expect(sqliteOf(t.app).sqlite.query("PRAGMA busy_timeout").get()).toEqual(before);
  });
});
