/**
 * The bound on a rendered delivery body: the same 1 MiB as a request body, so that one event
 * and one template can never make a body larger than what the API itself accepts (issue 13: a
 * 13 KB template of 1,000 × `"{{fields}}"` and a 100 KB event made a 100 MB body). Whoever
 * builds a body spends its serialized size from a {@link BodyBudget} as it goes, and stops at
 * the first piece that does not fit, instead of rendering everything and measuring after.
 */

import { MAX_BODY_BYTES } from "../http/body-limit.ts";

/** A rendered body would pass {@link MAX_BODY_BYTES}: the delivery fails with this message. */
export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";

  constructor(limit: number) {
    super(`the rendered body exceeds ${limit} bytes, the most a delivery may send`);
  }
}

/** The UTF-8 size of `text`. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * What is left of the bound while one body is built. Counts UTF-8 bytes of the JSON text the
 * body will be; throws {@link BodyTooLarge} the moment they pass the limit.
 */
export class BodyBudget {
  #left: number;

  constructor(readonly limit: number = MAX_BODY_BYTES) {
    this.#left = limit;
  }

  /** Counts `bytes` more of the body. */
  spend(bytes: number): void {
    this.#left -= bytes;
    if (this.#left < 0) throw new BodyTooLarge(this.limit);
  }

  /** Counts a piece of the body's JSON text. */
  spendText(jsonText: string): void {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so a piece longer than what is
    // left is over without measuring it.
    this.ensureRoom(jsonText.length);
    this.spend(byteLength(jsonText));
  }

  /**
   * Throws unless at least `bytes` more would still fit: a check for text still being built,
   * whose exact size is spent once it is complete.
   */
  ensureRoom(bytes: number): void {
    if (bytes > this.#left) throw new BodyTooLarge(this.limit);
  }
}
