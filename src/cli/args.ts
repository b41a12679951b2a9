/**
 * Command-line parsing: `hookpost [command …] [--flag value | --flag=value]…`. Pure, so the
 * rules are tested directly.
 */

export interface ParsedArgs {
  /** Positional words, e.g. `["keys", "revoke", "key_…"]`. */
  positionals: string[];
  /** Flags by their long name, e.g. `{"--port": "9000"}`; bare switches map to "true". */
  flags: Record<string, string>;
}

/** Flags that take no value. */
const SWITCHES = new Set(["--help", "-h", "--version", "-v"]);

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    if (SWITCHES.has(arg)) {
      flags[arg === "-h" ? "--help" : arg === "-v" ? "--version" : arg] = "true";
      continue;
    }
    const equals = arg.indexOf("=");
    if (equals > 0) {
      flags[arg.slice(0, equals)] = arg.slice(equals + 1);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || (value.startsWith("--") && value.length > 2)) {
      throw new UsageError(`${arg} needs a value`);
    }
    flags[arg] = value;
    i++;
  }
  return { positionals, flags };
}
