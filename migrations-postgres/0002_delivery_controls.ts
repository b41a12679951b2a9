/**
 * Delivery controls per webhook (issue 16), as SQLite's 0014: the columns `ordered`,
 * `rate_limit_per_second`, `retry_schedule`, `previous_secret`, `previous_secret_until` and
 * `failing_since`, watched by the generation trigger as there (all but `failing_since`, which is
 * health). PostgreSQL only:
 * - `webhook_starts`: when attempts of a rate-limited webhook started, within the last window,
 *   shared by every node (SQLite's one server keeps them in memory);
 * - `hookpost_take` again, with the ordered queue and the rate limit: under its advisory lock
 *   per webhook, an ordered webhook's take is its oldest Waiting delivery or nothing, and a
 *   rate-limited one's is at most the starts its window has left, each recorded there.
 */

import { type Kysely, sql } from "kysely";
import { DELIVERY_CONTROL_COLUMNS } from "../migrations/0014_delivery_controls.ts";
import { createTakeFunction as createTakeFunctionBefore, WATCHED_COLUMNS } from "./0001_init.ts";

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
type AnyDatabase = Kysely<any>;

async function createUpdateTrigger(db: AnyDatabase, columns: readonly string[]): Promise<void> {
  const changed = columns.map((column) => `old.${column} is distinct from new.${column}`);
  await sql`drop trigger if exists webhook_generation_update on webhooks`.execute(db);
  await sql`create trigger webhook_generation_update
    after update of ${sql.raw(columns.join(", "))} on webhooks
    for each row when (${sql.raw(changed.join(" or "))})
    execute function webhook_generation_bump()`.execute(db);
}

const TAKE_BEFORE =
  "hookpost_take(text, bigint, bigint, text, integer, integer, integer, integer, integer)";
const TAKE_NOW =
  "hookpost_take(text, bigint, bigint, text, integer, integer, integer, integer, integer, boolean, integer, bigint)";

/**
 * `hookpost_take` as 0001 made it, plus: `p_ordered` takes only the webhook's oldest Waiting
 * delivery (by acceptance: `created_at`, then id), and nothing while that one is not due or is
 * in flight; `p_rate` (null: none) lets at most that many attempts start in any `p_window` ms,
 * counting the starts in `webhook_starts`. The first row carries `allowed` and `next_at`: when
 * the rate or the order lets the next one go (null when only the limit of attempts in flight
 * stopped it, or nothing did).
 */
