/**
 * Reading a request body with a cap. A chunked body declares no length, and a declared length
 * may lie, so a body is read chunk by chunk and reading stops as soon as it passes the limit:
 * memory stays bounded by the limit (plus one chunk) whatever the client sends.
 */

/** What a capped read found: the whole body, or that it is larger than the limit. */
export type CappedBody = { tooLarge: false; bytes: Uint8Array } | { tooLarge: true };

/**
 * Reads `body` to its end, or stops (cancelling the stream) once more than `limitBytes` have
 * arrived. A stream that fails (the client went away) rejects.
 */
export async function readCappedBody(
  body: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<CappedBody> {
  if (!body) return { tooLarge: false, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      // The rest is never read; the caller answers with `Connection: close`.
      reader.cancel().catch(() => {});
      return { tooLarge: true };
    }
    chunks.push(value);
  }
  return { tooLarge: false, bytes: Buffer.concat(chunks) };
}

/**
 * Whether `body` carries at least one byte, reading no further than the first non-empty chunk
 * (which is then discarded, with the rest of the stream): for a request refused for what it
 * is, whatever its body says, but only when it has one.
 */
export async function bodyHasContent(body: ReadableStream<Uint8Array> | null): Promise<boolean> {
  if (!body) return false;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return false;
    if (value.byteLength > 0) {
      reader.cancel().catch(() => {});
      return true;
    }
  }
}
