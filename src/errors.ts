/**
 * The domain's error vocabulary. Services throw these; the HTTP layer maps each one to the
 * error envelope in one place (`src/http/errors.ts`).
 */

export type ErrorDetails = Record<string, unknown>;

/** One offending input field (`eventTypes.article.0`) and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** The resource does not exist, or belongs to another workspace (indistinguishable on purpose). */
export class NotFound extends DomainError {
  readonly status = 404;
  readonly code = "not_found";
}

/** The request is well-formed but its content is not acceptable; `details` names the fields. */
export class Invalid extends DomainError {
  readonly status = 400;
  readonly code = "invalid_request";

  /** One error naming every problem; its message leads with the first. */
  static fields(problems: FieldProblem[]): Invalid {
    const first = problems[0];
    const message = first ? `${first.field}: ${first.message}` : "invalid request";
    return new Invalid(message, { fields: problems });
  }
}

/**
 * The request's body or query is not what its schema allows: the schema's own errors
 * (`http/server.ts`), the front door's screening, or a service that checks a query itself.
 * `details`: `{on, fields}`, as every such 400 answers.
 */
export class ValidationFailed extends DomainError {
  readonly status = 400;
  readonly code = "validation_failed";

  /** One error naming every problem of `on` (`body`, `query`, `params`); its message leads with the first. */
  static of(on: string, fields: FieldProblem[]): ValidationFailed {
    const first = fields[0];
    const where = `request ${on}`;
    const message = first
      ? `invalid ${where}: ${first.field}: ${first.message}`
      : `invalid ${where}`;
    return new ValidationFailed(message, { on, fields });
  }
}

/** The request clashes with the current state (a duplicate, a concurrent change). */
export class Conflict extends DomainError {
  readonly status = 409;
  readonly code = "conflict";
}

/** No key, or a key that is unknown or revoked. */
export class Unauthorized extends DomainError {
  readonly status = 401;
  readonly code = "unauthorized";
}

/** A valid key whose policy does not allow this operation. */
export class Forbidden extends DomainError {
  readonly status = 403;
  readonly code = "forbidden";
}

/** The request body is larger than the server accepts. */
export class PayloadTooLarge extends DomainError {
  readonly status = 413;
  readonly code = "payload_too_large";
}

/** The request body's media type is not one the route reads; `details` names those it does. */
export class UnsupportedMediaType extends DomainError {
  readonly status = 415;
  readonly code = "unsupported_media_type";
}
