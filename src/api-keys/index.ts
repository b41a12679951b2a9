/**
 * `GET /me`: the workspace and access of the key presented, never the key. A client (the
 * dashboard, a script) learns from it whether its key may change anything before it tries.
 */

import { Elysia } from "elysia";
import type { AuthPlugin } from "../http/auth.ts";
import { ResourceErrors } from "../http/envelope.ts";
import { KeyIdentity } from "./model.ts";

export function apiKeyRoutes(auth: AuthPlugin) {
  return new Elysia().use(auth).get(
    "/me",
    ({ principal }): KeyIdentity => ({
      workspace: principal.workspace,
      access: principal.access,
    }),
    {
      auth: "read",
      response: { 200: KeyIdentity, ...ResourceErrors },
      detail: {
        tags: ["API keys"],
        summary: "The presented key's workspace and access",
        description:
          "Answers which workspace the `X-Api-Key` belongs to and whether it is a `read` or a " +
          "`write` key. The key itself is never answered.",
      },
    },
  );
}
