/**
 * Request ids: every response carries `X-Request-Id`. A well-formed id sent by the client (a
 * proxy's, say) is kept so logs line up across hops; anything else is replaced.
 */

import { randomString } from "../ids.ts";

const ACCEPTABLE_ID = /^[A-Za-z0-9._-]{8,64}$/;
const requestIds = new WeakMap<Request, string>();

/** A fresh request id. */
export function newRequestId(): string {
  return `req_${randomString(20)}`;
}

/** Assigns (once) and returns the id of this request. */
export function requestIdOf(request: Request): string {
  let id = requestIds.get(request);
  if (!id) {
    const offered = request.headers.get("x-request-id");
    id = offered && ACCEPTABLE_ID.test(offered) ? offered : newRequestId();
    requestIds.set(request, id);
  }
  return id;
}
