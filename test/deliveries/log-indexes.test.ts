/**
 * The delivery log's status-code filter counts through `deliveries_log_by_code`, which holds
 * only deliveries that got an answer (migration 0008): the filter's bounds imply its
 * `IS NOT NULL`, so SQLite still searches it rather than scanning the webhook's log.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { countDeliveryLog } from "../../src/deliveries/repository.ts";
import { queryPlan, recordingKysely } from "../helpers/query-plans.ts";
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
    const { db: logged, executed } = recordingKysely(testApp.app.store);
    expect(await countDeliveryLog(logged, "whk_none", filter)).toBe(0);
    const [query] = executed;
    if (!query) throw new Error("no query ran");
    const plan = queryPlan(testApp.app.store.sqlite, query.sql, query.parameters);
    expect(plan.join("; ")).toMatch(
      /^SEARCH deliveries USING COVERING INDEX deliveries_log_by_code \(webhook_id=\? AND response_status_code[<>]/,
    );
  });
});
