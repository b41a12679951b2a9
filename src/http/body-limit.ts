/**
 * The one size limit of a body Hookpost takes or makes: a request body (the front door, a
 * source plugin's webhook) and a rendered delivery body (the template budget) alike.
 */

import { PayloadTooLarge } from "../errors.ts";

/** Largest body accepted or rendered; webhook configurations and CMS events fit easily. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The 413 of a request body over {@link MAX_BODY_BYTES}, wherever it is read. */
export function bodyTooLarge(): PayloadTooLarge {
  return new PayloadTooLarge(`request body exceeds ${MAX_BODY_BYTES} bytes`, {
    limitBytes: MAX_BODY_BYTES,
  });
}
