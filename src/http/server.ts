/**
 * The root HTTP application: request ids, the body-size limit, the OpenAPI document with an
 * offline Swagger UI (`openapi.ts`), and the single place where every error becomes the
 * envelope of SPEC §3.
 * Feature modules are composed in by the caller (`src/app.ts`).
 */

import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Elysia, ValidationError } from "elysia";
import { DomainError, type FieldProblem } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ErrorEnvelope, errorEnvelope } from "./envelope.ts";
import { MAX_JSON_DEPTH, textNestingExceeds } from "./json-depth.ts";
import { apiDocumentation } from "./openapi.ts";
import { requestIdOf } from "./request-id.ts";
import { swaggerAssets } from "./swagger-assets.ts";

/** Largest request body accepted; webhook configurations and CMS events fit easily. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * What the socket layer accepts before the app sees the body: room above MAX_BODY_BYTES, so a
 * body a little too large still gets the app's 413 envelope rather than the server's bare one.
 */
export const SOCKET_BODY_LIMIT_BYTES = 4 * MAX_BODY_BYTES;

/**
 * The errors of a union's best-fitting branch instead of "Expected union value": the branch
 * whose literals (a discriminator such as `type`) match, then the one with the fewest errors —
 * so `{"type": "basic"}` without a password reports `auth.password`.
 */
function expandUnions(issues: Iterable<ValueError>): ValueError[] {
  const out: ValueError[] = [];
  for (const issue of issues) {
    if (issue.type !== ValueErrorType.Union || issue.errors.length === 0) {
      out.push(issue);
      continue;
    }
    const branches = issue.errors.map((branch) => [...branch]);
    const score = (errors: ValueError[]) => [
      errors.filter((error) => error.type === ValueErrorType.Literal).length,
      errors.length,
    ];
    branches.sort((a, b) => {
      const [literalsA = 0, countA = 0] = score(a);
      const [literalsB = 0, countB = 0] = score(b);
      return literalsA - literalsB || countA - countB;
    });
    const best = branches[0];
    if (best && best.length > 0) out.push(...expandUnions(best));
    else out.push(issue);
  }
  return out;
}

/** Elysia's validation error as a list of `{field, message}`, e.g. `eventTypes.article.0`. */
export function describeValidationError(error: ValidationError): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const issue of expandUnions(error.all.filter(isValueError))) {
    const field = issue.path.replace(/^\//, "").replaceAll("/", ".") || "(root)";
    // The first problem of a field says it best ("Expected required property" rather than
    // the "Expected string" that follows it for the same missing field).
    if (seen.has(field)) continue;
    seen.add(field);
    problems.push({ field, message: issue.message });
  }
  return problems;
}

function isValueError(issue: unknown): issue is ValueError {
  return (
    typeof issue === "object" &&
    issue !== null &&
    "path" in issue &&
    typeof issue.path === "string" &&
    "message" in issue &&
    typeof issue.message === "string" &&
    "type" in issue
  );
}

function contentLengthTooLarge(request: Request): boolean {
  const declared = request.headers.get("content-length");
  return declared !== null && Number(declared) > MAX_BODY_BYTES;
}

interface Refusal {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

const tooLarge: Refusal = {
  status: 413,
  code: "payload_too_large",
  message: `request body exceeds ${MAX_BODY_BYTES} bytes`,
  details: { limitBytes: MAX_BODY_BYTES },
};

/** What the HTTP server calls for each request. */
export type Handler = (request: Request) => Promise<Response>;

function refuse(request: Request, refusal: Refusal): Response {
  const requestId = requestIdOf(request);
  return Response.json(
    errorEnvelope(refusal.code, refusal.message, refusal.details, requestId),
    // The body may not have been read: close the connection rather than leave it half-read.
    { status: refusal.status, headers: { "x-request-id": requestId, connection: "close" } },
  );
}

function refusalOfJsonText(text: string): Refusal | null {
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) return tooLarge;
  if (!textNestingExceeds(text)) return null;
  return {
    status: 400,
    code: "validation_failed",
    message: `invalid request body: nests deeper than ${MAX_JSON_DEPTH} levels`,
    details: {
      on: "body",
      fields: [{ field: "(body)", message: `nests deeper than ${MAX_JSON_DEPTH} levels` }],
    },
  };
}

const unreadable: Refusal = {
  status: 400,
  code: "invalid_body",
  message: "the request body could not be read",
  details: {},
};

/**
 * The front door, before routing: a body whose Content-Length is over MAX_BODY_BYTES is
 * refused unread, and a JSON body is read once and looked at before anything parses it — too
 * large (a chunked body has no Content-Length to check early) or nested too deeply (the parser
 * and the validator's error messages recurse) is refused with the error envelope. An accepted
 * JSON body is handed on as text, so the socket's stream is read once and never copied.
 * Paths in `rawBodyPaths` (source plugins, whose adapters read the body themselves, with their
 * own limit) are left alone.
 */
export function screenBodies(handle: Handler, rawBodyPaths: readonly string[]): Handler {
  return async (request) => {
    if (contentLengthTooLarge(request)) return refuse(request, tooLarge);
    if (request.body === null) return handle(request);
    if (!(request.headers.get("content-type") ?? "").toLowerCase().includes("json")) {
      return handle(request);
    }
    const path = new URL(request.url).pathname;
    if (rawBodyPaths.some((prefix) => path.startsWith(prefix))) return handle(request);
    let text: string;
    try {
      text = await request.text();
    } catch {
      return refuse(request, unreadable);
    }
    const refusal = refusalOfJsonText(text);
    if (refusal) return refuse(request, refusal);
    return handle(new Request(request, { body: text }));
  };
}

export function createHttpServer(log: Logger) {
  // normalize: false — Elysia would otherwise strip unknown body properties before validation,
  // so a misspelt field would be silently ignored instead of answered with a 400.
  const server = new Elysia({ normalize: false })
    .model({ ErrorEnvelope })
    .onRequest(({ request, set }) => {
      set.headers["x-request-id"] = requestIdOf(request);
    })
    .onError(({ code, error, request, set, path }) => {
      const requestId = requestIdOf(request);
      set.headers["x-request-id"] = requestId;
      if (error instanceof DomainError) {
        set.status = error.status;
        return errorEnvelope(error.code, error.message, error.details, requestId);
      }
      if (error instanceof ValidationError) {
        set.status = 400;
        const fields = describeValidationError(error);
        const where = error.type === "body" ? "request body" : `request ${error.type}`;
        const first = fields[0];
        const message = first
          ? `invalid ${where}: ${first.field}: ${first.message}`
          : `invalid ${where}`;
        return errorEnvelope("validation_failed", message, { on: error.type, fields }, requestId);
      }
      switch (code) {
        case "PARSE":
          set.status = 400;
          return errorEnvelope(
            "invalid_json",
            "request body is not valid JSON",
            { contentType: request.headers.get("content-type") },
            requestId,
          );
        case "NOT_FOUND":
          set.status = 404;
          return errorEnvelope(
            "not_found",
            `no route ${request.method} ${path}`,
            { method: request.method, path },
            requestId,
          );
        default: {
          log.error("unhandled error", { requestId, code: String(code), error });
          set.status = 500;
          return errorEnvelope("internal_error", "internal error", {}, requestId);
        }
      }
    })
    .use(swaggerAssets());
  return server.use(apiDocumentation(() => server.routes));
}
