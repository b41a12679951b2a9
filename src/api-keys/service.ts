/**
 * API keys: creation, verification and revocation. Keys are random (about 238 bits), so a
 * single SHA-256 is the right hash: it is not guessable and costs microseconds per request.
 * Verification reads the database on every request, so a key created or revoked by the CLI
 * takes effect on a running server at once.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { Access, ApiKeyRow, Executor } from "../db/database.ts";
import { NotFound } from "../errors.ts";
import { newApiKeyValue, newId } from "../ids.ts";
import type { GroupCommit } from "../store/group-commit.ts";
import { countWorkspaces, DEFAULT_WORKSPACE, ensureWorkspace } from "../workspaces/repository.ts";
import {
  apiKeyByHashQuery,
  countApiKeys,
  findApiKeyByHash,
  insertApiKey,
  listApiKeyRows,
  markApiKeyRevoked,
} from "./repository.ts";

/** Who a request is: the workspace and policy of the key it presented. */
export interface Principal {
  keyId: string;
  workspace: string;
  access: Access;
}

export interface CreatedApiKey {
  id: string;
  workspace: string;
  access: Access;
  /** The plain key: shown once, never stored. */
  key: string;
}

export interface ApiKeySummary {
  id: string;
  workspace: string;
  access: Access;
  prefix: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export function hashApiKey(plain: string): string {
  return createHash("sha256").update(plain, "utf8").digest("hex");
}

/** Shown in listings so an operator can tell keys apart without seeing them. */
function displayPrefix(plain: string): string {
  return `${plain.slice(0, 8)}…`;
}

type NewKey = { workspace: string; access: Access; label: string | null };

/** Stores a key (and its workspace when new), in the caller's transaction. */
async function storeApiKey(trx: Executor, key: string, options: NewKey): Promise<string> {
  const id = newId("key");
  const now = Date.now();
  await ensureWorkspace(trx, options.workspace, now);
  await insertApiKey(trx, {
    id,
    workspace: options.workspace,
    access: options.access,
    keyHash: hashApiKey(key),
    keyPrefix: displayPrefix(key),
    label: options.label,
    createdAt: now,
  });
  return id;
}

/** Creates a key (and its workspace when new), in the caller's transaction. */
async function createApiKeyIn(trx: Executor, options: NewKey): Promise<CreatedApiKey> {
  const key = newApiKeyValue();
  const id = await storeApiKey(trx, key, options);
  return { id, workspace: options.workspace, access: options.access, key };
}

/** Creates a key (and its workspace when new). */
export function createApiKey(
  db: Executor,
  options: { workspace: string; access: Access; label?: string | null },
): Promise<CreatedApiKey> {
  return db
    .transaction()
    .execute((trx) => createApiKeyIn(trx, { ...options, label: options.label ?? null }));
}

/** Finds the stored key with a hash (the backend's fastest way; see `authenticator`). */
export type KeyByHash = (keyHash: string) => Promise<ApiKeyRow | null | undefined>;

/**
 * The principal a presented key stands for, or null for a missing, unknown or revoked key.
 * The lookup goes through the unique hash index; the final comparison is constant-time.
 */
export async function authenticate(
  keyByHash: KeyByHash,
  presented: string | null | undefined,
): Promise<Principal | null> {
  if (!presented || presented.length > 256) return null;
  const presentedHash = hashApiKey(presented);
  const row = await keyByHash(presentedHash);
  if (!row || row.revoked_at !== null) return null;
  const matches = timingSafeEqual(
    Buffer.from(row.key_hash, "hex"),
    Buffer.from(presentedHash, "hex"),
  );
  return matches ? { keyId: row.id, workspace: row.workspace, access: row.access } : null;
}

/**
 * The SQLite lookup: every request asks, so it is a prepared statement, read in the next batch
 * of the group commit (see GroupCommit.read), rather than a Kysely query of its own.
 */
export function sqliteKeyByHash(db: Executor, statements: GroupCommit): KeyByHash {
  const text = apiKeyByHashQuery(db, "").compile().sql;
  return (keyHash) => statements.read(() => statements.get(text).get(keyHash) as ApiKeyRow | null);
}

export async function listApiKeys(db: Executor): Promise<ApiKeySummary[]> {
  const rows = await listApiKeyRows(db);
  return rows.map((row) => ({
    id: row.id,
    workspace: row.workspace,
    access: row.access,
    prefix: row.key_prefix,
    label: row.label,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  }));
}

export async function revokeApiKey(db: Executor, id: string): Promise<void> {
  if (!(await markApiKeyRevoked(db, id, Date.now()))) {
    throw new NotFound(`no active API key with id ${id}`, { id });
  }
}

export type BootstrapOutcome =
  | { kind: "registered-env-key"; keyId: string }
  | { kind: "env-key-revoked"; keyId: string }
  | { kind: "generated"; created: CreatedApiKey }
  | { kind: "nothing-to-do" };

/**
 * First-start set-up. With `HOOKPOST_API_KEY`, makes sure that key is a write key of workspace
 * `default`. Otherwise, on an empty database, creates workspace `default` and one write key
 * for the caller to print once. Runs in the caller's transaction, which no other node runs at
 * the same time (`Backend.serialized`): nodes starting together register one key.
 */
export async function bootstrapApiKeys(
  trx: Executor,
  configuredKey: string | null,
): Promise<BootstrapOutcome> {
  if (configuredKey) {
    const existing = await findApiKeyByHash(trx, hashApiKey(configuredKey));
    if (existing) {
      // A revoked key stays revoked: revocation is a deliberate security action.
      return existing.revoked_at === null
        ? { kind: "registered-env-key", keyId: existing.id }
        : { kind: "env-key-revoked", keyId: existing.id };
    }
    const keyId = await storeApiKey(trx, configuredKey, {
      workspace: DEFAULT_WORKSPACE,
      access: "write",
      label: "HOOKPOST_API_KEY",
    });
    return { kind: "registered-env-key", keyId };
  }
  if ((await countWorkspaces(trx)) > 0 || (await countApiKeys(trx)) > 0) {
    return { kind: "nothing-to-do" };
  }
  const created = await createApiKeyIn(trx, {
    workspace: DEFAULT_WORKSPACE,
    access: "write",
    label: "generated at first start",
  });
  return { kind: "generated", created };
}
