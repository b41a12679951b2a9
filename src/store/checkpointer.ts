/**
 * WAL checkpoints off the event loop. In WAL mode every commit appends to the `-wal` file, and
 * SQLite copies those pages back into the database file — a checkpoint — from whichever
 * connection commits once the WAL passes 1,000 pages: on a server, the event loop, which then
 * also waits for the `fsync` that `synchronous = NORMAL` does at each checkpoint. Under load
 * that was a fifth of the delivery rate. Here a worker thread with its own connection runs
 * PASSIVE checkpoints every {@link CHECKPOINT_EVERY_MS}: they never block the writer, and their
 * copying and `fsync`s happen off the event loop. The writer starts the WAL over only when a
 * checkpoint has caught up with it at the moment its transaction begins, which under steady load
 * (a commit every few milliseconds, a checkpoint's `fsync` longer than that) seldom happens; so
 * the server's connection keeps its own automatic checkpoint at {@link BACKSTOP_PAGES} — by then
 * the worker has copied all but the last few pages, and that checkpoint is one short copy and an
 * `fsync` per 64 MB of WAL, after which the WAL starts over. It is also the backstop should the
 * worker fall behind or die. The WAL file therefore grows to about 64 MB and is reused.
 *
 * The worker's code is a string run from a Blob URL, not a module of its own: it needs nothing
 * but `bun:sqlite`, and so it runs the same from the sources and from the compiled executable.
 */

import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";

/** How often the worker checkpoints. */
const CHECKPOINT_EVERY_MS = 100;
/** The server connection's own automatic checkpoint while the worker runs (about 64 MB). */
const BACKSTOP_PAGES = 16_000;
/** SQLite's default, back in force once the worker stops. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/** How long stopping waits for the worker to close its connection. */
const STOP_WAIT_MS = 2_000;

const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
let timer = null;
function checkpoint() {
  try {
    // Again while commits landed during the pass: the writer starts the WAL over only once a
    // pass has caught up with it, and each pass is shorter than the one before.
    for (let pass = 0; pass < 20; pass++) {
      const result = db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
      if (result.busy || result.checkpointed >= result.log) break;
    }
  } catch (error) {
    postMessage({ error: String(error) });
  }
}
self.onmessage = (event) => {
  const message = event.data;
  if (message.open) {
    try {
      db = new Database(message.open);
      db.exec("PRAGMA busy_timeout = 0");
      timer = setInterval(checkpoint, message.everyMs);
      postMessage({ opened: true });
    } catch (error) {
      postMessage({ error: String(error) });
    }
  } else if (message.close) {
    if (timer) clearInterval(timer);
    if (db) db.close();
    postMessage({ closed: true });
  }
};
`;

export class Checkpointer {
  private constructor(
    private readonly worker: Worker,
    private readonly sqlite: Database,
  ) {}

  /**
   * Starts checkpointing the database at `path` (whose server connection is `sqlite`) from a
   * worker thread; resolves once its connection is open. An in-memory database has no WAL.
   */
  static async start(path: string, sqlite: Database, log: Logger): Promise<Checkpointer | null> {
    if (path === ":memory:") return null;
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(url);
    const opened = await new Promise<string | null>((resolve) => {
      worker.onmessage = (event: MessageEvent<{ opened?: true; error?: string }>) =>
        resolve(event.data.error ?? null);
      worker.onerror = (event) => resolve(event.message);
      worker.postMessage({ open: path, everyMs: CHECKPOINT_EVERY_MS });
    });
    // Only now: the worker loads its code from the URL after the constructor returns.
    URL.revokeObjectURL(url);
    if (opened !== null) {
      worker.terminate();
      log.warn("WAL checkpoints stay on the server's thread: the worker could not start", {
        error: opened,
      });
      return null;
    }
    worker.onmessage = (event: MessageEvent<{ error?: string }>) => {
      if (event.data.error) log.warn("WAL checkpoint failed", { error: event.data.error });
    };
    sqlite.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    return new Checkpointer(worker, sqlite);
  }

  /** Closes the worker's connection and ends the thread; the server checkpoints again. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_WAIT_MS);
      this.worker.onmessage = (event: MessageEvent<{ closed?: true }>) => {
        if (!event.data.closed) return;
        clearTimeout(timer);
        resolve();
      };
      this.worker.postMessage({ close: true });
    });
    this.worker.terminate();
    this.sqlite.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
