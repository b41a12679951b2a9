/**
 * The ingest baseline, a process of its own: a bare `Bun.serve` that does one SQLite INSERT
 * of the request body per request and answers `202` JSON. Same file settings as Hookpost
 * (src/db/connect.ts: WAL, synchronous=NORMAL, foreign keys, busy timeout), so one accepted
 * request costs one durable commit, as one accepted event does in Hookpost.
 */

import { Database } from "bun:sqlite";
import { serveRpc } from "./rpc.ts";

let server: ReturnType<typeof Bun.serve> | null = null;

function open(dbPath: string) {
  const db = new Database(dbPath, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL)",
  );
  return db.prepare<{ id: number }, [string, number]>(
    "INSERT INTO events (body, created_at) VALUES (?, ?) RETURNING id",
  );
}

export const handlers = {
  start(args: { dbPath: string }): { url: string; pid: number } {
    if (!server) {
      const insert = open(args.dbPath);
      server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(request) {
          const row = insert.get(await request.text(), Date.now());
          return Response.json({ id: row?.id }, { status: 202 });
        },
      });
    }
    return { url: `http://127.0.0.1:${server.port}`, pid: process.pid };
  },
};

export type BaselineInsertApi = typeof handlers;

if (import.meta.main) serveRpc(handlers);
