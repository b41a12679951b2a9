/**
 * Pollers (SPEC §8): a source's `poll.run` runs on the scheduler's timer, at most once every
 * `intervalMs` and never twice at once; what it returns is ingested like `POST /events` into
 * its workspace; a run that fails is logged and retried at the next interval. The timing rules
 * are checked with a fake clock; the whole path with a real app, poller and receiver.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { createLogger } from "../../src/log.ts";
import type { IncomingEvent, PollContext } from "../../src/plugin-host/api.ts";
import { type IngestPolledEvents, PollerRunner } from "../../src/plugin-host/pollers.ts";
import { type Receiver, startReceiver, waitFor } from "../helpers/receiver.ts";
import { createWebhook } from "../helpers/scenarios.ts";
import type { TestApp } from "../helpers/test-app.ts";
import { appWithPlugins, removePluginFolders, settled } from "./helpers.ts";

/** A run the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** A runner over one poller whose runs the test controls, on a clock the test sets. */
function harness(intervalMs = 100, workspace?: string) {
  let now = 1_000;
  const runs: { context: PollContext; done: ReturnType<typeof deferred<IncomingEvent[]>> }[] = [];
  const ingested: { workspace: string; source: string; events: unknown }[] = [];
  const lines: string[] = [];
  let ingestFails = false;
  const ingest: IngestPolledEvents = async (target, source, events) => {
    if (ingestFails) throw new Error("events.0.eventType: Expected union value");
    ingested.push({ workspace: target, source, events });
    return Array.isArray(events) ? events : [];
  };
  const runner = new PollerRunner(
    [
      {
        plugin: "feeds",
        source: "feed",
        poll: {
          intervalMs,
          ...(workspace ? { workspace } : {}),
          run(context) {
            const done = deferred<IncomingEvent[]>();
            runs.push({ context, done });
            return done.promise;
          },
        },
      },
    ],
    ingest,
    createLogger("debug", (line) => lines.push(line)),
    () => now,
  );
  return {
    runner,
    runs,
    ingested,
    lines,
    setTime(ms: number) {
      now = ms;
    },
    failIngest() {
      ingestFails = true;
    },
    /** Lets finished runs settle. */
    settle: () => Bun.sleep(0),
  };
}

const EVENT: IncomingEvent = { eventType: 0, contentType: "post", contentId: "p1" };

describe("the poller runner", () => {
  test("runs at the first tick, then not again before intervalMs has passed since the start", async () => {
    const h = harness(100);
    h.runner.trigger();
    expect(h.runs).toHaveLength(1);
    h.runs[0]?.done.resolve([]);
    await h.settle();
    h.setTime(1_099);
    h.runner.trigger();
    expect(h.runs).toHaveLength(1);
    h.setTime(1_100);
    h.runner.trigger();
    expect(h.runs).toHaveLength(2);
  });

  test("never starts a second run while one is running, however many ticks pass", async () => {
    const h = harness(100);
    h.runner.trigger();
    for (const at of [1_200, 1_300, 5_000]) {
      h.setTime(at);
      h.runner.trigger();
    }
    expect(h.runs).toHaveLength(1);
    h.runs[0]?.done.resolve([]);
    await h.settle();
    h.runner.trigger();
    expect(h.runs).toHaveLength(2);
  });

  test("ingests what a run returns into its workspace (default: default)", async () => {
    const h = harness(100);
    h.runner.trigger();
    h.runs[0]?.done.resolve([EVENT]);
    await waitFor("ingest", () => h.ingested.length === 1);
    expect(h.ingested).toEqual([{ workspace: "default", source: "feed", events: [EVENT] }]);
    expect(h.runs[0]?.context.workspace).toBe("default");

    const other = harness(100, "marketing");
    other.runner.trigger();
    other.runs[0]?.done.resolve([EVENT]);
    await waitFor("ingest", () => other.ingested.length === 1);
    expect(other.ingested[0]?.workspace).toBe("marketing");
  });

  test("tells a run when the last successful run started (null at first)", async () => {
    const h = harness(100);
    h.runner.trigger();
    expect(h.runs[0]?.context.lastSuccessAt).toBeNull();
    h.runs[0]?.done.resolve([]);
    await h.settle();
    h.setTime(1_100);
    h.runner.trigger();
    expect(h.runs[1]?.context.lastSuccessAt).toEqual(new Date(1_000));
    h.runs[1]?.done.reject(new Error("CMS down"));
    await h.settle();
    h.setTime(1_200);
    h.runner.trigger();
    // The failed run at 1100 does not count as a success.
    expect(h.runs[2]?.context.lastSuccessAt).toEqual(new Date(1_000));
  });

  test("a failing run is logged at warn and retried at the next interval", async () => {
    const h = harness(100);
    h.runner.trigger();
    h.runs[0]?.done.reject(new Error("CMS answered 503"));
    await waitFor("the warning", () => h.lines.some((line) => line.includes("poll failed")));
    const warning = JSON.parse(h.lines.find((line) => line.includes("poll failed")) ?? "{}");
    expect(warning).toMatchObject({
      level: "warn",
      plugin: "feeds",
      source: "feed",
      error: "CMS answered 503",
      retryInMs: 100,
    });
    h.setTime(1_050);
    h.runner.trigger();
    expect(h.runs).toHaveLength(1);
    h.setTime(1_100);
    h.runner.trigger();
    expect(h.runs).toHaveLength(2);
  });

  test("events that cannot be ingested are a failed run too", async () => {
    const h = harness(100);
    h.failIngest();
    h.runner.trigger();
    h.runs[0]?.done.resolve([EVENT]);
    await waitFor("the warning", () => h.lines.some((line) => line.includes("poll failed")));
    expect(h.lines.join("")).toContain("events.0.eventType: Expected union value");
  });

  test("stop aborts the runs' signal, starts no more runs and ingests nothing late", async () => {
    const h = harness(100);
    h.runner.trigger();
    const run = h.runs[0];
    if (!run) throw new Error("no run");
    run.context.signal.addEventListener("abort", () => run.done.resolve([EVENT]));
    await h.runner.stop();
    expect(run.context.signal.aborted).toBe(true);
    h.setTime(10_000);
    h.runner.trigger();
    expect(h.runs).toHaveLength(1);
    expect(h.ingested).toEqual([]);
  });
});

