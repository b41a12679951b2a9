/**
 * WAL checkpoints run on a worker thread while the server runs (src/store/checkpointer.ts): the
 * pages committed to the WAL reach the database file without the server's connection checkpointing
 * (its own automatic checkpoint waits for 16,000 pages), and stopping hands checkpoints back to
 * the server's connection at SQLite's default.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log.ts";
import { Checkpointer } from "../../src/store/checkpointer.ts";
import { waitFor } from "../helpers/receiver.ts";
import { createTestApp, type TestApp, tempDir } from "../helpers/test-app.ts";

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => {
  await app.close();
});

const autocheckpoint = () =>
  (app.app.store.sqlite.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint;

test("while the server runs, committed pages reach the database file from the worker", async () => {
  // No webhook: each event is stored all the same, and nothing else writes.
  await app.app.start();
  expect(autocheckpoint()).toBe(16_000);
  const path = app.app.config.dbPath;
  const before = statSync(path).size;
  const fields = { body: "x".repeat(4000) };
  for (let index = 0; index < 100; index++) {
    const response = await app.request("POST", "/events", {
      key: app.keys.write,
      json: { eventType: 0, contentType: "article", contentId: `c${index}`, fields },
    });
    expect(response.status).toBe(202);
  }
  // About 200 pages, far below the server connection's own 16,000: only the worker copies them.
  await waitFor("the database file to grow by the events' pages", () =>
    statSync(path).size > before + 400_000 ? true : undefined,
  );
});

test("stopping ends the worker and gives checkpoints back to the server's connection", async () => {
  const dir = tempDir("hookpost-checkpointer-");
  const store = openStore(join(dir, "hookpost.db"));
  try {
    const log = createLogger("error", () => {});
    const checkpointer = await Checkpointer.start(join(dir, "hookpost.db"), store.sqlite, log);
    if (!checkpointer) throw new Error("the worker did not start");
    expect(store.sqlite.query("PRAGMA wal_autocheckpoint").get()).toEqual({
      wal_autocheckpoint: 16_000,
    });
    await checkpointer.stop();
    expect(store.sqlite.query("PRAGMA wal_autocheckpoint").get()).toEqual({
      wal_autocheckpoint: 1_000,
    });
    // An in-memory database has no WAL: nothing to start.
    expect(await Checkpointer.start(":memory:", store.sqlite, log)).toBeNull();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
