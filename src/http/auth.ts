/**
 * Authentication and policies as an Elysia macro: a route declares `{ auth: "read" }` or
 * `{ auth: "write" }` and receives `principal` in its context. The check runs at the transform
 * stage, before validation, so a request without a valid key gets 401 whatever its body.
 */

import { Elysia } from "elysia";
import { authenticate, type KeyByHash, type Principal } from "../api-keys/service.ts";
import type { Access } from "../db/database.ts";
import { Forbidden, Unauthorized } from "../errors.ts";

const principals = new WeakMap<Request, Principal>();

const POLICY_NAME: Record<Access, string> = { read: "ReadAccess", write: "WriteAccess" };

/** Whether a key with `granted` access may use a route that requires `required`. */
export function allows(granted: Access, required: Access): boolean {
  return granted === "write" || required === "read";
}

export function authPlugin(keyByHash: KeyByHash) {
  // Unnamed on purpose: a name would let Elysia dedupe two apps' plugins (each with its own
  // database) into one. The plugin only adds a macro, so applying it per module is harmless.
  return new Elysia().macro({
    auth: (required: Access) => ({
      detail: {
        security: [{ ApiKeyAuth: [] }],
        "x-policy": POLICY_NAME[required],
      },
      async transform({ request }) {
        const presented = request.headers.get("x-api-key");
        const principal = await authenticate(keyByHash, presented);
        if (!principal) {
          throw new Unauthorized("a valid X-Api-Key header is required");
        }
        if (!allows(principal.access, required)) {
          throw new Forbidden(`this operation requires the ${POLICY_NAME[required]} policy`, {
            required: POLICY_NAME[required],
          });
        }
        principals.set(request, principal);
      },
      resolve({ request }) {
        const principal = principals.get(request);
        // transform ran first and either stored the principal or threw.
        if (!principal) throw new Unauthorized("a valid X-Api-Key header is required");
        return { principal };
      },
    }),
  });
}

export type AuthPlugin = ReturnType<typeof authPlugin>;
