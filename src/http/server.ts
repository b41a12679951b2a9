/**
 * The root HTTP application: request ids, the OpenAPI document with an offline Swagger UI
 * (`openapi.ts`), and the single place where every error becomes the envelope of SPEC §3 —
 * with validation errors in the caller's terms and a 405 naming the methods a known path allows.
 * Feature modules are composed in by the caller (`src/app.ts`); bodies are screened before
 * routing by the front door (`front-door.ts`).
 */

import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Elysia, ValidationError } from "elysia";
import { DomainError, type FieldProblem, ValidationFailed } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ErrorEnvelope, errorEnvelope } from "./envelope.ts";
import type { FormUpload } from "./form-upload.ts";
import { apiDocumentation } from "./openapi.ts";
import { requestIdOf } from "./request-id.ts";
import { allowedMethods } from "./route-paths.ts";
import { swaggerAssets } from "./swagger-assets.ts";

function expectedOneOf(issue: ValueError, path: string, values: unknown[]): ValueError {
  return { ...issue, path, message: `expected one of ${values.map(String).join(", ")}` };
}

/**
 * The path where every branch of a union expects a literal, with all those literals: the
 * value of an enum (`retryPolicy`, `eventTypes.article.0`), or the discriminator no branch of
 * an object union accepts (`auth.type`). Null when some branch accepts its literals (then
 * that branch's errors say what is wrong).
 */
function unmatchedLiterals(issue: ValueError, branches: ValueError[][]): ValueError | null {
  const literalsAt = new Map<string, unknown[]>();
  for (const branch of branches) {
    for (const error of branch) {
      if (error.type !== ValueErrorType.Literal) continue;
      const schema: unknown = error.schema;
      const value =
        typeof schema === "object" && schema !== null && "const" in schema
          ? schema.const
          : undefined;
      literalsAt.set(error.path, [...(literalsAt.get(error.path) ?? []), value]);
    }
  }
  for (const [path, values] of literalsAt) {
    if (values.length === branches.length) return expectedOneOf(issue, path, values);
  }
  return null;
}

/** How many errors of one union branch are read to judge and describe it. */
const MAX_ERRORS_PER_BRANCH = 32;

/** The most problems one 400 names: its answer stays small whatever the request held. */
export const MAX_PROBLEMS_NAMED = 100;

function firstErrors(errors: Iterable<ValueError>, limit: number): ValueError[] {
  const taken: ValueError[] = [];
  for (const error of errors) {
    if (taken.length >= limit) break;
    taken.push(error);
  }
  return taken;
}

/**
 * Unions said in the caller's terms instead of "Expected union value", or the first branch's
 * "Expected 'automatic'": an enum value or a discriminator no branch accepts names every
 * allowed value; otherwise the errors of the best-fitting branch — the one whose literals
 * match, then the one with the fewest errors — so `{"type": "basic"}` without a password
 * reports `auth.password`.
 */
