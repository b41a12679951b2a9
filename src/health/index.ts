/** `GET /health`: liveness and whether the database can be written, open without a key (SPEC §10). */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { VERSION } from "../version.ts";

const Health = T.Object({
  status: T.Union([T.Literal("ok"), T.Literal("degraded")]),
  version: T.String({ examples: [VERSION] }),
  uptimeSeconds: T.Integer({ minimum: 0 }),
  db: T.Union([T.Literal("ok"), T.Literal("error")], {
    description: "`ok` when the database can be written, `error` otherwise",
  }),
  dbError: T.Optional(
    T.String({
      description: "Why the database cannot be written, when it cannot",
      examples: ["database is locked"],
    }),
  ),
});

/** The `/health` route; `writeProblem` checks the database (see `Backend.writeProblem`). */
export function healthRoutes(writeProblem: () => Promise<string | null>, startedAt: number) {
  return new Elysia().get(
    "/health",
    async ({ set }) => {
      const dbError = await writeProblem();
      const uptimeSeconds = Math.floor((Date.now() - startedAt) / 1000);
      if (dbError === null)
        return { status: "ok" as const, version: VERSION, uptimeSeconds, db: "ok" as const };
      set.status = 503;
      return {
        status: "degraded" as const,
        version: VERSION,
        uptimeSeconds,
        db: "error" as const,
        dbError,
      };
    },
    {
      response: { 200: Health, 503: Health },
      detail: {
        tags: ["Operations"],
        // Open on purpose: load balancers and uptime checks send no key.
        security: [],
        summary: "Health check",
        description:
          "Answers 200 when the server works and its database can be written, 503 otherwise " +
          "(with `dbError` saying why, e.g. another process holding the database's write lock).",
      },
    },
  );
}
