/**
 * Misbehaving receivers on loopback for the reliability suite, below HTTP: raw TCP listeners
 * (`Bun.listen`) that reset the connection, answer late or never, trickle a body, or speak
 * something that is not HTTP. Each counts the connections it accepted and how many are still
 * open, so a test can tell that the sender let go of every one of them.
 */

import type { Socket } from "bun";

export interface FaultServer {
  /** `http://127.0.0.1:{port}` */
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections not yet closed (by either side). */
  readonly open: number;
  stop(): void;
}

interface Behaviour {
  /** On connect, before the client has sent anything. */
  connected?(socket: Socket<Connection>): void;
  /** On the first bytes of the request (the rest of it is ignored). */
  requested?(socket: Socket<Connection>): void;
}

interface Connection {
  closed: boolean;
  requested: boolean;
  timers: ReturnType<typeof setTimeout>[];
}

function startFaultServer(behaviour: Behaviour): FaultServer {
  let accepted = 0;
  let open = 0;
  const listener = Bun.listen<Connection>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        accepted++;
        open++;
        socket.data = { closed: false, requested: false, timers: [] };
        behaviour.connected?.(socket);
      },
      data(socket) {
        if (socket.data.requested) return;
        socket.data.requested = true;
        behaviour.requested?.(socket);
      },
      close(socket) {
        socket.data.closed = true;
        for (const timer of socket.data.timers) clearTimeout(timer);
        open--;
      },
      error() {},
    },
  });
  return {
    url: `http://127.0.0.1:${listener.port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return open;
    },
    stop() {
      listener.stop(true);
    },
  };
}

/** Runs `write` after `ms` unless the connection has closed by then. */
function later(socket: Socket<Connection>, ms: number, write: () => void): void {
  socket.data.timers.push(
    setTimeout(() => {
      if (!socket.data.closed) write();
    }, ms),
  );
}

/** A loopback URL where nothing listens: the listener that held the port is gone. */
export function refusingUrl(): string {
  const server = startFaultServer({});
  server.stop();
  return server.url;
}

/** Accepts the connection and closes it at once, before reading anything. */
export function resettingServer(): FaultServer {
  return startFaultServer({ connected: (socket) => socket.terminate() });
}

/** Reads the request and sends a complete `200` only after `delayMs`. */
export function slowHeadersServer(delayMs: number): FaultServer {
  return startFaultServer({
    requested: (socket) =>
      later(socket, delayMs, () => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        socket.end();
      }),
  });
}

/** Sends `200` headers at once, then the body one byte every `everyMs`, `bytes` in all. */
export function slowBodyServer(bytes: number, everyMs: number): FaultServer {
  return startFaultServer({
    requested(socket) {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${bytes}\r\n\r\n`);
      for (let i = 1; i <= bytes; i++) later(socket, i * everyMs, () => socket.write("x"));
    },
  });
}

/**
 * Declares a small `content-length` but also `transfer-encoding: chunked` (which overrides it),
 * then sends 16 KB chunks until the client hangs up: a reader that trusts the length reads on.
 */
export function lyingLengthServer(): FaultServer {
  const chunk = `4000\r\n${"z".repeat(0x4000)}\r\n`;
  return startFaultServer({
    requested(socket) {
      socket.write(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 10\r\ntransfer-encoding: chunked\r\n\r\n",
      );
      const more = () => {
        if (socket.data.closed) return;
        socket.write(chunk);
        later(socket, 1, more);
      };
      more();
    },
  });
}

/** Reads the request and never answers, never closes. */
export function silentServer(): FaultServer {
  return startFaultServer({});
}

/** Answers the request with `bytes` (not HTTP) and closes. */
export function garbageServer(bytes: Uint8Array): FaultServer {
  return startFaultServer({
    requested(socket) {
      socket.write(bytes);
      socket.end();
    },
  });
}

/** An SMTP server: a webhook pointed at a mail port by mistake. */
export function smtpServer(): FaultServer {
  return startFaultServer({
    connected: (socket) => socket.write("220 mail.example.com ESMTP Postfix\r\n"),
    requested(socket) {
      socket.write("502 5.5.2 Error: command not recognized\r\n");
      socket.end();
    },
  });
}
