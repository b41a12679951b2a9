/**
 * The dashboard's shell: signing in with an API key (checked with `GET /me`, which also says
 * whether the key may change anything), the header, and the views by the URL's hash —
 * `#/` the webhooks, `#/new` a new one, `#/webhooks/{id}` one webhook, `…/edit` its settings.
 * The hash holds no secret: the key never leaves sessionStorage but for `X-Api-Key`.
 */

import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { KeyIdentity } from "../../api-keys/model.ts";
import { ApiClient, ApiError, storedKey, storeKey } from "./api.ts";
import { WebhookForm } from "./form.ts";
import { WebhookList } from "./list.ts";
import { WebhookPage } from "./webhook.ts";

/** Who is signed in: the client holding the key, and what the key may do. */
export interface Session {
  client: ApiClient;
  identity: KeyIdentity;
  /** Whether the key may change anything (a `write` key). */
  canWrite: boolean;
}

type Route =
  | { view: "list" }
  | { view: "new" }
  | { view: "webhook"; id: string }
  | { view: "edit"; id: string };

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "new") return { view: "new" };
  if (parts[0] === "webhooks" && parts[1]) {
    return parts[2] === "edit" ? { view: "edit", id: parts[1] } : { view: "webhook", id: parts[1] };
  }
  return { view: "list" };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const follow = () => {
      setRoute(routeOf(location.hash));
      // A new view: start at its top, and let a screen reader start there too.
      document.getElementById("main")?.focus();
    };
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  return route;
}

async function signIn(key: string): Promise<Session> {
  const client = new ApiClient(key);
  const identity = await client.me();
  return { client, identity, canWrite: identity.access === "write" };
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const session = await signIn(key.trim());
      storeKey(session.client.key);
      onSignedIn(session);
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.status === 401
          ? "This API key was not accepted. Check that it is complete and has not been revoked."
          : `Could not sign in: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="sign-in" tabindex="-1">
    <h1>Hookpost</h1>
    <p>Sign in with an API key of your workspace. A read key can look; a write key can also change things.</p>
    <form onSubmit=${submit}>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" spellcheck=${false} required
        value=${key} onInput=${(event: Event) =>
          event.currentTarget instanceof HTMLInputElement && setKey(event.currentTarget.value)} />
      <button type="submit" disabled=${busy}>Sign in</button>
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
    </form>
    <p class="muted">The key is kept in this tab only (sessionStorage) and sent to this server alone.</p>
  </main>`;
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [resuming, setResuming] = useState(() => storedKey() !== null);
  const route = useRoute();
  useEffect(() => {
    const key = storedKey();
    if (key === null) return;
    signIn(key)
      .then(setSession, () => storeKey(null))
      .finally(() => setResuming(false));
  }, []);
  if (resuming) return html`<p class="muted" role="status">Signing in…</p>`;
  if (!session) return html`<${SignIn} onSignedIn=${setSession} />`;
  const signOut = () => {
    storeKey(null);
    setSession(null);
    location.hash = "";
  };
  return html`<header class="top">
      <a class="brand" href="#/">Hookpost</a>
      <span class="who">${session.identity.workspace} · ${session.identity.access} key</span>
      <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
    </header>
    ${
      !session.canWrite &&
      html`<p class="notice" role="note">Read-only key: you can look at everything but change nothing.</p>`
    }
    <main id="main" tabindex="-1">${view(route, session)}</main>`;
}

function view(route: Route, session: Session) {
  switch (route.view) {
    case "list":
      return html`<${WebhookList} session=${session} />`;
    case "new":
      return html`<${WebhookForm} session=${session} id=${null} />`;
    case "edit":
      return html`<${WebhookForm} session=${session} id=${route.id} key=${route.id} />`;
    case "webhook":
      return html`<${WebhookPage} session=${session} id=${route.id} key=${route.id} />`;
  }
}
