/**
 * One webhook: its settings at a glance, its actions (Send test, Enable/Disable, Rotate secret,
 * Replay a window, Edit), its charts and its delivery log. A read key sees the same page
 * without any button that changes something.
 */

import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { PingResult, Webhook } from "../../webhooks/model.ts";
import type { Session } from "./app.ts";
import { eventTypeName, HealthBadge, when } from "./format.ts";
import { inputTo, localInput } from "./inputs.ts";
import { messageOf, Pending, useLoaded } from "./load.ts";
import { DeliveryLog } from "./log.ts";
import { StatsPanel } from "./stats.ts";

/** The result of the last action, shown in a live region. */
type Outcome = { ok: boolean; text: string } | null;

export function WebhookPage({ session, id }: { session: Session; id: string }) {
  const { client } = session;
  const [loaded, reload] = useLoaded(() => client.webhook(id), [client, id]);
  // The log is reloaded after a retry or a replay adds deliveries to it.
  const [logRound, setLogRound] = useState(0);
  if (loaded.kind !== "ready") return html`<${Pending} loaded=${loaded} what="the webhook" />`;
  const webhook = loaded.value;
  return html`<p><a href="#/">← All webhooks</a></p>
    <div class="page-head">
      <h1>${webhook.name}</h1>
      <${HealthBadge} health=${webhook.healthStatus} />
    </div>
    <${Summary} webhook=${webhook} />
    ${
      session.canWrite &&
      html`<${Actions} session=${session} webhook=${webhook} onChanged=${reload}
        onEnqueued=${() => setLogRound((round) => round + 1)} />`
    }
    <${StatsPanel} client=${client} webhookId=${webhook.id} />
    <${DeliveryLog} session=${session} webhookId=${webhook.id} round=${logRound}
      onEnqueued=${() => setLogRound((round) => round + 1)} />`;
}

function Summary({ webhook }: { webhook: Webhook }) {
  const [secretShown, setSecretShown] = useState(false);
  const types = Object.entries(webhook.eventTypes)
    .map(([contentType, events]) => `${contentType}: ${events.map(eventTypeName).join(", ")}`)
    .join("; ");
  return html`<dl class="summary">
    <dt>Endpoint</dt><dd class="wrap">${webhook.endpoint}</dd>
    <dt>Enabled</dt><dd>${webhook.enabled ? "yes" : "no"}</dd>
    <dt>Failures in a row</dt>
    <dd>${webhook.failCount}${webhook.failingSince && ` (failing since ${when(webhook.failingSince)})`}</dd>
    <dt>Last delivered</dt><dd>${when(webhook.lastDeliveredAt)}</dd>
    <dt>Event types</dt><dd>${types || "none"}</dd>
    <dt>Delivery</dt>
    <dd>${deliveryControls(webhook)}</dd>
    ${webhook.description && html`<dt>Description</dt><dd>${webhook.description}</dd>`}
    ${
      webhook.previousSecretExpiresAt &&
      html`<dt>Previous secret signs until</dt><dd>${when(webhook.previousSecretExpiresAt)}</dd>`
    }
    <dt>Signing secret</dt>
    <dd>
      <code class="wrap">${secretShown ? webhook.secret : "••••••••"}</code>
      <button type="button" class="link" aria-pressed=${secretShown}
        onClick=${() => setSecretShown(!secretShown)}>${secretShown ? "Hide secret" : "Show secret"}</button>
    </dd>
  </dl>`;
}

