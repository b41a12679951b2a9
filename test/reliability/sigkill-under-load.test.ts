/**
 * Repeated `kill -9` of a real `hookpost serve` under continuous load (SPEC §6.2: "no accepted
 * event is ever lost, whatever moment the process dies"). A load generator posts events with
 * unique ids the whole time; every cycle the server is killed mid-stream and restarted on the
 * same SQLite file. A client whose request got no answer (the kill cut it) posts it again with
 * the same id, as a real CMS would. At the end every delivery of every accepted event has
 * reached the receiver at least once; repeats are counted and must be deliveries that were in
 * flight at a kill. Modest in `npm test`; `HOOKPOST_RELIABILITY_SCALE=full` runs more and
 * longer cycles.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/db/connect.ts";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { type ServerProcess, startServerProcess } from "../helpers/process-server.ts";
import { startReceiver, waitFor } from "../helpers/receiver.ts";
import { deferredCleanups, scaled } from "../helpers/reliability-harness.ts";
import { LOOPBACK_DELIVERY, tempDir } from "../helpers/test-app.ts";

const defer = deferredCleanups(afterEach);

const CYCLES = scaled(3, 6);
const LOAD_MS_PER_CYCLE = scaled(700, 2000);
const WORKERS = scaled(4, 8);
/** Each worker pauses this long after an accepted event, leaving the server room to deliver. */
const PAUSE_MS = 2;

interface EventBody {
  id: string;
  eventType: 0 | 1;
  contentType: string;
  contentId: string;
  fields: Record<string, unknown>;
}

interface Accepted {
  eventId: string;
  deliveries: { webhookId: string; deliveryId: string }[];
}

interface CycleReport {
  cycle: number;
  acceptedEvents: number;
  acceptedDeliveries: number;
  /** Requests the kill cut off (no answer), posted again after the restart. */
  unanswered: number;
  /** Of those, how many the server had committed before dying (answered as a replay). */
  committedBeforeKill: number;
  /** Deliveries the kill caught in flight (sent, outcome not stored), and the rest Waiting. */
  inFlightAtKill: number;
  waitingAtKill: number;
  /** Of this cycle's accepted deliveries, how many reached the receiver. */
  delivered: number;
  /** Of the deliveries in flight at this kill, how many the receiver got twice. */
  duplicates: number;
}

function randomAlphanumerics(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}

interface AcceptedEvent {
  /** The cycle in which the event was first sent. */
  cycle: number;
  event: EventBody;
  answer: Accepted;
}

/**
 * Posts events from several workers for as long as it runs. It sends to whichever server is
 * current; while there is none (between a kill and a restart) it waits. A request without an
 * answer goes back on a queue and is sent again, same id and body, before any new event.
 */
