/**
 * Checks what a plugin file exports before anything of it is used: `definePlugin` is an
 * identity function, so this is where a misspelt property, a missing `render` or a bad name
 * is caught — at startup, with a message that says what to fix. Pure apart from calling the
 * sources' `contentTypes()`.
 */

import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ContentTypeInput, ContentTypeKeyParams } from "../content-types/model.ts";
import { isMediaTypeEssence } from "../http/media-type.ts";
import type { ContentType, Plugin } from "./api.ts";
import { BUILT_IN_ENGINE } from "./templaters.ts";

/** Plugin, template-engine and source names: safe in a URL path, a log line and a file name. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** The alphabet of workspace names (as `hookpost keys create --workspace`). */
const WORKSPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_RULE = "1–64 characters of a-z 0-9 _ -, starting with a letter or digit";

/** A content type as a source declares it: the registry's key, name and fields rules. */
const DeclaredContentType = T.Object(
  {
    key: ContentTypeKeyParams.properties.key,
    name: ContentTypeInput.properties.name,
    fields: ContentTypeInput.properties.fields,
  },
  { additionalProperties: false },
);

export type PluginCheck = { ok: true; plugin: Plugin } | { ok: false; problems: string[] };

type Shape = Record<string, unknown>;

function isShape(value: unknown): value is Shape {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short, safe rendering of a bad value for a message. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 80));
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : String(value);
}

function checkKnownKeys(value: Shape, allowed: readonly string[], where: string, out: string[]) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      out.push(`${where}${key} is not a known property (expected ${allowed.join(", ")})`);
    }
  }
}

function checkFunction(value: Shape, key: string, where: string, out: string[], required = false) {
  if (value[key] === undefined && !required) return;
  if (typeof value[key] !== "function") {
    out.push(`${where}${key} must be a function, got ${show(value[key])}`);
  }
}

/** Checks a `{ name: item }` map's names; returns its entries that are objects. */
function namedObjects(value: unknown, where: string, out: string[]): [string, Shape][] {
  if (value === undefined) return [];
  if (!isShape(value)) {
    out.push(`${where} must be an object of named entries, got ${show(value)}`);
    return [];
  }
  const entries: [string, Shape][] = [];
  for (const [name, item] of Object.entries(value)) {
    if (!NAME_PATTERN.test(name)) out.push(`${where} name "${name}" must be ${NAME_RULE}`);
    if (isShape(item)) entries.push([name, item]);
    else out.push(`${where}.${name} must be an object, got ${show(item)}`);
  }
  return entries;
}

function checkPoll(poll: unknown, where: string, out: string[]): void {
  if (poll === undefined) return;
  if (!isShape(poll)) {
    out.push(`${where} must be an object { intervalMs, run, workspace? }, got ${show(poll)}`);
    return;
  }
  checkKnownKeys(poll, ["intervalMs", "workspace", "run"], `${where}.`, out);
  const interval = poll.intervalMs;
  if (typeof interval !== "number" || !Number.isSafeInteger(interval) || interval < 1) {
    out.push(`${where}.intervalMs must be a positive whole number of ms, got ${show(interval)}`);
  }
  if (
    poll.workspace !== undefined &&
    (typeof poll.workspace !== "string" || !WORKSPACE_PATTERN.test(poll.workspace))
  ) {
    out.push(
      `${where}.workspace must be 1–64 letters, digits, _ or -, got ${show(poll.workspace)}`,
    );
  }
  checkFunction(poll, "run", `${where}.`, out, true);
}

/** A source's `mediaTypes`: absent, or a non-empty array of bare `type/subtype`s. */
function checkMediaTypes(mediaTypes: unknown, where: string, out: string[]): void {
  if (mediaTypes === undefined) return;
  if (!Array.isArray(mediaTypes) || mediaTypes.length === 0) {
    const got = Array.isArray(mediaTypes) ? "[]" : show(mediaTypes);
    out.push(`${where} must be a non-empty array of media types ("type/subtype"), got ${got}`);
    return;
  }
  mediaTypes.forEach((mediaType: unknown, index) => {
    if (typeof mediaType !== "string" || !isMediaTypeEssence(mediaType)) {
      out.push(
        `${where}[${index}] must be a media type "type/subtype" without parameters, got ${show(mediaType)}`,
      );
    }
  });
}

