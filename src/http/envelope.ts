/**
 * The one error shape every failed request answers with (SPEC §3):
 * `{"error":{"code","message","details"},"meta":{"requestId","timestamp"}}`.
 */

import { Type as T } from "@sinclair/typebox";

export const ErrorEnvelope = T.Object(
  {
    error: T.Object({
      code: T.String({ description: "Stable machine-readable code", examples: ["not_found"] }),
      message: T.String({ description: "What went wrong, for people" }),
      details: T.Record(T.String(), T.Unknown(), {
        description: "Context, e.g. `fields`: the offending fields and why",
      }),
    }),
    meta: T.Object({
      requestId: T.String({ description: "Also sent as the X-Request-Id header" }),
      timestamp: T.String({ format: "date-time" }),
    }),
  },
  { $id: "#/components/schemas/ErrorEnvelope", title: "ErrorEnvelope" },
);

export function errorEnvelope(
  code: string,
  message: string,
  details: Record<string, unknown>,
  requestId: string,
) {
  return {
    error: { code, message, details },
    meta: { requestId, timestamp: new Date().toISOString() },
  };
}

/**
 * The error answers of an authenticated route that names a resource: bad input, no key, a key
 * without the policy, nothing found. Routes spread it into their `response` map.
 */
export const ResourceErrors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
};
