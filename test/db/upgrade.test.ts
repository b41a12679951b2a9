/**
 * Upgrading a database that lived under migration 0009 (issue 13): a real SQLite file migrated
 * to `0009_queue_from_counts`, filled with plain SQL in that schema (workspaces, keys, webhooks
 * of two workspaces, events, deliveries in all six states, a retry chain, attempts, failure
 * notices), then opened by the app, which migrates it to the latest. Nothing may be lost, and
 * what 0010–0012 derive from the old rows must match those rows.
 */

import { Database as SqliteDatabase } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type MigrationProvider, Migrator } from "kysely";
import { migrations } from "../../migrations/index.ts";
import { hashApiKey } from "../../src/api-keys/service.ts";
import { type App, createApp } from "../../src/app.ts";
import { openStore } from "../../src/db/connect.ts";
import { migrateToLatest } from "../../src/db/migrator.ts";
import { deliveryState, ProcessStatus } from "../../src/deliveries/status.ts";
import { newApiKeyValue, newId } from "../../src/ids.ts";
import { createLogger } from "../../src/log.ts";
import { buildRequest, readResponse, tempDir, testConfig } from "../helpers/test-app.ts";

const BEFORE_UPGRADE = "0009_queue_from_counts";
const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Migrates the file at `path` to exactly `target` (up or down), like src/db/migrator.ts. */
async function migrateFileTo(path: string, target: string): Promise<void> {
  const store = openStore(path);
  try {
    const { error } = await new Migrator({ db: store.db, provider }).migrateTo(target);
    if (error) throw error;
  } finally {
    await store.close();
  }
}

type Row = Record<string, string | number | null>;

const T0 = Date.UTC(2026, 0, 1);
const keys = { defaultRead: newApiKeyValue(), otherWrite: newApiKeyValue() };
const ids = {
  hookA: newId("wh", T0),
  hookB: newId("wh", T0 + 1),
  hookC: newId("wh", T0 + 2),
  event1: newId("evt", T0 + 10),
  event2: newId("evt", T0 + 11),
};

/**
 * The deliveries: [name, webhook, process status, attempts, max attempts, retry of]. Each
 * state appears on webhook A, and some on C, so the counts differ per webhook; `chain1` retries
 * `root`, `chain2` retries `chain1`, and `orphan` retries a delivery retention already removed.
 */
/** The id a retry still names after retention removed the delivery it retried. */
const REMOVED_ANCESTOR = newId("dlv", T0 - 1);

const DELIVERIES: [string, string, number, number, number, string | null][] = [
  ["root", ids.hookA, ProcessStatus.Error, 5, 5, null],
  ["chain1", ids.hookA, ProcessStatus.Error, 2, 5, "root"],
  ["chain2", ids.hookA, ProcessStatus.Sent, 1, 5, "chain1"],
  ["orphan", ids.hookA, ProcessStatus.Sent, 1, 5, REMOVED_ANCESTOR],
  ["pendingA", ids.hookA, ProcessStatus.Waiting, 0, 5, null],
  ["retryingA1", ids.hookA, ProcessStatus.Waiting, 2, 5, null],
  ["retryingA2", ids.hookA, ProcessStatus.Waiting, 1, 5, null],
  ["processingA", ids.hookA, ProcessStatus.Processing, 1, 5, null],
  ["sentA", ids.hookA, ProcessStatus.Sent, 3, 5, null],
  ["exhaustedA", ids.hookA, ProcessStatus.Error, 3, 3, null],
  ["failedA", ids.hookA, ProcessStatus.Error, 1, 5, null],
  ["sentB", ids.hookB, ProcessStatus.Sent, 1, 5, null],
  ["pendingC", ids.hookC, ProcessStatus.Waiting, 0, 5, null],
  ["retryingC", ids.hookC, ProcessStatus.Waiting, 4, 5, null],
  ["exhaustedC1", ids.hookC, ProcessStatus.Error, 5, 5, null],
  ["exhaustedC2", ids.hookC, ProcessStatus.Error, 7, 5, null],
];
const deliveryIds = new Map(DELIVERIES.map(([name], i) => [name, newId("dlv", T0 + 100 + i)]));
/** The id of the fixture's delivery `name`. */
function deliveryId(name: string): string {
  const id = deliveryIds.get(name);
  if (id === undefined) throw new Error(`no delivery ${name} in the fixture`);
  return id;
}
const workspaceOf: Record<string, string> = {
  [ids.hookA]: "default",
  [ids.hookB]: "default",
  [ids.hookC]: "other",
};

