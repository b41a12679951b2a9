/**
 * Create or edit a webhook, with every field of `PUT /webhooks`. The plain fields are a table
 * ({@link FIELDS}: name, label, how the input's text becomes the API's value), so a field the
 * API gains is one entry; event types, headers, receiver authentication and the custom payload
 * have editors of their own. Credentials come back from the API masked ("********") and are
 * sent back masked, which keeps the stored values.
 */

import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { ReceiverAuth, Webhook } from "../../webhooks/model.ts";
import type { ApiClient } from "./api.ts";
import type { Session } from "./app.ts";
import { EVENT_TYPE_NAMES } from "./format.ts";
import { inputTo } from "./inputs.ts";
import { messageOf, Pending, useLoaded } from "./load.ts";

/** What an input holds: text, or a checkbox's state. */
type InputValue = string | boolean;

/** Leave the field out of the request (the server keeps, or defaults, its value). */
const OMIT = Symbol("omit");

/** How one kind of field is shown in an input and read back for the API. */
interface Codec {
  show(value: unknown): InputValue;
  read(input: InputValue): unknown;
}

const text = (input: InputValue) => String(input).trim();

const CODECS = {
  text: { show: (value) => (value == null ? "" : String(value)), read: (i) => text(i) || OMIT },
  nullableText: {
    show: (value) => (value == null ? "" : String(value)),
    read: (i) => text(i) || null,
  },
  checkbox: { show: (value) => value === true, read: (i) => i === true },
  integer: {
    show: (value) => (value == null ? "" : String(value)),
    read: (i) => (text(i) === "" ? OMIT : Number(text(i))),
  },
  nullableInteger: {
    show: (value) => (value == null ? "" : String(value)),
    read: (i) => (text(i) === "" ? null : Number(text(i))),
  },
  words: {
    show: (value) => (Array.isArray(value) ? value.join(", ") : ""),
    read: (i) => words(i),
  },
  nullableSeconds: {
    show: (value) => (Array.isArray(value) ? value.join(", ") : ""),
    read: (i) => (text(i) === "" ? null : words(i).map(Number)),
  },
} satisfies Record<string, Codec>;

function words(input: InputValue): string[] {
  return text(input)
    .split(",")
    .map((word) => word.trim())
    .filter((word) => word !== "");
}

interface Field {
  name: string;
  label: string;
  codec: keyof typeof CODECS;
  type?: "url" | "number" | "password" | "email";
  choices?: string[];
  required?: boolean;
}

const FIELDS: Field[] = [
  { name: "name", label: "Name (empty: the endpoint's host)", codec: "text" },
  { name: "endpoint", label: "Endpoint URL", codec: "text", type: "url", required: true },
  { name: "description", label: "Description", codec: "nullableText" },
  { name: "enabled", label: "Enabled", codec: "checkbox" },
  {
    name: "errorEmailTo",
    label: "Failure mail to (comma-separated addresses)",
    codec: "nullableText",
  },
  {
    name: "timeoutSeconds",
    label: "Timeout per attempt (seconds, 1–60)",
    codec: "integer",
    type: "number",
  },
  {
    name: "maxAttempts",
    label: "Attempts per delivery (empty: the server's default)",
    codec: "nullableInteger",
    type: "number",
  },
  { name: "retryPolicy", label: "Retries", codec: "text", choices: ["automatic", "manual"] },
  { name: "slot", label: "Events of", codec: "text", choices: ["published", "preview"] },
  { name: "languages", label: "Languages (comma-separated; empty: all)", codec: "words" },
  {
    name: "secret",
    label: "New signing secret (empty: keep it, or generate one)",
    codec: "text",
    type: "password",
  },
  // The delivery controls (issue 16).
  { name: "ordered", label: "Ordered: one delivery at a time, in order", codec: "checkbox" },
  {
    name: "rateLimitPerSecond",
    label: "Rate limit (requests per second; empty: none)",
    codec: "nullableInteger",
    type: "number",
  },
  {
    name: "retrySchedule",
    label: "Retry schedule (seconds between attempts, comma-separated; empty: default)",
    codec: "nullableSeconds",
  },
];

