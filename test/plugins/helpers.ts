/**
 * Plugin folders for tests: a temporary folder (outside the repository, so `hookpost/plugin`
 * resolves only the way it does on a server: through the host) holding the files a test
 * writes; an app loading it; and what the delivery tests need to watch a delivery finish.
 */

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProcessStatus } from "../../src/deliveries/status.ts";
import { waitFor } from "../helpers/receiver.ts";
import { createTestApp, LOOPBACK_DELIVERY, type TestApp, tempDir } from "../helpers/test-app.ts";

/** The repository's shipped example plugins. */
export const SHIPPED_PLUGINS = join(import.meta.dir, "..", "..", "plugins");

const folders: string[] = [];

/**
 * A new folder holding `files` (name → source text). Each call gets a new folder, so Bun's
 * module cache never hands a test another test's plugin.
 */
export function pluginFolder(files: Record<string, string>): string {
  const dir = join(tempDir("hookpost-plugins-"), "plugins");
  mkdirSync(dir);
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  folders.push(dir);
  return dir;
}

/** Removes the folders made by {@link pluginFolder}. */
export function removePluginFolders(): void {
  for (const dir of folders.splice(0)) rmSync(join(dir, ".."), { recursive: true, force: true });
}

/** A test app loading `files` as its plugins, sending to loopback receivers, ticking fast. */
export async function appWithPlugins(
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<TestApp> {
  return createTestApp({
    HOOKPOST_PLUGINS_DIR: pluginFolder(files),
    ...LOOPBACK_DELIVERY,
    HOOKPOST_RETRY_BASE_MS: "40",
    HOOKPOST_RETRY_MAX_DELAY_MS: "200",
    ...env,
  });
}

export function deliveryRow(app: TestApp, id: string) {
  return app.app.store.db
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

export function attemptRows(app: TestApp, deliveryId: string) {
  return app.app.store.db
    .selectFrom("attempts")
    .selectAll()
    .where("delivery_id", "=", deliveryId)
    .orderBy("number")
    .execute();
}

/** The delivery once it is Sent or Error. */
export async function settled(app: TestApp, deliveryId: string) {
  return waitFor(`delivery ${deliveryId} to finish`, async () => {
    const row = await deliveryRow(app, deliveryId);
    return row.process_status === ProcessStatus.Sent || row.process_status === ProcessStatus.Error
      ? row
      : undefined;
  });
}

/** A content type no other test uses, so each test's webhook sees only its own events. */
export function uniqueType(): string {
  return `type_${crypto.randomUUID().slice(0, 8)}`;
}