function webhook(id: string, workspace: string, enabled: number): Row {
  return {
    id,
    workspace,
    name: `hook ${id}`,
    description: "kept",
    endpoint: `https://example.com/${id}`,
    secret: `whsec_${id}`,
    event_types: "[1,2]",
    use_custom_payload: 0,
    custom_payload: null,
    template_engine: "json",
    error_email_to: "ops@example.com",
    enabled,
    headers: '[{"key":"X-A","value":"1"}]',
    timeout_seconds: 10,
    max_attempts: 5,
    retry_policy: "automatic",
    fail_count: 2,
    last_delivered_at: T0 + 5,
    health_status: "healthy",
    created_at: T0,
    last_modified: T0 + 1,
    auth: '{"type":"none"}',
    slot: "published",
    languages: '["en"]',
  };
}

function event(id: string, workspace: string, idempotencyKey: string | null): Row {
  return {
    id,
    workspace,
    idempotency_key: idempotencyKey,
    event_type: 1,
    content_type: "article",
    content_id: "c1",
    fields: '{"title":"T"}',
    translations: "{}",
    source: "api",
    created_at: T0 + 10,
    slot: "published",
    language: "en",
  };
}

/** Every 0009-era row, table by table, in an order the foreign keys accept. */
const FIXTURE: Record<string, Row[]> = {
  workspaces: ["default", "other", "keys-only"].map((name) => ({ name, created_at: T0 })),
  api_keys: (
    [
      ["default", "read", keys.defaultRead, null],
      ["other", "write", keys.otherWrite, null],
      ["keys-only", "write", newApiKeyValue(), T0 + 50],
    ] as const
  ).map(([workspace, access, plain, revoked], i) => ({
    id: newId("key", T0 + i),
    workspace,
    access,
    key_hash: hashApiKey(plain),
    key_prefix: plain.slice(0, 8),
    label: `key ${i}`,
    created_at: T0 + i,
    revoked_at: revoked,
  })),
  webhooks: [
    webhook(ids.hookA, "default", 1),
    webhook(ids.hookB, "default", 0),
    webhook(ids.hookC, "other", 1),
  ],
  content_types: [
    {
      workspace: "default",
      key: "article",
      name: "Article",
      fields: "[]",
      created_at: T0,
      updated_at: T0,
    },
  ],
  events: [event(ids.event1, "default", "client-1"), event(ids.event2, "other", null)],
  deliveries: DELIVERIES.map(([name, webhookId, status, attempts, max, retryOf], i) => ({
    id: deliveryId(name),
    workspace: workspaceOf[webhookId] ?? "",
    webhook_id: webhookId,
    event_id: webhookId === ids.hookC ? ids.event2 : ids.event1,
    retry_of: retryOf === null || !deliveryIds.has(retryOf) ? retryOf : deliveryId(retryOf),
    event_type: 1,
    content_type: "article",
    content_id: "c1",
    fields: '{"title":"T"}',
    translations: "{}",
    custom_payload: null,
    body: `{"n":${i}}`,
    process_status: status,
    attempts,
    max_attempts: max,
    next_attempt_at: T0 + 1000 + i,
    lease_until: status === ProcessStatus.Processing ? T0 + 2000 : null,
    response_status_code: attempts > 0 ? 500 : null,
    response_message: attempts > 0 ? "Internal Server Error" : null,
    last_error: status === ProcessStatus.Error ? "HTTP 500" : null,
    duration_ms: attempts > 0 ? 12 : null,
    signature: attempts > 0 ? "v1,abc" : null,
    created_at: T0 + 100 + i,
    updated_at: T0 + 200 + i,
  })),
  attempts: ["root", "chain1", "exhaustedC1"].map((name, i) => ({
    id: newId("att", T0 + 300 + i),
    delivery_id: deliveryId(name),
    number: 1,
    started_at: T0 + 300 + i,
    duration_ms: 12,
    status_code: 500,
    error: null,
    response_body: "oops",
    request_headers: '{"webhook-id":"x"}',
  })),
  failure_notices: [null, T0 + 500].map((mailedAt, i) => ({
    id: newId("mail", T0 + 400 + i),
    workspace: "default",
    webhook_id: ids.hookA,
    delivery_id: deliveryId("exhaustedA"),
    kind: "exhausted",
    status_code: 500,
    error: "HTTP 500",
    attempts: 3,
    occurred_at: T0 + 400 + i,
    delivery_created_at: T0 + 100,
    recipients: '["ops@example.com"]',
    webhook_label: "hook A",
    endpoint_host: "example.com",
    mailed_at: mailedAt,
  })),
  mail_state: [
    {
      webhook_id: ids.hookA,
      last_sent_at: T0 + 500,
      failures: 1,
      next_attempt_at: T0 + 600,
      last_error: "421",
    },
  ],
};

