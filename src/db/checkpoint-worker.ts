/**
 * The checkpointer's thread (see `checkpointer.ts`): a connection of its own that copies
 * committed pages from the write-ahead log into the database file every few milliseconds, so
 * the connection that commits never has to. Messages: `{ path, everyMs }` starts it, `"stop"`
 * closes the connection and ends the thread.
 */

import { Database } from "bun:sqlite";

declare const self: Worker;

let timer: ReturnType<typeof setInterval> | undefined;
let db: Database | undefined;

function checkpoint(): void {
  try {
    // PASSIVE: as many frames as no reader still needs, without waiting for anyone. A busy or
    // failed round is simply tried again; the committing connection's own autocheckpoint is
    // the safety net should this thread fall behind.
    db?.query("PRAGMA wal_checkpoint(PASSIVE)").get();
  } catch {}
}

self.onmessage = (message: MessageEvent<{ path: string; everyMs: number } | "stop">) => {
  const data = message.data;
  if (data === "stop") {
    clearInterval(timer);
    db?.close();
    db = undefined;
    self.postMessage("stopped");
    return;
  }
  db = new Database(data.path);
  db.exec("PRAGMA busy_timeout = 1000");
  timer = setInterval(checkpoint, data.everyMs);
};
