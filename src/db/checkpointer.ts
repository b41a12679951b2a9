/**
 * WAL checkpoints on a thread of their own. In WAL mode every commit appends the pages it
 * changed to the log, and now and then those pages must be copied back into the database file
 * (a checkpoint, with an fsync of each file). By default SQLite does that inside whichever
 * commit pushes the log past 1000 pages — on the one thread that also serves requests and runs
 * the scheduler, about a sixth of an event's cost under load. Here a worker thread with its own
 * connection checkpoints every few milliseconds instead. The committing connection keeps an
 * autocheckpoint at a higher mark, should the worker ever fall behind or be gone.
 */

import type { Database } from "bun:sqlite";
import type { Logger } from "../log.ts";
import { CHECKPOINT_WORKER } from "../workers.ts";

const EVERY_MS = 25;
/** The committing connection's own checkpoint, as a safety net (pages; SQLite's default is 1000). */
const FALLBACK_PAGES = 10_000;
const STOP_WAIT_MS = 2_000;

export class Checkpointer {
  private worker: Worker | null = null;

  constructor(
    private readonly sqlite: Database,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.worker || this.path === ":memory:") return;
    try {
      const worker = new Worker(CHECKPOINT_WORKER);
      worker.addEventListener("error", (event) => {
        this.log.error("checkpoint thread failed; commits checkpoint themselves", {
          error: String(event.message),
        });
        this.sqlite.exec("PRAGMA wal_autocheckpoint = 1000");
        this.worker = null;
      });
      worker.postMessage({ path: this.path, everyMs: EVERY_MS });
      this.sqlite.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_PAGES}`);
      this.worker = worker;
    } catch (error) {
      this.log.warn("no checkpoint thread; commits checkpoint themselves", {
        error: String(error),
      });
    }
  }

  /**
   * Ends the thread (closing its connection) before the database is closed. True when the
   * thread said it stopped, false when it had to be terminated (or there was none).
   */
  async stop(): Promise<boolean> {
    const worker = this.worker;
    if (!worker) return false;
    this.worker = null;
    this.sqlite.exec("PRAGMA wal_autocheckpoint = 1000");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const confirmed = await new Promise<boolean>((resolve) => {
      worker.addEventListener("message", (event) => resolve(event.data === "stopped"));
      timer = setTimeout(() => resolve(false), STOP_WAIT_MS);
      worker.postMessage("stop");
    });
    clearTimeout(timer);
    worker.terminate();
    return confirmed;
  }
}
