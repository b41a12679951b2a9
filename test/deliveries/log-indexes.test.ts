/**
 * The delivery log's status-code filter counts through `deliveries_log_by_code`, which holds
 * only deliveries that got an answer (migration 0008): the filter's bounds imply its
 * `IS NOT NULL`, so SQLite still searches it rather than scanning the webhook's log.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CompiledQuery, Kysely, SqliteDialect } from "kysely";
import type { Database } from "../../src/db/database.ts";
import { countDeliveryLog } from "../../src/deliveries/repository.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let testApp: TestApp;

beforeAll(async () => {
  testApp = await createTestApp();
});
afterAll(async () => {
  await testApp.close();
});

describe("the status-code index", () => {
  test("holds answered deliveries only", () => {
    const { sql } = testApp.app.store.sqlite
      .query("select sql from sqlite_master where name = 'deliveries_log_by_code'")
      .get() as { sql: string };
    expect(sql).toMatch(/where response_status_code is not null$/i);
  });

  test.each([
    [{ statusCodeFrom: 500 }],
    [{ statusCodeTo: 299 }],
    [{ statusCodeFrom: 500, statusCodeTo: 599 }],
  ])("a count filtered by %o searches it", async (filter) => {
    const executed: CompiledQuery[] = [];
    // A second Kysely on the same handle, logging what runs. Not destroyed: that would close
    // the handle the app still owns.
    const logged = new Kysely<Database>({
      dialect: new SqliteDialect({ database: testApp.app.store.statements.asKyselyDatabase() }),
      log: (event) => {
        if (event.level === "query") executed.push(event.query);
      },
    });
    expect(await countDeliveryLog(logged, "whk_none", filter)).toBe(0);
    const [query] = executed;
    if (!query) throw new Error("no query ran");
    const plan = testApp.app.store.sqlite
      .query(`EXPLAIN QUERY PLAN ${query.sql}`)
      .all(...(query.parameters as (string | number)[])) as { detail: string }[];
    expect(plan.map((row) => row.detail).join("; ")).toMatch(
      /^SEARCH deliveries USING COVERING INDEX deliveries_log_by_code \(webhook_id=\? AND response_status_code[<>]/,
    );
  });
});
