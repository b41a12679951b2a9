/**
 * What the reliability suite (`test/reliability/`) shares: its scale and its cleanups.
 *
 * The suite runs in two sizes. `bun test` (and so `npm test`) runs a modest version that adds
 * seconds, not minutes; `HOOKPOST_RELIABILITY_SCALE=full` (set by `npm run test:reliability`)
 * runs the long version: more kill cycles, more load, more fuzz requests.
 */

/** True when the suite runs at full scale. */
export const FULL_SCALE = process.env.HOOKPOST_RELIABILITY_SCALE === "full";

/** `modest` in the normal test run, `full` under `HOOKPOST_RELIABILITY_SCALE=full`. */
export function scaled<T>(modest: T, full: T): T {
  return FULL_SCALE ? full : modest;
}

/**
 * Cleanups registered while tests run (`defer`), run last-registered first by the hook given
 * (`afterEach` or `afterAll`), whether the tests passed or not; one failing cleanup does not
 * stop the others. Call once per test file or `describe`.
 *
 * @example
 * const defer = deferredCleanups(afterEach);
 * const receiver = startReceiver();
 * defer(() => receiver.stop());
 */
export function deferredCleanups(
  hook: (run: () => Promise<void>) => void,
): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  hook(async () => {
    const errors: unknown[] = [];
    for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}
