/**
 * A webhook's statistics (`GET /webhooks/{id}/stats?window=…`) drawn as plain SVG: deliveries
 * per interval stacked by outcome, and latency percentiles per interval. No chart library: a
 * few rectangles and a polyline are all they need. A server without the stats route (it
 * answers 404) shows "No statistics" instead of a chart.
 */

import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { type ApiClient, ApiError } from "./api.ts";
import { messageOf, useLoaded } from "./load.ts";

/** The windows the stats route accepts. */
export const STATS_WINDOWS = ["1h", "24h", "7d", "30d"] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

export interface StatsInterval {
  from: string;
  sent: number;
  error: number;
  waiting: number;
  attempts: number;
  failedAttempts: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

type Counts = Pick<StatsInterval, "sent" | "error" | "waiting" | "attempts" | "failedAttempts">;

/** The answer of the stats route. */
export interface WebhookStats {
  webhookId: string;
  window: StatsWindow;
  from: string;
  to: string;
  intervalSeconds: number;
  intervals: StatsInterval[];
  totals: Counts;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

/** Outcomes in stacking order, bottom up, with the class that colours them. */
const OUTCOMES = [
  { key: "sent", label: "sent", className: "bar-sent" },
  { key: "error", label: "error", className: "bar-error" },
  { key: "waiting", label: "waiting", className: "bar-waiting" },
] as const;

const WIDTH = 300;

function describeTotals(totals: Counts): string {
  return OUTCOMES.map(({ key, label }) => `${totals[key]} ${label}`).join(", ");
}

/** Deliveries per interval, stacked by outcome. */
export function OutcomeBars({ stats, height = 80 }: { stats: WebhookStats; height?: number }) {
  const { intervals } = stats;
  const highest = Math.max(1, ...intervals.map((i) => i.sent + i.error + i.waiting));
  const step = WIDTH / Math.max(1, intervals.length);
  const label = `Deliveries over the last ${stats.window}: ${describeTotals(stats.totals)}`;
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" preserveAspectRatio="none"
      role="img" aria-label=${label}>
    <title>${label}</title>
    ${intervals.map((interval, index) => {
      let base = height;
      return OUTCOMES.map(({ key, className }) => {
        const size = (interval[key] / highest) * height;
        base -= size;
        return size > 0
          ? html`<rect class=${className} x=${index * step} y=${base}
              width=${Math.max(step - 1, 0.5)} height=${size} />`
          : null;
      });
    })}
  </svg>`;
}

/** p50 and p95 latency per interval as two lines (intervals without attempts are skipped). */
export function LatencyLines({ stats }: { stats: WebhookStats }) {
  const height = 80;
  const { intervals } = stats;
  const highest = Math.max(1, ...intervals.map((i) => i.p95Ms ?? i.p50Ms ?? 0));
  const step = WIDTH / Math.max(1, intervals.length);
  const points = (pick: (interval: StatsInterval) => number | null) =>
    intervals
      .flatMap((interval, index) => {
        const value = pick(interval);
        return value === null
          ? []
          : [`${index * step + step / 2},${height - (value / highest) * (height - 4)}`];
      })
      .join(" ");
  const label = `${latencyText(stats)} over the last ${stats.window}`;
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" preserveAspectRatio="none"
      role="img" aria-label=${label}>
    <title>${label}</title>
    <polyline class="line-p95" points=${points((i) => i.p95Ms)} />
    <polyline class="line-p50" points=${points((i) => i.p50Ms)} />
  </svg>`;
}

function ms(value: number | null): string {
  return value === null ? "–" : `${Math.round(value)} ms`;
}

function latencyText(stats: WebhookStats): string {
  const { p50, p95, p99, max } = stats.latencyMs;
  return `Latency: p50 ${ms(p50)}, p95 ${ms(p95)}, p99 ${ms(p99)}, max ${ms(max)}`;
}

/** The stats of a webhook for a window; `null` when this server has no stats route (404). */
function useStats(client: ApiClient, webhookId: string, window: StatsWindow) {
  const [loaded] = useLoaded(
    () =>
      client.stats(webhookId, window).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
    [client, webhookId, window],
  );
  return loaded;
}

/** The small chart of a list row: the last 24 hours by outcome. */
export function MiniChart({ client, webhookId }: { client: ApiClient; webhookId: string }) {
  const loaded = useStats(client, webhookId, "24h");
  if (loaded.kind === "loading") return html`<span class="muted">…</span>`;
  if (loaded.kind === "ready" && loaded.value) {
    return html`<${OutcomeBars} stats=${loaded.value} height=${32} />`;
  }
  return html`<span class="muted">No statistics</span>`;
}

/** The charts of one webhook's page, with a choice of window. */
export function StatsPanel({ client, webhookId }: { client: ApiClient; webhookId: string }) {
  const [span, setSpan] = useState<StatsWindow>("24h");
  const loaded = useStats(client, webhookId, span);
  return html`<section class="panel" aria-labelledby="stats-title">
    <div class="panel-head">
      <h2 id="stats-title">Statistics</h2>
      <label>Window
        <select value=${span} onChange=${(event: Event) => {
          const chosen = STATS_WINDOWS.find(
            (option) =>
              event.currentTarget instanceof HTMLSelectElement &&
              option === event.currentTarget.value,
          );
          if (chosen) setSpan(chosen);
        }}>
          ${STATS_WINDOWS.map((option) => html`<option value=${option}>${option}</option>`)}
        </select>
      </label>
    </div>
    ${
      loaded.kind === "ready" && loaded.value
        ? chartsOf(loaded.value)
        : html`<p class="muted">${
            loaded.kind === "loading"
              ? "Loading statistics…"
              : loaded.kind === "failed"
                ? `Statistics could not be loaded: ${messageOf(loaded.error)}`
                : "No statistics"
          }</p>`
    }
  </section>`;
}

function chartsOf(stats: WebhookStats) {
  return html`<div class="charts">
            <figure>
              <figcaption>Deliveries by outcome: ${describeTotals(stats.totals)}
                <span class="legend"><span class="key bar-sent"></span>sent
                <span class="key bar-error"></span>error
                <span class="key bar-waiting"></span>waiting</span></figcaption>
              <${OutcomeBars} stats=${stats} />
            </figure>
            <figure>
              <figcaption>${latencyText(stats)}
                <span class="legend"><span class="key line-p50"></span>p50
                <span class="key line-p95"></span>p95</span></figcaption>
              <${LatencyLines} stats=${stats} />
            </figure>
          </div>`;
}
