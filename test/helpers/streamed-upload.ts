/**
 * A large request body written to a real socket as the client produces it, chunk by chunk and
 * waiting for the socket to drain, so that a 100 MiB upload costs the test almost no memory
 * and the server's answer can come (and the connection close) before the body is finished.
 */

import { connect } from "node:net";
import { parseFirstResponse, type RawAnswer } from "./reliability-fuzz.ts";

const encoder = new TextEncoder();

/** A body of `totalBytes` bytes of `fill`, in chunks of `chunkBytes`, reusing one buffer. */
export async function* repeatedBytes(
  totalBytes: number,
  chunkBytes = 64 * 1024,
  fill = 0x61,
): AsyncGenerator<Uint8Array> {
  const chunk = new Uint8Array(chunkBytes).fill(fill);
  for (let sent = 0; sent < totalBytes; sent += chunkBytes) {
    yield sent + chunkBytes <= totalBytes ? chunk : chunk.subarray(0, totalBytes - sent);
  }
}

/** `body` in HTTP/1.1 chunked transfer coding, ending with the last (empty) chunk. */
export async function* chunked(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    yield encoder.encode(`${chunk.byteLength.toString(16)}\r\n`);
    yield chunk;
    yield encoder.encode("\r\n");
  }
  yield encoder.encode("0\r\n\r\n");
}

/** Whether `bytes` hold a whole response: its head and as many bytes as its Content-Length. */
function holdsWholeResponse(bytes: Buffer): boolean {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.subarray(0, headEnd).toString("latin1"));
  return bytes.byteLength >= headEnd + 4 + Number(length?.[1] ?? 0);
}

/**
 * Sends `head` (request line and headers, ending with the blank line) and then `body` to the
 * server of `url`, as a client that watches for an early answer does (curl: "HTTP error
 * before end of send, stop sending"): once a whole response has arrived, or the server closed
 * the connection, it stops sending, closes, and resolves with that response.
 */
export function sendStreamed(
  url: string,
  head: string,
  body: AsyncIterable<Uint8Array>,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const { promise, resolve } = Promise.withResolvers<RawAnswer>();
  const received: Uint8Array[] = [];
  const socket = connect(Number(port), hostname);
  let finished = false;
  let drained: (() => void) | null = null;
  const finish = () => {
    if (finished) return;
    finished = true;
    drained?.();
    socket.destroy();
    resolve(parseFirstResponse(Buffer.concat(received)));
  };
  socket.on("data", (chunk: Buffer) => {
    received.push(chunk);
    if (holdsWholeResponse(Buffer.concat(received))) finish();
  });
  // A server that answers early may close while the body is still being written.
  socket.on("error", finish);
  socket.on("close", finish);
  socket.on("drain", () => drained?.());
  void (async () => {
    socket.write(head);
    for await (const chunk of body) {
      if (finished) return;
      if (!socket.write(chunk)) {
        await new Promise<void>((resume) => {
          drained = resume;
        });
        drained = null;
      }
    }
    // No half-close: a request's end is its length or its last chunk, and Bun closes a socket
    // whose client half-closed, even while its answer is still being computed.
  })();
  return promise;
}
