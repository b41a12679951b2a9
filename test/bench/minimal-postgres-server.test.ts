/**
 * The benchmark's minimal program on PostgreSQL (bench/minimal-postgres-server.ts) does the
 * work its rows claim: every accepted event is committed and delivered once, taken from the
 * database under a lease that another node's lease keeps it from, and every outcome is written.
 * A real PostgreSQL database per test, the program in a process of its own, a real receiver.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import type { MinimalPostgresApi } from "../../bench/minimal-postgres-server.ts";
import { Worker } from "../../bench/rpc.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/postgres.ts";

const API_KEY = "hpk_minimal_test";
const available = await postgresAvailable();

/** A receiver on loopback counting each `webhook-id`, answering `status`. */
function startReceiver(status: number) {
  const arrivals = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      await request.arrayBuffer();
      const id = request.headers.get("webhook-id") ?? "";
      arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
      return Response.json({ ok: status < 300 }, { status });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, arrivals, stop: () => server.stop(true) };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

function postEvent(url: string, contentId: string, apiKey = API_KEY): Promise<Response> {
  return fetch(`${url}/events`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    body: JSON.stringify({
      eventType: 1,
      contentType: "article",
      contentId,
      fields: { t: 'é\\"' },
    }),
  });
}

let cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A fresh database, the program on it delivering to `endpoint`, and a client of the database. */
async function startProgram(endpoint: string) {
  const database: TestDatabase = await createTestDatabase({ prefix: "hookpost_test_minimal" });
  cleanups.push(() => database.drop());
  const program = Worker.spawn<MinimalPostgresApi>("minimal-postgres-server.ts", "minimal");
  cleanups.push(() => program.close());
  const { url } = await program.call("start", {
    databaseUrl: database.url,
    apiKey: API_KEY,
    endpoint,
  });
  const sql = new SQL(database.url, { max: 2 });
  cleanups.push(() => sql.close());
  return { url, sql };
}

/** One delivery's row as the program left it. */
async function deliveryRow(sql: SQL, id: string) {
  const [row] = await sql`SELECT process_status, attempts, next_attempt_at, lease_owner,
      updated_at FROM deliveries WHERE id = ${id}`;
  return row as {
    process_status: number;
    attempts: number;
    next_attempt_at: string;
    lease_owner: string | null;
    updated_at: string;
  };
}

describe.skipIf(!available)("minimal program on PostgreSQL", () => {
  test("delivers every accepted event once and writes each outcome", async () => {
    const receiver = startReceiver(200);
    cleanups.push(receiver.stop);
    const { url, sql } = await startProgram(receiver.url);
    expect((await postEvent(url, "c", "not-the-key")).status).toBe(401);

    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => postEvent(url, `c${i}`)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(202));
    await waitFor("200 deliveries", () => receiver.arrivals.size === 200);
    await waitFor(
      "200 outcomes",
      async () => (await sql`SELECT count(*)::int AS n FROM attempts`)[0].n === 200,
    );

    expect([...receiver.arrivals.values()].every((count) => count === 1)).toBe(true);
    const rows = await sql`SELECT process_status, attempts, lease_owner IS NULL AS free,
        count(*)::int AS n FROM deliveries GROUP BY 1, 2, 3`;
    expect([...rows]).toEqual([{ process_status: 2, attempts: 1, free: true, n: 200 }]);
    expect((await sql`SELECT count(*)::int AS n FROM events`)[0].n).toBe(200);
  });

  test("takes no delivery another node holds, and takes it once that lease runs out", async () => {
    const receiver = startReceiver(200);
    cleanups.push(receiver.stop);
    const { url, sql } = await startProgram(receiver.url);
    const now = Date.now();
    for (const [id, leaseUntil] of [
      ["dlv_held", now + 600_000],
      ["dlv_lapsed", now - 1],
    ] as const) {
      await sql`INSERT INTO deliveries (id, webhook_id, event_id, body, process_status, attempts,
          next_attempt_at, created_at, updated_at, lease_owner, lease_until)
        VALUES (${id}, 'wh_bench_minimal', 'evt_x', '{}', 0, 0, ${now - 1000}::bigint,
          ${now}::bigint, ${now}::bigint, 'node_other', ${leaseUntil}::bigint)`;
    }
    // The lapsed one is found by the timer; the held one would be taken by the same statement.
    await waitFor("the lapsed lease's delivery", async () => {
      return (await deliveryRow(sql, "dlv_lapsed")).process_status === 2;
    });
    const response = await postEvent(url, "later");
    const { deliveries } = (await response.json()) as { deliveries: { deliveryId: string }[] };
    const later = deliveries[0]?.deliveryId ?? "";
    await waitFor("a later event's delivery", async () => {
      return (await deliveryRow(sql, later)).process_status === 2;
    });

    expect(receiver.arrivals.has("dlv_held")).toBe(false);
    expect(await deliveryRow(sql, "dlv_held")).toMatchObject({
      process_status: 0,
      attempts: 0,
      lease_owner: "node_other",
    });
  });

  test("a failed attempt leaves its delivery Waiting, due again a minute later", async () => {
    const receiver = startReceiver(500);
    cleanups.push(receiver.stop);
    const { url, sql } = await startProgram(receiver.url);
    const first = (await (await postEvent(url, "a")).json()) as {
      deliveries: { deliveryId: string }[];
    };
    const id = first.deliveries[0]?.deliveryId ?? "";
    await waitFor("the failed outcome", async () => (await deliveryRow(sql, id)).attempts === 1);
    const row = await deliveryRow(sql, id);
    expect(row.process_status).toBe(0);
    expect(row.lease_owner).toBeNull();
    expect(Number(row.next_attempt_at) - Number(row.updated_at)).toBe(60_000);

    // A later event's attempt ran after the failed one was written: it was not tried again.
    const second = (await (await postEvent(url, "b")).json()) as {
      deliveries: { deliveryId: string }[];
    };
    const secondId = second.deliveries[0]?.deliveryId ?? "";
    await waitFor("the second outcome", async () => {
      return (await deliveryRow(sql, secondId)).attempts === 1;
    });
    expect(receiver.arrivals.get(id)).toBe(1);
    const [attempt] = await sql`SELECT number, status_code FROM attempts WHERE delivery_id = ${id}`;
    expect(attempt).toEqual({ number: 1, status_code: 500 });
  });
});
