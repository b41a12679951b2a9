/**
 * Reading a request body with a cap. A chunked body declares no length, and a declared length
 * may lie, so a body is read chunk by chunk and kept only up to the limit: memory stays bounded
 * by the limit (plus one chunk) whatever the client sends.
 *
 * A body that is refused is still read to its end, and dropped, before the answer goes out:
 * closing a connection the client is still sending on resets it, and the reset can discard the
 * answer before the client reads it (2 of 8 answers to 100 MiB uploads were lost that way),
 * while answering early on a kept-alive connection leaves Bun's graceful stop waiting on it.
 * A client that does not stop within {@link DISCARD_LIMIT_MS} gets its answer and a closed
 * connection.
 */

import { heldLength } from "../outbound/sender.ts";

/** How long a refused body is read and dropped before the connection is closed instead. */
const DISCARD_LIMIT_MS = 5000;

// The reader's type as `getReader` gives it: Bun's and Node's declarations of
// `ReadableStreamDefaultReader` differ, so naming the type would not compile.
function readerOf(body: ReadableStream<Uint8Array>) {
  return body.getReader();
}

/**
 * A request body, read at most once, front to back. Read whole at once when its length is
 * declared and not overridden by chunked encoding (the parser stops at that length, and the
 * stream machinery per chunk is skipped); otherwise chunk by chunk.
 */
export class BodyReader {
  private reader: ReturnType<typeof readerOf> | null = null;
  private ended: boolean;
  /** A chunk read to look at (by {@link hasContent}) and not consumed yet. */
  private pending: Uint8Array | null = null;
  private readonly body: ReadableStream<Uint8Array> | null;
  /** The body whole, when its length is declared; null once reading chunk by chunk began. */
  private whole: { length: number; read: () => Promise<ArrayBuffer> } | null;

  constructor(request: Request) {
    this.body = request.body;
    this.ended = request.body === null;
    const length = heldLength(request.headers);
    this.whole = length === null ? null : { length, read: () => request.arrayBuffer() };
  }

  private async next(): Promise<Uint8Array | null> {
    if (this.pending) {
      const chunk = this.pending;
      this.pending = null;
      return chunk;
    }
    if (this.ended || !this.body) return null;
    this.whole = null;
    this.reader ??= readerOf(this.body);
    const { done, value } = await this.reader.read();
    if (done) {
      this.ended = true;
      return null;
    }
    return value;
  }

  /** Whether the body has at least one byte; reads no further than its first non-empty chunk. */
  async hasContent(): Promise<boolean> {
    for (;;) {
      const chunk = await this.next();
      if (chunk === null) return false;
      if (chunk.byteLength > 0) {
        this.pending = chunk;
        return true;
      }
    }
  }

  /**
   * The whole body, or null (having kept no more than `limitBytes`) when it is larger. A stream
   * that fails (the client went away) rejects.
   */
  async readCapped(limitBytes: number): Promise<Uint8Array | null> {
    if (this.whole && !this.ended && this.pending === null) {
      // The declared length is how much is read: over the cap, nothing is.
      if (this.whole.length > limitBytes) return null;
      const { read } = this.whole;
      this.whole = null;
      this.ended = true;
      return new Uint8Array(await read());
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const chunk = await this.next();
      if (chunk === null) return Buffer.concat(chunks);
      size += chunk.byteLength;
      if (size > limitBytes) return null;
      chunks.push(chunk);
    }
  }

  /**
   * Reads what is left and drops it, for at most `limitMs`. True when the body was read to its
   * end; false when time ran out or the stream failed (the reading is then cancelled).
   */
  async discardRest(limitMs: number = DISCARD_LIMIT_MS): Promise<boolean> {
    this.pending = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), limitMs);
    });
    const drained = (async () => {
      while ((await this.next()) !== null);
      return true;
    })().catch(() => false);
    const ended = await Promise.race([drained, timeUp]);
    clearTimeout(timer);
    if (!ended) this.reader?.cancel().catch(() => {});
    return ended;
  }
}

/**
 * Whether `request` carries at least one byte of body, read from `body` (its reader) no further
 * than needed: a declared length is taken at its word.
 */
export function hasContent(request: Request, body: BodyReader): Promise<boolean> {
  const declared = request.headers.get("content-length");
  if (declared !== null) return Promise.resolve(Number(declared) > 0);
  return body.hasContent();
}
