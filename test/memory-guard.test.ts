/** The memory guard: which collection runs at which resident size, and only between start and stop. */

import { expect, test } from "bun:test";
import { MemoryGuard } from "../src/memory-guard.ts";

test("below the soft budget nothing; then eden; above the middle one a background full, spaced out; above the hard one a full, spaced out", () => {
  let resident = 50;
  let now = 0;
  const ran: string[] = [];
  const guard = new MemoryGuard({
    softBytes: 100,
    middleBytes: 150,
    hardBytes: 200,
    fullEveryMs: 1_000,
    residentBytes: () => resident,
    eden: () => ran.push("eden"),
    background: () => ran.push("background"),
    full: () => ran.push("full"),
    now: () => now,
  });
  expect(guard.check()).toBeNull();
  resident = 100;
  expect(guard.check()).toBeNull();
  resident = 101;
  expect(guard.check()).toBe("eden");
  resident = 151;
  expect(guard.check()).toBe("background");
  now = 499;
  expect(guard.check()).toBe("eden");
  now = 500;
  expect(guard.check()).toBe("background");
  resident = 201;
  expect(guard.check()).toBe("full");
  now = 999;
  expect(guard.check()).toBe("eden");
  now = 1_000;
  expect(guard.check()).toBe("background");
  now = 1_200;
  expect(guard.check()).toBe("eden");
  now = 1_500;
  expect(guard.check()).toBe("full");
  expect(ran).toEqual([
    "eden",
    "background",
    "eden",
    "background",
    "full",
    "eden",
    "background",
    "eden",
    "full",
  ]);
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
