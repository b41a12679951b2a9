/**
 * Content-source adapters at work (SPEC §5, §8): `POST /sources/{name}` hands the request to
 * the adapter's `handle`, and a poller's run returns events; either way the events are checked
 * against the schema of `POST /events` and ingested by the same function, one transaction per
 * event, with the same matching and the same idempotency on `id`.
 */

import { Value } from "@sinclair/typebox/value";
import { type FieldProblem, Invalid, NotFound } from "../errors.ts";
import { IncomingEvent, type IngestResult } from "../events/model.ts";
import { type IngestContext, ingestEvent } from "../events/service.ts";
import { bodyTooLarge, MAX_BODY_BYTES } from "../http/body-limit.ts";
import { BodyReader, hasContent } from "../http/capped-body.ts";
import { JSON_MEDIA_TYPE, parseMediaType, unsupportedMediaType } from "../http/media-type.ts";
import { jsonTextHoldsNul } from "../http/nul-character.ts";
import type { Logger } from "../log.ts";
import { pluginLogger } from "./plugin-logger.ts";
import type { PluginRegistry } from "./registry.ts";

/** The `source` an event from a plugin is stored with. */
export function eventSourceOf(sourceName: string): string {
  return `source:${sourceName}`;
}

/** Every problem of what an adapter returned, as fields (`events.0.eventType`). */
function eventProblems(events: unknown): FieldProblem[] {
  if (!Array.isArray(events)) {
    return [{ field: "events", message: "must be an array of events (return [] to ignore)" }];
  }
  const problems = new Map<string, string>();
  events.forEach((event, index) => {
    for (const error of Value.Errors(IncomingEvent, event)) {
      const field = `events.${index}${error.path.replaceAll("/", ".")}`;
      // The first problem of a field says it best ("Expected required property", not the
      // "Expected string" that follows for the same missing field).
      if (!problems.has(field)) problems.set(field, error.message);
    }
    // As the front door refuses it in a request (see nul-character.ts).
    if (jsonTextHoldsNul(JSON.stringify(event) ?? "")) {
      problems.set(`events.${index}`, "must not contain the NUL character (U+0000) in any string");
    }
  });
  return [...problems].map(([field, message]) => ({ field, message }));
}

/**
 * Checks every event of `events` first, then ingests them in order into `workspace`.
 *
 * @throws Invalid naming the source, the event and the field, before anything is ingested
 */
export async function ingestSourceEvents(
  context: IngestContext,
  workspace: string,
  sourceName: string,
  events: unknown,
): Promise<IngestResult[]> {
  const problems = eventProblems(events);
  const first = problems[0];
  if (first) {
    throw new Invalid(
      `source "${sourceName}" returned an invalid event: ${first.field}: ${first.message}`,
      { source: sourceName, fields: problems },
    );
  }
  const results: IngestResult[] = [];
  for (const event of events as IncomingEvent[]) {
    const outcome = await ingestEvent(context, workspace, event, eventSourceOf(sourceName));
    results.push(outcome.result);
  }
  return results;
}

/** What the `handle` of a source that declares no `mediaTypes` reads. */
const DEFAULT_SOURCE_MEDIA_TYPES: readonly string[] = [JSON_MEDIA_TYPE];

/**
 * Refuses a body of a media type the adapter does not declare (compared by essence, whatever
 * its parameters) before a byte of it is read; it is then read to its end and dropped (see
 * `capped-body.ts`). An empty body passes, whatever its Content-Type, as at the front door.
 *
 * @throws UnsupportedMediaType (415) naming the types the adapter reads
 */
async function checkMediaType(
  request: Request,
  body: BodyReader,
  declared: readonly string[],
): Promise<void> {
  const contentType = request.headers.get("content-type");
  const essence = parseMediaType(contentType)?.essence;
  const accepted = declared.map((mediaType) => mediaType.toLowerCase());
  if (essence !== undefined && accepted.includes(essence)) return;
  if (!(await hasContent(request, body))) return;
  await body.discardRest();
  throw unsupportedMediaType(contentType, accepted);
}

/** The body, read to the end but never past {@link MAX_BODY_BYTES}. */
async function readBody(body: BodyReader): Promise<Uint8Array> {
  const bytes = await body.readCapped(MAX_BODY_BYTES);
  if (bytes === null) {
    await body.discardRest();
    throw bodyTooLarge();
  }
  return bytes;
}

/** The request as the adapter sees it: the same, minus Hookpost's own API key. */
function forAdapter(request: Request, body: Uint8Array): Request {
  const headers = new Headers(request.headers);
  headers.delete("x-api-key");
  return new Request(request.url, { method: request.method, headers, body });
}

export interface SourceRequest {
  name: string;
  workspace: string;
  request: Request;
}

/**
 * `POST /sources/{name}`: the adapter turns the request into events, which are ingested.
 *
 * @throws NotFound for an unknown source or one that only polls; Invalid (400) when the
 * adapter throws or returns invalid events; UnsupportedMediaType for a body of a media type the
 * adapter does not declare; PayloadTooLarge past the body limit
 */
export async function receiveFromSource(
  plugins: PluginRegistry,
  context: IngestContext,
  log: Logger,
  { name, workspace, request }: SourceRequest,
): Promise<IngestResult[]> {
  const source = plugins.source(name);
  if (!source) throw new NotFound(`source ${name} not found`, { source: name });
  const { adapter } = source;
  if (!adapter.handle) {
    throw new NotFound(`source ${name} does not accept requests: it only polls`, { source: name });
  }
  const reader = new BodyReader(request);
  await checkMediaType(request, reader, adapter.mediaTypes ?? DEFAULT_SOURCE_MEDIA_TYPES);
  const body = await readBody(reader);
  let events: unknown;
  try {
    events = await adapter.handle(forAdapter(request, body), {
      workspace,
      log: pluginLogger(log, source.plugin),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Invalid(`source "${name}" rejected the request: ${reason}`, { source: name });
  }
  return ingestSourceEvents(context, workspace, name, events);
}
