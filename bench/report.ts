/**
 * The run's figures: each one beside its same-run baseline and the BullMQ peer's figure,
 * their ratios and the targets,
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
  /** The same figure of the BullMQ + Redis peer in the same run (null: not measured). */
  peer?: number | null;
  /** What the figure must reach relative to the peer's. */
  peerTarget?: Extract<Target, { kind: "atLeast" | "atMost" }>;
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
  peer: number | null;
  /** value / peer. */
  peerRatio: number | null;
  peerTarget: Extract<Target, { kind: "atLeast" | "atMost" }> | null;
  /** Every target that could be judged was met; null when none could be. */
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

/** value / other, to three decimals; null when either is missing or the other is 0. */
function ratioOf(value: number | null, other: number | null): number | null {
  return value !== null && other !== null && other > 0
    ? Math.round((value / other) * 1000) / 1000
    : null;
}

const round3 = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);

export class Report {
  readonly figures: Figure[] = [];
  readonly raw: Record<string, unknown> = {};
  readonly errors: Array<{ section: string; error: string }> = [];
  private readonly startedAt = new Date();
  /** 1, 5 and 15 minute load averages when the run began: other work on the machine. */
  private readonly loadAtStart = loadavg();

  constructor(private readonly options: BenchOptions) {}

  /** Things the run could not do (a missing redis-server), printed under the table. */
  readonly notes: string[] = [];

  add(input: FigureInput): void {
    const baseline = input.baseline ?? null;
    const ratio = ratioOf(input.value, baseline);
    const target = input.target ?? null;
    const peer = input.peer ?? null;
    const peerRatio = ratioOf(input.value, peer);
    const peerTarget = input.peerTarget ?? null;
    const verdicts = [
      judge(input.value, ratio, target),
      judge(input.value, peerRatio, peerTarget),
    ].filter((verdict) => verdict !== null);
    this.figures.push({
      section: input.section,
      name: input.name,
      unit: input.unit,
      value: round3(input.value),
      baseline: round3(baseline),
      baselineName: input.baselineName ?? "",
      target,
      peer: round3(peer),
      peerRatio,
      peerTarget,
      detail: input.detail ?? "",
      ratio,
      pass: verdicts.length === 0 ? null : verdicts.every(Boolean),
    });
  }

  /** The table, as printed. */
  table(): string {
    const header = [
      "figure",
      "value",
      "baseline",
      "ratio",
      "peer (BullMQ)",
      "target",
      "result",
      "detail",
    ];
    const rows = this.figures.map((f) => [
      `${f.section}: ${f.name}`,
      `${formatNumber(f.value, f.unit)} ${f.unit}`,
      f.baseline === null
        ? "—"
        : `${formatNumber(f.baseline, f.unit)} ${f.unit}${f.baselineName ? ` (${f.baselineName})` : ""}`,
      f.ratio === null ? "—" : `${f.ratio.toFixed(2)}×`,
      f.peer === null
        ? "—"
        : `${formatNumber(f.peer, f.unit)} ${f.unit}${f.peerRatio === null ? "" : ` (${f.peerRatio.toFixed(2)}×)`}`,
      [targetText(f.target, f.unit), f.peerTarget ? `${targetText(f.peerTarget, f.unit)} peer` : ""]
        .filter((text) => text !== "")
        .join(", ") || "—",
      f.pass === null ? (f.target || f.peerTarget ? "n/a" : "") : f.pass ? "PASS" : "FAIL",
      f.detail,
    ]);
    const last = header.length - 1;
    const widths = header.map((title, column) =>
      Math.max(
        title.length,
        ...rows.map((row) => (column === last ? 0 : (row[column] ?? "").length)),
      ),
    );
    const line = (cells: string[]) =>
      cells
        .map((cell, column) => (column === last ? cell : cell.padEnd(widths[column] ?? 0)))
        .join("  ")
        .trimEnd();
    const rule = widths.map((width, column) => "-".repeat(column === last ? 6 : width)).join("  ");
    const passed = this.figures.filter((f) => f.pass === true).length;
    const judged = this.figures.filter((f) => f.pass !== null).length;
    const summary = `${passed} of ${judged} targets met; ${this.errors.length} section error(s)`;
    const lines = [line(header), rule, ...rows.map(line), "", summary, ...this.notes];
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
      notes: this.notes,
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
