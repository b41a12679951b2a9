/**
 * A large invalid body costs no more than a valid one: the 400 names every problem of a small
 * input, only the first of a large one (no walk of 75,000 keys per request), and the server runs
 * Elysia in production mode, whose validation errors do not pretty-print the body or list its
 * errors when they are made.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ValidationError } from "elysia";
import {
  describeValidationError,
  holdsAtMostValues,
  MAX_PROBLEMS_NAMED,
  MAX_VALUES_DESCRIBED,
} from "../../src/http/server.ts";
import { WebhookInput } from "../../src/webhooks/model.ts";

const ROOT = join(import.meta.dir, "../..");

/** A validation error whose full list of problems may not be read. */
function unwalkable(value: unknown): ValidationError {
  const error = new ValidationError("body", TypeCompiler.Compile(WebhookInput), value);
  Object.defineProperty(error, "all", {
    get() {
      throw new Error("every problem was looked for");
    },
  });
  return error;
}

describe("holdsAtMostValues", () => {
  test.each<[string, unknown, number, boolean]>([
    ["a scalar is one value", 1, 1, true],
    ["an empty object is one value", {}, 1, true],
    ["an array counts itself and its items", [1, 2, 3], 4, true],
    ["one item too many", [1, 2, 3], 3, false],
    ["nested values count", { a: { b: [1, 2] } }, 5, true],
    ["nested values past the limit", { a: { b: [1, 2] } }, 4, false],
  ])("%s", (_, value, limit, expected) => {
    expect(holdsAtMostValues(value, limit)).toBe(expected);
  });
});

describe("a validation error", () => {
  test("of a large body names its first problem without looking for every other", () => {
    const eventTypes: Record<string, number[]> = {};
    for (let index = 0; index < 75_000; index++) eventTypes[`t${index}`] = [0];
    const value = { endpoint: "https://example.com/hook", eventTypes, retryPolicy: "sometimes" };
    expect(holdsAtMostValues(value, MAX_VALUES_DESCRIBED)).toBe(false);
    expect(describeValidationError(unwalkable(value))).toEqual([
      { field: "eventTypes", message: "Expected object to have no more than 1000 properties" },
    ]);
  });

  test("of a union holding many unknown keys reads a few errors of each branch and names at most 100 problems", () => {
    const auth: Record<string, string> = { type: "basic", username: "u", password: "p" };
    for (let index = 0; index < 80_000; index++) auth[`k${index}`] = "x";
    const value = { endpoint: "https://example.com/hook", auth };
    const error = new ValidationError("body", TypeCompiler.Compile(WebhookInput), value);
    let reads = 0;
    const counted = error.valueError?.errors.map((branch) => ({
      *[Symbol.iterator]() {
        for (const item of branch) {
          reads++;
          yield item;
        }
      },
    }));
    if (!error.valueError || !counted) throw new Error("the first problem is not the union");
    Object.defineProperty(error.valueError, "errors", { value: counted });
    const problems = describeValidationError(error);
    expect(problems.length).toBeLessThanOrEqual(MAX_PROBLEMS_NAMED);
    expect(problems[0]?.field).toStartWith("auth.");
    expect(reads).toBeLessThan(1_000);
  });

  test("of a small body names every problem", () => {
    const value = { endpoint: 7, retryPolicy: "sometimes" };
    const error = new ValidationError("body", TypeCompiler.Compile(WebhookInput), value);
    expect(describeValidationError(error).map((problem) => problem.field)).toEqual([
      "endpoint",
      "retryPolicy",
    ]);
    expect(() => describeValidationError(unwalkable(value))).toThrow("every problem");
  });
});

describe("Elysia's mode", () => {
  /** The message Elysia gives a validation error in a fresh process with `env`. */
  async function elysiaMessage(nodeEnv: string | undefined): Promise<Record<string, unknown>> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (name !== "NODE_ENV" && value !== undefined) env[name] = value;
    }
    if (nodeEnv !== undefined) env.NODE_ENV = nodeEnv;
    const script = `
      await import(${JSON.stringify(join(ROOT, "src/elysia-production.ts"))});
      const { ValidationError, t } = await import("elysia");
      const { TypeCompiler } = await import("@sinclair/typebox/compiler");
      const error = new ValidationError("body", TypeCompiler.Compile(t.Object({ a: t.String() })), { a: 1 });
      console.log(error.message);`;
    const proc = Bun.spawn([process.execPath, "-e", script], { cwd: ROOT, env, stdout: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    return JSON.parse(out) as Record<string, unknown>;
  }

  test("is production unless NODE_ENV says otherwise: no list of errors is made", async () => {
    expect(Object.keys(await elysiaMessage(undefined)).sort()).toEqual(["found", "on", "type"]);
    expect(await elysiaMessage("development")).toHaveProperty("errors");
  });

  test("is set before anything else loads: main.ts imports it first", async () => {
    const main = await Bun.file(join(ROOT, "src/main.ts")).text();
    const firstImport = main.split("\n").find((line) => line.startsWith("import "));
    expect(firstImport).toBe('import "./elysia-production.ts";');
  });
});
