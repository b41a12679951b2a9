/**
 * The plans of the delivery log's filters. The status-code filter counts through
 * `deliveries_log_by_code`, which holds only deliveries that got an answer (migration 0008): the
 * filter's bounds imply its `IS NOT NULL`, so SQLite still searches it rather than scanning the
 * webhook's log. The state filter searches `deliveries_log_by_state` (migration 0012), keyed on
 * the state as an expression: the query's expression must be the index's, or SQLite would walk
 * every row of the status reading its attempts.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Executor } from "../../src/db/database.ts";
import type { DeliveryState } from "../../src/deliveries/model.ts";
import { countDeliveryLog, type InFlightOf, listDeliveryLog } from "../../src/store/log.ts";
import { queryPlan, recordingKysely } from "../helpers/query-plans.ts";
import { createTestApp, describeOnSqlite, sqliteOf, type TestApp } from "../helpers/test-app.ts";

let testApp: TestApp;
/** No delivery in flight; a Waiting filter with some is checked on its own below. */
const NONE: InFlightOf = { ids: [], firstAttempts: 0 };

beforeAll(async () => {
  testApp = await createTestApp();
});
afterAll(async () => {
  await testApp.close();
});

describeOnSqlite("the status-code index", () => {
  test("holds answered deliveries only", () => {
    const { sql } = sqliteOf(testApp.app)
      .sqlite.query("select sql from sqlite_master where name = 'deliveries_log_by_code'")
      .get() as { sql: string };
    expect(sql).toMatch(/where response_status_code is not null$/i);
  });

  test.each([
    [{ statusCodeFrom: 500 }],
    [{ statusCodeTo: 299 }],
    [{ statusCodeFrom: 500, statusCodeTo: 599 }],
  ])("a count filtered by %o searches it", async (filter) => {
    const { db: logged, executed } = recordingKysely(sqliteOf(testApp.app));
    expect(await countDeliveryLog(logged, "whk_none", filter, NONE)).toBe(0);
    const [query] = executed;
    if (!query) throw new Error("no query ran");
    const plan = queryPlan(sqliteOf(testApp.app).sqlite, query.sql, query.parameters);
    expect(plan.join("; ")).toMatch(
      /^SEARCH deliveries USING COVERING INDEX deliveries_log_by_code \(webhook_id=\? AND response_status_code[<>]/,
    );
  });
});

describeOnSqlite("the state filter", () => {
  /** The plan of every query `run` makes, one string per query. */
  async function plansOf(run: (db: Executor) => Promise<unknown>) {
    const { db: logged, executed } = recordingKysely(sqliteOf(testApp.app));
    await run(logged);
    if (executed.length === 0) throw new Error("no query ran");
    return executed.map((query) =>
      queryPlan(sqliteOf(testApp.app).sqlite, query.sql, query.parameters).join("; "),
    );
  }
  const byState =
    /^SEARCH deliveries USING (COVERING )?INDEX deliveries_log_by_state \(webhook_id=\? AND <expr>=\?/;
  const after = { createdAt: Date.UTC(2026, 4, 15), id: "dlv_x" };

  test.each<DeliveryState>(["retrying", "failed", "exhausted"])(
    "state=%s searches the state index for its page, the next after a cursor, and a count with a date bound",
    async (state) => {
      const plans = await plansOf(async (db) => {
        await listDeliveryLog(db, "whk_none", { state }, NONE, { limit: 21 });
        await listDeliveryLog(db, "whk_none", { state }, NONE, { limit: 21, after });
        await countDeliveryLog(db, "whk_none", { state, from: after.createdAt }, NONE);
      });
      expect(plans).toHaveLength(3);
      for (const plan of plans) {
        expect(plan).toMatch(byState);
        // Newest first straight from the index: no sort of the matches.
        expect(plan).not.toContain("TEMP B-TREE");
      }
    },
  );

  test("state=pending pages through the Waiting entries of the status index (a new delivery writes no state-index entry)", async () => {
    const plans = await plansOf(async (db) => {
      await listDeliveryLog(db, "whk_none", { state: "pending" }, NONE, { limit: 21 });
      await listDeliveryLog(db, "whk_none", { state: "pending" }, NONE, { limit: 21, after });
    });
    for (const plan of plans) {
      expect(plan).toMatch(
        /^SEARCH deliveries USING INDEX deliveries_log_by_status \(webhook_id=\? AND process_status=\?/,
      );
      expect(plan).not.toContain("TEMP B-TREE");
    }
  });

  const keptState = "SEARCH delivery_state_counts USING PRIMARY KEY (webhook_id=? AND state=?)";
  const keptStatus = "SEARCH delivery_counts USING PRIMARY KEY (webhook_id=? AND process_status=?)";
  test.each<[DeliveryState, string[]]>([
    ["retrying", [keptState]],
    ["exhausted", [keptState]],
    ["pending", [keptState, keptStatus]],
    ["failed", [keptState, keptStatus]],
  ])("the total of state=%s alone is a lookup of the kept counts", async (state, expected) => {
    expect(await plansOf((db) => countDeliveryLog(db, "whk_none", { state }, NONE))).toEqual(
      expected,
    );
  });

  test("with the status it implies, state=retrying still searches the state index", async () => {
    const [plan] = await plansOf((db) =>
      listDeliveryLog(db, "whk_none", { state: "retrying", processStatus: 0 }, NONE, { limit: 21 }),
    );
    expect(plan).toMatch(byState);
  });

  test("state=success is a whole status: the status index and the kept counts", async () => {
    const plans = await plansOf(async (db) => {
      await listDeliveryLog(db, "whk_none", { state: "success" }, NONE, { limit: 21 });
      await countDeliveryLog(db, "whk_none", { state: "success" }, NONE);
    });
    expect(plans[0]).toMatch(
      /^SEARCH deliveries USING INDEX deliveries_log_by_status \(webhook_id=\? AND process_status=\?\)$/,
    );
    expect(plans[1]).toMatch(/^SEARCH delivery_counts USING PRIMARY KEY/);
  });

  const flying: InFlightOf = { ids: ["dlv_a", "dlv_b"], firstAttempts: 1 };

  test("state=processing reads the deliveries in flight by id, and counts them without a query", async () => {
    const plans = await plansOf(async (db) => {
      await listDeliveryLog(db, "whk_none", { state: "processing" }, flying, { limit: 21 });
      expect(await countDeliveryLog(db, "whk_none", { state: "processing" }, flying)).toBe(2);
    });
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatch(
      /^SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 \(id=\?\)/,
    );
  });

  test.each<DeliveryState>(["pending", "retrying"])(
    "state=%s with deliveries in flight still searches its index, leaving those out",
    async (state) => {
      const [plan] = await plansOf((db) =>
        listDeliveryLog(db, "whk_none", { state }, flying, { limit: 21 }),
      );
      expect(plan).toMatch(state === "pending" ? /deliveries_log_by_status/ : byState);
      expect(plan).not.toContain("TEMP B-TREE");
    },
  );
});
