/**
 * The server lock in one process: createApp takes it, a second app on the same file is
 * refused at once, stop() releases it, and an in-memory database takes none.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { type App, createApp } from "../../src/app.ts";
import { ServerLockError } from "../../src/db/server-lock.ts";
import { createLogger } from "../../src/log.ts";
import { tempDir, testConfig } from "../helpers/test-app.ts";

const quiet = { log: createLogger("error", () => {}), announce: () => {} };

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A folder of its own, removed after the test. */
function folder(): string {
  const dir = tempDir("hookpost-lock-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An app whose stop() runs after the test (stopping twice is safe). */
async function app(config: ReturnType<typeof testConfig>): Promise<App> {
  const created = await createApp(config, quiet);
  cleanups.push(() => created.stop());
  return created;
}

describe("server lock", () => {
  test("a second app on the same file is refused, naming the file; after stop a new one starts", async () => {
    const config = testConfig(folder());
    const first = await app(config);
    const url = await first.start();

    const refused = createApp(config, quiet);
    await expect(refused).rejects.toBeInstanceOf(ServerLockError);
    await expect(refused).rejects.toThrow(
      `another hookpost server is already running on ${config.dbPath} (it holds ${config.dbPath}-serve.lock)`,
    );
    // The refusal left the running one alone.
    expect((await fetch(`${url}/health`)).status).toBe(200);

    await first.stop();
    const next = await app(config);
    const nextUrl = await next.start();
    expect((await fetch(`${nextUrl}/health`)).status).toBe(200);
  });

  test("an in-memory database takes no lock: two apps on :memory: both start", async () => {
    const config = { ...testConfig(folder()), dbPath: ":memory:" };
    await app(config);
    const second = await app(config);
    expect(second.store.location).toBe(":memory:");
  });
});
