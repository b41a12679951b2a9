/**
 * How the dashboard says things: event types by name, health with a colour and a word, times
 * in the browser's locale, an endpoint by its host.
 */

import { html } from "htm/preact";
import { EventType } from "../../plugin-host/api.ts";
import type { Webhook } from "../../webhooks/model.ts";

/** Event type names by number (0 → "Published"), from the plugin API's one table. */
export const EVENT_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(EventType).map(([name, value]) => [value, name]),
);

export function eventTypeName(value: number): string {
  return EVENT_TYPE_NAMES.get(value) ?? String(value);
}

/** The endpoint's host, or the text itself when it is not a URL. */
export function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

export function when(iso: string | null): string {
  return iso === null ? "never" : new Date(iso).toLocaleString();
}

/** A webhook's health as text with its colour (the word is always there, not only the hue). */
export function HealthBadge({ health }: { health: Webhook["healthStatus"] }) {
  return html`<span class=${`badge health-${health}`}>${health}</span>`;
}

/** Failing webhooks first, then the rest in the API's order. */
export function failingFirst(webhooks: Webhook[]): Webhook[] {
  const failing = webhooks.filter((webhook) => webhook.healthStatus === "failing");
  return [...failing, ...webhooks.filter((webhook) => webhook.healthStatus !== "failing")];
}
