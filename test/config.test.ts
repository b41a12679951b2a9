import { describe, expect, test } from "bun:test";
import {
  type Config,
  ConfigError,
  describeSettings,
  flagName,
  loadConfig,
  SETTINGS,
} from "../src/config.ts";

/** The defaults of SPEC §2, restated here so a changed default in src/ shows up as a failure. */
const SPEC_DEFAULTS: Config = {
  host: "0.0.0.0",
  port: 8080,
  dbPath: "./data/hookpost.db",
  databaseUrl: null,
  leaseMarginMs: 30_000,
  apiKey: null,
  smtpUrl: null,
  mailFrom: "hookpost@localhost",
  mailThrottleMs: 3_600_000,
  pluginsDir: "./plugins",
  allowPrivateTargets: false,
  allowedCidrs: [],
  maxAttempts: 10,
  maxWebhooks: 100,
  retryBaseMs: 5000,
  retryMaxDelayMs: 36_000_000,
  tickMs: 250,
  concurrency: 64,
  retentionDays: 30,
  autoDisableAfterMs: 432_000_000,
  logLevel: "info",
};

/** Runs `action`, expecting a ConfigError, and returns its message. */
function configErrorMessage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

describe("defaults", () => {
  test("an empty environment gives every SPEC default", () => {
    expect(loadConfig({})).toEqual(SPEC_DEFAULTS);
  });

  test("the settings table covers every key of the configuration", () => {
    const keys: string[] = SETTINGS.map((item) => item.key);
    expect(keys.sort()).toEqual(Object.keys(SPEC_DEFAULTS).sort());
  });

  test("every setting is read from its own HOOKPOST_* variable", () => {
    const config = loadConfig({
      HOOKPOST_HOST: "127.0.0.1",
      HOOKPOST_PORT: "9001",
      HOOKPOST_DB_PATH: "/var/lib/hookpost/h.db",
      HOOKPOST_API_KEY: "a-configured-key-that-is-long-enough",
      HOOKPOST_SMTP_URL: "smtps://user:pass@mail.example.com:465",
      HOOKPOST_MAIL_FROM: "alerts@example.com",
      HOOKPOST_MAIL_THROTTLE_MS: "60000",
      HOOKPOST_PLUGINS_DIR: "/opt/plugins",
      HOOKPOST_ALLOW_PRIVATE_TARGETS: "true",
      HOOKPOST_ALLOWED_CIDRS: "10.0.0.0/8",
      HOOKPOST_MAX_ATTEMPTS: "3",
      HOOKPOST_MAX_WEBHOOKS: "20",
      HOOKPOST_RETRY_BASE_MS: "100",
      HOOKPOST_RETRY_MAX_DELAY_MS: "1000",
      HOOKPOST_TICK_MS: "50",
      HOOKPOST_CONCURRENCY: "8",
      HOOKPOST_RETENTION_DAYS: "7",
      HOOKPOST_AUTO_DISABLE_AFTER_MS: "0",
      HOOKPOST_LOG_LEVEL: "debug",
    });
    expect(config).toEqual({
      host: "127.0.0.1",
      port: 9001,
      dbPath: "/var/lib/hookpost/h.db",
      databaseUrl: null,
      leaseMarginMs: 30_000,
      apiKey: "a-configured-key-that-is-long-enough",
      smtpUrl: "smtps://user:pass@mail.example.com:465",
      mailFrom: "alerts@example.com",
      mailThrottleMs: 60_000,
      pluginsDir: "/opt/plugins",
      allowPrivateTargets: true,
      allowedCidrs: ["10.0.0.0/8"],
      maxAttempts: 3,
      maxWebhooks: 20,
      retryBaseMs: 100,
      retryMaxDelayMs: 1000,
      tickMs: 50,
      concurrency: 8,
      retentionDays: 7,
      autoDisableAfterMs: 0,
      logLevel: "debug",
    });
  });
});

