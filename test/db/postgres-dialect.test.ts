/**
 * The Kysely dialect over Bun's PostgreSQL client (src/db/postgres/dialect.ts), on a real server:
 * `int8` and `numeric` come back as numbers (and throw rather than round), transactions and
 * savepoints roll back on the reserved connection, and writes report the rows they touched.
 * Skipped without a PostgreSQL server.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "kysely";
import { openPostgres, type PostgresHandle } from "../../src/db/postgres/connect.ts";
import { migratePostgresToLatest } from "../../src/db/postgres/migrator.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/postgres.ts";

const T0 = Date.UTC(2026, 0, 1);
const available = await postgresAvailable();

describe.skipIf(!available)("the Bun PostgreSQL dialect", () => {
  let database: TestDatabase;
  let postgres: PostgresHandle;

  beforeAll(async () => {
    database = await createTestDatabase();
    postgres = openPostgres(database.url, { max: 2 });
    await migratePostgresToLatest(postgres.db);
  });

  afterAll(async () => {
    await postgres?.close();
    await database?.drop();
  });

  const workspaceNames = async () =>
    (await postgres.db.selectFrom("workspaces").select("name").orderBy("name").execute()).map(
      (row) => row.name,
    );

  test("int8 columns, count(*) and sum() come back as numbers", async () => {
    await postgres.db
      .insertInto("workspaces")
      .values([
        { name: "ints-a", created_at: T0 },
        { name: "ints-b", created_at: T0 + 1 },
      ])
      .execute();
    const row = await postgres.db
      .selectFrom("workspaces")
      .where("name", "like", "ints-%")
      .select((eb) => [
        eb.fn.countAll<number>().as("count"),
        eb.fn.sum<number>("created_at").as("sum"),
        eb.fn.max("created_at").as("latest"),
      ])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ count: 2, sum: 2 * T0 + 1, latest: T0 + 1 });
    const none = await sql<{ nothing: number | null }>`select null::int8 as nothing`.execute(
      postgres.db,
    );
    expect(none.rows).toEqual([{ nothing: null }]);
  });

  test("an int8 or numeric beyond Number.MAX_SAFE_INTEGER throws instead of rounding", async () => {
    for (const value of [sql`9007199254740993::int8`, sql`9007199254740993::numeric`]) {
      await expect(sql`select ${value} as big`.execute(postgres.db)).rejects.toThrow(
        /"big" holds 9007199254740993/,
      );
    }
    const exact = await sql<{ big: number }>`select 9007199254740991::int8 as big`.execute(
      postgres.db,
    );
    expect(exact.rows).toEqual([{ big: Number.MAX_SAFE_INTEGER }]);
  });

  test("a transaction that throws rolls back on its connection", async () => {
    const failure = postgres.db.transaction().execute(async (trx) => {
      await trx.insertInto("workspaces").values({ name: "rolled-back", created_at: T0 }).execute();
      expect(
        await trx
          .selectFrom("workspaces")
          .select("name")
          .where("name", "=", "rolled-back")
          .execute(),
      ).toHaveLength(1);
      throw new Error("abandon");
    });
    await expect(failure).rejects.toThrow("abandon");
    expect(await workspaceNames()).not.toContain("rolled-back");
  });

  test("rolling back to a savepoint keeps what came before it", async () => {
    const trx = await postgres.db.startTransaction().execute();
    await trx.insertInto("workspaces").values({ name: "kept", created_at: T0 }).execute();
    const savepoint = await trx.savepoint("second").execute();
    await savepoint.insertInto("workspaces").values({ name: "undone", created_at: T0 }).execute();
    await savepoint.rollbackToSavepoint("second").execute();
    await trx.commit().execute();
    const names = await workspaceNames();
    expect(names).toContain("kept");
    expect(names).not.toContain("undone");
  });

  test("inserts, updates and deletes report the rows they touched", async () => {
    const inserted = await postgres.db
      .insertInto("workspaces")
      .values([1, 2, 3].map((n) => ({ name: `touched-${n}`, created_at: T0 })))
      .executeTakeFirstOrThrow();
    expect(inserted.numInsertedOrUpdatedRows).toBe(3n);
    const updated = await postgres.db
      .updateTable("workspaces")
      .set({ created_at: T0 + 5 })
      .where("name", "in", ["touched-1", "touched-2", "missing"])
      .executeTakeFirstOrThrow();
    expect(updated.numUpdatedRows).toBe(2n);
    const deleted = await postgres.db
      .deleteFrom("workspaces")
      .where("name", "like", "touched-%")
      .executeTakeFirstOrThrow();
    expect(deleted.numDeletedRows).toBe(3n);
  });
});
