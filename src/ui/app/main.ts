/**
 * The dashboard's entry point: renders {@link App} into the page served at `/ui`.
 */

import { html, render } from "htm/preact";
import { App } from "./app.ts";

const root = document.getElementById("app");
if (root) {
  root.replaceChildren();
  render(html`<${App} />`, root);
}
