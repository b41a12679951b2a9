import { describe, expect, test } from "bun:test";
import { idFloor, newApiKeyValue, newId, newWebhookSecret, randomString } from "../src/ids.ts";

describe("secrets", () => {
  test("a webhook secret is wh_ and 32 alphanumeric characters", () => {
    expect(newWebhookSecret()).toMatch(/^wh_[A-Za-z0-9]{32}$/);
  });

  test("1,000 webhook secrets are all distinct", () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => newWebhookSecret()));
    expect(secrets.size).toBe(1000);
  });

  test("an API key is hpk_ and 40 alphanumeric characters", () => {
    expect(newApiKeyValue()).toMatch(/^hpk_[A-Za-z0-9]{40}$/);
  });

  test("1,000 API keys are all distinct", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => newApiKeyValue()));
    expect(keys.size).toBe(1000);
  });
});

describe("newId", () => {
  test("starts with its prefix and an underscore", () => {
    expect(newId("wh")).toMatch(/^wh_[0-9a-z]{22}$/);
    expect(newId("evt").startsWith("evt_")).toBe(true);
    expect(newId("key").startsWith("key_")).toBe(true);
  });

  test("ids made at increasing times sort in time order", () => {
    const times = [0, 1, 31, 32, 1_000, 1_700_000_000_000, 1_700_000_000_001, 4_102_444_800_000];
    const ids = times.map((now) => newId("dlv", now));
    expect([...ids].sort()).toEqual(ids);
  });

  test("ids made in the same millisecond share the time part and differ in the random part", () => {
    const a = newId("att", 1_700_000_000_000);
    const b = newId("att", 1_700_000_000_000);
    expect(a.slice(0, 14)).toBe(b.slice(0, 14));
    expect(a).not.toBe(b);
  });

  test("ids of one prefix made in the same millisecond come out in increasing order", () => {
    const ids = Array.from({ length: 1000 }, () => newId("dlv", 1_700_000_000_000));
    expect(ids.toSorted()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("idFloor", () => {
  test("ids made before the time sort below it; ids made at or after it do not", () => {
    const at = 1_700_000_000_000;
    const floor = idFloor("dlv", at);
    for (const before of [0, at - 1_000, at - 1]) expect(newId("dlv", before) < floor).toBe(true);
    for (const after of [at, at + 1, at + 86_400_000]) {
      for (let i = 0; i < 50; i++) expect(newId("dlv", after) < floor).toBe(false);
    }
  });

  test("a time before the epoch (a cutoff of a century) has no ids below it", () => {
    const floor = idFloor("dlv", Date.now() - 36_500 * 86_400_000);
    expect(floor).toBe("dlv_0000000000");
    expect(newId("dlv", 0) < floor).toBe(false);
    expect(newId("dlv") < floor).toBe(false);
  });
});

describe("randomString", () => {
  test("has the requested length", () => {
    expect(randomString(0)).toBe("");
    expect(randomString(1)).toHaveLength(1);
    expect(randomString(500)).toHaveLength(500);
  });

  test("uses only the given alphabet", () => {
    const text = randomString(2000, "ab");
    expect(text).toMatch(/^[ab]{2000}$/);
    // Both letters turn up: the alphabet is used, not just one character of it.
    expect(text).toContain("a");
    expect(text).toContain("b");
  });

  test("an alphabet whose size does not divide 256 still yields only its characters", () => {
    const alphabet = "xyz!?";
    const text = randomString(5000, alphabet);
    expect([...new Set(text)].sort()).toEqual([...alphabet].sort());
  });

  test("a one-character alphabet repeats that character", () => {
    expect(randomString(10, "q")).toBe("qqqqqqqqqq");
  });
});
