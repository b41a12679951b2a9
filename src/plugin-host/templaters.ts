/**
 * Template engines by name. A webhook's `templateEngine` picks one to render its
 * `customPayload` against the content envelope; `json` is built in, plugins add more.
 */

import type { ContentEnvelope } from "../deliveries/envelope.ts";
import { jsonEngine } from "./json-engine.ts";

/** Renders a template to a JSON value. May throw; the delivery then fails, not the process. */
export interface Templater {
  render(template: unknown, context: ContentEnvelope): unknown;
}

export class RenderError extends Error {
  override name = "RenderError";
}

export class TemplaterRegistry {
  readonly #engines = new Map<string, Templater>([["json", jsonEngine]]);

  has(name: string): boolean {
    return this.#engines.has(name);
  }

  /**
   * The body text for `template` rendered by engine `name`. Throws {@link RenderError} with a
   * message fit for the delivery log when the engine is missing, throws, or returns something
   * that is not JSON.
   */
  renderToJson(name: string, template: unknown, context: ContentEnvelope): string {
    const engine = this.#engines.get(name);
    if (!engine) throw new RenderError(`template engine "${name}" is not available`);
    let value: unknown;
    try {
      value = engine.render(template, context);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RenderError(`template engine "${name}" failed: ${reason}`);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RenderError(
        `template engine "${name}" returned a value that is not JSON: ${reason}`,
      );
    }
    if (text === undefined) {
      throw new RenderError(`template engine "${name}" returned ${typeof value}, not a JSON value`);
    }
    return text;
  }
}
