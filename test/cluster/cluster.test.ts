/**
 * A cluster of `hookpost serve` nodes on one PostgreSQL database (issue 15), every node a real
 * child process: what must hold for the whole cluster, not for each node. A node killed with
 * `kill -9` under load loses no accepted event, and repeats only what it had in flight; failure
 * mail goes out once per webhook and moves with the leadership; a change made through one node
 * holds on every node for the next request; a webhook's limit of attempts in flight holds over
 * all nodes together; work accepted by one node wakes the others. Skipped when the test
 * PostgreSQL server is unreachable.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { environmentWithoutHookpost } from "../../scripts/lib/executable.ts";
import { openPostgres, type PostgresHandle } from "../../src/db/postgres/connect.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { newApiKeyValue } from "../../src/ids.ts";
import { createKeyWithCli, runCli } from "../helpers/cli.ts";
import { contentIdOf, mostInAnyWindow, RECEIPT_JITTER_MS } from "../helpers/delivery-controls.ts";
import { createTestDatabase, postgresAdminUrl, postgresAvailable } from "../helpers/postgres.ts";
import { type ServerProcess, startServerProcess } from "../helpers/process-server.ts";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import { deferredCleanups } from "../helpers/reliability-harness.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { LOOPBACK_DELIVERY, QUICK_RETRIES } from "../helpers/test-app.ts";

const available = await postgresAvailable();
if (!available) {
  console.warn(
    `test/cluster: skipped, PostgreSQL is unreachable at ${postgresAdminUrl()} (set HOOKPOST_TEST_POSTGRES_URL)`,
  );
}

const defer = deferredCleanups(afterEach);

/** The log line of the node that takes the cluster's singleton work. */
const LEADING = "leading the cluster's singleton work";

interface Accepted {
  eventId: string;
  deliveries: { webhookId: string; deliveryId: string }[];
}

interface Cluster {
  url: string;
  key: string;
  nodes: ServerProcess[];
  /** The test's own connection to the cluster's database. */
  db: PostgresHandle["db"];
  /** The environment a CLI command needs to work on the cluster's database. */
  cliEnv: Record<string, string>;
  /** Starts one more node on the database (with the cluster's settings and `env`). */
  addNode(env?: Record<string, string>): Promise<ServerProcess>;
}

/**
 * A new database and `count` nodes on it started at the same time, all with the same
 * HOOKPOST_API_KEY and `env`; everything is stopped and dropped after the test.
 */
async function startCluster(count: number, env: Record<string, string>): Promise<Cluster> {
  const database = await createTestDatabase();
  defer(() => database.drop());
  const handle = openPostgres(database.url, { max: 2 });
  defer(() => handle.close());
  const key = newApiKeyValue();
  const nodeEnv = { HOOKPOST_API_KEY: key, ...env };
  const addNode = async (extra: Record<string, string> = {}) => {
    const node = await startServerProcess({
      databaseUrl: database.url,
      env: { ...nodeEnv, ...extra },
      readyTimeoutMs: 30_000,
    });
    defer(() => node.kill());
    return node;
  };
  const nodes = await Promise.all(Array.from({ length: count }, () => addNode()));
  return {
    url: database.url,
    key,
    nodes,
    db: handle.db,
    cliEnv: { ...environmentWithoutHookpost(), HOOKPOST_DATABASE_URL: database.url },
    addNode,
  };
}

/** Creates (or, with `id`, updates) a webhook through `node`; returns its id. */
async function saveWebhook(
  node: ServerProcess,
  key: string,
  settings: Record<string, unknown>,
): Promise<string> {
  const saved = await node.request("PUT", "/webhooks", { key, json: settings });
  expect(saved.status).toBe(200);
  return (saved.body as { id: string }).id;
}

