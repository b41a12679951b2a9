import { describe, expect, test } from "bun:test";
import {
  BlockedTargetError,
  isSpecialPurposeAddress,
  OutboundGuard,
  type OutboundPolicy,
  ResolveError,
  type Resolver,
  systemResolver,
} from "../../src/outbound/outbound-guard.ts";

const DEFAULT_POLICY: OutboundPolicy = { allowPrivateTargets: false, allowedCidrs: [] };

/** A resolver answering from a fixed table, counting how often it was asked. */
function fixedResolver(answers: Record<string, string[]>): Resolver & { calls: number } {
  const resolver = async (hostname: string) => {
    resolver.calls += 1;
    const addresses = answers[hostname];
    if (addresses === undefined) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return addresses;
  };
  resolver.calls = 0;
  return resolver;
}

describe("isSpecialPurposeAddress", () => {
  const refused: [string, string][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback, end of range"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "this network"],
    ["10.0.0.1", "RFC 1918 10/8"],
    ["172.16.0.1", "RFC 1918 172.16/12"],
    ["172.31.255.255", "RFC 1918 172.16/12, end of range"],
    ["192.168.1.1", "RFC 1918 192.168/16"],
    ["100.64.0.1", "CGNAT"],
    ["100.127.255.255", "CGNAT, end of range"],
    ["169.254.169.254", "cloud metadata"],
    ["169.254.0.1", "link-local"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast (SSDP)"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["192.0.0.8", "IETF protocol assignments"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking, end of range"],
    ["192.0.2.1", "documentation TEST-NET-1"],
    ["198.51.100.7", "documentation TEST-NET-2"],
    ["203.0.113.9", "documentation TEST-NET-3"],
    ["::1", "IPv6 loopback"],
    ["0:0:0:0:0:0:0:1", "IPv6 loopback, uncompressed"],
    ["::", "IPv6 unspecified"],
    ["fe80::1", "IPv6 link-local"],
    ["fe80::1%eth0", "IPv6 link-local with a zone"],
    ["febf::1", "IPv6 link-local, end of range"],
    ["fc00::1", "unique-local fc"],
    ["fd12:3456:789a::1", "unique-local fd"],
    ["FD00::1", "unique-local, upper case"],
    ["ff02::1", "IPv6 multicast"],
    ["2001:db8::1", "IPv6 documentation"],
    ["::ffff:127.0.0.1", "mapped loopback, dotted"],
    ["::ffff:7f00:1", "mapped loopback, hex"],
    ["::ffff:a9fe:a9fe", "mapped cloud metadata"],
    ["::ffff:10.0.0.1", "mapped private"],
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["64:ff9b::127.0.0.1", "NAT64 of loopback"],
    ["64:ff9b::a9fe:a9fe", "NAT64 of cloud metadata"],
    ["2002:7f00:1::", "6to4 of loopback"],
    ["2002:c0a8:101::1", "6to4 of 192.168.1.1"],
    ["not-an-ip", "not an address at all (fail closed)"],
  ];
  test.each(refused)("%s is special (%s)", (ip) => {
    expect(isSpecialPurposeAddress(ip)).toBe(true);
  });

  const allowed: [string, string][] = [
    ["8.8.8.8", "Google DNS"],
    ["1.1.1.1", "Cloudflare DNS"],
    ["93.184.216.34", "example.com"],
    ["100.63.255.255", "just below CGNAT"],
    ["172.32.0.1", "just above 172.16/12"],
    ["2606:4700:4700::1111", "Cloudflare DNS over IPv6"],
    ["::ffff:8.8.8.8", "mapped public"],
    ["64:ff9b::8.8.8.8", "NAT64 of public"],
    ["2002:808:808::1", "6to4 of 8.8.8.8"],
  ];
  test.each(allowed)("%s is public (%s)", (ip) => {
    expect(isSpecialPurposeAddress(ip)).toBe(false);
  });
});

describe("OutboundGuard.literalRefusal", () => {
  const guard = new OutboundGuard(DEFAULT_POLICY);
  const refused: [string, string][] = [
    ["http://2130706433/", "127.0.0.1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://017700000001/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"],
    ["http://[::1]/", "::1"],
    ["http://169.254.169.254/latest/meta-data", "169.254.169.254"],
    ["http://localhost:8080/", "localhost"],
    ["http://foo.localhost/", "foo.localhost"],
    ["http://LOCALHOST./", "localhost."],
  ];
  test.each(refused)("%s is refused, naming %s", (url, named) => {
    const reason = guard.literalRefusal(new URL(url));
    expect(reason).toContain(named);
  });

  test.each(["https://example.com/", "http://8.8.8.8/", "http://[2606:4700:4700::1111]/"])(
    "%s is accepted",
    (url) => {
      expect(guard.literalRefusal(new URL(url))).toBeNull();
    },
  );

  test("names the normalised address in the reason", () => {
    expect(guard.literalRefusal(new URL("http://2130706433/"))).toBe(
      "endpoint resolves to a private address (127.0.0.1)",
    );
  });
});

