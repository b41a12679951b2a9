#!/usr/bin/env bun
/**
 * The `hookpost` command: parse argv and environment, then run one command — `serve`
 * (default), `migrate`, `keys create|list|revoke`, `copy-data` — or print help or the version.
 */

// First: it must run before Elysia loads (see the module).
import "./elysia-production.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./api-keys/service.ts";
import { createApp } from "./app.ts";
import { parseArgs, UsageError } from "./cli/args.ts";
import {
  type Config,
  ConfigError,
  describeSettings,
  flagName,
  loadConfig,
  SETTINGS,
} from "./config.ts";
import type { Backend } from "./db/backend.ts";
import { copyData } from "./db/copy-data.ts";
import type { Access } from "./db/database.ts";
import { openBackend } from "./db/open.ts";
import { DomainError } from "./errors.ts";
import { PluginLoadError } from "./plugin-host/registry.ts";
import { VERSION } from "./version.ts";

const USAGE = `Hookpost ${VERSION} — webhook delivery for headless CMSs

Usage:
  hookpost [serve]                               run the server (default); one server per
                                                 database file, a second one refuses to start
  hookpost migrate                               apply database migrations and exit
  hookpost healthcheck                           exit 0 when the local server's /health is 200
  hookpost keys create --workspace W --access read|write [--label TEXT]
                                                 create an API key (printed alone on the last line)
  hookpost keys list                             list API keys (never the keys themselves)
  hookpost keys revoke ID                        revoke a key; a running server honours it at once
  hookpost copy-data --to postgres://USER@HOST/DB
                                                 copy this SQLite database (migrated to the
                                                 latest) into an empty PostgreSQL database, in
                                                 one transaction; refuses while a server runs
                                                 on the file, and keeps one from starting
  hookpost --version | --help

Settings (environment variable or flag; flags win):
${describeSettings()}
`;

const SETTING_FLAGS = new Set(SETTINGS.map((item) => flagName(item.env)));
const COMMAND_FLAGS: Record<string, Set<string>> = {
  "keys create": new Set(["--workspace", "--access", "--label"]),
  "copy-data": new Set(["--to"]),
};

function splitFlags(commandName: string, flags: Record<string, string>) {
  const settingFlags: Record<string, string> = {};
  const commandFlags: Record<string, string> = {};
  for (const [name, value] of Object.entries(flags)) {
    if (SETTING_FLAGS.has(name)) settingFlags[name] = value;
    else if (COMMAND_FLAGS[commandName]?.has(name)) commandFlags[name] = value;
    else throw new UsageError(`unknown option ${name} for "${commandName}" (see hookpost --help)`);
  }
  return { settingFlags, commandFlags };
}

async function serve(config: Config): Promise<void> {
  const app = await createApp(config);
  await app.start();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info("shutting down", { signal });
    await app.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** Runs a command on the database the settings name: PostgreSQL when a URL is set, else SQLite. */
async function withDatabase<T>(
  config: Config,
  run: (store: Backend, applied: string[]) => Promise<T>,
): Promise<T> {
  const store = openBackend(config);
  try {
    const applied = await store.migrate();
    return await run(store, applied);
  } finally {
    await store.close();
  }
}

function parseAccess(value: string | undefined): Access {
  if (value === "read" || value === "write") return value;
  throw new UsageError(`--access must be read or write${value ? `, got "${value}"` : ""}`);
}

async function run(argv: readonly string[]): Promise<void> {
  const { positionals, flags } = parseArgs(argv);
  if (flags["--version"]) {
    console.log(VERSION);
    return;
  }
  if (flags["--help"]) {
    console.log(USAGE);
    return;
  }
  const [command = "serve", subcommand, ...rest] = positionals;
  const commandName = command === "keys" ? `keys ${subcommand ?? ""}`.trim() : command;
  const { settingFlags, commandFlags } = splitFlags(commandName, flags);
  const config = loadConfig(process.env, settingFlags);

  switch (commandName) {
    case "serve":
      return serve(config);
    case "healthcheck": {
      // For container HEALTHCHECKs: no curl needed in the image, any base works.
      const healthy = await fetch(`http://127.0.0.1:${config.port}/health`, {
        signal: AbortSignal.timeout(4000),
      }).then(
        (response) => response.ok,
        () => false,
      );
      console.log(healthy ? "healthy" : "unhealthy");
      if (!healthy) process.exitCode = 1;
      return;
    }
    case "migrate": {
      const applied = await withDatabase(config, async (_store, names) => names);
      console.log(
        applied.length === 0 ? "database is up to date" : `applied ${applied.join(", ")}`,
      );
      return;
    }
    case "keys create": {
      const workspace = commandFlags["--workspace"];
      if (!workspace || !/^[A-Za-z0-9_-]{1,64}$/.test(workspace)) {
        throw new UsageError("--workspace is required: 1-64 letters, digits, _ or -");
      }
      const access = parseAccess(commandFlags["--access"]);
      const created = await withDatabase(config, (store) =>
        createApiKey(store.db, { workspace, access, label: commandFlags["--label"] ?? null }),
      );
      console.log(`created ${created.access} key ${created.id} for workspace ${created.workspace}`);
      console.log(created.key);
      return;
    }
    case "keys list": {
      const keys = await withDatabase(config, (store) => listApiKeys(store.db));
      for (const key of keys) {
        const state = key.revokedAt ? `revoked ${key.revokedAt}` : "active";
        console.log(
          [key.id, key.workspace, key.access, key.prefix, state, key.label ?? ""].join("\t"),
        );
      }
      if (keys.length === 0) console.log("no API keys");
      return;
    }
    case "keys revoke": {
      const id = rest[0] ?? subcommand;
      if (rest.length !== 1 || !id) throw new UsageError("usage: hookpost keys revoke ID");
      await withDatabase(config, (store) => revokeApiKey(store.db, id));
      console.log(`revoked ${id}`);
      return;
    }
    case "copy-data": {
      const url = commandFlags["--to"];
      if (!url || !/^postgres(ql)?:\/\//.test(url)) {
        throw new UsageError("--to is required: the postgres://… URL of an empty database");
      }
      const copied = await copyData(config.dbPath, url);
      for (const { table, rows } of copied) console.log(`${table.padEnd(24)} ${rows}`);
      const total = copied.reduce((sum, { rows }) => sum + rows, 0);
      console.log(`copied ${total} rows into PostgreSQL`);
      return;
    }
    default:
      throw new UsageError(`unknown command "${commandName}" (see hookpost --help)`);
  }
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof PluginLoadError ||
    error instanceof DomainError
  ) {
    console.error(`hookpost: ${error.message}`);
    process.exit(2);
  }
  console.error(`hookpost: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
