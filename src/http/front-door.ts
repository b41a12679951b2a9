/**
 * The front door: what every request goes through before routing, so that nothing a client
 * sends is parsed before it has been looked at. Bodies are JSON only (`application/json` or a
 * `+json` type), read once with a cap (a chunked body hits the same 1 MiB limit as a declared
 * one, and reading stops there), checked for nesting on their text, and handed on as text; any
 * other media type with a body is a 415 before a byte of it is parsed — the framework would
 * otherwise parse form fields as JSON, unchecked. The routes that take a form upload get the
 * uploaded file handed on as their JSON body. A query naming a parameter twice is refused
 * (which value counts would otherwise depend on the parser).
 */

import {
  type DomainError,
  type FieldProblem,
  UnsupportedMediaType,
  ValidationFailed,
} from "../errors.ts";
import { bodyTooLarge, MAX_BODY_BYTES } from "./body-limit.ts";
import { BodyReader, hasContent } from "./capped-body.ts";
import { errorEnvelope } from "./envelope.ts";
import { type FormUpload, formUploadFor, uploadedText } from "./form-upload.ts";
import { MAX_JSON_DEPTH, textNestingExceeds } from "./json-depth.ts";
import {
  declaresOtherCharsetThanUtf8,
  FORM_MEDIA_TYPE,
  isJsonMediaType,
  JSON_MEDIA_TYPE,
  parseMediaType,
  unsupportedMediaType,
} from "./media-type.ts";
import { jsonTextHoldsNul, nulFieldOf, urlHoldsNul } from "./nul-character.ts";
import { requestIdOf } from "./request-id.ts";

/** What the HTTP server calls for each request. */
export type Handler = (request: Request) => Promise<Response>;

/** What the front door needs to know of the routes behind it. */
export interface FrontDoorRoutes {
  /**
   * Path prefixes whose requests reach their route as sent, whatever their media type: source
   * plugins read the CMS's body themselves, within the same limit, and the route refuses (415,
   * as here) a media type its plugin does not declare.
   */
  rawBodyPaths: readonly string[];
  /** Routes that also take their JSON body as a file of a `multipart/form-data` form. */
  formUploads: readonly FormUpload[];
}

