/**
 * The run's figures: each one beside its same-run baseline, their ratio and the target,
 * printed as one table and written as JSON (`<outDir>/<timestamp>.json` and `latest.json`)
 * with the machine's facts and every raw measurement.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchOptions } from "./options.ts";

/**
 * `atLeast`/`atMost`: the ratio to the baseline must be ≥ / ≤ the value.
 * `below`: the figure itself must be under the value (in its unit).
 */
export type Target =
  | { kind: "atLeast"; ratio: number }
  | { kind: "atMost"; ratio: number }
  | { kind: "below"; value: number };

export interface FigureInput {
  section: string;
  name: string;
  unit: string;
  value: number | null;
  baseline?: number | null;
  baselineName?: string;
  target?: Target;
  detail?: string;
}

export interface Figure {
  section: string;
  name: string;
  unit: string;
  value: number | null;
  baseline: number | null;
  baselineName: string;
  /** value / baseline. */
  ratio: number | null;
  target: Target | null;
  /** Null when there is no target or the figure could not be measured. */
  pass: boolean | null;
  detail: string;
}

export function targetText(target: Target | null, unit: string): string {
  if (!target) return "";
  switch (target.kind) {
    case "atLeast":
      return `≥ ${target.ratio}×`;
    case "atMost":
      return `≤ ${target.ratio}×`;
    case "below":
      return `< ${target.value} ${unit}`;
  }
}

function judge(value: number | null, ratio: number | null, target: Target | null): boolean | null {
  if (!target || value === null) return null;
  switch (target.kind) {
    case "atLeast":
      return ratio === null ? null : ratio >= target.ratio;
    case "atMost":
      return ratio === null ? null : ratio <= target.ratio;
    case "below":
      return value < target.value;
  }
}

export function formatNumber(value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return "—";
  if (unit.endsWith("/s")) return Math.round(value).toLocaleString("en-US");
  if (unit === "ms") return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === "MB") return value.toFixed(1);
  if (unit === "s") return value.toFixed(2);
  return String(value);
}

export class Report {
  readonly figures: Figure[] = [];
  readonly raw: Record<string, unknown> = {};
  readonly errors: Array<{ section: string; error: string }> = [];
  private readonly startedAt = new Date();
  /** 1, 5 and 15 minute load averages when the run began: other work on the machine. */
  private readonly loadAtStart = loadavg();

  constructor(private readonly options: BenchOptions) {}

  add(input: FigureInput): void {
    const baseline = input.baseline ?? null;
    const ratio =
      input.value !== null && baseline !== null && baseline > 0
        ? Math.round((input.value / baseline) * 1000) / 1000
        : null;
    const target = input.target ?? null;
    this.figures.push({
      section: input.section,
      name: input.name,
      unit: input.unit,
      value: input.value === null ? null : Math.round(input.value * 1000) / 1000,
      baseline: baseline === null ? null : Math.round(baseline * 1000) / 1000,
      baselineName: input.baselineName ?? "",
      target,
      detail: input.detail ?? "",
      ratio,
      pass: judge(input.value, ratio, target),
    });
  }

  /** The table, as printed. */
  table(): string {
    const header = ["figure", "value", "baseline", "ratio", "target", "result", "detail"];
    const rows = this.figures.map((f) => [
      `${f.section}: ${f.name}`,
      `${formatNumber(f.value, f.unit)} ${f.unit}`,
      f.baseline === null
        ? "—"
        : `${formatNumber(f.baseline, f.unit)} ${f.unit}${f.baselineName ? ` (${f.baselineName})` : ""}`,
      f.ratio === null ? "—" : `${f.ratio.toFixed(2)}×`,
      targetText(f.target, f.unit) || "—",
      f.pass === null ? (f.target ? "n/a" : "") : f.pass ? "PASS" : "FAIL",
      f.detail,
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (column === 6 ? 0 : (row[column] ?? "").length))),
    );
    const line = (cells: string[]) =>
      cells
        .map((cell, column) => (column === 6 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join("  ")
        .trimEnd();
    const rule = widths.map((width, column) => "-".repeat(column === 6 ? 6 : width)).join("  ");
    const passed = this.figures.filter((f) => f.pass === true).length;
    const judged = this.figures.filter((f) => f.pass !== null).length;
    const summary = `${passed} of ${judged} targets met; ${this.errors.length} section error(s)`;
    const lines = [line(header), rule, ...rows.map(line), "", summary];
    const busy = this.busyWarning();
    if (busy) lines.push(busy);
    return lines.join("\n");
  }

  /** A warning when the machine was busy with other work before or after the run. */
  private busyWarning(): string | null {
    const [before = 0] = this.loadAtStart;
    const [after = 0] = loadavg();
    const limit = cpus().length / 2;
    if (before <= limit) return null;
    return (
      `warning: the load average was ${before.toFixed(2)} when the run began (${after.toFixed(2)} ` +
      `at the end) on ${cpus().length} CPUs: other work shared the machine, figures are noisy`
    );
  }

  /** Writes `<timestamp>.json` and `latest.json`; returns the first path. */
  write(): string {
    const finishedAt = new Date();
    const cpuList = cpus();
    const document = {
      schema: "hookpost-bench/1",
      mode: this.options.mode,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: Math.round((finishedAt.getTime() - this.startedAt.getTime()) / 1000),
      machine: {
        cpus: cpuList.length,
        cpuModel: cpuList[0]?.model ?? "unknown",
        memoryMb: Math.round(totalmem() / 1048576),
        platform: process.platform,
        arch: process.arch,
        kernel: release(),
        bunVersion: Bun.version,
        bunRevision: Bun.revision,
        loadAverage: { start: this.loadAtStart, end: loadavg() },
      },
      settings: { ...this.options, sections: [...this.options.sections] },
      figures: this.figures,
      errors: this.errors,
      raw: this.raw,
    };
    mkdirSync(this.options.outDir, { recursive: true });
    const stamp = this.startedAt
      .toISOString()
      .replaceAll(":", "-")
      .replace(/\.\d+Z$/, "Z");
    const path = join(this.options.outDir, `${stamp}-${this.options.mode}.json`);
    const text = `${JSON.stringify(document, null, 2)}\n`;
    writeFileSync(path, text);
    writeFileSync(join(this.options.outDir, "latest.json"), text);
    return path;
  }
}
