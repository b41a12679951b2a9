/** API keys: stored hashed, verified per request, revocable, bootstrapped on first start. */

import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import {
  authenticate,
  bootstrapApiKeys,
  createApiKey,
  revokeApiKey,
} from "../src/api-keys/service.ts";
import { createApp } from "../src/app.ts";
import { openStore } from "../src/db/connect.ts";
import { migrateToLatest } from "../src/db/migrator.ts";
import { NotFound } from "../src/errors.ts";
import { createLogger } from "../src/log.ts";
import { tempDir, testConfig } from "./helpers/test-app.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function freshStore() {
  const dir = tempDir();
  dirs.push(dir);
  const store = openStore(`${dir}/keys.db`);
  await migrateToLatest(store.db);
  return store;
}

describe("API keys", () => {
  test("only a hash is stored, never the plain key", async () => {
    const store = await freshStore();
    const created = await createApiKey(store.db, { workspace: "acme", access: "read" });
    const rows = await store.db.selectFrom("api_keys").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(created.key);
    expect(rows[0]?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    await store.close();
  });

  test("a key authenticates as its workspace and policy; others do not", async () => {
    const store = await freshStore();
    const created = await createApiKey(store.db, { workspace: "acme", access: "read" });
    expect(await authenticate(store.keyByHash, created.key)).toEqual({
      keyId: created.id,
      workspace: "acme",
      access: "read",
    });
    expect(await authenticate(store.keyByHash, `${created.key}x`)).toBeNull();
    expect(await authenticate(store.keyByHash, "")).toBeNull();
    expect(await authenticate(store.keyByHash, null)).toBeNull();
    expect(await authenticate(store.keyByHash, "x".repeat(10_000))).toBeNull();
    await store.close();
  });

  test("a revoked key stops authenticating; revoking twice is NotFound", async () => {
    const store = await freshStore();
    const created = await createApiKey(store.db, { workspace: "acme", access: "write" });
    await revokeApiKey(store.db, created.id);
    expect(await authenticate(store.keyByHash, created.key)).toBeNull();
    expect(revokeApiKey(store.db, created.id)).rejects.toBeInstanceOf(NotFound);
    await store.close();
  });

  test("first start on an empty database creates workspace default and one write key, once", async () => {
    const store = await freshStore();
    const first = await bootstrapApiKeys(store.db, null);
    expect(first.kind).toBe("generated");
    if (first.kind !== "generated") return;
    expect(await authenticate(store.keyByHash, first.created.key)).toMatchObject({
      workspace: "default",
      access: "write",
    });
    expect((await bootstrapApiKeys(store.db, null)).kind).toBe("nothing-to-do");
    await store.close();
  });

  test("HOOKPOST_API_KEY is registered as a write key of default, idempotently", async () => {
    const store = await freshStore();
    const configured = "operator-chosen-key-0123456789";
    const first = await bootstrapApiKeys(store.db, configured);
    const second = await bootstrapApiKeys(store.db, configured);
    expect(first.kind).toBe("registered-env-key");
    expect(second).toEqual(first);
    expect(await authenticate(store.keyByHash, configured)).toMatchObject({
      workspace: "default",
      access: "write",
    });
    await store.close();
  });

  test("a revoked HOOKPOST_API_KEY stays revoked across restarts", async () => {
    const store = await freshStore();
    const configured = "operator-chosen-key-0123456789";
    const first = await bootstrapApiKeys(store.db, configured);
    if (first.kind !== "registered-env-key") throw new Error(first.kind);
    await revokeApiKey(store.db, first.keyId);
    expect((await bootstrapApiKeys(store.db, configured)).kind).toBe("env-key-revoked");
    expect(await authenticate(store.keyByHash, configured)).toBeNull();
    await store.close();
  });

  test("the generated first-start key is announced once and never logged", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const announced: string[] = [];
    const logged: string[] = [];
    const options = {
      log: createLogger("debug", (line: string) => logged.push(line)),
      announce: (text: string) => announced.push(text),
    };
    const first = await createApp(testConfig(dir), options);
    await first.stop();
    const second = await createApp(testConfig(dir), options);
    await second.stop();
    expect(announced).toHaveLength(1);
    const key = announced[0]?.match(/hpk_[A-Za-z0-9]{40}/)?.[0];
    expect(key).toBeDefined();
    expect(logged.join("\n")).not.toContain(key ?? "missing");
  });
});
