/**
 * The only reader of `HOOKPOST_*` settings. Every knob has a name, a default that suits a
 * small VPS, a parser that rejects bad values with a message naming the variable, and a
 * matching CLI flag (`HOOKPOST_DB_PATH` ⇄ `--db-path`).
 */

import { isIP } from "node:net";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  host: string;
  port: number;
  dbPath: string;
  databaseUrl: string | null;
  leaseMarginMs: number;
  apiKey: string | null;
  smtpUrl: string | null;
  mailFrom: string;
  mailThrottleMs: number;
  pluginsDir: string;
  allowPrivateTargets: boolean;
  allowedCidrs: string[];
  maxAttempts: number;
  maxWebhooks: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  tickMs: number;
  concurrency: number;
  retentionDays: number;
  autoDisableAfterMs: number;
  logLevel: LogLevel;
}

/** A setting that cannot be used; the message names the variable and the value it got. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Parser<T> = (raw: string, name: string) => T;

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  defaultValue: string;
  help: string;
  parse: Parser<Config[K]>;
  /** Printed as `(secret)` in `--help`, and never echoed back in an error. */
  secret?: boolean;
}

const text: Parser<string> = (raw, name) => {
  if (raw.trim() === "") throw new ConfigError(`${name} must not be empty`);
  return raw;
};

const optionalText: Parser<string | null> = (raw) => (raw.trim() === "" ? null : raw);

/** Empty, or a PostgreSQL connection URL (never echoed back: it may hold a password). */
const postgresUrl: Parser<string | null> = (raw, name) => {
  const trimmed = raw.trim();
  if (trimmed === "") return null;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ConfigError(`${name} must be a postgres:// URL`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(`${name} must be a postgres:// URL, not ${url.protocol}`);
  }
  return trimmed;
};

function integer(min: number, max: number): Parser<number> {
  return (raw, name) => {
    const trimmed = raw.trim();
    if (!/^-?\d+$/.test(trimmed)) {
      throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
    }
    const value = Number(trimmed);
    if (value < min || value > max) {
      throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
    }
    return value;
  };
}

const boolean: Parser<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off", ""].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
};

const cidrList: Parser<string[]> = (raw, name) => {
  const ranges = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  for (const range of ranges) {
    if (!isCidr(range)) {
      throw new ConfigError(`${name} has an invalid range "${range}" (expected e.g. 10.0.0.0/8)`);
    }
  }
  return ranges;
};

function isCidr(range: string): boolean {
  const [address, prefix, ...rest] = range.split("/");
  if (address === undefined || prefix === undefined || rest.length > 0) return false;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  const version = isIP(address);
  return (version === 4 && bits <= 32) || (version === 6 && bits <= 128);
}

const smtpUrl: Parser<string | null> = (raw, name) => {
  if (raw.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL may hold a password: do not echo it.
    throw new ConfigError(`${name} is not a valid URL (expected smtp://user:pass@host:587)`);
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    throw new ConfigError(`${name} must start with smtp:// or smtps://, got ${url.protocol}//`);
  }
  if (url.hostname === "") {
    throw new ConfigError(`${name} must name a host (expected smtp://user:pass@host:587)`);
  }
  return raw;
};

const logLevel: Parser<LogLevel> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (!level)
    throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return level;
};

