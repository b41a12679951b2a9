/**
 * The webhooks at a glance: failing ones first, each with its name, endpoint host, enabled
 * state, health (colour and word), failure streak, last delivery and a chart of its last 24
 * hours by outcome. A table on a wide screen; on a phone each row becomes a card (styles.css).
 */

import { html } from "htm/preact";
import type { Session } from "./app.ts";
import { failingFirst, HealthBadge, hostOf, when } from "./format.ts";
import { Pending, useLoaded } from "./load.ts";
import { MiniChart } from "./stats.ts";

export function WebhookList({ session }: { session: Session }) {
  const { client } = session;
  const [loaded] = useLoaded(() => client.webhooks(), [client]);
  return html`<div class="page-head">
      <h1>Webhooks</h1>
      ${session.canWrite && html`<a class="button" href="#/new">New webhook</a>`}
    </div>
    ${
      loaded.kind !== "ready"
        ? html`<${Pending} loaded=${loaded} what="the webhooks" />`
        : loaded.value.length === 0
          ? html`<p>No webhooks yet.</p>`
          : html`<table class="webhooks">
              <caption class="visually-hidden">Webhooks, failing ones first</caption>
              <thead><tr>
                <th scope="col">Name</th><th scope="col">Endpoint</th><th scope="col">Enabled</th>
                <th scope="col">Health</th><th scope="col">Failures</th>
                <th scope="col">Last delivered</th><th scope="col">Last 24 h</th>
              </tr></thead>
              <tbody>
                ${failingFirst(loaded.value).map(
                  (webhook) => html`<tr key=${webhook.id}>
                    <th scope="row" data-label="Name">
                      <a href=${`#/webhooks/${encodeURIComponent(webhook.id)}`}>${webhook.name}</a>
                    </th>
                    <td data-label="Endpoint">${hostOf(webhook.endpoint)}</td>
                    <td data-label="Enabled">${webhook.enabled ? "yes" : "no"}</td>
                    <td data-label="Health"><${HealthBadge} health=${webhook.healthStatus} /></td>
                    <td data-label="Failures">${webhook.failCount}</td>
                    <td data-label="Last delivered">${when(webhook.lastDeliveredAt)}</td>
                    <td data-label="Last 24 h" class="mini">
                      <${MiniChart} client=${client} webhookId=${webhook.id} />
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}
