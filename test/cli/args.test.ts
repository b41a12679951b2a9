import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";

describe("parseArgs", () => {
  test("no arguments give no positionals and no flags", () => {
    expect(parseArgs([])).toEqual({ positionals: [], flags: {} });
  });

  test("words without a leading dash are positionals, in order", () => {
    expect(parseArgs(["keys", "revoke", "key_123"])).toEqual({
      positionals: ["keys", "revoke", "key_123"],
      flags: {},
    });
  });

  test("a lone dash is a positional, not a flag", () => {
    expect(parseArgs(["-"]).positionals).toEqual(["-"]);
  });

  test("--flag value takes the next word as the value", () => {
    expect(parseArgs(["serve", "--port", "9000"])).toEqual({
      positionals: ["serve"],
      flags: { "--port": "9000" },
    });
  });

  test("--flag=value splits at the first equals sign and keeps the rest of the value", () => {
    expect(parseArgs(["--label=a=b", "--port=9000"]).flags).toEqual({
      "--label": "a=b",
      "--port": "9000",
    });
  });

  test("--flag= gives an empty value", () => {
    expect(parseArgs(["--smtp-url="]).flags).toEqual({ "--smtp-url": "" });
  });

  test("flags and positionals may be interleaved", () => {
    expect(
      parseArgs(["keys", "--workspace", "acme", "create", "--access=read", "--label", "ci"]),
    ).toEqual({
      positionals: ["keys", "create"],
      flags: { "--workspace": "acme", "--access": "read", "--label": "ci" },
    });
  });

  test("a value may start with a single dash", () => {
    expect(parseArgs(["--port", "-1"]).flags).toEqual({ "--port": "-1" });
  });

  test("--help and --version are switches that take no value", () => {
    expect(parseArgs(["--help", "keys"])).toEqual({
      positionals: ["keys"],
      flags: { "--help": "true" },
    });
    expect(parseArgs(["--version"]).flags).toEqual({ "--version": "true" });
  });

  test("-h is --help and -v is --version", () => {
    expect(parseArgs(["-h"]).flags).toEqual({ "--help": "true" });
    expect(parseArgs(["-v"]).flags).toEqual({ "--version": "true" });
  });

  test("the last occurrence of a repeated flag wins", () => {
    expect(parseArgs(["--port", "1", "--port=2"]).flags).toEqual({ "--port": "2" });
  });
});

describe("parseArgs errors", () => {
  test("a flag at the end without its value throws UsageError naming the flag", () => {
    expect(() => parseArgs(["migrate", "--db-path"])).toThrow(UsageError);
    expect(() => parseArgs(["migrate", "--db-path"])).toThrow("--db-path needs a value");
  });

  test("a flag followed by another flag is missing its value", () => {
    expect(() => parseArgs(["--workspace", "--access", "read"])).toThrow(UsageError);
    expect(() => parseArgs(["--workspace", "--access", "read"])).toThrow("--workspace");
  });

  test("UsageError is an Error named UsageError", () => {
    const error = new UsageError("bad");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("UsageError");
  });
});
