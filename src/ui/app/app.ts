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

/** Checks `key` with `GET /me`; `onRefused` is told of a 401 once signed in, not before. */
async function signIn(key: string, onRefused: () => void): Promise<Session> {
  let signedIn = false;
  const client = new ApiClient(key, () => signedIn && onRefused());
  const identity = await client.me();
  signedIn = true;
  return { client, identity, canWrite: identity.access === "write" };
}

function SignIn({
  onSignedIn,
  onRefused,
  notice,
}: {
  onSignedIn: (session: Session) => void;
  onRefused: () => void;
  notice: string | null;
}) {
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const session = await signIn(key.trim(), onRefused);
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
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const signOut = (why: string | null) => {
    storeKey(null);
    setSession(null);
    setNotice(why);
  };
  const refused = () =>
    signOut("The server no longer accepts this API key (revoked?). Sign in with another.");
  useEffect(() => {
    const key = storedKey();
    if (key === null) return;
    signIn(key, refused)
      .then(setSession, () => storeKey(null))
      .finally(() => setResuming(false));
  }, []);
  if (resuming) return html`<p class="muted" role="status">Signing in…</p>`;
  if (!session) {
    return html`<${SignIn} onSignedIn=${setSession} onRefused=${refused} notice=${notice}
      key=${notice ?? ""} />`;
  }
  return html`<header class="top">
      <a class="brand" href="#/">Hookpost</a>
      <span class="who">${session.identity.workspace} · ${session.identity.access} key</span>
      <button type="button" class="secondary" onClick=${() => {
        signOut(null);
        location.hash = "";
      }}>Sign out</button>
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
