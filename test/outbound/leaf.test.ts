/**
 * `src/outbound/` is a leaf: it imports node and Bun built-ins, npm packages and its own files,
 * nothing else of the app — so the test ping, the mailer and the scheduler can all use it
 * without importing each other. Where it needs an app shape, it declares its own, and this
 * test keeps that declaration the same as the app's.
 */

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import type { ReceiverCredentials } from "../../src/outbound/receiver-auth.ts";
import type { ReceiverAuth } from "../../src/webhooks/model.ts";
import type { Same } from "../helpers/types.ts";

const FOLDER = resolve(import.meta.dir, "../../src/outbound");

/** Every module specifier in a source file: static, type-only, re-export, side-effect, dynamic. */
function specifiersOf(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\b(?:import|require)\s*\(\s*["']([^"']+)["']/g,
  ];
  return patterns.flatMap((pattern) =>
    [...source.matchAll(pattern)].map((match) => match[1] ?? ""),
  );
}

/** The package an npm specifier names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
}

const packages = new Set(Object.keys(packageJson.dependencies));
const builtins = new Set(builtinModules);

/** Why `specifier`, imported by `file`, leaves the folder; null when it stays inside. */
function leaves(file: string, specifier: string): string | null {
  if (specifier.startsWith("node:") || specifier === "bun" || specifier.startsWith("bun:")) {
    return null;
  }
  if (specifier.startsWith(".")) {
    const target = relative(FOLDER, resolve(join(FOLDER, file, ".."), specifier));
    return target.startsWith("..") ? `${file} imports ${specifier}` : null;
  }
  if (builtins.has(packageOf(specifier)) || packages.has(packageOf(specifier))) return null;
  // An absolute path, a URL or an alias such as `hookpost/plugin` reaches into the app.
  return `${file} imports ${specifier}, which is not a dependency in package.json`;
}

const sources = readdirSync(FOLDER, { recursive: true, encoding: "utf8" }).filter((file) =>
  file.endsWith(".ts"),
);

test("src/outbound/ imports nothing of the app", () => {
  // Not vacuous: the folder holds the sending code.
  expect(sources).toEqual(
    expect.arrayContaining(["sender.ts", "signing.ts", "outbound-guard.ts", "receiver-auth.ts"]),
  );
  const escapes = sources.flatMap((file) =>
    specifiersOf(readFileSync(join(FOLDER, file), "utf8")).flatMap(
      (specifier) => leaves(file, specifier) ?? [],
    ),
  );
  expect(escapes).toEqual([]);
});

test("the import scan sees every form of import that could leave the folder", () => {
  const source = [
    'import type { A } from "../webhooks/model.ts";',
    'import {\n  B,\n  type C,\n} from "../db/json-column.ts";',
    'export { D } from "../log.ts";',
    'import "../side-effect.ts";',
    'const e = await import("../lazy.ts");',
    'import { F } from "hookpost/plugin";',
    'import { G } from "./sender.ts";',
    'import { createHash } from "node:crypto";',
    'import { Type } from "@sinclair/typebox";',
  ].join("\n");
  expect(specifiersOf(source).flatMap((specifier) => leaves("x.ts", specifier) ?? [])).toEqual([
    "x.ts imports ../webhooks/model.ts",
    "x.ts imports ../db/json-column.ts",
    "x.ts imports ../log.ts",
    "x.ts imports hookpost/plugin, which is not a dependency in package.json",
    "x.ts imports ../side-effect.ts",
    "x.ts imports ../lazy.ts",
  ]);
});

// The webhook `auth` schema changing without the sender's own declaration following fails
// type-checking here.
const credentialsMatch: Same<ReceiverCredentials, ReceiverAuth> = true;

test("the sender's receiver credentials are the webhook `auth` shape", () => {
  expect(credentialsMatch).toBe(true);
});