/** Shared with the plugin through globalThis: what its poller returns next, or an error. */
const FEED_KEY = "__hookpostPollerTest";
const feed: { next: (IncomingEvent | "fail")[]; runs: number } = { next: [], runs: 0 };
(globalThis as Record<string, unknown>)[FEED_KEY] = feed;

const POLLER_PLUGIN = `
import { definePlugin } from "hookpost/plugin";
export default definePlugin({
  name: "feeds",
  sources: {
    feed: {
      contentTypes: () => [{ key: "story", name: "Story", fields: ["title"] }],
      poll: {
        intervalMs: 30,
        async run() {
          const state = globalThis.${FEED_KEY};
          state.runs++;
          const next = state.next.shift();
          if (next === "fail") throw new Error("feed unreachable");
          return next ? [next] : [];
        },
      },
    },
  },
});
`;

describe("a poller in a running app", () => {
  let app: TestApp;
  let target: Receiver;

  beforeAll(async () => {
    app = await appWithPlugins({ "feeds.ts": POLLER_PLUGIN });
    target = startReceiver();
    await createWebhook(app, { endpoint: `${target.url}/stories`, eventTypes: { story: [0] } });
    await app.app.start();
  });
  afterAll(async () => {
    await app.close();
    await target.stop();
    removePluginFolders();
  });

  test("its events are delivered; a failing run is logged and the next one still delivers", async () => {
    feed.next.push(
      {
        id: "story-1",
        eventType: 0,
        contentType: "story",
        contentId: "s1",
        fields: { title: "One" },
      },
      "fail",
      {
        id: "story-2",
        eventType: 0,
        contentType: "story",
        contentId: "s2",
        fields: { title: "Two" },
      },
      // The same change seen twice by the poller is delivered once.
      {
        id: "story-2",
        eventType: 0,
        contentType: "story",
        contentId: "s2",
        fields: { title: "Two" },
      },
    );
    await waitFor("both stories", () => target.requests.length >= 2);
    // Run 6 starts only after run 5 (the repeated story) has finished ingesting.
    await waitFor("the feed to be drained", () => feed.next.length === 0 && feed.runs >= 6);
    const bodies = target.requests.map((request) => JSON.parse(request.body));
    expect(bodies.map((body) => body.contentId)).toEqual(["s1", "s2"]);
    expect(bodies[0]).toMatchObject({ contentType: "story", fields: { title: "One" } });
    const warning = app.logLines.find((line) => line.includes('"msg":"poll failed'));
    expect(JSON.parse(warning ?? "{}")).toMatchObject({
      level: "warn",
      plugin: "feeds",
      source: "feed",
      error: "feed unreachable",
    });
    const events = await app.app.store.db
      .selectFrom("events")
      .select(["idempotency_key", "source"])
      .where("source", "=", "source:feed")
      .orderBy("created_at")
      .execute();
    expect(events).toEqual([
      { idempotency_key: "story-1", source: "source:feed" },
      { idempotency_key: "story-2", source: "source:feed" },
    ]);
    const deliveries = await app.app.store.db
      .selectFrom("deliveries")
      .select(["id"])
      .where("content_type", "=", "story")
      .execute();
    for (const delivery of deliveries) {
      expect(await settled(app, delivery.id)).toMatchObject({ process_status: ProcessStatus.Sent });
    }
  });
});
