/** `GET /health`: liveness and database reachability, open without a key (SPEC §10). */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { VERSION } from "../version.ts";

const Health = T.Object({
  status: T.Union([T.Literal("ok"), T.Literal("degraded")]),
  version: T.String({ examples: [VERSION] }),
  uptimeSeconds: T.Integer({ minimum: 0 }),
  db: T.Union([T.Literal("ok"), T.Literal("error")]),
});

export function healthRoutes(db: Executor, startedAt: number) {
  return new Elysia().get(
    "/health",
    async ({ set }) => {
      const dbOk = await sql`select 1`
        .execute(db)
        .then(() => true)
        .catch(() => false);
      if (!dbOk) set.status = 503;
      return {
        status: dbOk ? ("ok" as const) : ("degraded" as const),
        version: VERSION,
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
        db: dbOk ? ("ok" as const) : ("error" as const),
      };
    },
    {
      response: { 200: Health, 503: Health },
      detail: {
        tags: ["Operations"],
        // Open on purpose: load balancers and uptime checks send no key.
        security: [],
        summary: "Health check",
        description: "Answers 200 when the server and its database work, 503 otherwise.",
      },
    },
  );
}
