/**
 * The content-type registry: per workspace, which content types exist and the keys of their
 * fields (used by generate-sample). This module is the one place that lists content types, so
 * types contributed by source plugins will join here. Knows nothing of HTTP; throws domain
 * errors.
 */

import type { Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";
import { type FieldProblem, Invalid, NotFound } from "../errors.ts";
import { ensureWorkspace } from "../workspaces/repository.ts";
import type { ContentType, ContentTypeInput } from "./model.ts";
import {
  type ContentTypeRow,
  deleteContentTypeRow,
  findContentTypeRow,
  listContentTypeRows,
  upsertContentTypeRow,
} from "./repository.ts";

/** The API's view of a stored content type. */
function toContentType(row: ContentTypeRow): ContentType {
  return {
    key: row.key,
    name: row.name,
    fields: readJsonColumn<string[]>(row.fields),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** Problems of `input` beyond its schema: a body key other than the path's, repeated fields. */
function checkInput(key: string, input: ContentTypeInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.key !== undefined && input.key !== key) {
    problems.push({ field: "key", message: `must equal the key in the path ("${key}")` });
  }
  const seen = new Set<string>();
  input.fields.forEach((field, index) => {
    if (seen.has(field)) {
      problems.push({ field: `fields.${index}`, message: `duplicate field key "${field}"` });
    }
    seen.add(field);
  });
  return problems;
}

/** Every content type of the workspace, by key. */
export async function listContentTypes(db: Executor, workspace: string): Promise<ContentType[]> {
  return (await listContentTypeRows(db, workspace)).map(toContentType);
}

/** The content type, or null when this workspace has none with that key. */
export async function findContentType(
  db: Executor,
  workspace: string,
  key: string,
): Promise<ContentType | null> {
  const row = await findContentTypeRow(db, workspace, key);
  return row ? toContentType(row) : null;
}

export async function getContentType(
  db: Executor,
  workspace: string,
  key: string,
): Promise<ContentType> {
  const found = await findContentType(db, workspace, key);
  if (!found) throw new NotFound(`content type ${key} not found`, { key });
  return found;
}

/**
 * `PUT /content-types/{key}`: creates the content type or replaces its name and fields. A
 * replaced type keeps its `createdAt`.
 */
export async function saveContentType(
  db: Executor,
  workspace: string,
  key: string,
  input: ContentTypeInput,
): Promise<ContentType> {
  const problems = checkInput(key, input);
  if (problems.length > 0) throw Invalid.fields(problems);
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    await ensureWorkspace(trx, workspace, now);
    const row = await upsertContentTypeRow(trx, {
      workspace,
      key,
      name: input.name,
      fields: JSON.stringify(input.fields),
      created_at: now,
      updated_at: now,
    });
    return toContentType(row);
  });
}

export async function deleteContentType(
  db: Executor,
  workspace: string,
  key: string,
): Promise<void> {
  if (!(await deleteContentTypeRow(db, workspace, key))) {
    throw new NotFound(`content type ${key} not found`, { key });
  }
}
