/**
 * Schemas of the API-key routes: what `GET /me` answers about the key presented.
 */

import { type Static, Type as T } from "@sinclair/typebox";

export const KeyIdentity = T.Object(
  {
    workspace: T.String({ description: "The workspace the key belongs to" }),
    access: T.Union([T.Literal("read"), T.Literal("write")], {
      description: "`read`: GET routes only; `write`: every route",
    }),
  },
  {
    $id: "#/components/schemas/KeyIdentityModel",
    title: "KeyIdentityModel",
    examples: [{ workspace: "default", access: "read" }],
  },
);
export type KeyIdentity = Static<typeof KeyIdentity>;
