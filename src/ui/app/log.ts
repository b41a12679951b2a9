/**
 * A webhook's delivery log with the API's filters (state or process status, event type,
 * content type, dates, status codes), newest first, a page at a time. Each row shows event
 * type, content type, content id, state, status code and time; "Attempts" opens a delivery's
 * attempts (request headers as the API masks them, the response), "Retry" sends it again.
 */

import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { Attempt, DeliveryLogEntry } from "../../deliveries/model.ts";
import type { LogFilters } from "./api.ts";
import type { Session } from "./app.ts";
import { EVENT_TYPE_NAMES, eventTypeName, when } from "./format.ts";
import { inputTo, isoOf } from "./inputs.ts";
import { messageOf, Pending, useLoaded } from "./load.ts";

const STATES = ["pending", "processing", "retrying", "success", "failed", "exhausted"];
const STATUSES: [string, string][] = [
  ["-1", "Error"],
  ["0", "Waiting"],
  ["1", "Processing"],
  ["2", "Sent"],
];

/** The filter form's fields: what the user typed, before it becomes a query. */
interface FilterForm {
  state: string;
  status: string;
  eventType: string;
  contentType: string;
  from: string;
  to: string;
  statusCodeFrom: string;
  statusCodeTo: string;
}

const NO_FILTERS: FilterForm = {
  state: "",
  status: "",
  eventType: "",
  contentType: "",
  from: "",
  to: "",
  statusCodeFrom: "",
  statusCodeTo: "",
};

function queryOf(form: FilterForm): LogFilters {
  return { ...form, from: isoOf(form.from), to: isoOf(form.to) };
}

export function DeliveryLog({
  session,
  webhookId,
  round,
  onEnqueued,
}: {
  session: Session;
  webhookId: string;
  /** Changes when deliveries were added elsewhere on the page (a replay). */
  round: number;
  onEnqueued: () => void;
}) {
  const { client } = session;
  const [form, setForm] = useState<FilterForm>(NO_FILTERS);
  const [applied, setApplied] = useState<LogFilters>({});
  // Cursors of the pages before this one, to page back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [loaded, reload] = useLoaded(
    () => client.log(webhookId, { ...applied, cursor }),
    [client, webhookId, applied, cursor, round],
  );
  const field = (name: keyof FilterForm) =>
    inputTo((value) => setForm((current) => ({ ...current, [name]: value })));
  const apply = (event: Event) => {
    event.preventDefault();
    setCursors([]);
    setApplied(queryOf(form));
  };
  const clear = () => {
    setForm(NO_FILTERS);
    setCursors([]);
    setApplied({});
  };
  const options = (choices: [string, string][]) =>
    choices.map(([value, label]) => html`<option value=${value}>${label}</option>`);

  return html`<section class="panel" aria-labelledby="log-title">
    <h2 id="log-title">Delivery log</h2>
    <form class="filters" onSubmit=${apply} aria-label="Filter the delivery log">
      <label>State <select value=${form.state} onChange=${field("state")}>
        <option value="">any</option>${options(STATES.map((state) => [state, state]))}
      </select></label>
      <label>Status <select value=${form.status} onChange=${field("status")}>
        <option value="">any</option>${options(STATUSES)}
      </select></label>
      <label>Event type <select value=${form.eventType} onChange=${field("eventType")}>
        <option value="">any</option>
        ${options([...EVENT_TYPE_NAMES].map(([value, name]) => [String(value), name]))}
      </select></label>
      <label>Content type <input value=${form.contentType} onInput=${field("contentType")} /></label>
      <label>From <input type="datetime-local" value=${form.from} onInput=${field("from")} /></label>
      <label>To <input type="datetime-local" value=${form.to} onInput=${field("to")} /></label>
      <label>Status code from <input type="number" min="100" max="599" inputmode="numeric"
        value=${form.statusCodeFrom} onInput=${field("statusCodeFrom")} /></label>
      <label>Status code to <input type="number" min="100" max="599" inputmode="numeric"
        value=${form.statusCodeTo} onInput=${field("statusCodeTo")} /></label>
      <div class="buttons">
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick=${clear}>Clear filters</button>
        <button type="button" class="secondary" onClick=${reload}>Refresh</button>
      </div>
    </form>
    ${
      loaded.kind !== "ready"
        ? html`<${Pending} loaded=${loaded} what="the delivery log" />`
        : html`<p class="muted" role="status">${loaded.value.total} deliver${loaded.value.total === 1 ? "y" : "ies"}</p>
          <ul class="log">
            ${loaded.value.items.map(
              (delivery) => html`<${LogRow} key=${delivery.id} session=${session}
                delivery=${delivery} onEnqueued=${onEnqueued} />`,
            )}
          </ul>
          <div class="buttons">
            ${
              cursors.length > 0 &&
              html`<button type="button" class="secondary"
                onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>`
            }
            ${
              loaded.value.nextCursor &&
              html`<button type="button" class="secondary"
                onClick=${() => setCursors([...cursors, loaded.value.nextCursor ?? ""])}>Older</button>`
            }
          </div>`
    }
  </section>`;
}

