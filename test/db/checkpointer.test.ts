/**
 * WAL checkpoints run on the checkpointer's thread, not in the commits. While it runs, the
 * committing connection would only checkpoint past 10,000 pages of log, so the database file
 * itself grows only because the thread copies pages into it. Real files, real threads.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Checkpointer } from "../../src/db/checkpointer.ts";
import { openStore, type Store } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log.ts";
import { createTestApp, type TestApp, tempDir } from "../helpers/test-app.ts";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) await cleanup();
});

async function waitFor(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (condition()) return true;
    await Bun.sleep(20);
  }
  return condition();
}

function autocheckpointOf(store: Store): number {
  return (store.sqlite.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint;
}

/** About 4 MB in 40 commits: some 1,000 pages, a tenth of the committing connection's mark. */
function writeFourMegabytes(store: Store): void {
  store.sqlite.exec("create table if not exists filler (text text not null)");
  const insert = store.sqlite.prepare("insert into filler (text) values (?)");
  for (let commit = 0; commit < 40; commit++) {
    store.sqlite.transaction(() => {
      for (let row = 0; row < 10; row++) insert.run("x".repeat(10_000));
    })();
  }
}

describe("the checkpointer", () => {
  test("copies committed pages into the database file; stopping ends its thread", async () => {
    const dir = tempDir();
    const store = openStore(join(dir, "hookpost.db"));
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const lines: string[] = [];
    const checkpointer = new Checkpointer(
      store.sqlite,
      join(dir, "hookpost.db"),
      createLogger("debug", (line) => lines.push(line)),
    );
    checkpointer.start();
    expect(autocheckpointOf(store)).toBe(10_000);
    const before = statSync(join(dir, "hookpost.db")).size;
    writeFourMegabytes(store);
    const grown = await waitFor(
      () => statSync(join(dir, "hookpost.db")).size >= before + 3_000_000,
      10_000,
    );
    expect(grown).toBe(true);
    expect(await checkpointer.stop()).toBe(true);
    // Without the thread, commits checkpoint themselves again, at SQLite's usual mark.
    expect(autocheckpointOf(store)).toBe(1000);
    expect(lines.filter((line) => line.includes("checkpoint"))).toEqual([]);
  }, 15_000);

  test("runs with the server: the app starts it", async () => {
    const testApp: TestApp = await createTestApp();
    cleanups.push(() => testApp.close());
    const { app } = testApp;
    expect(autocheckpointOf(app.store)).toBe(1000);
    await app.start();
    expect(autocheckpointOf(app.store)).toBe(10_000);
    const before = statSync(app.config.dbPath).size;
    writeFourMegabytes(app.store);
    expect(
      await waitFor(() => statSync(app.config.dbPath).size >= before + 3_000_000, 10_000),
    ).toBe(true);
    expect(testApp.logLines.filter((line) => line.includes("checkpoint thread"))).toEqual([]);
  }, 15_000);
});