/** Publishes an event through `node` and returns its 202 answer. */
async function publish(
  node: ServerProcess,
  key: string,
  event: Record<string, unknown>,
): Promise<Accepted> {
  const answer = await node.request("POST", "/events", { key, json: event });
  expect(answer.status).toBe(202);
  return answer.body as Accepted;
}

/** How a node names itself in the leases it writes (db/postgres/backend.ts: host, pid, random). */
function leaseOwnerPattern(node: ServerProcess): string {
  return `${hostname()}-${node.proc.pid}-%`;
}

/** How many times each delivery id (the `webhook-id` header) reached the receiver. */
function countByDelivery(requests: readonly { headers: Headers }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of requests) {
    const id = request.headers.get("webhook-id") ?? "(none)";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe.skipIf(!available)("a cluster of nodes on one PostgreSQL database", () => {
  test("kill -9 of one node under load loses no accepted event; repeats are only what it held", async () => {
    const EVENTS = 2400;
    // A node's pool grows with its concurrent requests up to 20 connections: 32 publishers
    // keep three nodes well under a shared server's default 100 (64 could take 63 of them).
    const PUBLISHERS = 32;
    const cluster = await startCluster(3, {
      ...LOOPBACK_DELIVERY,
      HOOKPOST_LEASE_MARGIN_MS: "2000",
      HOOKPOST_RETRY_BASE_MS: "50",
      HOOKPOST_RETRY_MAX_DELAY_MS: "400",
    });
    const { key, nodes, db } = cluster;
    // Tens of ms per answer, so each node always has attempts in flight: with a few ms, the
    // victim could record all it held between the check for its leases and the kill.
    const receiver = startReceiver(async () => {
      await Bun.sleep(10 + Math.floor(Math.random() * 20));
      return Response.json({ ok: true });
    });
    defer(() => receiver.stop());
    // Two webhooks, so twice the cluster's per-webhook limit is in flight; a 2 s timeout and
    // the 2 s margin: a dead node's leases run out 4 s after they were taken.
    for (const path of ["/one", "/two"]) {
      await saveWebhook(nodes[0] as ServerProcess, key, {
        endpoint: `${receiver.url}${path}`,
        eventTypes: { "*": [0] },
        timeoutSeconds: 2,
      });
    }

    const victim = nodes[2] as ServerProcess;
    let killed = false;
    const accepted = new Map<string, Accepted>();
    const unexpected: string[] = [];
    let unanswered = 0;
    let acceptedAfterKill = 0;
    const filler = "x".repeat(1000);
    let sequence = 0;
    // Round robin over the live nodes; a request the kill cut off (no answer) goes to the next
    // live node with the same id, as a CMS would retry it: answered once, or replayed.
    const publishOne = async (n: number) => {
      const event = {
        id: `cluster-${n}`,
        eventType: 0,
        contentType: "article",
        contentId: `c_${n}`,
        fields: { title: `Event ${n}`, body: filler },
      };
      for (let attempt = 0; attempt < 6; attempt++) {
        const live = nodes.filter((node) => !(killed && node === victim));
        const node = live[(n + attempt) % live.length] as ServerProcess;
        let response: Response;
        let text: string;
        try {
          response = await fetch(`${node.baseUrl}/events`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": key },
            body: JSON.stringify(event),
          });
          text = await response.text();
        } catch {
          unanswered++;
          continue;
        }
        if (response.status !== 202) {
          unexpected.push(`${event.id}: ${response.status} ${text.slice(0, 200)}`);
          return;
        }
        accepted.set(event.id, JSON.parse(text) as Accepted);
        if (killed) acceptedAfterKill++;
        return;
      }
      unexpected.push(`${event.id}: no answer from any live node`);
    };
    const publishers = Array.from({ length: PUBLISHERS }, async () => {
      for (let n = sequence++; n < EVENTS; n = sequence++) await publishOne(n);
    });

    // Mid-load, at a moment the victim holds leases (taken, outcome not recorded).
    await waitFor("a third of the load to be accepted", () => accepted.size >= EVENTS / 3, 60_000);
    const owner = leaseOwnerPattern(victim);
    const leasedBy = (since: number) =>
      db
        .selectFrom("deliveries")
        .select("id")
        .where("lease_owner", "like", owner)
        .where("lease_until", ">", since)
        .where("process_status", "=", ProcessStatus.Waiting)
        .execute();
    await waitFor("the victim to hold leases", async () => (await leasedBy(Date.now())).length > 0);
    const killedAt = Date.now();
    await victim.kill("SIGKILL");
    killed = true;
    expect(victim.proc.signalCode).toBe("SIGKILL");
    // What it held at its death. Nobody else may take these before their lease runs out (at
    // least a few seconds away), and a dead node records nothing: read now, this is exactly
    // what was in flight. Anything the receiver gets twice must be one of them.
    const inFlightAtKill = new Set((await leasedBy(killedAt)).map((row) => row.id));
    expect(inFlightAtKill.size).toBeGreaterThan(0);

    await Promise.all(publishers);
    expect(unexpected).toEqual([]);
    expect(accepted.size).toBe(EVENTS);
    // The load went on after the kill, on the two nodes left.
    expect(acceptedAfterKill).toBeGreaterThan(0);

    const deliveryIds = [...accepted.values()].flatMap((answer) =>
      answer.deliveries.map((delivery) => delivery.deliveryId),
    );
    expect(deliveryIds.length).toBe(EVENTS * 2);
    await waitFor(
      `all ${deliveryIds.length} accepted deliveries to reach the receiver`,
      () => {
        const counts = countByDelivery(receiver.requests);
        return deliveryIds.every((id) => counts.has(id));
      },
      60_000,
    ).catch((error: unknown) => {
      const counts = countByDelivery(receiver.requests);
      const lost = deliveryIds.filter((id) => !counts.has(id));
      throw new Error(`${String(error)}; lost: ${lost.length} (${lost.slice(0, 10).join(", ")})`);
    });
    const counts = countByDelivery(receiver.requests);
    const duplicated = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
    expect(duplicated.filter((id) => !inFlightAtKill.has(id))).toEqual([]);
    // Nothing reached the receiver that no answer announced.
    const announced = new Set(deliveryIds);
    expect([...counts.keys()].filter((id) => !announced.has(id))).toEqual([]);
    await waitFor("every delivery to be recorded as Sent", async () => {
      const row = await db
        .selectFrom("deliveries")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("process_status", "!=", ProcessStatus.Sent)
        .executeTakeFirst();
      return Number(row?.count) === 0;
    });

    console.log(
      "cluster kill -9:",
      JSON.stringify({
        nodes: 3,
        publishers: PUBLISHERS,
        acceptedEvents: accepted.size,
        acceptedDeliveries: deliveryIds.length,
        acceptedAfterKill,
        cutOffByKill: unanswered,
        inFlightAtKill: inFlightAtKill.size,
        delivered: deliveryIds.filter((id) => counts.has(id)).length,
        duplicates: duplicated.length,
        lost: deliveryIds.filter((id) => !counts.has(id)).length,
      }),
    );
  }, 120_000);

  test("failure mail goes out once per webhook for the whole cluster, and moves when its leader dies", async () => {
    const smtp = await startSmtp();
    defer(() => smtp.stop());
    const cluster = await startCluster(3, {
      ...QUICK_RETRIES,
      HOOKPOST_SMTP_URL: smtp.url,
      HOOKPOST_MAIL_THROTTLE_MS: "600000",
    });
    const { key, nodes, db } = cluster;
    const receiver = startReceiver(() => new Response("down", { status: 500 }));
    defer(() => receiver.stop());
    const failing = (label: string) => ({
      endpoint: `${receiver.url}/${label}`,
      eventTypes: { [label]: [0] },
      maxAttempts: 1,
      errorEmailTo: `${label}@example.com`,
    });
    const early = ["alpha", "beta", "gamma"];
    for (const label of early) await saveWebhook(nodes[0] as ServerProcess, key, failing(label));
    const mailsTo = (label: string) =>
      smtp.mails.filter((mail) => mail.envelopeTo.includes(`${label}@example.com`)).length;
    const errors = async () => {
      const row = await db
        .selectFrom("deliveries")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("process_status", "=", ProcessStatus.Error)
        .executeTakeFirst();
      return Number(row?.count);
    };

    // Four failures per webhook, accepted by every node in turn: every node sees failures.
    let n = 0;
    for (let round = 0; round < 4; round++) {
      for (const label of early) {
        const node = nodes[n % nodes.length] as ServerProcess;
        await publish(node, key, { eventType: 0, contentType: label, contentId: `c_${n++}` });
      }
    }
    await waitFor("all 12 deliveries to fail", async () => (await errors()) === 12);
    await waitFor("a mail for each webhook", () => early.every((label) => mailsTo(label) > 0));
    // Each node's mailer looks every 20 ms; a cluster where every node mailed would have sent
    // its extra mails within one SMTP exchange of the first. Give them 50 looks each.
    await Bun.sleep(1000);
    expect(early.map(mailsTo)).toEqual([1, 1, 1]);

    // One node leads; kill it, and a failure in a new throttle window (a new webhook's) is
    // still mailed — by another node, since the leader is dead.
    const leaders = nodes.filter((node) => node.stdout().includes(LEADING));
    expect(leaders.length).toBe(1);
    const leader = leaders[0] as ServerProcess;
    await leader.kill("SIGKILL");
    const survivors = nodes.filter((node) => node !== leader);
    await saveWebhook(survivors[0] as ServerProcess, key, failing("late"));
    await publish(survivors[1] as ServerProcess, key, {
      eventType: 0,
      contentType: "late",
      contentId: "c_late",
    });
    await waitFor("the late failure's mail", () => mailsTo("late") === 1, 20_000);
    expect(survivors.filter((node) => node.stdout().includes(LEADING)).length).toBe(1);
    expect(early.map(mailsTo)).toEqual([1, 1, 1]);
  }, 60_000);

  test("a change made through one node holds on every node at once", async () => {
    const cluster = await startCluster(3, LOOPBACK_DELIVERY);
    const { key, nodes, db, cliEnv } = cluster;
    const [a, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const receiver = startReceiver();
    defer(() => receiver.stop());

    // Three nodes started together with the same HOOKPOST_API_KEY registered it once.
    const listed = await runCli(["keys", "list"], cliEnv);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split("\n").length).toBe(1);
    expect(listed.stdout).toContain(`${key.slice(0, 8)}…\tactive`);

    const kept = await saveWebhook(a, key, {
      endpoint: `${receiver.url}/kept`,
      eventTypes: { "*": [0] },
    });
    const toggled = await saveWebhook(a, key, {
      endpoint: `${receiver.url}/toggled`,
      eventTypes: { "*": [0] },
    });
    let n = 0;
    const event = () => ({ eventType: 0, contentType: "article", contentId: `c_${n++}` });
    // Every node has seen both webhooks (and keeps what it saw until a change).
    for (const node of nodes) expect((await publish(node, key, event())).deliveries.length).toBe(2);

    // Disabled through A: the very next event on B and on C makes no delivery for it.
    expect((await a.request("POST", `/webhooks/${toggled}/disable`, { key })).status).toBe(200);
    for (const node of [b, c]) {
      const answer = await publish(node, key, event());
      expect(answer.deliveries.map((delivery) => delivery.webhookId)).toEqual([kept]);
      const rows = await db
        .selectFrom("deliveries")
        .select("webhook_id")
        .where("event_id", "=", answer.eventId)
        .execute();
      expect(rows.map((row) => row.webhook_id)).toEqual([kept]);
    }

    // The endpoint edited through A: whichever node sends the next deliveries sends them there.
    await waitFor("the earlier deliveries to be sent", () => receiver.requests.length >= 5);
    await saveWebhook(a, key, { id: kept, endpoint: `${receiver.url}/moved` });
    const moved = [];
    for (const node of nodes) moved.push(...(await publish(node, key, event())).deliveries);
    const movedIds = new Set(moved.map((delivery) => delivery.deliveryId));
    const sentOf = () =>
      receiver.requests.filter((request) => movedIds.has(request.headers.get("webhook-id") ?? ""));
    await waitFor("the deliveries after the edit", () => sentOf().length === movedIds.size);
    expect(sentOf().map((request) => request.path)).toEqual(["/moved", "/moved", "/moved"]);

    // A key revoked with the CLI is refused by every node from the next request on.
    const { id, key: extra } = await createKeyWithCli(cliEnv, "default", "read");
    for (const node of nodes) {
      expect((await node.request("GET", "/webhooks", { key: extra })).status).toBe(200);
    }
    const revoked = await runCli(["keys", "revoke", id], cliEnv);
    expect(revoked.code).toBe(0);
    const statuses = await Promise.all(
      nodes.map(async (node) => (await node.request("GET", "/webhooks", { key: extra })).status),
    );
    expect(statuses).toEqual([401, 401, 401]);
    // The cluster's own key still works everywhere.
    for (const node of nodes) {
      expect((await node.request("GET", "/webhooks", { key })).status).toBe(200);
    }
  }, 60_000);

  test("a webhook's limit of attempts in flight holds over the whole cluster", async () => {
    // HOOKPOST_CONCURRENCY 8: a webhook may have 8 / 4 = 2 attempts in flight, cluster-wide.
    // The first node allows itself 1 (4 / 4), so it can never hold both: once it holds one,
    // the nodes started after it must take the second — and must count its one to stop there.
    const cluster = await startCluster(1, { ...LOOPBACK_DELIVERY, HOOKPOST_CONCURRENCY: "4" });
    const { key, db } = cluster;
    const first = cluster.nodes[0] as ServerProcess;
    let active = 0;
    let maxActive = 0;
    const receiver = startReceiver(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await Bun.sleep(200);
      active--;
      return Response.json({ ok: true });
    });
    defer(() => receiver.stop());
    await saveWebhook(first, key, {
      endpoint: receiver.url,
      eventTypes: { "*": [0] },
      timeoutSeconds: 10,
    });
    const EVENTS = 24;
    await Promise.all(
      Array.from({ length: EVENTS }, (_, n) =>
        publish(first, key, { eventType: 0, contentType: "article", contentId: `c_${n}` }),
      ),
    );
    // Which nodes hold leases, watched from now on: the work is shared, yet the limit is the
    // cluster's.
    const owners = new Set<string>();
    let watching = true;
    const watched = (async () => {
      while (watching) {
        const leased = await db
          .selectFrom("deliveries")
          .select("lease_owner")
          .where("lease_until", ">", Date.now())
          .where("process_status", "=", ProcessStatus.Waiting)
          .execute();
        for (const row of leased) if (row.lease_owner) owners.add(row.lease_owner);
        await Bun.sleep(5);
      }
    })();
    await waitFor("the first node's attempt in flight", () => active === 1);
    const others = await Promise.all([
      cluster.addNode({ HOOKPOST_CONCURRENCY: "8" }),
      cluster.addNode({ HOOKPOST_CONCURRENCY: "8" }),
    ]);
    await waitFor(
      `all ${EVENTS} deliveries to be sent`,
      () => receiver.requests.length >= EVENTS && active === 0,
      30_000,
    );
    watching = false;
    await watched;
    expect(others).toHaveLength(2);
    expect(receiver.requests.length).toBe(EVENTS);
    expect(owners.size).toBeGreaterThan(1);
    expect(maxActive).toBe(2);
  }, 60_000);

  test("an ordered webhook keeps its order across nodes, through the death of the node sending it", async () => {
    const cluster = await startCluster(2, {
      ...QUICK_RETRIES,
      HOOKPOST_MAX_ATTEMPTS: "10",
      HOOKPOST_LEASE_MARGIN_MS: "1000",
    });
    const { key, db, nodes } = cluster;
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    let inFlight = 0;
    let mostInFlight = 0;
    let failuresOfFirst = 0;
    let releaseHanging = () => {};
    const hanging = new Promise<void>((resolve) => {
      releaseHanging = resolve;
    });
    defer(() => releaseHanging());
    const receiver = startReceiver(async (request, index) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        const id = contentIdOf(request);
        if (id === "1" && failuresOfFirst < 2) {
          failuresOfFirst++;
          return new Response("not yet", { status: 500 });
        }
        // The first receipt of event 4 hangs until its sender is killed.
        if (id === "4" && receiver.requests.findIndex((r) => contentIdOf(r) === "4") === index) {
          await hanging;
        }
        await Bun.sleep(5);
        return Response.json({ ok: true });
      } finally {
        inFlight--;
      }
    });
    defer(() => receiver.stop());
    const webhookId = await saveWebhook(a, key, {
      endpoint: receiver.url,
      eventTypes: { "*": [0] },
      ordered: true,
      timeoutSeconds: 2,
    });
    // Accepted alternately by the two nodes, each in a later millisecond than the one before.
    const EVENTS = 8;
    for (let n = 1; n <= EVENTS; n++) {
      await publish(n % 2 === 1 ? a : b, key, {
        eventType: 0,
        contentType: "article",
        contentId: String(n),
      });
      await Bun.sleep(2);
    }
    await waitFor("event 4 in flight", () => receiver.requests.some((r) => contentIdOf(r) === "4"));
    const [held] = await db
      .selectFrom("deliveries")
      .select("lease_owner")
      .where("webhook_id", "=", webhookId)
      .where("process_status", "=", ProcessStatus.Waiting)
      .where("lease_until", ">", Date.now())
      .execute();
    const sender = held?.lease_owner?.startsWith(`${hostname()}-${a.proc.pid}-`) ? a : b;
    const survivor = sender === a ? b : a;
    await sender.kill();
    releaseHanging();

    await waitFor(
      "every event delivered",
      () =>
        new Set(receiver.requests.map(contentIdOf)).size === EVENTS &&
        receiver.requests.at(-1) !== undefined &&
        contentIdOf(receiver.requests.at(-1) as (typeof receiver.requests)[number]) ===
          String(EVENTS),
      30_000,
    );
    const order = receiver.requests.map((request) => Number(contentIdOf(request)));
    // Never back: each receipt is the event before it again (a retry, or what the dead node
    // had in flight, sent again) or the next one.
    for (let i = 1; i < order.length; i++) {
      const step = (order[i] ?? 0) - (order[i - 1] ?? 0);
      expect(step === 0 || step === 1).toBe(true);
    }
    expect(order.filter((n) => n === 1)).toHaveLength(3);
    expect(mostInFlight).toBe(1);
    const after = await survivor.request("GET", `/webhooks/${webhookId}/events`, { key });
    expect(after.status).toBe(200);
  }, 60_000);

  test("a rate limit holds over the whole cluster", async () => {
    const RATE = 3;
    const EVENTS = 12;
    // A ticks once a minute: after the events wake it, it can only take in the first window;
    // B ticks every 20 ms and takes the rest. With a window of each node's own, B would take
    // three more the moment it looked, within A's first second.
    const cluster = await startCluster(1, { ...LOOPBACK_DELIVERY, HOOKPOST_TICK_MS: "60000" });
    const { key } = cluster;
    const a = cluster.nodes[0] as ServerProcess;
    const b = await cluster.addNode({ HOOKPOST_TICK_MS: "20" });
    const receiver = startReceiver();
    defer(() => receiver.stop());
    await saveWebhook(a, key, {
      endpoint: receiver.url,
      eventTypes: { "*": [0] },
      rateLimitPerSecond: RATE,
    });
    // B is frozen while A accepts the events (and, woken by them, takes the first window's
    // starts), then thawed within that window.
    b.proc.kill("SIGSTOP");
    try {
      for (let n = 1; n <= EVENTS; n++) {
        await publish(a, key, { eventType: 0, contentType: "article", contentId: String(n) });
      }
      await waitFor("A's first starts", () => receiver.requests.length >= RATE);
    } finally {
      b.proc.kill("SIGCONT");
    }
    await waitFor("every event delivered", () => receiver.requests.length >= EVENTS, 30_000);
    const times = receiver.requests.map((request) => request.at);
    expect(mostInAnyWindow(times, 1000 - RECEIPT_JITTER_MS)).toBeLessThanOrEqual(RATE);
    // Both nodes sent some: the window was the cluster's, not each node's.
    const attempts = async (node: ServerProcess) => {
      const metrics = await fetch(`${node.baseUrl}/metrics`).then((response) => response.text());
      const line = metrics
        .split("\n")
        .find((l) => l.startsWith('hookpost_attempts_total{result="success"}'));
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    // Each node counts an attempt once its outcome is recorded, a moment after the receipt.
    const [fromA, fromB] = await waitFor("both nodes' attempts counted", async () => {
      const counts = await Promise.all([attempts(a), attempts(b)]);
      return counts[0] + counts[1] === EVENTS && counts;
    });
    expect(fromA).toBe(RATE);
    expect(fromB).toBe(EVENTS - RATE);
  }, 60_000);

  test("work accepted by one node wakes another, which sends it at once", async () => {
    // Timers a minute apart: only a wake-up can explain a delivery within seconds.
    const slowTimers = { ...LOOPBACK_DELIVERY, HOOKPOST_TICK_MS: "60000" };
    // Node A alone first, with one slot, which a delivery that hangs will hold.
    const cluster = await startCluster(1, { ...slowTimers, HOOKPOST_CONCURRENCY: "1" });
    const { key } = cluster;
    const a = cluster.nodes[0] as ServerProcess;
    let releaseHanging = () => {};
    const hanging = new Promise<void>((resolve) => {
      releaseHanging = resolve;
    });
    const receiver = startReceiver(async (request) => {
      if (request.path === "/hang") await hanging;
      return Response.json({ ok: true });
    });
    defer(() => receiver.stop());
    defer(() => releaseHanging());
    for (const contentType of ["hang", "quick"]) {
      await saveWebhook(a, key, {
        endpoint: `${receiver.url}/${contentType}`,
        eventTypes: { [contentType]: [0] },
        timeoutSeconds: 60,
      });
    }
    await publish(a, key, { eventType: 0, contentType: "hang", contentId: "c_hang" });
    await waitFor("A to send the hanging delivery", () =>
      receiver.requests.some((request) => request.path === "/hang"),
    );

    // B joins; then A accepts an event it has no slot to send: B must be woken to send it.
    await cluster.addNode({ ...slowTimers, HOOKPOST_CONCURRENCY: "8" });
    const quick = await publish(a, key, {
      eventType: 0,
      contentType: "quick",
      contentId: "c_quick",
    });
    const deliveryId = quick.deliveries[0]?.deliveryId;
    expect(deliveryId).toBeDefined();
    await waitFor(
      "B to send the event A accepted",
      () => receiver.requests.some((request) => request.headers.get("webhook-id") === deliveryId),
      5_000,
    );
    // A's one slot was busy the whole time: the hanging attempt has not been answered.
    const hangingState = await cluster.db
      .selectFrom("deliveries")
      .select("process_status")
      .where("id", "!=", deliveryId ?? "")
      .execute();
    expect(hangingState).toEqual([{ process_status: ProcessStatus.Waiting }]);
  }, 60_000);
});