describe("the policy", () => {
  const cases: {
    name: string;
    policy: OutboundPolicy;
    refused: string[];
    allowed: string[];
  }[] = [
    {
      name: "default refuses special-purpose addresses only",
      policy: DEFAULT_POLICY,
      refused: ["127.0.0.1", "10.0.0.1", "::1", "fd00::1"],
      allowed: ["8.8.8.8", "2606:4700:4700::1111"],
    },
    {
      name: "allowPrivateTargets refuses nothing",
      policy: { allowPrivateTargets: true, allowedCidrs: [] },
      refused: [],
      allowed: ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00::1", "::ffff:7f00:1"],
    },
    {
      name: "an allowed IPv4 range opens only itself, mapped forms included",
      policy: { allowPrivateTargets: false, allowedCidrs: ["127.0.0.0/8"] },
      refused: ["10.0.0.1", "::1", "169.254.169.254"],
      allowed: ["127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "8.8.8.8"],
    },
    {
      name: "an allowed IPv6 range",
      policy: { allowPrivateTargets: false, allowedCidrs: ["fd00::/8"] },
      refused: ["fc00::1", "fe80::1", "10.0.0.1"],
      allowed: ["fd12::1", "fdff:ffff::1"],
    },
  ];
  for (const { name, policy, refused, allowed } of cases) {
    test(name, () => {
      const guard = new OutboundGuard(policy);
      for (const ip of refused)
        expect({ ip, refused: guard.isRefused(ip) }).toEqual({ ip, refused: true });
      for (const ip of allowed)
        expect({ ip, refused: guard.isRefused(ip) }).toEqual({ ip, refused: false });
    });
  }

  test("allowPrivateTargets also lets localhost names and literals through at PUT", () => {
    const guard = new OutboundGuard({ allowPrivateTargets: true, allowedCidrs: [] });
    expect(guard.literalRefusal(new URL("http://localhost:8080/"))).toBeNull();
    expect(guard.literalRefusal(new URL("http://127.1/"))).toBeNull();
  });
});

describe("OutboundGuard.resolve", () => {
  const resolver = fixedResolver({
    "internal.example": ["127.0.0.1"],
    "mixed.example": ["10.0.0.1", "93.184.216.34"],
    "empty.example": [],
    "v6.example": ["2606:4700:4700::1111"],
  });
  const guard = new OutboundGuard(DEFAULT_POLICY, resolver);

  test("a name resolving only to loopback is blocked, naming the address and the host", async () => {
    const attempt = guard.resolve(new URL("https://internal.example/hook"));
    await expect(attempt).rejects.toBeInstanceOf(BlockedTargetError);
    await expect(attempt).rejects.toThrow("blocked: private address 127.0.0.1 (internal.example)");
  });

  test("refused addresses are skipped and the first allowed one is pinned", async () => {
    expect(await guard.resolve(new URL("https://mixed.example/"))).toEqual({
      address: "93.184.216.34",
      family: 4,
      hostname: "mixed.example",
    });
    expect(await guard.resolve(new URL("https://v6.example/"))).toMatchObject({ family: 6 });
  });

  const failures: [string, string][] = [
    ["https://nohost.invalid/", "dns lookup failed for nohost.invalid: ENOTFOUND"],
    ["https://empty.example/", "dns lookup failed for empty.example: no addresses"],
  ];
  test.each(failures)("%s gives a ResolveError", async (url, message) => {
    const attempt = guard.resolve(new URL(url));
    await expect(attempt).rejects.toBeInstanceOf(ResolveError);
    await expect(attempt).rejects.toThrow(message);
  });

  test("IP literals are judged without asking the resolver", async () => {
    const before = resolver.calls;
    expect(await guard.resolve(new URL("http://[2606:4700:4700::1111]:8443/"))).toEqual({
      address: "2606:4700:4700::1111",
      family: 6,
      hostname: "2606:4700:4700::1111",
    });
    await expect(guard.resolve(new URL("http://0x7f.1/"))).rejects.toThrow(
      new BlockedTargetError("blocked: private address 127.0.0.1"),
    );
    expect(resolver.calls).toBe(before);
  });

  test("localhost through the system resolver: refused by default, allowed when opened up", async () => {
    const url = new URL("http://localhost:8080/");
    await expect(
      new OutboundGuard(DEFAULT_POLICY, systemResolver).resolve(url),
    ).rejects.toBeInstanceOf(BlockedTargetError);
    const open = new OutboundGuard({ allowPrivateTargets: true, allowedCidrs: [] });
    const pinned = await open.resolve(url);
    expect(["127.0.0.1", "::1"]).toContain(pinned.address);
    expect(pinned.hostname).toBe("localhost");
  });
});
