/**
 * Routes of the content-type registry (SPEC §5): `/content-types` and `/content-types/{key}`.
 * Handlers only translate HTTP to service calls.
 */

import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { ErrorEnvelope, ResourceErrors } from "../http/envelope.ts";
import type { Services } from "../services.ts";
import {
  ContentType,
  ContentTypeInput,
  ContentTypeKeyParams,
  DeletedContentType,
} from "./model.ts";
import { deleteContentType, getContentType, listContentTypes, saveContentType } from "./service.ts";

const tags = ["Content types"];

export function contentTypeRoutes(services: Services) {
  const { db } = services;
  /** Content types of the source plugins: listed with the workspace's own, read-only. */
  const provided = services.plugins.contentTypes;
  return new Elysia({ prefix: "/content-types" })
    .use(services.auth)
    .get("", ({ principal }) => listContentTypes(db, principal.workspace, provided), {
      auth: "read",
      response: { 200: T.Array(ContentType), ...ResourceErrors },
      detail: {
        tags,
        summary: "Retrieve all content types",
        description:
          "Retrieves every content type of the current workspace, and those that source " +
          "plugins contribute (the same in every workspace), sorted by key.",
      },
    })
    .get(
      "/:key",
      ({ principal, params }) => getContentType(db, principal.workspace, params.key, provided),
      {
        auth: "read",
        params: ContentTypeKeyParams,
        response: { 200: ContentType, ...ResourceErrors },
        detail: {
          tags,
          summary: "Retrieve content type by key",
          description:
            "Retrieves one content type of the current workspace, or of a source plugin, by its key.",
        },
      },
    )
    .put(
      "/:key",
      ({ principal, params, body }) =>
        saveContentType(db, principal.workspace, params.key, body, provided),
      {
        auth: "write",
        type: "json",
        params: ContentTypeKeyParams,
        body: ContentTypeInput,
        response: { 200: ContentType, ...ResourceErrors, 409: ErrorEnvelope },
        detail: {
          tags,
          summary: "Create or replace content type",
          description:
            "Creates the content type with this key, or replaces the name and fields of the " +
            "existing one (its `createdAt` is kept). `fields` lists the field keys, each unique. " +
            "A `key` in the body is optional and must equal the key in the path. The key `*` is " +
            "reserved: it is the wildcard of a webhook's `eventTypes`. A content type that a " +
            "source plugin provides is read-only: 409.",
        },
      },
    )
    .delete(
      "/:key",
      async ({ principal, params }) => {
        await deleteContentType(db, principal.workspace, params.key, provided);
        return { key: params.key, deleted: true as const };
      },
      {
        auth: "write",
        params: ContentTypeKeyParams,
        response: { 200: DeletedContentType, ...ResourceErrors, 409: ErrorEnvelope },
        detail: {
          tags,
          summary: "Delete content type",
          description:
            "Deletes a content type by its key. Webhooks that name it in `eventTypes` and " +
            "past deliveries are untouched. A content type that a source plugin provides is " +
            "read-only: 409.",
        },
      },
    );
}