async function createTakeFunction(db: AnyDatabase): Promise<void> {
  await sql`create function hookpost_take(
      p_webhook text, p_now bigint, p_until bigint, p_owner text,
      p_room integer, p_busy integer, p_limit integer, p_failing_limit integer,
      p_failing_after integer, p_ordered boolean, p_rate integer, p_window bigint)
    returns table (id text, workspace text, webhook_id text, message_id text, body text,
      attempts integer, max_attempts integer, created_at bigint, allowed integer, next_at bigint)
    language plpgsql volatile as $$
  declare
    failures integer;
    others integer;
    room integer;
    started integer;
    head_id text;
    head_due bigint;
    wait_until bigint;
  begin
    perform set_config('synchronous_commit', 'off', true);
    perform pg_advisory_xact_lock(hashtextextended('hookpost.take:' || p_webhook, 0));
    -- Disabled or deleted on another node since this one read its list: nothing to take.
    select w.fail_count into failures from webhooks w where w.id = p_webhook and w.enabled = 1;
    if failures is null then
      return query select null::text, null::text, null::text, null::text, null::text,
        null::integer, null::integer, null::bigint, 0, null::bigint;
      return;
    end if;
    select count(*) into others from deliveries d
      where d.webhook_id = p_webhook and d.process_status = 0
        and d.lease_until > p_now and d.lease_owner <> p_owner;
    room := greatest(0, least(p_room,
      (case when failures >= p_failing_after then p_failing_limit else p_limit end)
        - others - p_busy));
    if room > 0 and p_rate is not null then
      delete from webhook_starts s
        where s.webhook_id = p_webhook and s.started_at <= p_now - p_window;
      select count(*) into started from webhook_starts s where s.webhook_id = p_webhook;
      if started >= p_rate then
        -- One more may start once the p_rate-th latest start leaves the window.
        select s.started_at + p_window into wait_until from webhook_starts s
          where s.webhook_id = p_webhook order by s.started_at desc offset p_rate - 1 limit 1;
        room := 0;
      else
        room := least(room, p_rate - started);
      end if;
    end if;
    if room > 0 and p_ordered then
      select d.id, d.next_attempt_at into head_id, head_due from deliveries d
        where d.webhook_id = p_webhook and d.process_status = 0
        order by d.created_at, d.id limit 1;
      -- A lease moves next_attempt_at to its end: a head in flight is not due either.
      if head_id is not null and head_due > p_now then
        wait_until := head_due;
        room := 0;
      else
        room := least(room, 1);
      end if;
    end if;
    return query select null::text, null::text, null::text, null::text, null::text,
      null::integer, null::integer, null::bigint, room, wait_until;
    -- Nothing waited for an ordered webhook when its head was read: one accepted since is not
    -- taken by this call (it could be a later one than another accepted since), only announced.
    if room = 0 or (p_ordered and head_id is null) then
      return;
    end if;
    return query
      with taken as (
        update deliveries as d
          set lease_owner = p_owner, lease_until = p_until, next_attempt_at = p_until
          from (
            select due.id from deliveries due
            where due.webhook_id = p_webhook and due.process_status = 0
              and due.next_attempt_at <= p_now
              and (head_id is null or due.id = head_id)
            order by due.next_attempt_at
            limit room
            for update skip locked
          ) as picked
          where d.id = picked.id
          returning d.id, d.workspace, d.webhook_id, d.message_id, d.body, d.attempts,
            d.max_attempts, d.created_at
      ), recorded as (
        insert into webhook_starts (webhook_id, started_at)
          select p_webhook, p_now from taken where p_rate is not null
      )
      select t.id, t.workspace, t.webhook_id, t.message_id, t.body, t.attempts,
        t.max_attempts, t.created_at, null::integer, null::bigint
      from taken t;
  end
  $$`.execute(db);
}

export async function up(db: AnyDatabase): Promise<void> {
  await sql`alter table webhooks
    add column ordered integer not null default 0,
    add column rate_limit_per_second integer,
    add column retry_schedule text,
    add column previous_secret text,
    add column previous_secret_until bigint,
    add column failing_since bigint`.execute(db);
  // A webhook already failing starts its streak now: auto-disable does not act on the past.
  await sql`update webhooks set failing_since = ${Date.now()} where fail_count > 0`.execute(db);
  await createUpdateTrigger(db, [...WATCHED_COLUMNS, ...DELIVERY_CONTROL_COLUMNS]);
  await sql`create table webhook_starts (
    webhook_id text not null,
    started_at bigint not null
  )`.execute(db);
  await sql`create index webhook_starts_by_webhook on webhook_starts (webhook_id, started_at)`.execute(
    db,
  );
  await sql`drop function ${sql.raw(TAKE_BEFORE)}`.execute(db);
  await createTakeFunction(db);
}

export async function down(db: AnyDatabase): Promise<void> {
  await sql`drop function if exists ${sql.raw(TAKE_NOW)}`.execute(db);
  await createTakeFunctionBefore(db);
  await sql`drop table if exists webhook_starts`.execute(db);
  await createUpdateTrigger(db, WATCHED_COLUMNS);
  await sql`alter table webhooks
    drop column ordered, drop column rate_limit_per_second, drop column retry_schedule,
    drop column previous_secret, drop column previous_secret_until,
    drop column failing_since`.execute(db);
}
