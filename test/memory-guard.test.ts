/** The memory guard collects only above its budget, and its timer runs only between start and stop. */

import { expect, test } from "bun:test";
import { MemoryGuard } from "../src/memory-guard.ts";

test("collects when the resident size is over the budget, and only then", () => {
  let resident = 100;
  let collections = 0;
  const guard = new MemoryGuard({
    budgetBytes: 120,
    residentBytes: () => resident,
    collect: () => {
      collections++;
      resident = 90;
    },
  });
  expect(guard.check()).toBe(false);
  resident = 120;
  expect(guard.check()).toBe(false);
  resident = 121;
  expect(guard.check()).toBe(true);
  expect(collections).toBe(1);
  expect(guard.check()).toBe(false);
  expect(collections).toBe(1);
});

test("once started it looks at the resident size on its own; after stop it does not", async () => {
  let looks = 0;
  const guard = new MemoryGuard({
    everyMs: 5,
    residentBytes: () => {
      looks++;
      return 0;
    },
  });
  guard.start();
  const deadline = Date.now() + 5_000;
  while (looks < 3 && Date.now() < deadline) await Bun.sleep(5);
  expect(looks).toBeGreaterThanOrEqual(3);
  guard.stop();
  const after = looks;
  await Bun.sleep(50);
  expect(looks).toBe(after);
});