describe("flags", () => {
  test("a flag wins over the environment variable of the same setting", () => {
    const config = loadConfig({ HOOKPOST_PORT: "8081" }, { "--port": "9000" });
    expect(config.port).toBe(9000);
  });

  test("a flag applies when the environment variable is not set", () => {
    const config = loadConfig({}, { "--db-path": "/tmp/x.db", "--log-level": "warn" });
    expect(config.dbPath).toBe("/tmp/x.db");
    expect(config.logLevel).toBe("warn");
  });

  test("a bad flag value is reported under the variable's name", () => {
    const message = configErrorMessage(() => loadConfig({}, { "--port": "abc" }));
    expect(message).toContain("HOOKPOST_PORT");
  });

  test("flagName turns HOOKPOST_DB_PATH into --db-path", () => {
    expect(flagName("HOOKPOST_DB_PATH")).toBe("--db-path");
    expect(flagName("HOOKPOST_ALLOW_PRIVATE_TARGETS")).toBe("--allow-private-targets");
    expect(flagName("HOOKPOST_PORT")).toBe("--port");
  });
});

describe("bad values", () => {
  const cases: { name: string; env: string; value: string }[] = [
    { name: "a port that is not a number", env: "HOOKPOST_PORT", value: "abc" },
    { name: "a port above 65535", env: "HOOKPOST_PORT", value: "70000" },
    { name: "a negative port", env: "HOOKPOST_PORT", value: "-1" },
    { name: "a fractional number", env: "HOOKPOST_MAX_ATTEMPTS", value: "2.5" },
    { name: "zero attempts", env: "HOOKPOST_MAX_ATTEMPTS", value: "0" },
    { name: "an unknown log level", env: "HOOKPOST_LOG_LEVEL", value: "verbose" },
    {
      name: "a boolean that is neither true nor false",
      env: "HOOKPOST_ALLOW_PRIVATE_TARGETS",
      value: "maybe",
    },
    {
      name: "an IPv4 prefix longer than 32 bits",
      env: "HOOKPOST_ALLOWED_CIDRS",
      value: "10.0.0.0/33",
    },
    { name: "a CIDR that is not an address", env: "HOOKPOST_ALLOWED_CIDRS", value: "nonsense" },
    { name: "a CIDR without a prefix", env: "HOOKPOST_ALLOWED_CIDRS", value: "10.0.0.0" },
    {
      name: "one bad range among good ones",
      env: "HOOKPOST_ALLOWED_CIDRS",
      value: "10.0.0.0/8, 300.1.1.1/8",
    },
    {
      name: "an IPv6 prefix longer than 128 bits",
      env: "HOOKPOST_ALLOWED_CIDRS",
      value: "fd00::/129",
    },
    { name: "an SMTP URL with an http scheme", env: "HOOKPOST_SMTP_URL", value: "http://x" },
    { name: "an SMTP URL that is not a URL", env: "HOOKPOST_SMTP_URL", value: "not a url" },
    { name: "an empty host", env: "HOOKPOST_HOST", value: "   " },
    { name: "an empty database path", env: "HOOKPOST_DB_PATH", value: "" },
  ];
  for (const { name, env, value } of cases) {
    test(`${name} (${env}=${JSON.stringify(value)}) stops startup naming ${env}`, () => {
      const message = configErrorMessage(() => loadConfig({ [env]: value }));
      expect(message).toContain(env);
    });
  }

  test("the error names the value it got, so the operator sees the typo", () => {
    const message = configErrorMessage(() => loadConfig({ HOOKPOST_LOG_LEVEL: "verbose" }));
    expect(message).toContain("verbose");
  });

  const secretUrls = [
    { name: "a malformed SMTP URL", value: "smtp://user:hunter2@" },
    { name: "an SMTP URL with an out-of-range port", value: "smtp://user:hunter2@host:99999" },
    { name: "an SMTP URL with a wrong scheme", value: "ftp://user:hunter2@host" },
  ];
  for (const { name, value } of secretUrls) {
    test(`${name} is rejected without echoing its password`, () => {
      const message = configErrorMessage(() => loadConfig({ HOOKPOST_SMTP_URL: value }));
      expect(message).toContain("HOOKPOST_SMTP_URL");
      expect(message).not.toContain("hunter2");
    });
  }

  test("an SMTP URL without a host stops startup naming HOOKPOST_SMTP_URL", () => {
    for (const value of ["smtp://", "smtp:user:hunter2"]) {
      const message = configErrorMessage(() => loadConfig({ HOOKPOST_SMTP_URL: value }));
      expect(message).toContain("HOOKPOST_SMTP_URL");
    }
  });
});