function setting<K extends keyof Config>(spec: Setting<K>): Setting<K> {
  return spec;
}

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = [
  setting({
    key: "host",
    env: "HOOKPOST_HOST",
    defaultValue: "0.0.0.0",
    help: "listen address",
    parse: text,
  }),
  setting({
    key: "port",
    env: "HOOKPOST_PORT",
    defaultValue: "8080",
    help: "listen port (0 picks a free one)",
    parse: integer(0, 65535),
  }),
  setting({
    key: "dbPath",
    env: "HOOKPOST_DB_PATH",
    defaultValue: "./data/hookpost.db",
    help: "SQLite file (its directory is created if missing)",
    parse: text,
  }),
  setting({
    key: "databaseUrl",
    env: "HOOKPOST_DATABASE_URL",
    defaultValue: "",
    help: "postgres://user:pass@host:5432/db: run on PostgreSQL (a cluster of nodes may share it) instead of the SQLite file",
    parse: postgresUrl,
    secret: true,
  }),
  setting({
    key: "leaseMarginMs",
    env: "HOOKPOST_LEASE_MARGIN_MS",
    defaultValue: "30000",
    help: "PostgreSQL: how long past its webhook's timeout a node holds a delivery it sends; a dead node's deliveries are taken over after that",
    parse: integer(1000, 3_600_000),
  }),
  setting({
    key: "apiKey",
    env: "HOOKPOST_API_KEY",
    defaultValue: "",
    help: "registered at startup as a write key of workspace `default`",
    parse: optionalText,
    secret: true,
  }),
  setting({
    key: "smtpUrl",
    env: "HOOKPOST_SMTP_URL",
    defaultValue: "",
    help: "smtp://user:pass@host:587 or smtps://…; empty disables mail",
    parse: smtpUrl,
    secret: true,
  }),
  setting({
    key: "mailFrom",
    env: "HOOKPOST_MAIL_FROM",
    defaultValue: "hookpost@localhost",
    help: "sender address of failure mail",
    parse: text,
  }),
  setting({
    key: "mailThrottleMs",
    env: "HOOKPOST_MAIL_THROTTLE_MS",
    defaultValue: "3600000",
    help: "at most one failure mail per webhook per this many ms; failures between are gathered",
    parse: integer(0, 7 * 86_400_000),
  }),
  setting({
    key: "pluginsDir",
    env: "HOOKPOST_PLUGINS_DIR",
    defaultValue: "./plugins",
    help: "folder of plugin files loaded at startup",
    parse: text,
  }),
  setting({
    key: "allowPrivateTargets",
    env: "HOOKPOST_ALLOW_PRIVATE_TARGETS",
    defaultValue: "false",
    help: "allow endpoints on loopback/private/link-local addresses",
    parse: boolean,
  }),
  setting({
    key: "allowedCidrs",
    env: "HOOKPOST_ALLOWED_CIDRS",
    defaultValue: "",
    help: "comma-separated ranges allowed even when private targets are not",
    parse: cidrList,
  }),
  setting({
    key: "maxAttempts",
    env: "HOOKPOST_MAX_ATTEMPTS",
    defaultValue: "10",
    help: "default attempts per delivery (a webhook can override)",
    parse: integer(1, 100),
  }),
  setting({
    key: "maxWebhooks",
    env: "HOOKPOST_MAX_WEBHOOKS",
    defaultValue: "100",
    help: "webhooks per workspace at most (an event is stored once for each one it matches)",
    parse: integer(1, 10_000),
  }),
  setting({
    key: "retryBaseMs",
    env: "HOOKPOST_RETRY_BASE_MS",
    defaultValue: "5000",
    help: "first retry delay; later delays grow exponentially",
    parse: integer(1, 86_400_000),
  }),
  setting({
    key: "retryMaxDelayMs",
    env: "HOOKPOST_RETRY_MAX_DELAY_MS",
    defaultValue: "36000000",
    help: "cap on one retry delay",
    parse: integer(1, 7 * 86_400_000),
  }),
  setting({
    key: "tickMs",
    env: "HOOKPOST_TICK_MS",
    defaultValue: "250",
    help: "scheduler timer period (new work also wakes it at once)",
    parse: integer(10, 60_000),
  }),
  setting({
    key: "concurrency",
    env: "HOOKPOST_CONCURRENCY",
    defaultValue: "64",
    help: "deliveries in flight at once",
    parse: integer(1, 10_000),
  }),
  setting({
    key: "retentionDays",
    env: "HOOKPOST_RETENTION_DAYS",
    defaultValue: "30",
    help: "delivery log retention in days",
    parse: integer(1, 36_500),
  }),
  setting({
    key: "autoDisableAfterMs",
    env: "HOOKPOST_AUTO_DISABLE_AFTER_MS",
    defaultValue: String(5 * 86_400_000),
    help: "disable a webhook whose attempts have all failed for this long (ms; 0 = never)",
    parse: integer(0, 365 * 86_400_000),
  }),
  setting({
    key: "logLevel",
    env: "HOOKPOST_LOG_LEVEL",
    defaultValue: "info",
    help: "debug, info, warn or error; logs are JSON lines on stdout",
    parse: logLevel,
  }),
] as const;

/** `HOOKPOST_DB_PATH` → `--db-path`. */
export function flagName(env: string): string {
  return `--${env
    .replace(/^HOOKPOST_/, "")
    .toLowerCase()
    .replaceAll("_", "-")}`;
}

/**
 * Builds the configuration from environment variables, then CLI flags (flags win).
 * Throws {@link ConfigError} naming the first bad setting.
 *
 * @example loadConfig({ HOOKPOST_PORT: "9000" }, { "--log-level": "debug" })
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  flags: Record<string, string> = {},
): Config {
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const item of SETTINGS) {
    const raw = flags[flagName(item.env)] ?? env[item.env] ?? item.defaultValue;
    values[item.key] = item.parse(raw, item.env);
  }
  return values as Config;
}

/** The lines of `hookpost --help` that describe the settings. */
export function describeSettings(): string {
  const rows = SETTINGS.map((item) => {
    const shown = item.secret ? "(none)" : item.defaultValue === "" ? "(empty)" : item.defaultValue;
    return `  ${flagName(item.env).padEnd(28)} ${item.env.padEnd(32)} ${item.help} [default: ${shown}]`;
  });
  return rows.join("\n");
}
