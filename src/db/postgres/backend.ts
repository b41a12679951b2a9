/**
 * The PostgreSQL backend (`HOOKPOST_DATABASE_URL`): any number of Hookpost nodes on one
 * database. What makes a cluster of them work:
 * - the delivery store leases what it takes (store/postgres/), so a dead node's work is taken
 *   over when its leases run out;
 * - new work is announced with `NOTIFY` (`hookpost_due`), so the node with free slots sends it
 *   within milliseconds, whichever node accepted it;
 * - every cached view of the webhooks is read again once their generation moves (a trigger
 *   moves it; each use reads the number first), so a change on one node holds on all for the
 *   next event; API keys are looked up on every request;
 * - the singleton work (failure mail, retention, pollers, the sweep of deleted webhooks'
 *   leftovers) runs where a session advisory lock is held: one node at a time, and another
 *   takes it over when that node's connection dies;
 * - start-up's key bootstrap runs under a transaction advisory lock, so nodes starting together
 *   register `HOOKPOST_API_KEY` once.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { ReservedSQL } from "bun";
import { sql } from "kysely";
import { findApiKeyByHash } from "../../api-keys/repository.ts";
import type { Logger } from "../../log.ts";
import { DUE_CHANNEL } from "../../store/postgres/announcer.ts";
import { PostgresDeliveryStore } from "../../store/postgres/store.ts";
import type { Backend, Leadership } from "../backend.ts";
import { openPostgres, type PostgresHandle } from "./connect.ts";
import { migratePostgresToLatest } from "./migrator.ts";

/** How often a node that does not lead tries to, and one that leads checks its connection. */
const LEADERSHIP_CHECK_MS = 2000;

/** The session advisory lock whose holder leads (one key for all of Hookpost). */
const LEADER_LOCK = "hookpost.leader";

/** Connections per node: enough for 64 concurrent publishers and the scheduler. */
const POOL_SIZE = 20;

/** The URL without its password, for logs. */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/**
 * Leads while it holds {@link LEADER_LOCK} on a connection of its own. The server lets the lock
 * go when that connection dies — the process killed, or (with TCP keepalives) the machine gone —
 * and the next node to try takes it.
 */
class AdvisoryLeadership implements Leadership {
  private connection: ReservedSQL | null = null;
  private leading = false;
  private stopped = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly handle: PostgresHandle,
    private readonly log: Logger | undefined,
  ) {
    this.timer = setInterval(() => this.check(), LEADERSHIP_CHECK_MS);
    this.timer.unref();
    this.check();
  }

  leads(): boolean {
    return this.leading;
  }

  private check(): void {
    if (this.checking || this.stopped) return;
    this.checking = this.tryLead()
      .catch((error: unknown) => {
        if (this.leading) this.log?.warn("lost the cluster's leadership", { error: String(error) });
        this.leading = false;
        this.connection?.close().catch(() => undefined);
        this.connection = null;
      })
      .finally(() => {
        this.checking = null;
      });
  }

  private async tryLead(): Promise<void> {
    if (!this.connection) {
      this.connection = await this.handle.sql.reserve();
      // A machine that vanishes without closing its socket is noticed within about 15 s.
      await this.connection.unsafe(
        "set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 2; set tcp_keepalives_count = 5",
      );
    }
    if (this.leading) {
      await this.connection`select 1`;
      return;
    }
    const [row] = await this
      .connection`select pg_try_advisory_lock(hashtextextended(${LEADER_LOCK}, 0)) as held`;
    this.leading = row?.held === true;
    if (this.leading) this.log?.info("leading the cluster's singleton work");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.checking;
    this.leading = false;
    // Closing the session lets the lock go.
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
  }
}

export function openPostgresBackend(
  url: string,
  options: { leaseMarginMs: number; log?: Logger },
): Backend {
  const handle = openPostgres(url, { max: POOL_SIZE });
  const { db } = handle;
  // This node's name in the leases it writes: unique per process.
  const nodeId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  return {
    kind: "postgres",
    location: withoutPassword(url),
    db,
    migrate: () => migratePostgresToLatest(db),
    deliveryStore: (onDeliveryFailed) =>
      new PostgresDeliveryStore(
        db,
        { nodeId, leaseMarginMs: options.leaseMarginMs, log: options.log },
        onDeliveryFailed,
      ),
    keyByHash: (keyHash) => findApiKeyByHash(db, keyHash),
    async writeProblem() {
      try {
        const result = await sql<{ standby: boolean; readOnly: string }>`select
            pg_is_in_recovery() as standby,
            current_setting('default_transaction_read_only') as "readOnly"`.execute(db);
        const row = result.rows[0];
        if (row?.standby) return "the database is a standby (read-only)";
        if (row?.readOnly === "on")
          return "the database refuses writes (default_transaction_read_only)";
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
    serialized: (name, work) =>
      db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${`hookpost.${name}`}, 0))`.execute(
          trx,
        );
        return work(trx);
      }),
    leadership: () => new AdvisoryLeadership(handle, options.log),
    async watchDue(wake) {
      const subscription = await handle.sql.listen(DUE_CHANNEL, (payload) =>
        wake(payload === "" ? undefined : payload.split(",")),
      );
      return () => subscription.unlisten();
    },
    close: () => handle.close(),
  };
}
