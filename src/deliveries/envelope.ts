/**
 * The content envelope (SPEC §6.1): the default delivery body, and the context custom-payload
 * templates are rendered against. Plugins see the same type as `TemplateContext` (the plugin
 * API is its one definition).
 */

import type { TemplateContext } from "../plugin-host/api.ts";

export type ContentEnvelope = TemplateContext;
