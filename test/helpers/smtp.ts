/**
 * A real SMTP server on loopback (the `smtp-server` package), parsing what it receives with
 * `mailparser`. It can be stopped and started again on the same port, to play a mail server
 * that goes down and comes back.
 */

import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
}

export interface SmtpTestServer {
  port: number;
  url: string;
  mails: ReceivedMail[];
  /** Logins seen, as "user:pass". */
  logins: string[];
  stop(): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
}

function listen(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

export async function startSmtp(
  options: { user?: string; pass?: string } = {},
): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const logins: string[] = [];
  const create = () =>
    new SMTPServer({
      secure: false,
      disabledCommands: ["STARTTLS"],
      authOptional: options.user === undefined,
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.username === options.user && auth.password === options.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(new Error("invalid credentials"));
        }
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            mails.push({
              envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              parsed,
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
  let server = create();
  const port = await listen(server, 0);
  const auth = options.user === undefined ? "" : `${options.user}:${options.pass ?? ""}@`;
  return {
    port,
    url: `smtp://${auth}127.0.0.1:${port}`,
    mails,
    logins,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
    async restart() {
      server = create();
      await listen(server, port);
    },
  };
}