/**
 * Whether `exported` (a plugin file's default export) is a valid {@link Plugin}; if not, every
 * problem found, each naming the property (`templaters.upper.render must be a function`).
 */
export function checkPlugin(exported: unknown): PluginCheck {
  if (exported === undefined) {
    return { ok: false, problems: ["it has no default export (export default definePlugin({…}))"] };
  }
  if (!isShape(exported)) {
    return {
      ok: false,
      problems: [`the default export must be definePlugin({…}), got ${show(exported)}`],
    };
  }
  const out: string[] = [];
  checkKnownKeys(exported, ["name", "templaters", "sources", "hooks"], "", out);
  if (typeof exported.name !== "string" || !NAME_PATTERN.test(exported.name)) {
    out.push(`name must be ${NAME_RULE}, got ${show(exported.name)}`);
  }
  for (const [name, templater] of namedObjects(exported.templaters, "templaters", out)) {
    if (name === BUILT_IN_ENGINE) {
      out.push(`templaters.${name}: "${BUILT_IN_ENGINE}" is the built-in engine's name`);
    }
    checkKnownKeys(templater, ["render"], `templaters.${name}.`, out);
    checkFunction(templater, "render", `templaters.${name}.`, out, true);
  }
  for (const [name, source] of namedObjects(exported.sources, "sources", out)) {
    const where = `sources.${name}`;
    checkKnownKeys(source, ["contentTypes", "handle", "mediaTypes", "poll"], `${where}.`, out);
    checkFunction(source, "contentTypes", `${where}.`, out);
    checkFunction(source, "handle", `${where}.`, out);
    checkMediaTypes(source.mediaTypes, `${where}.mediaTypes`, out);
    checkPoll(source.poll, `${where}.poll`, out);
    if (source.handle === undefined && source.poll === undefined) {
      out.push(`${where} needs handle(request), poll, or both`);
    }
  }
  if (exported.hooks !== undefined) {
    if (isShape(exported.hooks)) {
      checkKnownKeys(exported.hooks, ["beforeDelivery", "afterDelivery"], "hooks.", out);
      checkFunction(exported.hooks, "beforeDelivery", "hooks.", out);
      checkFunction(exported.hooks, "afterDelivery", "hooks.", out);
    } else {
      out.push(
        `hooks must be an object { beforeDelivery?, afterDelivery? }, got ${show(exported.hooks)}`,
      );
    }
  }
  if (out.length > 0) return { ok: false, problems: out };
  // Every property Plugin declares was checked above, and nothing else is present.
  return { ok: true, plugin: exported as unknown as Plugin };
}

export type ContentTypesCheck =
  | { ok: true; contentTypes: ContentType[] }
  | { ok: false; problems: string[] };

/**
 * What a source's `contentTypes()` declares, checked like `PUT /content-types/{key}` (plus:
 * keys unique within the source). Runs the plugin's code, so it may throw: that is a problem.
 */
export function readContentTypes(
  sourceName: string,
  contentTypes: (() => unknown) | undefined,
): ContentTypesCheck {
  if (!contentTypes) return { ok: true, contentTypes: [] };
  const where = `sources.${sourceName}.contentTypes()`;
  let declared: unknown;
  try {
    declared = contentTypes();
  } catch (error) {
    return {
      ok: false,
      problems: [`${where} threw: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  if (!Array.isArray(declared)) {
    return { ok: false, problems: [`${where} must return an array, got ${show(declared)}`] };
  }
  const problems: string[] = [];
  const keys = new Set<string>();
  declared.forEach((item: unknown, index) => {
    const first = Value.Errors(DeclaredContentType, item).First();
    if (first) {
      const field = first.path.replace(/^\//, "").replaceAll("/", ".") || "(item)";
      problems.push(`${where}[${index}].${field}: ${first.message}`);
      return;
    }
    const { key, fields } = item as ContentType;
    if (keys.has(key)) problems.push(`${where}[${index}]: content type "${key}" is declared twice`);
    keys.add(key);
    const duplicate = fields.find((field, position) => fields.indexOf(field) !== position);
    if (duplicate !== undefined) {
      problems.push(`${where}[${index}].fields: duplicate field key "${duplicate}"`);
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    contentTypes: (declared as ContentType[]).map(({ key, name, fields }) => ({
      key,
      name,
      fields: [...fields],
    })),
  };
}
