/**
 * Returning Processing deliveries to the queue (expired leases, once a second; every one at
 * startup) searches only the webhooks that have Processing rows, per `delivery_counts`, through
 * `deliveries_log_by_status`: never a scan of a log that may hold millions of finished rows.
 * And it still finds them: a leased delivery is Waiting again, one of a deleted webhook Error.
 */

import type { Statement } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import {
  releaseDeliveryNow,
  releaseExpiredLeasesNow,
  resetAllProcessingNow,
  WEBHOOK_GONE,
} from "../../src/scheduler/fast-queries.ts";
import { GroupCommit } from "../../src/store/group-commit.ts";
import { queryPlan } from "../helpers/query-plans.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

/** A statement cache that remembers the SQL it was asked for. */
class RecordingCache extends GroupCommit {
  readonly asked: string[] = [];
  override get(sql: string): Statement {
    this.asked.push(sql);
    return super.get(sql);
  }
}

let testApp: TestApp;

beforeAll(async () => {
  testApp = await createTestApp();
});
afterAll(async () => {
  await testApp.close();
});

async function publishOne(contentType: string): Promise<string> {
  const response = await testApp.request("POST", "/events", {
    key: testApp.keys.write,
    json: { eventType: 0, contentType, contentId: "c1" },
  });
  expect(response.status).toBe(202);
  const [delivery] = (response.body as { deliveries: { deliveryId: string }[] }).deliveries;
  if (!delivery) throw new Error("no delivery");
  return delivery.deliveryId;
}

function stateOf(id: string) {
  return testApp.app.store.sqlite
    .query("select process_status as status, last_error as error from deliveries where id = ?")
    .get(id) as { status: number; error: string | null };
}

describe("returning Processing deliveries to the queue", () => {
  test("searches per webhook with Processing rows, and finds them", async () => {
    const { sqlite } = testApp.app.store;
    await createWebhook(testApp, { eventTypes: { kept: [0] } });
    const gone = await createWebhook(testApp, { eventTypes: { gone: [0] } });
    const expired = await publishOne("kept");
    const leased = await publishOne("kept");
    const orphan = await publishOne("gone");
    const lease = sqlite.prepare(
      "update deliveries set process_status = 1, lease_until = ? where id = ?",
    );
    lease.run(1_000, expired);
    lease.run(Date.now() + 3_600_000, leased);
    lease.run(1_000, orphan);
    expect(
      (await testApp.request("DELETE", `/webhooks/${gone.id}`, { key: testApp.keys.write })).status,
    ).toBeLessThan(300);

    const statements = new RecordingCache(sqlite);
    expect(releaseExpiredLeasesNow(statements, Date.now())).toBe(2);
    expect(stateOf(expired).status).toBe(ProcessStatus.Waiting);
    expect(stateOf(leased).status).toBe(ProcessStatus.Processing);
    expect(stateOf(orphan)).toEqual({ status: ProcessStatus.Error, error: WEBHOOK_GONE });
    expect(resetAllProcessingNow(statements)).toBe(1);
    expect(stateOf(leased).status).toBe(ProcessStatus.Waiting);

    expect(statements.asked).toHaveLength(2);
    // A webhook's row moved by hand to another webhook: its counts follow, so it is found.
    const moved = await publishOne("kept");
    lease.run(1_000, moved);
    sqlite.prepare("update deliveries set webhook_id = 'whk_elsewhere' where id = ?").run(moved);
    expect(releaseExpiredLeasesNow(statements, Date.now())).toBe(1);
    expect(stateOf(moved)).toEqual({ status: ProcessStatus.Error, error: WEBHOOK_GONE });
    for (const sql of statements.asked) {
      const steps = queryPlan(sqlite, sql, sql.includes("?") ? [1] : []);
      expect(steps[0]).toMatch(
        /^SEARCH deliveries USING (COVERING )?INDEX deliveries_log_by_status \(webhook_id=\? AND process_status=\?\)$/,
      );
      expect(steps.filter((step) => step.startsWith("SCAN deliveries"))).toEqual([]);
    }
  });

  test("one aborted delivery goes back by its id alone", async () => {
    const { sqlite } = testApp.app.store;
    await createWebhook(testApp, { eventTypes: { aborted: [0] } });
    const id = await publishOne("aborted");
    sqlite
      .prepare("update deliveries set process_status = 1, lease_until = 1 where id = ?")
      .run(id);
    const statements = new RecordingCache(sqlite);
    releaseDeliveryNow(statements, id);
    expect(stateOf(id).status).toBe(ProcessStatus.Waiting);
    const [sql] = statements.asked;
    // The primary key, then the webhook's existence by its own key.
    expect(queryPlan(sqlite, String(sql), [id])[0]).toBe(
      "SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)",
    );
  });
});
