/**
 * A small reader of the repository's Dockerfile: instructions with their line numbers
 * (continuation lines joined, comments dropped), and the exec-form arrays of HEALTHCHECK,
 * ENTRYPOINT and CMD.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  keyword: string;
  args: string;
  line: number;
}

export function readDockerfile(path: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  let startLine = 0;
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((raw, index) => {
      const text = raw.trim();
      if (pending === "" && (text === "" || text.startsWith("#"))) return;
      if (pending === "") startLine = index + 1;
      if (text.startsWith("#")) return;
      if (text.endsWith("\\")) {
        pending += `${text.slice(0, -1).trim()} `;
        return;
      }
      const whole = `${pending}${text}`.trim();
      pending = "";
      const match = whole.match(/^(\S+)\s*(.*)$/s);
      if (match) {
        instructions.push({
          keyword: (match[1] ?? "").toUpperCase(),
          args: match[2] ?? "",
          line: startLine,
        });
      }
    });
  return instructions;
}

/** The exec-form (JSON array) arguments of an instruction, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.trim().startsWith("[")) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) return null;
  return parsed;
}

/** The command of `HEALTHCHECK [options] CMD [...]`, as an argument array. */
export function healthcheckCommand(instructions: readonly Instruction[]): string[] {
  const healthcheck = instructions.findLast((item) => item.keyword === "HEALTHCHECK");
  if (!healthcheck) throw new Error("the Dockerfile has no HEALTHCHECK");
  const command = healthcheck.args.match(/\bCMD\s+(.*)$/s)?.[1] ?? "";
  const args = execForm(command);
  if (!args) throw new Error(`HEALTHCHECK is not in exec form: ${healthcheck.args}`);
  return args;
}

export const DOCKERFILE = join(import.meta.dir, "..", "..", "Dockerfile");