function Actions({
  session,
  webhook,
  onChanged,
  onEnqueued,
}: {
  session: Session;
  webhook: Webhook;
  onChanged: () => void;
  onEnqueued: () => void;
}) {
  const { client } = session;
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [test, setTest] = useState<PingResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [rotating, setRotating] = useState(false);
  const [grace, setGrace] = useState("");
  // The replay window starts an hour ago unless changed.
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 3_600_000)));
  const [until, setUntil] = useState("");

  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ ok: true, text: await work() });
    } catch (error) {
      setOutcome({ ok: false, text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  const sendTest = () =>
    act(async () => {
      setTest(null);
      const result = await client.sendTest(webhook.id);
      setTest(result);
      return `Test sent: ${result.statusCode === 0 ? "no answer" : `HTTP ${result.statusCode}`} in ${result.durationMs} ms`;
    });
  const toggle = () =>
    act(async () => {
      await client.setEnabled(webhook.id, !webhook.enabled);
      onChanged();
      return webhook.enabled ? "Webhook disabled" : "Webhook enabled";
    });
  const rotate = (event: Event) => {
    event.preventDefault();
    return act(async () => {
      const rotated = await client.rotateSecret(
        webhook.id,
        grace.trim() === "" ? {} : { graceSeconds: Number(grace) },
      );
      setRotating(false);
      onChanged();
      const until = rotated.previousSecretExpiresAt;
      return (
        `Secret rotated. New secret (copy it now, it signs every delivery): ${rotated.secret}` +
        (until ? `. The previous one also signs until ${when(until)}.` : "")
      );
    });
  };
  const replay = (event: Event) => {
    event.preventDefault();
    return act(async () => {
      const window = {
        since: new Date(since).toISOString(),
        ...(until ? { until: new Date(until).toISOString() } : {}),
      };
      const result = await client.replay(webhook.id, window);
      onEnqueued();
      return `Replay: ${result.replayed} event${result.replayed === 1 ? "" : "s"} sent again`;
    });
  };

  return html`<section class="panel" aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    <div class="buttons">
      <button type="button" onClick=${sendTest} disabled=${busy}>Send test</button>
      <button type="button" onClick=${toggle} disabled=${busy}>
        ${webhook.enabled ? "Disable" : "Enable"}
      </button>
      <button type="button" onClick=${() => setRotating(!rotating)} disabled=${busy}
        aria-expanded=${rotating}>Rotate secret</button>
      <a class="button secondary" href=${`#/webhooks/${encodeURIComponent(webhook.id)}/edit`}>Edit</a>
    </div>
    ${
      rotating &&
      html`<form class="inline" onSubmit=${rotate}>
        <p>A new secret is made. Without a grace period the old one stops working at once.</p>
        <label>Grace period: the old secret still signs for (seconds, up to 604800)
          <input type="number" min="0" max="604800" value=${grace} onInput=${inputTo(setGrace)} /></label>
        <button type="submit" disabled=${busy}>Confirm rotation</button>
        <button type="button" class="secondary" onClick=${() => setRotating(false)}>Cancel</button>
      </form>`
    }
    <form class="inline" onSubmit=${replay}>
      <label>Replay since <input type="datetime-local" required value=${since}
        onInput=${inputTo(setSince)} /></label>
      <label>until (empty: now) <input type="datetime-local" value=${until}
        onInput=${inputTo(setUntil)} /></label>
      <button type="submit" disabled=${busy}>Replay</button>
    </form>
    <div role="status" aria-live="polite">
      ${outcome && html`<p class=${outcome.ok ? "ok" : "error"}>${outcome.text}</p>`}
    </div>
    ${
      test &&
      html`<div class="test-result" aria-label="Test result">
        <p>Status code <strong>${test.statusCode}</strong> · ${test.durationMs} ms ·
          ${test.isSuccessStatusCode ? "success" : "failure"}</p>
        <pre class="body">${test.message}</pre>
      </div>`
    }
  </section>`;
}

/** The delivery controls (issue 16) in words. */
function deliveryControls(webhook: Webhook): string {
  return [
    webhook.ordered ? "ordered, one at a time" : "unordered",
    webhook.rateLimitPerSecond === null
      ? "no rate limit"
      : `at most ${webhook.rateLimitPerSecond} per second`,
    webhook.retrySchedule === null
      ? `${webhook.retryPolicy} retries`
      : `retries after ${webhook.retrySchedule.join(", ")} s`,
  ].join(" · ");
}
