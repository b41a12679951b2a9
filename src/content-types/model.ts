/**
 * Schemas of the content-type registry (SPEC §5): per workspace, a key, a display name and the
 * keys of its fields. They validate requests and document them in OpenAPI; the TypeScript
 * types derive from them.
 */

import { type Static, Type as T } from "@sinclair/typebox";

/** Content-type and field keys share one alphabet: safe in a URL path and in a JSON key. */
const KEY_PATTERN = "^[A-Za-z0-9_.-]+$";

/**
 * The longest content-type key: of a content type, of an event's `contentType`, and of a key of
 * a webhook's `eventTypes` (a longer one could never match an event).
 */
export const MAX_CONTENT_TYPE_KEY_LENGTH = 100;

/** `*` is outside the key alphabet on purpose: it is the wildcard of webhooks' `eventTypes`. */
const ContentTypeKey = T.String({
  minLength: 1,
  maxLength: MAX_CONTENT_TYPE_KEY_LENGTH,
  pattern: KEY_PATTERN,
  description:
    "Content-type key: 1–100 characters of `A-Z a-z 0-9 _ . -`. `*` is reserved (the wildcard of a webhook's `eventTypes`).",
  examples: ["article"],
});

const FieldKey = T.String({
  minLength: 1,
  maxLength: 100,
  pattern: KEY_PATTERN,
  description: "Field key: 1–100 characters of `A-Z a-z 0-9 _ . -`",
  examples: ["title"],
});

const Name = T.String({
  minLength: 1,
  maxLength: 200,
  description: "Display name",
  examples: ["Article"],
});

export const ContentTypeKeyParams = T.Object({ key: ContentTypeKey });

export const ContentTypeInput = T.Object(
  {
    key: T.Optional(
      T.String({
        maxLength: 100,
        description: "Optional; when present it must equal the key in the path",
      }),
    ),
    name: Name,
    fields: T.Array(FieldKey, {
      maxItems: 500,
      description: "Field keys, in order; unique, at most 500",
      examples: [["title", "body", "slug"]],
    }),
  },
  {
    additionalProperties: false,
    description: "The whole content type: it replaces the stored one, if any.",
    examples: [{ name: "Article", fields: ["title", "body", "slug"] }],
  },
);
export type ContentTypeInput = Static<typeof ContentTypeInput>;

export const ContentType = T.Object(
  {
    key: T.String({ examples: ["article"] }),
    name: T.String({ examples: ["Article"] }),
    fields: T.Array(T.String(), { examples: [["title", "body", "slug"]] }),
    createdAt: T.String({ format: "date-time" }),
    updatedAt: T.String({ format: "date-time", description: "Time of the last create or replace" }),
  },
  {
    $id: "#/components/schemas/ContentTypeModel",
    title: "ContentTypeModel",
    examples: [
      {
        key: "article",
        name: "Article",
        fields: ["title", "body", "slug"],
        createdAt: "2025-01-15T09:30:00.000Z",
        updatedAt: "2025-01-15T09:30:00.000Z",
      },
    ],
  },
);
export type ContentType = Static<typeof ContentType>;

export const DeletedContentType = T.Object({
  key: T.String({ examples: ["article"] }),
  deleted: T.Literal(true),
});