class LoadGenerator {
  server: ServerProcess | undefined;
  cycle = 0;
  readonly accepted = new Map<string, AcceptedEvent>();
  /** Unexpected answers: anything but 202 (a 5xx above all). */
  readonly unexpected: string[] = [];
  /** Per cycle: events whose first request the kill cut off. */
  readonly unanswered = new Map<number, number>();
  /** Per cycle: of those, how many the server had committed before dying (a replayed answer). */
  readonly committedBeforeKill = new Map<number, number>();
  private readonly retryQueue: { event: EventBody; cycle: number }[] = [];
  private sequence = 0;
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly key: string) {}

  start(workers: number): void {
    this.running = true;
    this.workers = Array.from({ length: workers }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Sends every event still without an answer to the current server; each must get one. */
  async drain(): Promise<void> {
    for (let item = this.retryQueue.shift(); item; item = this.retryQueue.shift()) {
      if (!(await this.post(item.event, item.cycle, true))) {
        throw new Error(`no answer for ${item.event.id} from a live server`);
      }
    }
  }

  private nextEvent(): EventBody {
    const n = this.sequence++;
    return {
      id: `rel-${n}`,
      eventType: n % 3 === 0 ? 1 : 0,
      contentType: n % 2 === 0 ? "article" : "page",
      contentId: `c_${n}`,
      fields: { title: `Event ${n}`, n },
    };
  }

  private async work(): Promise<void> {
    while (this.running) {
      if (!this.server) {
        await Bun.sleep(5);
        continue;
      }
      const retry = this.retryQueue.shift();
      const answered = retry
        ? await this.post(retry.event, retry.cycle, true)
        : await this.post(this.nextEvent(), this.cycle, false);
      if (answered) await Bun.sleep(PAUSE_MS);
    }
  }

  /** True once the server answered; false (and queued again) when the request got no answer. */
  private async post(event: EventBody, cycle: number, isRetry: boolean): Promise<boolean> {
    const server = this.server;
    let response: Response;
    let text: string;
    try {
      if (!server) throw new Error("no server");
      response = await fetch(`${server.baseUrl}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": this.key },
        body: JSON.stringify(event),
      });
      text = await response.text();
    } catch {
      if (!isRetry) this.unanswered.set(cycle, (this.unanswered.get(cycle) ?? 0) + 1);
      this.retryQueue.push({ event, cycle });
      return false;
    }
    if (response.status !== 202) {
      this.unexpected.push(`${event.id}: ${response.status} ${text.slice(0, 300)}`);
      return true;
    }
    const replayed = response.headers.get("idempotent-replayed") === "true";
    if (isRetry && replayed) {
      this.committedBeforeKill.set(cycle, (this.committedBeforeKill.get(cycle) ?? 0) + 1);
    } else if (replayed) {
      this.unexpected.push(`${event.id}: a replayed answer to a first request ${text}`);
    }
    this.accepted.set(event.id, { cycle, event, answer: JSON.parse(text) as Accepted });
    return true;
  }
}

describe("repeated kill -9 under load", () => {
  test(
    `${CYCLES} SIGKILL cycles lose no accepted delivery; repeats are only deliveries in flight at a kill`,
    async () => {
      const dir = tempDir("hookpost-reliability-kill-");
      defer(() => rmSync(dir, { recursive: true, force: true }));
      const dbPath = join(dir, "hookpost.db");
      const key = `hpk_${randomAlphanumerics(40)}`;
      const env = {
        HOOKPOST_API_KEY: key,
        ...LOOPBACK_DELIVERY,
        HOOKPOST_RETRY_BASE_MS: "50",
        HOOKPOST_RETRY_MAX_DELAY_MS: "400",
        HOOKPOST_CONCURRENCY: "16",
      };
      // A receiver that takes a few ms per request, so attempts are in flight when a kill lands.
      const receiver = startReceiver(async () => {
        await Bun.sleep(Math.floor(Math.random() * 8));
        return Response.json({ ok: true });
      });
      defer(() => receiver.stop());

      let server = await startServerProcess({ dbPath, env });
      defer(() => server.kill());
      for (const [path, eventTypes] of [
        ["/everything", { "*": [0, 1] }],
        ["/articles", { article: [0] }],
      ] as const) {
        const created = await server.request("PUT", "/webhooks", {
          key,
          json: { endpoint: `${receiver.url}${path}`, eventTypes },
        });
        expect(created.status).toBe(200);
      }

      const load = new LoadGenerator(key);
      defer(() => load.stop());
      /** Per cycle: the deliveries the kill caught in flight, and how many it left Waiting. */
      const kills: { inFlight: string[]; waiting: number }[] = [];
      load.server = server;
      load.start(WORKERS);

      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        load.cycle = cycle;
        await Bun.sleep(LOAD_MS_PER_CYCLE);
        const acceptedBefore = [...load.accepted.values()].filter((a) => a.cycle === cycle);
        await server.kill("SIGKILL");
        load.server = undefined;
        expect(server.proc.signalCode).toBe("SIGKILL");
        const receivedAtKill = new Set(
          receiver.requests.map((request) => request.headers.get("webhook-id")),
        );

        // What the kill interrupted, read from the file the dead process left behind. Taking
        // a delivery writes nothing, so one in flight is Waiting in its row: in flight means
        // Waiting there and already at the receiver.
        const store = openStore(dbPath);
        const rows = await store.db
          .selectFrom("deliveries")
          .select(["id", "process_status"])
          .where("process_status", "in", [ProcessStatus.Processing, ProcessStatus.Waiting])
          .execute();
        await store.close();
        expect(rows.filter((row) => row.process_status === ProcessStatus.Processing)).toEqual([]);
        const inFlight = rows.filter((row) => receivedAtKill.has(row.id)).map((row) => row.id);
        kills.push({ inFlight, waiting: rows.length - inFlight.length });

        server = await startServerProcess({ dbPath, env });
        load.server = server;

        // Idempotency survives the crash: the last events accepted before the kill, posted
        // again with the same id, get the very same answer and enqueue nothing new.
        for (const { event, answer } of acceptedBefore.slice(-5)) {
          const again = await server.request("POST", "/events", { key, json: event });
          expect(again.status).toBe(202);
          expect(again.headers.get("idempotent-replayed")).toBe("true");
          expect(again.body).toEqual(answer);
        }
      }
      // The kills interrupted real work, or the test proved nothing.
      expect(kills.some((kill) => kill.inFlight.length + kill.waiting > 0)).toBe(true);

      // The last server keeps running: stop the load, answer every cut-off request.
      await load.stop();
      await load.drain();
      expect(load.unexpected).toEqual([]);

      const accepted = [...load.accepted.values()];
      const deliveryIds = accepted.flatMap((a) => a.answer.deliveries.map((d) => d.deliveryId));
      expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
      const receivedCounts = () => {
        const counts = new Map<string, number>();
        for (const request of receiver.requests) {
          const id = request.headers.get("webhook-id") ?? "(none)";
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        return counts;
      };
      await waitFor(
        `all ${deliveryIds.length} accepted deliveries to reach the receiver`,
        () => {
          const counts = receivedCounts();
          return deliveryIds.every((id) => counts.has(id));
        },
        scaled(30_000, 120_000),
      ).catch((error: unknown) => {
        const counts = receivedCounts();
        const lost = deliveryIds.filter((id) => !counts.has(id));
        throw new Error(`${String(error)}; lost: ${lost.length} (${lost.slice(0, 10).join(", ")})`);
      });

      const counts = receivedCounts();
      // Nothing arrived that no answer announced (cut-off requests were posted again and
      // answered with the deliveries the dead server had already committed).
      const announced = new Set(deliveryIds);
      expect([...counts.keys()].filter((id) => !announced.has(id))).toEqual([]);
      const duplicated = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
      // A delivery recorded as Sent is never sent again: repeats were in flight at a kill.
      const inFlightAtAKill = new Set(kills.flatMap((kill) => kill.inFlight));
      expect(duplicated.filter((id) => !inFlightAtAKill.has(id))).toEqual([]);

      // The database agrees: every event once, every delivery Sent.
      const store = openStore(dbPath);
      defer(() => store.close());
      const events = await store.db.selectFrom("events").select("idempotency_key").execute();
      expect(events.length).toBe(accepted.length);
      expect(new Set(events.map((event) => event.idempotency_key)).size).toBe(accepted.length);
      await waitFor("every accepted delivery to be recorded as Sent", async () => {
        const notSent = await store.db
          .selectFrom("deliveries")
          .select("id")
          .where("process_status", "!=", ProcessStatus.Sent)
          .execute();
        return notSent.length === 0;
      });

      const reports = kills.map((kill, index): CycleReport => {
        const cycle = index + 1;
        const ofCycle = accepted.filter((a) => a.cycle === cycle);
        const cycleDeliveries = ofCycle.flatMap((a) =>
          a.answer.deliveries.map((d) => d.deliveryId),
        );
        return {
          cycle,
          acceptedEvents: ofCycle.length,
          acceptedDeliveries: cycleDeliveries.length,
          unanswered: load.unanswered.get(cycle) ?? 0,
          committedBeforeKill: load.committedBeforeKill.get(cycle) ?? 0,
          inFlightAtKill: kill.inFlight.length,
          waitingAtKill: kill.waiting,
          delivered: cycleDeliveries.filter((id) => counts.has(id)).length,
          duplicates: kill.inFlight.filter((id) => (counts.get(id) ?? 0) > 1).length,
        };
      });
      console.log(`kill -9 under load: ${CYCLES} cycles of ${LOAD_MS_PER_CYCLE} ms`);
      console.table(reports);
      console.log(
        `total: ${accepted.length} events, ${deliveryIds.length} deliveries accepted, ` +
          `${deliveryIds.length} delivered, ${duplicated.length} duplicates, 0 lost`,
      );
      expect(await server.kill("SIGTERM")).toBe(0);
    },
    scaled(60_000, 300_000),
  );
});