/** A new webhook's starting values. */
const NEW_WEBHOOK: Partial<Webhook> = {
  enabled: true,
  timeoutSeconds: 15,
  retryPolicy: "automatic",
  slot: "published",
  ordered: false,
  rateLimitPerSecond: null,
  retrySchedule: null,
  eventTypes: { "*": [0] },
  headers: [],
  auth: { type: "none" },
  useCustomPayload: false,
  customPayload: null,
  templateEngine: "json",
};

export function WebhookForm({ session, id }: { session: Session; id: string | null }) {
  const { client } = session;
  const [loaded] = useLoaded(
    () => (id === null ? Promise.resolve(null) : client.webhook(id)),
    [client, id],
  );
  if (!session.canWrite) return html`<p class="error">A read key cannot change webhooks.</p>`;
  if (loaded.kind !== "ready") return html`<${Pending} loaded=${loaded} what="the webhook" />`;
  return html`<${Editor} session=${session} webhook=${loaded.value} />`;
}

interface EventTypeRow {
  contentType: string;
  types: number[];
}

function Editor({ session, webhook }: { session: Session; webhook: Webhook | null }) {
  const start: Record<string, unknown> = webhook ?? NEW_WEBHOOK;
  const [values, setValues] = useState<Record<string, InputValue>>(() =>
    Object.fromEntries(
      FIELDS.map((field) => [
        field.name,
        field.name === "secret" ? "" : CODECS[field.codec].show(start[field.name]),
      ]),
    ),
  );
  const [eventTypes, setEventTypes] = useState<EventTypeRow[]>(() =>
    Object.entries(webhook?.eventTypes ?? NEW_WEBHOOK.eventTypes ?? {}).map(([key, types]) => ({
      contentType: key,
      types: [...types],
    })),
  );
  const [headers, setHeaders] = useState(() => webhook?.headers ?? []);
  const [auth, setAuth] = useState<ReceiverAuth>(() => webhook?.auth ?? { type: "none" });
  const [useCustom, setUseCustom] = useState(webhook?.useCustomPayload ?? false);
  const [engine, setEngine] = useState(webhook?.templateEngine ?? "json");
  const [template, setTemplate] = useState(() =>
    webhook?.customPayload == null ? "" : JSON.stringify(webhook.customPayload, null, 2),
  );
  const [problem, setProblem] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const body: Record<string, unknown> = webhook ? { id: webhook.id } : {};
    for (const field of FIELDS) {
      const value = CODECS[field.codec].read(values[field.name] ?? "");
      if (value !== OMIT) body[field.name] = value;
    }
    body.eventTypes = Object.fromEntries(
      eventTypes
        .filter((row) => row.contentType.trim() !== "")
        .map((row) => [row.contentType.trim(), row.types]),
    );
    body.headers = headers.filter((header) => header.key.trim() !== "");
    body.auth = auth;
    body.useCustomPayload = useCustom;
    body.templateEngine = engine.trim() || "json";
    if (template.trim() !== "") {
      try {
        body.customPayload = JSON.parse(template);
      } catch (error) {
        setProblem(`customPayload: not valid JSON (${messageOf(error)})`);
        return;
      }
    } else body.customPayload = null;
    setSaving(true);
    try {
      const saved = await session.client.saveWebhook(body);
      location.hash = `#/webhooks/${encodeURIComponent(saved.id)}`;
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setSaving(false);
    }
  };

  const set = (name: string) => (value: InputValue) =>
    setValues((current) => ({ ...current, [name]: value }));

  return html`<p><a href=${webhook ? `#/webhooks/${encodeURIComponent(webhook.id)}` : "#/"}>← Back</a></p>
    <h1>${webhook ? `Edit ${webhook.name}` : "New webhook"}</h1>
    <form class="editor" onSubmit=${submit}>
      <fieldset><legend>Settings</legend>
        ${FIELDS.map((field) => html`<${FieldInput} field=${field} value=${values[field.name]} onValue=${set(field.name)} />`)}
      </fieldset>
      <${EventTypesEditor} rows=${eventTypes} onRows=${setEventTypes} />
      <${HeadersEditor} headers=${headers} onHeaders=${setHeaders} />
      <${AuthEditor} auth=${auth} onAuth=${setAuth} />
      <fieldset><legend>Custom payload</legend>
        <label class="check"><input type="checkbox" checked=${useCustom}
          onChange=${(event: Event) => event.currentTarget instanceof HTMLInputElement && setUseCustom(event.currentTarget.checked)} />
          Send a custom payload instead of the default envelope</label>
        <label>Template engine <input value=${engine} onInput=${inputTo(setEngine)} /></label>
        <label>Template (JSON; ${"{{fields.title}}"} takes a value from the event)
          <textarea rows="6" spellcheck=${false} value=${template} onInput=${inputTo(setTemplate)}></textarea></label>
        <${PayloadPreview} client=${session.client} template=${template} engine=${engine}
          contentType=${eventTypes.find((row) => row.contentType.trim() && row.contentType !== "*")?.contentType.trim()} />
      </fieldset>
      ${problem && html`<p class="error" role="alert">Not saved: ${problem}</p>`}
      <div class="buttons"><button type="submit" disabled=${saving}>${webhook ? "Save" : "Create webhook"}</button></div>
    </form>`;
}

/** How long typing must pause before the preview is asked for again. */
const PREVIEW_DELAY_MS = 300;

/**
 * The body the template would send for a sample event of the webhook's first content type,
 * rendered by the server (`POST /webhooks/preview-payload`) as the text changes.
 */
function PayloadPreview({
  client,
  template,
  engine,
  contentType,
}: {
  client: ApiClient;
  template: string;
  engine: string;
  contentType: string | undefined;
}) {
  const [shown, setShown] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (template.trim() === "") {
      setShown(null);
      return;
    }
    let current = true;
    const timer = setTimeout(async () => {
      let next: { ok: boolean; text: string };
      try {
        const preview = await client.previewPayload({
          customPayload: JSON.parse(template),
          templateEngine: engine.trim() || undefined,
          contentType,
        });
        next = { ok: true, text: JSON.stringify(JSON.parse(preview.body), null, 2) };
      } catch (error) {
        next = { ok: false, text: messageOf(error) };
      }
      if (current) setShown(next);
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, template, engine, contentType]);
  if (!shown) return null;
  return html`<div class="preview" aria-label="Payload preview" aria-live="polite">
    <p>Preview for a sample ${contentType ?? ""} event (fields shown as ${"<field>"}):</p>
    ${shown.ok ? html`<pre class="body">${shown.text}</pre>` : html`<p class="error">${shown.text}</p>`}
  </div>`;
}

function FieldInput({
  field,
  value,
  onValue,
}: {
  field: Field;
  value: InputValue | undefined;
  onValue: (value: InputValue) => void;
}) {
  const id = `field-${field.name}`;
  if (field.codec === "checkbox") {
    return html`<label class="check" for=${id}><input id=${id} type="checkbox" checked=${value === true}
      onChange=${(event: Event) => event.currentTarget instanceof HTMLInputElement && onValue(event.currentTarget.checked)} />
      ${field.label}</label>`;
  }
  const shown = typeof value === "string" ? value : "";
  if (field.choices) {
    return html`<label for=${id}>${field.label}
      <select id=${id} value=${shown} onChange=${inputTo(onValue)}>
        ${field.choices.map((choice) => html`<option value=${choice}>${choice}</option>`)}
      </select></label>`;
  }
  return html`<label for=${id}>${field.label}
    <input id=${id} type=${field.type ?? "text"} required=${field.required === true} value=${shown}
      autocomplete="off" onInput=${inputTo(onValue)} /></label>`;
}

function EventTypesEditor({
  rows,
  onRows,
}: {
  rows: EventTypeRow[];
  onRows: (rows: EventTypeRow[]) => void;
}) {
  const change = (index: number, next: EventTypeRow) =>
    onRows(rows.map((row, at) => (at === index ? next : row)));
  return html`<fieldset><legend>Event types</legend>
    <p class="muted">Per content type (its key, or * for every one), the events that fire the webhook.</p>
    ${rows.map(
      (row, index) => html`<div class="row">
        <label>Content type ${index + 1}
          <input value=${row.contentType} onInput=${inputTo((contentType) => change(index, { ...row, contentType }))} /></label>
        <span class="checks">
          ${[...EVENT_TYPE_NAMES].map(
            ([value, name]) => html`<label class="check"><input type="checkbox"
              checked=${row.types.includes(value)}
              onChange=${() =>
                change(index, {
                  ...row,
                  types: row.types.includes(value)
                    ? row.types.filter((type) => type !== value)
                    : [...row.types, value].sort(),
                })} />${name}</label>`,
          )}
        </span>
        <button type="button" class="secondary" aria-label=${`Remove content type ${index + 1}`}
          onClick=${() => onRows(rows.filter((_, at) => at !== index))}>Remove</button>
      </div>`,
    )}
    <button type="button" class="secondary" onClick=${() => onRows([...rows, { contentType: "", types: [0] }])}>
      Add content type</button>
  </fieldset>`;
}

function HeadersEditor({
  headers,
  onHeaders,
}: {
  headers: Webhook["headers"];
  onHeaders: (headers: Webhook["headers"]) => void;
}) {
  const change = (index: number, key: "key" | "value", value: string) =>
    onHeaders(headers.map((header, at) => (at === index ? { ...header, [key]: value } : header)));
  return html`<fieldset><legend>Custom headers</legend>
    ${headers.map(
      (header, index) => html`<div class="row">
        <label>Header ${index + 1} name <input value=${header.key}
          onInput=${inputTo((value) => change(index, "key", value))} /></label>
        <label>Header ${index + 1} value <input value=${header.value}
          onInput=${inputTo((value) => change(index, "value", value))} /></label>
        <button type="button" class="secondary" aria-label=${`Remove header ${index + 1}`}
          onClick=${() => onHeaders(headers.filter((_, at) => at !== index))}>Remove</button>
      </div>`,
    )}
    ${
      headers.length < 10 &&
      html`<button type="button" class="secondary"
      onClick=${() => onHeaders([...headers, { key: "", value: "" }])}>Add header</button>`
    }
  </fieldset>`;
}

/** Each authentication type's fields, and which of them are credentials (masked by the API). */
const AUTH_FIELDS: Record<ReceiverAuth["type"], { name: string; label: string; secret?: true }[]> =
  {
    none: [],
    basic: [
      { name: "username", label: "Username" },
      { name: "password", label: "Password", secret: true },
    ],
    bearer: [{ name: "token", label: "Token", secret: true }],
    oauth2: [
      { name: "tokenUrl", label: "Token URL" },
      { name: "clientId", label: "Client id" },
      { name: "clientSecret", label: "Client secret", secret: true },
      { name: "scope", label: "Scope (optional)" },
    ],
  };

function isAuthType(value: string): value is ReceiverAuth["type"] {
  return Object.hasOwn(AUTH_FIELDS, value);
}

function AuthEditor({
  auth,
  onAuth,
}: {
  auth: ReceiverAuth;
  onAuth: (auth: ReceiverAuth) => void;
}) {
  const current: Record<string, unknown> = auth;
  return html`<fieldset><legend>Receiver authentication</legend>
    <label>Authentication type
      <select value=${auth.type} onChange=${inputTo((type) => {
        // A new type needs its own credentials: the old ones do not carry over.
        if (isAuthType(type)) onAuth({ type } as ReceiverAuth);
      })}>
        <option value="none">none</option><option value="basic">basic</option>
        <option value="bearer">bearer</option><option value="oauth2">OAuth 2.0 client credentials</option>
      </select></label>
    ${AUTH_FIELDS[auth.type].map(
      (field) => html`<label>${field.label}
        <input type=${field.secret ? "password" : "text"} autocomplete="off"
          value=${typeof current[field.name] === "string" ? current[field.name] : ""}
          onInput=${inputTo((value) => {
            const next: Record<string, unknown> = { ...current, [field.name]: value };
            if (value === "" && field.name === "scope") delete next.scope;
            onAuth(next as ReceiverAuth);
          })} /></label>`,
    )}
    ${auth.type !== "none" && html`<p class="muted">Credentials show as ******** : leave them so to keep the stored ones.</p>`}
  </fieldset>`;
}