describe("value parsing", () => {
  test("a CIDR list is split on commas, trimmed, and may mix IPv4 and IPv6", () => {
    const config = loadConfig({
      HOOKPOST_ALLOWED_CIDRS: " 10.0.0.0/8 , 192.168.1.0/24,fd00::/8 ,, ::1/128 ",
    });
    expect(config.allowedCidrs).toEqual(["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "::1/128"]);
  });

  test("the boolean words true/1/yes/on and false/0/no/off are understood in any case", () => {
    for (const word of ["true", "1", "yes", "ON", " True "]) {
      expect(loadConfig({ HOOKPOST_ALLOW_PRIVATE_TARGETS: word }).allowPrivateTargets).toBe(true);
    }
    for (const word of ["false", "0", "no", "OFF", ""]) {
      expect(loadConfig({ HOOKPOST_ALLOW_PRIVATE_TARGETS: word }).allowPrivateTargets).toBe(false);
    }
  });

  test("the log level is read case-insensitively", () => {
    expect(loadConfig({ HOOKPOST_LOG_LEVEL: "WARN" }).logLevel).toBe("warn");
  });

  test("an empty API key or SMTP URL means none", () => {
    const config = loadConfig({ HOOKPOST_API_KEY: "  ", HOOKPOST_SMTP_URL: "" });
    expect(config.apiKey).toBeNull();
    expect(config.smtpUrl).toBeNull();
  });

  test("smtp:// and smtps:// URLs are accepted as given", () => {
    expect(loadConfig({ HOOKPOST_SMTP_URL: "smtp://u:p@mail:587" }).smtpUrl).toBe(
      "smtp://u:p@mail:587",
    );
    expect(loadConfig({ HOOKPOST_SMTP_URL: "smtps://mail:465" }).smtpUrl).toBe("smtps://mail:465");
  });

  test("port 0 and port 65535 are the accepted bounds", () => {
    expect(loadConfig({ HOOKPOST_PORT: "0" }).port).toBe(0);
    expect(loadConfig({ HOOKPOST_PORT: "65535" }).port).toBe(65535);
  });
});

describe("describeSettings", () => {
  const described = describeSettings();
  const lines = described.split("\n");

  test("lists every HOOKPOST_* variable with its flag, one line each", () => {
    expect(lines).toHaveLength(SETTINGS.length);
    for (const item of SETTINGS) {
      const line = lines.find((candidate) => candidate.includes(` ${item.env} `));
      expect(line).toBeDefined();
      expect(line).toContain(flagName(item.env));
    }
  });

  test("shows the default of each non-secret setting", () => {
    for (const item of SETTINGS) {
      if ("secret" in item && item.secret) continue;
      const line = lines.find((candidate) => candidate.includes(` ${item.env} `)) ?? "";
      const shown = item.defaultValue === "" ? "(empty)" : item.defaultValue;
      expect(line).toContain(`[default: ${shown}]`);
    }
  });

  test("never prints a secret setting's default", () => {
    const secrets = SETTINGS.filter((item) => "secret" in item && item.secret);
    expect(secrets.map((item) => item.env).sort()).toEqual([
      "HOOKPOST_API_KEY",
      "HOOKPOST_DATABASE_URL",
      "HOOKPOST_SMTP_URL",
    ]);
    for (const item of secrets) {
      const line = lines.find((candidate) => candidate.includes(` ${item.env} `)) ?? "";
      expect(line).toContain("[default: (none)]");
    }
  });

  test("does not depend on the environment, so a configured secret cannot leak into help", () => {
    const before = describeSettings();
    process.env.HOOKPOST_API_KEY = "a-secret-that-must-not-appear-in-help";
    try {
      expect(describeSettings()).toBe(before);
      expect(describeSettings()).not.toContain("a-secret-that-must-not-appear-in-help");
    } finally {
      delete process.env.HOOKPOST_API_KEY;
    }
  });
});
