/**
 * A real HTTP receiver on loopback (`Bun.serve`, port 0) that records every request and
 * answers with whatever the test's handler decides; plus `waitFor`, which polls a condition
 * until a deadline instead of sleeping for a guessed time.
 */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Headers;
  body: string;
  at: number;
}

export type ReceiverHandler = (
  request: ReceivedRequest,
  index: number,
) => Response | Promise<Response>;

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Replaces the handler (the default answers 200 `{"ok":true}`). */
  handle(handler: ReceiverHandler): void;
  stop(): Promise<void>;
}

const ok: ReceiverHandler = () => Response.json({ ok: true });

export function startReceiver(handler: ReceiverHandler = ok): Receiver {
  let current = handler;
  const requests: ReceivedRequest[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const received: ReceivedRequest = {
        method: request.method,
        path: url.pathname + url.search,
        headers: request.headers,
        body: await request.text(),
        at: Date.now(),
      };
      const index = requests.push(received) - 1;
      return current(received, index);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port ?? 0,
    requests,
    handle(next) {
      current = next;
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