function LogRow({
  session,
  delivery,
  onEnqueued,
}: {
  session: Session;
  delivery: DeliveryLogEntry;
  onEnqueued: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [retried, setRetried] = useState<string | null>(null);
  const retry = async () => {
    try {
      const created = await session.client.retry(delivery.webhookId, delivery.id);
      setRetried(`Sent again as ${created.id}`);
      onEnqueued();
    } catch (error) {
      setRetried(`Retry failed: ${messageOf(error)}`);
    }
  };
  const code = delivery.responseStatusCode;
  return html`<li class=${`delivery state-${delivery.state}`}>
    <div class="delivery-line">
      <span class="badge">${delivery.state}</span>
      <span>${code === null ? "no answer" : `HTTP ${code}`}</span>
      <span>${eventTypeName(delivery.eventType)}</span>
      <span>${delivery.contentType}</span>
      <span class="wrap">${delivery.contentId}</span>
      <time datetime=${delivery.dateInsert}>${when(delivery.dateInsert)}</time>
      <span class="buttons">
        <button type="button" class="secondary" aria-expanded=${open}
          aria-label=${`Attempts of ${delivery.id}`} onClick=${() => setOpen(!open)}>Attempts</button>
        ${
          session.canWrite &&
          html`<button type="button" aria-label=${`Retry ${delivery.id}`} onClick=${retry}>Retry</button>`
        }
      </span>
    </div>
    ${retried && html`<p role="status">${retried}</p>`}
    ${delivery.lastError && html`<p class="muted">Last error: ${delivery.lastError}</p>`}
    ${open && html`<${Attempts} session=${session} delivery=${delivery} />`}
  </li>`;
}

function Attempts({ session, delivery }: { session: Session; delivery: DeliveryLogEntry }) {
  const { client } = session;
  const [loaded] = useLoaded(
    () => client.attempts(delivery.webhookId, delivery.id),
    [client, delivery.id],
  );
  if (loaded.kind !== "ready") return html`<${Pending} loaded=${loaded} what="the attempts" />`;
  if (loaded.value.length === 0) return html`<p class="muted">No attempt yet.</p>`;
  return html`<ol class="attempts">${loaded.value.map((attempt) => html`<${AttemptView} attempt=${attempt} />`)}</ol>`;
}

function AttemptView({ attempt }: { attempt: Attempt }) {
  return html`<li>
    <p>Attempt ${attempt.number} · ${when(attempt.startedAt)} · ${attempt.durationMs} ms ·
      ${attempt.statusCode === null ? `no answer: ${attempt.error ?? ""}` : `HTTP ${attempt.statusCode}`}</p>
    <details>
      <summary>Request headers</summary>
      <pre class="body">${Object.entries(attempt.requestHeaders)
        .map(([name, value]) => `${name}: ${value}`)
        .join("\n")}</pre>
    </details>
    ${
      attempt.responseBody !== null &&
      html`<details open>
      <summary>Response</summary><pre class="body">${attempt.responseBody}</pre>
    </details>`
    }
  </li>`;
}