/** A Hookpost database at 0009 holding FIXTURE, inserted with plain SQL. */
async function createDatabaseAt0009(path: string): Promise<void> {
  await migrateFileTo(path, BEFORE_UPGRADE);
  const sqlite = new SqliteDatabase(path, { strict: true });
  sqlite.transaction(() => {
    for (const [table, rows] of Object.entries(FIXTURE)) {
      for (const row of rows) {
        const columns = Object.keys(row);
        sqlite
          .query(
            `insert into ${table} (${columns.join(", ")}) values (${columns.map((c) => `$${c}`).join(", ")})`,
          )
          .run(row);
      }
    }
  })();
  sqlite.close();
}

/** Opens the file read-only, 64-bit integers exact (generation numbers are random 64-bit). */
function readDatabase(path: string): SqliteDatabase {
  return new SqliteDatabase(path, { readonly: true, safeIntegers: true });
}

/** Every user table of the file with its columns. */
function tableColumns(sqlite: SqliteDatabase): Map<string, string[]> {
  const tables = sqlite
    .query("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    .all() as { name: string }[];
  return new Map(
    tables.map(({ name }) => [
      name,
      (
        sqlite.query(`select name from pragma_table_info('${name}')`).all() as { name: string }[]
      ).map((column) => column.name),
    ]),
  );
}

/** Every row of `table`, only `columns`, in a total order. */
function dumpTable(sqlite: SqliteDatabase, table: string, columns: string[]): unknown[] {
  const list = columns.join(", ");
  return sqlite.query(`select ${list} from ${table} order by ${list}`).all();
}

/**
 * The deliveries as 0013 leaves them: what was Processing (an attempt in flight when an older
 * version stopped) is Waiting, without its lease; everything else as it was.
 */
function waitingAgain(rows: unknown[], columns: string[]): unknown[] {
  const changed = rows.map((row) => {
    const delivery = row as Record<string, unknown>;
    // This dump reads integers as bigints.
    return Number(delivery.process_status) === ProcessStatus.Processing
      ? { ...delivery, process_status: BigInt(ProcessStatus.Waiting), lease_until: null }
      : delivery;
  });
  // Ordered as dumpTable orders: by every column, in order.
  const key = (row: unknown) =>
    columns.map((column) => (row as Record<string, unknown>)[column]) as (string | number | null)[];
  return changed.sort((a, b) => {
    const [left, right] = [key(a), key(b)];
    for (let index = 0; index < left.length; index++) {
      const [x, y] = [left[index] ?? null, right[index] ?? null];
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  });
}

/** sqlite_master without `rootpage` (where a table happens to be stored is not its schema). */
function schemaOf(path: string): unknown[] {
  const sqlite = readDatabase(path);
  const rows = sqlite
    .query("select type, name, tbl_name, sql from sqlite_master order by type, name")
    .all();
  sqlite.close();
  return rows;
}

describe("a database created under 0009 upgrades to the latest migrations", () => {
  const dir = tempDir("hookpost-upgrade-");
  const config = testConfig(dir);
  let app: App;
  let sqlite: SqliteDatabase;
  let columnsBefore: Map<string, string[]>;
  const dumpBefore = new Map<string, unknown[]>();

  beforeAll(async () => {
    await createDatabaseAt0009(config.dbPath);
    const before = readDatabase(config.dbPath);
    columnsBefore = tableColumns(before);
    for (const [table, columns] of columnsBefore) {
      dumpBefore.set(table, dumpTable(before, table, columns));
    }
    before.close();
    // The app's own startup performs the upgrade, as it does for an operator.
    app = await createApp(config, { log: createLogger("error", () => {}), announce: () => {} });
    sqlite = new SqliteDatabase(config.dbPath, { strict: true });
  });

  afterAll(async () => {
    sqlite.close();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each webhook's retrying and exhausted deliveries, counted from the rows. */
  function recountKeptStates(): Row[] {
    const rows = sqlite
      .query("select webhook_id, process_status, attempts, max_attempts from deliveries")
      .all() as {
      webhook_id: string;
      process_status: number;
      attempts: number;
      max_attempts: number;
    }[];
    const counts = new Map<string, number>();
    for (const row of rows) {
      const state = deliveryState(row);
      if (state !== "retrying" && state !== "exhausted") continue;
      const key = `${row.webhook_id} ${state}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts]
      .map(([key, count]) => {
        const [webhook_id = "", state = ""] = key.split(" ");
        return { webhook_id, state, count };
      })
      .sort((a, b) => `${a.webhook_id} ${a.state}`.localeCompare(`${b.webhook_id} ${b.state}`));
  }

  /** Each webhook's deliveries per status, counted from the rows. */
  function recountStatuses(): Row[] {
    return sqlite
      .query(
        "select webhook_id, process_status, count(*) as count from deliveries group by 1, 2 order by 1, 2",
      )
      .all() as Row[];
  }

  function keptStatusCounts(): Row[] {
    return sqlite
      .query(
        "select webhook_id, process_status, count from delivery_counts where count > 0 order by 1, 2",
      )
      .all() as Row[];
  }

  function keptStateCounts(): Row[] {
    return sqlite
      .query(
        "select webhook_id, state, count from delivery_state_counts where count > 0 order by webhook_id || ' ' || state",
      )
      .all() as Row[];
  }

  test("the fixture was written under 0009 and the app applied 0010–0012", () => {
    expect(columnsBefore.has("delivery_state_counts")).toBe(false);
    const applied = sqlite.query("select name from kysely_migration order by name").all();
    expect(applied.map((row) => (row as { name: string }).name)).toEqual(Object.keys(migrations));
  });

  test("every row of every table that existed keeps every column it had", () => {
    const after = readDatabase(config.dbPath);
    const afterColumns = tableColumns(after);
    for (const [table, columns] of columnsBefore) {
      expect(afterColumns.get(table)).toEqual(expect.arrayContaining(columns));
      // Derived from the deliveries, again, by 0013: checked against them below.
      if (table === "delivery_counts") continue;
      const rows = dumpTable(after, table, columns);
      // Kysely's own log of applied migrations gains the new ones, and only those.
      const expected =
        table === "kysely_migration"
          ? rows.filter((row) => (row as { name: string }).name <= BEFORE_UPGRADE)
          : rows;
      let before = dumpBefore.get(table) ?? [];
      if (table === "deliveries") before = waitingAgain(before, columns);
      expect({ table, rows: expected }).toEqual({ table, rows: before });
    }
    after.close();
    expect(dumpBefore.get("deliveries")).toHaveLength(DELIVERIES.length);
  });

  test("0010 seeds a generation for each workspace with webhooks; a change moves only its own", () => {
    const generations = () =>
      new Map(
        (
          sqlite.query("select workspace, value from webhook_generation_by_workspace").all() as {
            workspace: string;
            value: number;
          }[]
        ).map((row) => [row.workspace, row.value]),
      );
    const seeded = generations();
    expect([...seeded.keys()].sort()).toEqual(["default", "other"]);
    sqlite
      .query("update webhooks set endpoint = 'https://example.com/moved' where id = ?")
      .run(ids.hookB);
    const moved = generations();
    expect(moved.get("default")).not.toBe(seeded.get("default"));
    expect(moved.get("other")).toBe(seeded.get("other"));
  });

  test("0011 gives each retry its chain's root as message id and originals none", () => {
    const messageIds = Object.fromEntries(
      DELIVERIES.map(([name]) => [
        name,
        (
          sqlite.query("select message_id from deliveries where id = ?").get(deliveryId(name)) as {
            message_id: string | null;
          }
        ).message_id,
      ]),
    );
    const root = deliveryId("root");
    expect(messageIds).toEqual({
      ...Object.fromEntries(DELIVERIES.map(([name]) => [name, null])),
      chain1: root,
      chain2: root,
      orphan: REMOVED_ANCESTOR,
    });
  });

  test("0013 puts what an older version left Processing back to Waiting, attempts kept", () => {
    expect(
      sqlite
        .query("select process_status, attempts, lease_until from deliveries where id = ?")
        .get(deliveryId("processingA")),
    ).toEqual({ process_status: ProcessStatus.Waiting, attempts: 1, lease_until: null });
    expect(
      sqlite.query("select count(*) as n from deliveries where process_status = 1").get(),
    ).toEqual({ n: 0 });
  });

  test("0015 gives each attempt its delivery's webhook", () => {
    expect(
      sqlite
        .query(
          `select count(*) as n from attempts
           join deliveries on deliveries.id = attempts.delivery_id
           where attempts.webhook_id = deliveries.webhook_id`,
        )
        .get(),
    ).toEqual({ n: 3 });
  });

  test("the kept totals match the rows after 0013, which drops the triggers that kept them", () => {
    expect(keptStateCounts()).toEqual(recountKeptStates());
    expect(keptStateCounts().length).toBeGreaterThanOrEqual(3);
    expect(keptStatusCounts()).toEqual(recountStatuses());
    expect(
      sqlite
        .query("select name from sqlite_master where type = 'trigger' and tbl_name = 'deliveries'")
        .all(),
    ).toEqual([]);
  });

  test("the delivery log answers each state's total from the upgraded file", async () => {
    const rows = sqlite
      .query("select webhook_id, process_status, attempts, max_attempts from deliveries")
      .all() as {
      webhook_id: string;
      process_status: number;
      attempts: number;
      max_attempts: number;
    }[];
    const states = ["pending", "processing", "retrying", "success", "failed", "exhausted"];
    for (const [webhookId, key] of [
      [ids.hookA, keys.defaultRead],
      [ids.hookC, keys.otherWrite],
    ] as const) {
      const expected = Object.fromEntries(
        states.map((state) => [
          state,
          rows.filter((row) => row.webhook_id === webhookId && deliveryState(row) === state).length,
        ]),
      );
      const answered: Record<string, unknown> = {};
      for (const state of states) {
        const response = await readResponse(
          await app.handle(
            buildRequest(
              "http://localhost",
              "GET",
              `/webhooks/${webhookId}/events?state=${state}`,
              {
                key,
              },
            ),
          ),
        );
        expect({ state, status: response.status, body: response.body }).toMatchObject({
          state,
          status: 200,
        });
        answered[state] = (response.body as { total: number }).total;
      }
      expect({ webhookId, totals: answered }).toEqual({ webhookId, totals: expected });
    }
  });
});

test("down to 0009, then up again, leaves the schema of the first upgrade", async () => {
  const dir = tempDir("hookpost-upgrade-");
  const path = join(dir, "hookpost.db");
  try {
    await createDatabaseAt0009(path);
    const store = openStore(path);
    await migrateToLatest(store.db);
    await store.close();
    const upgraded = schemaOf(path);
    await migrateFileTo(path, BEFORE_UPGRADE);
    expect(schemaOf(path)).not.toEqual(upgraded);
    const again = openStore(path);
    expect(await migrateToLatest(again.db)).toEqual(
      Object.keys(migrations).filter((name) => name > BEFORE_UPGRADE),
    );
    await again.close();
    expect(schemaOf(path)).toEqual(upgraded);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