function expandUnions(issues: Iterable<ValueError>): ValueError[] {
  const out: ValueError[] = [];
  for (const issue of issues) {
    if (issue.type !== ValueErrorType.Union) {
      out.push(issue);
      continue;
    }
    // A few errors a branch: reading one to its end walks the whole value (an `auth` object of
    // 80,000 unknown keys named each of them), once per branch.
    const branches = issue.errors.map((branch) => firstErrors(branch, MAX_ERRORS_PER_BRANCH));
    const literals = branches.length > 1 ? unmatchedLiterals(issue, branches) : null;
    if (literals) {
      out.push(literals);
      continue;
    }
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

/**
 * The most values an invalid input may hold for every one of its problems to be named. Finding
 * them all walks the whole input through TypeBox's error iterator (about 1 µs a value), even
 * when the first problem is that a map has too many keys; past this size only the first problem,
 * which Elysia has already found, is named, so a large invalid body costs no more than a valid
 * one.
 */
export const MAX_VALUES_DESCRIBED = 5_000;

/** Whether `value` holds at most `limit` JSON values (itself included); stops counting past it. */
export function holdsAtMostValues(value: unknown, limit: number): boolean {
  const pending: unknown[] = [value];
  let count = 0;
  while (pending.length > 0) {
    const next = pending.pop();
    count++;
    const children: unknown[] = Array.isArray(next)
      ? next
      : typeof next === "object" && next !== null
        ? Object.values(next)
        : [];
    // Counted before they are pushed: a map of 75,000 keys is refused without a spread of it.
    if (count + pending.length + children.length > limit) return false;
    pending.push(...children);
  }
  return true;
}

/**
 * The range a bounded number or list allows (`1 to 10000`, `1 to 20 items`), or null: TypeBox
 * says "Expected integer" of `"5"` and names one bound of `0`, so the 400 adds both.
 */
function allowedRangeOf(schema: unknown): string | null {
  if (typeof schema !== "object" || schema === null) return null;
  const bounds = schema as Record<string, unknown>;
  if (typeof bounds.minimum === "number" && typeof bounds.maximum === "number")
    return `${bounds.minimum} to ${bounds.maximum}`;
  if (typeof bounds.minItems === "number" && typeof bounds.maxItems === "number")
    return `${bounds.minItems} to ${bounds.maxItems} items`;
  return null;
}

/** Elysia's validation error as a list of `{field, message}`, e.g. `eventTypes.article.0`. */
export function describeValidationError(error: ValidationError): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  const issues = holdsAtMostValues(error.value, MAX_VALUES_DESCRIBED)
    ? error.all
    : [error.valueError];
  for (const issue of expandUnions(issues.filter(isValueError))) {
    const field = issue.path.replace(/^\//, "").replaceAll("/", ".") || "(root)";
    // The first problem of a field says it best ("Expected required property" rather than
    // the "Expected string" that follows it for the same missing field).
    if (seen.has(field)) continue;
    seen.add(field);
    const range = allowedRangeOf(issue.schema);
    const message = range === null ? issue.message : `${issue.message} (allowed: ${range})`;
    problems.push({ field, message });
    if (problems.length >= MAX_PROBLEMS_NAMED) break;
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

/**
 * The root application. `formUploads`: the routes that also take their body as a form upload
 * (the front door accepts them), so the document can say so.
 */
export function createHttpServer(log: Logger, formUploads: readonly FormUpload[]) {
  // normalize: false — Elysia would otherwise strip unknown body properties before validation,
  // so a misspelt field would be silently ignored instead of answered with a 400.
  // standardHostname: false — by default the router finds the path by skipping 11 characters
  // (`http://a.bc`), so behind a proxy that sends `Host: api`, every path was a 404.
  const root = new Elysia({ normalize: false, handler: { standardHostname: false } });
  const server = root
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
        const failure = ValidationFailed.of(error.type, describeValidationError(error));
        set.status = failure.status;
        return errorEnvelope(failure.code, failure.message, failure.details, requestId);
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
        case "NOT_FOUND": {
          // Routes are read when asked, so those of the modules composed in later count too.
          const allowed = allowedMethods(root.routes, path);
          if (allowed.length > 0) {
            set.status = 405;
            set.headers.allow = allowed.join(", ");
            return errorEnvelope(
              "method_not_allowed",
              `${request.method} is not allowed on ${path}: use ${allowed.join(", ")}`,
              { method: request.method, path, allowed },
              requestId,
            );
          }
          set.status = 404;
          return errorEnvelope(
            "not_found",
            `no route ${request.method} ${path}`,
            { method: request.method, path },
            requestId,
          );
        }
        default: {
          log.error("unhandled error", { requestId, code: String(code), error });
          set.status = 500;
          return errorEnvelope("internal_error", "internal error", {}, requestId);
        }
      }
    })
    .use(swaggerAssets());
  return server.use(apiDocumentation(() => server.routes, formUploads));
}
