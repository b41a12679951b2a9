import { describe, expect, test } from "bun:test";
import { LOG_LEVELS, type LogLevel } from "../src/config.ts";
import { createLogger, redact } from "../src/log.ts";

/** A logger writing into an array, and the parsed records. */
function capture(level: LogLevel) {
  const lines: string[] = [];
  const log = createLogger(level, (line) => lines.push(line));
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, records };
}

describe("createLogger", () => {
  test("writes one JSON object per line with time, level and msg", () => {
    const { log, lines, records } = capture("debug");
    log.info("server started", { port: 8080 });
    log.warn("slow");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith("\n")).toBe(true);
      expect(line.slice(0, -1)).not.toContain("\n");
    }
    const [first, second] = records();
    expect(first).toMatchObject({ level: "info", msg: "server started", port: 8080 });
    expect(second).toMatchObject({ level: "warn", msg: "slow" });
    expect(new Date(String(first?.time)).toISOString()).toBe(String(first?.time));
  });

  test("a message with newlines still takes one line", () => {
    const { log, lines, records } = capture("info");
    log.error("first\nsecond");
    expect(lines).toHaveLength(1);
    expect(records()[0]?.msg).toBe("first\nsecond");
  });

  const cases: { level: LogLevel; written: LogLevel[] }[] = [
    { level: "debug", written: ["debug", "info", "warn", "error"] },
    { level: "info", written: ["info", "warn", "error"] },
    { level: "warn", written: ["warn", "error"] },
    { level: "error", written: ["error"] },
  ];
  for (const { level, written } of cases) {
    test(`at level ${level} only ${written.join(", ")} are written`, () => {
      const { log, records } = capture(level);
      for (const at of LOG_LEVELS) log[at](`a ${at} line`);
      expect(records().map((record) => record.level)).toEqual(written);
    });
  }

  test("credential fields passed to the logger are redacted in the line", () => {
    const { log, lines } = capture("info");
    log.info("key created", { keyId: "key_1", apiKey: "hpk_plainvalue", nested: { secret: "s3" } });
    expect(lines[0]).not.toContain("hpk_plainvalue");
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({
      keyId: "key_1",
      apiKey: "[redacted]",
      nested: { secret: "[redacted]" },
    });
  });

  test("an Error field is logged as its name and message", () => {
    const { log, records } = capture("info");
    log.error("delivery failed", { error: new TypeError("fetch failed") });
    expect(records()[0]?.error).toEqual({ name: "TypeError", message: "fetch failed" });
  });
});

describe("redact", () => {
  test("replaces credential-looking fields and keeps the others", () => {
    const input = {
      secret: "a",
      webhookSecret: "b",
      password: "c",
      smtp_passwd: "d",
      token: "e",
      accessToken: "f",
      apiKey: "g",
      api_key: "h",
      "x-api-key": "i",
      authorization: "j",
      Authorization: "k",
      credentials: "l",
      cookie: "m",
      id: "wh_1",
      keyId: "key_1",
      count: 3,
      ok: true,
      nothing: null,
    };
    expect(redact(input)).toEqual({
      secret: "[redacted]",
      webhookSecret: "[redacted]",
      password: "[redacted]",
      smtp_passwd: "[redacted]",
      token: "[redacted]",
      accessToken: "[redacted]",
      apiKey: "[redacted]",
      api_key: "[redacted]",
      "x-api-key": "[redacted]",
      authorization: "[redacted]",
      Authorization: "[redacted]",
      credentials: "[redacted]",
      cookie: "[redacted]",
      id: "wh_1",
      keyId: "key_1",
      count: 3,
      ok: true,
      nothing: null,
    });
  });

  test("redacts fields nested in objects and arrays", () => {
    const input = {
      request: { headers: { authorization: "Bearer x", accept: "*/*" } },
      webhooks: [
        { id: "wh_1", secret: "wh_aaa" },
        { id: "wh_2", secret: "wh_bbb" },
      ],
      matrix: [[{ token: "t" }]],
    };
    expect(redact(input)).toEqual({
      request: { headers: { authorization: "[redacted]", accept: "*/*" } },
      webhooks: [
        { id: "wh_1", secret: "[redacted]" },
        { id: "wh_2", secret: "[redacted]" },
      ],
      matrix: [[{ token: "[redacted]" }]],
    });
  });

  test("a credential field holding an object is replaced whole", () => {
    expect(redact({ credentials: { user: "u", pass: "p" } })).toEqual({
      credentials: "[redacted]",
    });
  });

  test("does not change the value it was given", () => {
    const input = { password: "p", inner: { token: "t" } };
    redact(input);
    expect(input).toEqual({ password: "p", inner: { token: "t" } });
  });

  test("an Error is reduced to its name and message, dropping the stack and other fields", () => {
    const error = Object.assign(new RangeError("too big"), { password: "p" });
    expect(redact(error)).toEqual({ name: "RangeError", message: "too big" });
    expect(redact({ list: [error] })).toEqual({
      list: [{ name: "RangeError", message: "too big" }],
    });
  });

  test("a credential field nested ten levels deep is still redacted", () => {
    let nested: Record<string, unknown> = { password: "deep-secret" };
    for (let level = 0; level < 10; level++) nested = { inner: nested };
    expect(JSON.stringify(redact(nested))).not.toContain("deep-secret");
  });

  test("a credential field nested a few levels deep is redacted", () => {
    let nested: Record<string, unknown> = { password: "deep-secret" };
    for (let level = 0; level < 5; level++) nested = { inner: nested };
    expect(JSON.stringify(redact(nested))).not.toContain("deep-secret");
  });

  test("primitives pass through unchanged", () => {
    expect(redact("secret")).toBe("secret");
    expect(redact(42)).toBe(42);
    expect(redact(null)).toBeNull();
    expect(redact(undefined)).toBeUndefined();
  });
});