interface Refusal {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

const tooLarge: Refusal = refusalOf(bodyTooLarge());

const unreadable: Refusal = {
  status: 400,
  code: "invalid_body",
  message: "the request body could not be read",
  details: {},
};

/**
 * The refusal as the error envelope. `connectionClean`: the body was read to its end, so the
 * connection can carry the next request; otherwise it is closed.
 */
function refuse(request: Request, refusal: Refusal, connectionClean = true): Response {
  const requestId = requestIdOf(request);
  const headers: Record<string, string> = { "x-request-id": requestId };
  if (!connectionClean) headers.connection = "close";
  return Response.json(errorEnvelope(refusal.code, refusal.message, refusal.details, requestId), {
    status: refusal.status,
    headers,
  });
}

/** A 400 naming fields, in the shape of a failed validation (`on`: body or query). */
function invalidInput(on: "body" | "query", fields: FieldProblem[]): Refusal {
  return refusalOf(ValidationFailed.of(on, fields));
}

/** A domain error the front door answers itself (the router never sees the request). */
function refusalOf(error: DomainError): Refusal {
  return { status: error.status, code: error.code, message: error.message, details: error.details };
}

function notUtf8(contentType: string | null): Refusal {
  return refusalOf(
    new UnsupportedMediaType(`JSON is read as UTF-8: Content-Type ${contentType} is not accepted`, {
      contentType,
      accepted: [`${JSON_MEDIA_TYPE}; charset=utf-8`],
    }),
  );
}

function repeatedParameters(query: URLSearchParams): FieldProblem[] {
  const counts = new Map<string, number>();
  for (const name of query.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts]
    .filter(([, count]) => count > 1)
    .map(([name, count]) => ({ field: name, message: `given ${count} times: give it once` }));
}

function contentLengthTooLarge(request: Request): boolean {
  const declared = request.headers.get("content-length");
  return declared !== null && Number(declared) > MAX_BODY_BYTES;
}

/** The request without its (empty) body, so that nothing tries to parse it. */
function withoutBody(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.delete("content-type");
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  return new Request(request.url, { method: request.method, headers });
}

/** The request with `text` as its body, declared plain JSON whatever form it arrived in. */
function withJsonBody(request: Request, text: string): Request {
  const headers = new Headers(request.headers);
  headers.set("content-type", JSON_MEDIA_TYPE);
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  return new Request(request.url, { method: request.method, headers, body: text });
}

/** Too deep to hand to a parser (`where`: `(body)` or the form field it came in). */
/** Why a JSON text is refused before it is parsed: too deep, or holding a NUL; or null. */
function textRefusal(text: string, where: string): Refusal | null {
  if (textNestingExceeds(text)) {
    return invalidInput("body", [
      { field: where, message: `nests deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  }
  if (jsonTextHoldsNul(text)) {
    return invalidInput("body", [{ field: nulFieldOf(text, where), message: NUL_MESSAGE }]);
  }
  return null;
}

const NUL = "the NUL character (U+0000)";
const NUL_MESSAGE = `must not contain ${NUL}`;

/** The body as JSON text to hand on (null: there is none), or why the request is refused. */
type Screened = { text: string | null } | { refusal: Refusal };

/** The form's file as JSON text, or why the form is refused. */
async function screenedUpload(
  bytes: Uint8Array,
  contentType: string,
  upload: FormUpload,
): Promise<Screened> {
  const uploaded = await uploadedText(bytes, contentType, upload);
  if ("problems" in uploaded) return { refusal: invalidInput("body", uploaded.problems) };
  const refusal = textRefusal(uploaded.text, upload.field);
  if (refusal) return { refusal };
  try {
    // Bounded in size and depth by now, so parsing it is cheap; the route parses it again.
    JSON.parse(uploaded.text);
  } catch {
    return {
      refusal: {
        status: 400,
        code: "invalid_json",
        message: `the file "${upload.field}" is not valid JSON`,
        details: { field: upload.field },
      },
    };
  }
  return { text: uploaded.text };
}

/**
 * Reads and checks the body of a request that has (or claims) one: a JSON body, or the form
 * of a route in `upload`; anything else with content is a 415, unread.
 */
async function screenedBody(
  request: Request,
  body: BodyReader,
  upload: FormUpload | undefined,
): Promise<Screened> {
  const contentType = request.headers.get("content-type");
  const mediaType = parseMediaType(contentType);
  const isForm = upload !== undefined && mediaType?.essence === FORM_MEDIA_TYPE;
  if (!mediaType || !(isJsonMediaType(mediaType) || isForm)) {
    if (!(await hasContent(request, body))) return { text: null };
    const accepted = upload ? [JSON_MEDIA_TYPE, FORM_MEDIA_TYPE] : [JSON_MEDIA_TYPE];
    return { refusal: refusalOf(unsupportedMediaType(contentType, accepted)) };
  }
  if (!isForm && declaresOtherCharsetThanUtf8(mediaType)) {
    if (!(await hasContent(request, body))) return { text: null };
    return { refusal: notUtf8(contentType) };
  }
  if (contentLengthTooLarge(request)) return { refusal: tooLarge };
  const bytes = await body.readCapped(MAX_BODY_BYTES);
  if (bytes === null) return { refusal: tooLarge };
  if (bytes.byteLength === 0) return { text: null };
  if (isForm && contentType) return screenedUpload(bytes, contentType, upload);
  const text = new TextDecoder().decode(bytes);
  const refusal = textRefusal(text, "(body)");
  return refusal ? { refusal } : { text };
}

/**
 * Wraps `handle` (the router) with the front door's checks; see the module comment. A request
 * with an empty body passes whatever its Content-Type says, without the body. A refused body
 * is read to its end and dropped before the answer (see `capped-body.ts` for why).
 */
export function screenBodies(handle: Handler, routes: FrontDoorRoutes): Handler {
  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (routes.rawBodyPaths.some((prefix) => path.startsWith(prefix))) {
      if (!contentLengthTooLarge(request)) return handle(request);
      return refuse(request, tooLarge, await new BodyReader(request).discardRest());
    }
    const body = new BodyReader(request);
    const repeated = repeatedParameters(url.searchParams);
    if (repeated.length > 0) {
      return refuse(request, invalidInput("query", repeated), await body.discardRest());
    }
    if (urlHoldsNul(url)) {
      const problem = { field: "(url)", message: `must not contain ${NUL}` };
      return refuse(request, invalidInput("query", [problem]), await body.discardRest());
    }
    // The common case, a GET: no body and nothing claiming one.
    if (request.body === null && !request.headers.has("content-type")) return handle(request);
    let screened: Screened;
    try {
      const upload = formUploadFor(routes.formUploads, { method: request.method, path });
      screened = await screenedBody(request, body, upload);
    } catch {
      // The stream failed (the client went away, or sent a malformed chunk).
      return refuse(request, unreadable, false);
    }
    if ("refusal" in screened) {
      return refuse(request, screened.refusal, await body.discardRest());
    }
    return handle(
      screened.text === null ? withoutBody(request) : withJsonBody(request, screened.text),
    );
  };
}
