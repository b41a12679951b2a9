/**
 * Run by `compressed-answers.test.ts` as a process of its own: a Hookpost app delivers to a
 * real receiver answering a gzip bomb, and prints as one JSON line what the delivery recorded
 * and how far it raised this process's peak RSS (`VmHWM`). A process of its own, because under
 * `bun test` Bun's fetch does not go on inflating a cancelled body, as it does in a server.
 */

import { readFileSync } from "node:fs";
import { createGzip } from "node:zlib";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import { createTestApp } from "../helpers/test-app.ts";

const MB = 1024 * 1024;

/** `inflatedMiB` of zeros gzipped, compressed a megabyte at a time. */
async function gzipBomb(inflatedMiB: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => gzip.on("end", resolve));
  const zeros = Buffer.alloc(MB);
  for (let written = 0; written < inflatedMiB; written++) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

/** The highest RSS this process has had so far (Linux). */
function peakRss(): number {
  const kilobytes = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Number(kilobytes) * 1024;
}

// 64 MiB of zeros: 64 KB on the wire.
const bomb = await gzipBomb(64);
const plain = "x".repeat(64 * 1024);
const target = startReceiver((request) =>
  request.path === "/bomb"
    ? new Response(bomb, { headers: { "content-encoding": "gzip" } })
    : new Response(plain),
);
const t = await createTestApp({ HOOKPOST_ALLOWED_CIDRS: "127.0.0.1/32", HOOKPOST_TICK_MS: "20" });
await t.app.start();

/** Sends one event to a new webhook at `path`; the delivery's log entry once it succeeded. */
async function deliverTo(path: string): Promise<Record<string, unknown>> {
  const type = `type_${path.slice(1)}`;
  const created = await t.request("PUT", "/webhooks", {
    key: t.keys.write,
    json: { endpoint: `${target.url}${path}`, eventTypes: { [type]: [0] } },
  });
  const webhookId = (created.body as { id: string }).id;
  const published = await t.request("POST", "/events", {
    key: t.keys.write,
    json: { eventType: 0, contentType: type, contentId: "c_1" },
  });
  const deliveryId = (published.body as { deliveries: { deliveryId: string }[] }).deliveries[0]
    ?.deliveryId;
  return waitFor(`the delivery to ${path}`, async () => {
    const entry = await t.request("GET", `/webhooks/${webhookId}/events/${deliveryId}`, {
      key: t.keys.read,
    });
    const body = entry.body as Record<string, unknown>;
    return body.state === "success" ? body : undefined;
  });
}

try {
  // A plain 64 KB answer first: what reading an answer costs is in the baseline.
  await deliverTo("/plain");
  const baseline = peakRss();
  const entry = await deliverTo("/bomb");
  // Bun's HTTP thread went on inflating what had arrived after the reader stopped at 64 KB:
  // give it the time it took (about 300 ms for 160 MB) before reading the peak.
  await Bun.sleep(1000);
  console.log(
    JSON.stringify({
      peakRiseBytes: peakRss() - baseline,
      responseStatusCode: entry.responseStatusCode,
      responseMessage: entry.responseMessage,
      acceptEncoding: target.requests.map((request) => request.headers.get("accept-encoding")),
    }),
  );
} finally {
  await t.close();
  await target.stop();
}
