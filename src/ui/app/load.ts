/**
 * `useLoaded`: what a view shows while an API call is under way, once it answered, or when it
 * failed — with a `reload` for after an action changed it. An answer that arrives after the
 * view moved on (another webhook, another window) is dropped.
 */

import { html } from "htm/preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export type Loaded<Value> =
  | { kind: "loading" }
  | { kind: "failed"; error: unknown }
  | { kind: "ready"; value: Value };

export function useLoaded<Value>(
  load: () => Promise<Value>,
  inputs: unknown[],
): [Loaded<Value>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<Value>>({ kind: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setLoaded({ kind: "ready", value }),
      (error: unknown) => current && setLoaded({ kind: "failed", error }),
    );
    return () => {
      current = false;
    };
  }, [...inputs, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return [loaded, reload];
}

/** An error in words, the API's own when it sent one. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status})`;
  return error instanceof Error ? error.message : String(error);
}

/** What a view shows instead of its content while loading or after a failure. */
export function Pending({ loaded, what }: { loaded: Loaded<unknown>; what: string }) {
  return loaded.kind === "failed"
    ? html`<p class="error" role="alert">Could not load ${what}: ${messageOf(loaded.error)}</p>`
    : html`<p class="muted" role="status">Loading ${what}…</p>`;
}
