/** Group commit: work queued together shares a transaction; a failing item rolls back alone. */

import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { openStore, type Store } from "../../src/db/connect.ts";
import { tempDir } from "../helpers/test-app.ts";

let store: Store | undefined;
let dir = "";
afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): Store {
  dir = tempDir();
  store = openStore(join(dir, "db.sqlite"));
  store.sqlite.exec("create table t (v text primary key)");
  return store;
}

function values(s: Store): string[] {
  return (s.sqlite.query("select v from t order by v").all() as { v: string }[]).map((r) => r.v);
}

test("items queued together commit together; a failing item rolls back alone", async () => {
  const s = open();
  const insert = (v: string) => () => s.statements.get("insert into t (v) values (?)").run(v);
  const results = await Promise.allSettled([
    s.statements.exclusive(insert("a")),
    s.statements.exclusive(() => {
      insert("b")();
      insert("a")(); // duplicate key: this item fails after writing "b"
    }),
    s.statements.exclusive(insert("c")),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(values(s)).toEqual(["a", "c"]);
});

test("a read queued with writes sees the writes before it; a failing read fails alone", async () => {
  const s = open();
  const insert = (v: string) => () => s.statements.get("insert into t (v) values (?)").run(v);
  const results = await Promise.allSettled([
    s.statements.exclusive(insert("a")),
    s.statements.read(() => values(s)),
    s.statements.read(() => {
      throw new Error("a read that fails");
    }),
    s.statements.exclusive(insert("b")),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
  expect(results[1]).toEqual({ status: "fulfilled", value: ["a"] });
  expect(values(s)).toEqual(["a", "b"]);
});

test("when another connection holds the write lock, writes fail and reads are still answered", async () => {
  const s = open();
  s.sqlite.exec("PRAGMA busy_timeout = 20");
  const other = new Database(join(dir, "db.sqlite"));
  other.exec("begin immediate");
  other.exec("insert into t (v) values ('other')");
  const insert = (v: string) => () => s.statements.get("insert into t (v) values (?)").run(v);
  const results = await Promise.allSettled([
    s.statements.exclusive(insert("a")),
    s.statements.read(() => values(s)),
  ]);
  other.exec("rollback");
  other.close();
  expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
  expect(results[1]).toEqual({ status: "fulfilled", value: [] });
  expect(values(s)).toEqual([]);
});

test("waits for an open Kysely transaction instead of writing inside it", async () => {
  const s = open();
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const kysely = s.db.transaction().execute(async (trx) => {
    await sql`insert into t (v) values ('k')`.execute(trx);
    await held;
    throw new Error("roll the Kysely transaction back");
  });
  await Bun.sleep(5);
  const fast = s.statements.exclusive(() =>
    s.statements.get("insert into t (v) values (?)").run("f"),
  );
  await Bun.sleep(5);
  release();
  await expect(kysely).rejects.toThrow("roll the Kysely transaction back");
  await fast;
  // Had the fast write landed inside the Kysely transaction, its rollback would have taken it.
  expect(values(s)).toEqual(["f"]);
});

test("work queued as the store closes, or after, fails with a clear error instead of throwing unhandled", async () => {
  const s = open();
  const queued = s.statements.read(() => 1);
  // Closed in the same turn, before the batch's turn comes.
  s.statements.close();
  store = undefined;
  await expect(queued).rejects.toThrow("the database is closed");
  await expect(s.statements.exclusive(() => 2)).rejects.toThrow("the database is closed");
});
