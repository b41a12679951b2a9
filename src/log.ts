/**
 * JSON-lines logging on stdout. Secrets are kept out by construction (callers log ids, never
 * keys or secrets) and by a last line of defence: any field whose name looks like a credential
 * is replaced by `[redacted]`, however deep it sits.
 */

import { LOG_LEVELS, type LogLevel } from "./config.ts";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SENSITIVE_FIELD = /secret|password|passwd|token|api[-_]?key|authorization|credential|cookie/i;

/** A copy of `value` with every credential-looking field replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  // Too deep to inspect is too deep to trust: nothing unchecked reaches the log.
  if (depth > 8) return "[truncated]";
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SENSITIVE_FIELD.test(key) ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}

/**
 * A logger writing one JSON object per line to `write` (stdout by default).
 *
 * @example createLogger("info").info("server started", { port: 8080 })
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel, message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    const record = { time: new Date().toISOString(), level: at, msg: message, ...fields };
    write(`${JSON.stringify(redact(record))}\n`);
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}
