/**
 * The content-type registry: per workspace, which content types exist and the keys of their
 * fields (used by generate-sample). This module is the one place that lists content types: the
 * workspace's own, stored, and those that source plugins contribute — the same in every
 * workspace and read-only (a stored type with the same key is hidden while the plugin is
 * loaded). Knows nothing of HTTP; throws domain errors.
 */

import type { Executor } from "../db/database.ts";
import { readJsonColumn } from "../db/json-column.ts";
import { Conflict, type FieldProblem, Invalid, NotFound } from "../errors.ts";
import { ensureWorkspace } from "../workspaces/repository.ts";
import type { ContentType, ContentTypeInput } from "./model.ts";
import {
  type ContentTypeRow,
  deleteContentTypeRow,
  findContentTypeRow,
  listContentTypeRows,
  upsertContentTypeRow,
} from "./repository.ts";

/** Content types contributed by source plugins, by key, with the source that declares each. */
export type PluginContentTypes = ReadonlyMap<string, { contentType: ContentType; source: string }>;

const NO_PLUGIN_CONTENT_TYPES: PluginContentTypes = new Map();

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

/** Every content type of the workspace and of the plugins, by key. */
export async function listContentTypes(
  db: Executor,
  workspace: string,
  plugins: PluginContentTypes = NO_PLUGIN_CONTENT_TYPES,
): Promise<ContentType[]> {
  const stored = (await listContentTypeRows(db, workspace))
    .filter((row) => !plugins.has(row.key))
    .map(toContentType);
  if (plugins.size === 0) return stored;
  const all = [...stored, ...[...plugins.values()].map((entry) => entry.contentType)];
  // Code-unit order, as SQLite sorts the stored keys.
  return all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The content type, or null when neither this workspace nor a plugin has one with that key. */
export async function findContentType(
  db: Executor,
  workspace: string,
  key: string,
  plugins: PluginContentTypes = NO_PLUGIN_CONTENT_TYPES,
): Promise<ContentType | null> {
  const provided = plugins.get(key);
  if (provided) return provided.contentType;
  const row = await findContentTypeRow(db, workspace, key);
  return row ? toContentType(row) : null;
}

export async function getContentType(
  db: Executor,
  workspace: string,
  key: string,
  plugins: PluginContentTypes = NO_PLUGIN_CONTENT_TYPES,
): Promise<ContentType> {
  const found = await findContentType(db, workspace, key, plugins);
  if (!found) throw new NotFound(`content type ${key} not found`, { key });
  return found;
}

/** A plugin's content type cannot be replaced or deleted through the API: 409 naming its source. */
function refusePluginType(key: string, plugins: PluginContentTypes): void {
  const provided = plugins.get(key);
  if (provided) {
    throw new Conflict(
      `content type ${key} is provided by source plugin "${provided.source}" and is read-only`,
      { key, source: provided.source },
    );
  }
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
  plugins: PluginContentTypes = NO_PLUGIN_CONTENT_TYPES,
): Promise<ContentType> {
  const problems = checkInput(key, input);
  if (problems.length > 0) throw Invalid.fields(problems);
  refusePluginType(key, plugins);
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
  plugins: PluginContentTypes = NO_PLUGIN_CONTENT_TYPES,
): Promise<void> {
  refusePluginType(key, plugins);
  if (!(await deleteContentTypeRow(db, workspace, key))) {
    throw new NotFound(`content type ${key} not found`, { key });
  }
}
