/**
 * The Dockerfile, linted: dockerfilelint (with `.dockerfilelintrc`) plus the rules of SPEC §11
 * and hadolint's most useful ones that dockerfilelint lacks — pinned base tags (DL3006/DL3007),
 * a non-root final USER (DL3002), exec-form ENTRYPOINT/CMD/HEALTHCHECK (DL3025), absolute
 * WORKDIR (DL3000), COPY instead of ADD (DL3020), COPY --from naming a stage (DL3022) — and
 * that every file the build copies exists and is not excluded by `.dockerignore`.
 * `scripts/docker-check.sh` builds and runs the image for real.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run as dockerfilelint } from "dockerfilelint";
import packageJson from "../../package.json" with { type: "json" };
import { REPO_ROOT } from "../../scripts/build.ts";
import { DOCKERFILE, execForm, healthcheckCommand, readDockerfile } from "./dockerfile.ts";

const instructions = readDockerfile(DOCKERFILE);
const stageStarts = instructions.flatMap((item, index) => (item.keyword === "FROM" ? [index] : []));
const finalStage = instructions.slice(stageStarts.at(-1) ?? 0);
const args = (keyword: string, stage = instructions) =>
  stage.filter((item) => item.keyword === keyword).map((item) => item.args);

function ignoredByDockerignore(path: string): boolean {
  const patterns = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const parts = path.split("/");
  const prefixes = parts.map((_, index) => parts.slice(0, index + 1).join("/"));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    const glob = new Bun.Glob(negated ? pattern.slice(1) : pattern);
    if (prefixes.some((prefix) => glob.match(prefix))) ignored = !negated;
  }
  return ignored;
}

describe("the Dockerfile", () => {
  test("passes dockerfilelint", () => {
    const problems = dockerfilelint(REPO_ROOT, readFileSync(DOCKERFILE, "utf8"));
    expect(problems.map((item) => `line ${item.line}: ${item.rule}: ${item.title}`)).toEqual([]);
  });

  test("is multi-stage: builds with Bun, runs on a pinned slim base", () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
    expect(args("FROM")[0]).toMatch(/^\$\{BUN_IMAGE\} AS build$/);
    expect(args("FROM").at(-1)).toMatch(/^\$\{RUNTIME_IMAGE\}$/);
    const defaults = Object.fromEntries(
      args("ARG").map((arg) => {
        const [name = "", value = ""] = arg.split("=");
        return [name, value];
      }),
    );
    expect(defaults.BUN_IMAGE).toMatch(/^oven\/bun:\d+\.\d+\.\d+$/);
    expect(defaults.RUNTIME_IMAGE).toMatch(/^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
    for (const image of Object.values(defaults)) expect(image).not.toMatch(/:latest$/);
    const bunVersion = (defaults.BUN_IMAGE ?? "").split(":")[1];
    expect(packageJson.devDependencies.bun.replace(/^[\^~]/, "")).toBe(bunVersion ?? "");
  });

  test("the final stage holds only the executable, runs it as a non-root user", () => {
    const users = args("USER", finalStage);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(args("RUN", finalStage)).toEqual([]);
    for (const copy of args("COPY", finalStage)) expect(copy).toMatch(/--from=build /);
    expect(args("ENTRYPOINT", finalStage).map(execForm)).toEqual([["/usr/local/bin/hookpost"]]);
    expect(args("CMD", finalStage).map(execForm)).toEqual([["serve"]]);
  });

  test("keeps data in VOLUME /data, plugins in /plugins, listens on 8080, checks /health", () => {
    expect(args("VOLUME", finalStage)).toEqual(["/data"]);
    expect(args("EXPOSE", finalStage)).toEqual(["8080"]);
    const env = args("ENV", finalStage).join(" ");
    expect(env).toContain("HOOKPOST_DB_PATH=/data/hookpost.db");
    expect(env).toContain("HOOKPOST_PLUGINS_DIR=/plugins");
    expect(env).toContain("HOOKPOST_PORT=8080");
    expect(env).toContain("HOOKPOST_HOST=0.0.0.0");
    expect(args("HEALTHCHECK", finalStage)).toHaveLength(1);
    expect(healthcheckCommand(instructions)).toEqual(["/usr/local/bin/hookpost", "healthcheck"]);
  });

  test("uses absolute WORKDIRs, COPY rather than ADD, and COPY --from a named stage", () => {
    for (const workdir of args("WORKDIR")) expect(workdir).toMatch(/^\//);
    expect(args("ADD")).toEqual([]);
    for (const copy of args("COPY")) {
      const from = copy.match(/--from=(\S+)/)?.[1];
      if (from !== undefined) expect(from).toBe("build");
    }
  });

  test("copies only files that exist and that .dockerignore lets into the context", () => {
    const sources = args("COPY")
      .filter((copy) => !copy.includes("--from="))
      .flatMap((copy) => {
        const words = copy.split(/\s+/).filter((word) => !word.startsWith("--"));
        return words.slice(0, -1);
      });
    expect(sources).toContain("src");
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(ignoredByDockerignore(source), source).toBe(false);
    }
    for (const excluded of ["node_modules", "dist", "data/hookpost.db", ".git", "test"]) {
      expect(ignoredByDockerignore(excluded), excluded).toBe(true);
    }
  });
});
