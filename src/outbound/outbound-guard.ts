/**
 * The SSRF guard of SPEC §6.3. A webhook endpoint is a URL chosen by an API client, so before
 * Hookpost connects to it the host is resolved here, every address that points inside the
 * network (loopback, private, link-local and the other special-purpose ranges) is dropped, and
 * the caller pins its connection to the address returned — so a second DNS answer cannot swap
 * in a private one between the check and the connect.
 */

import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/** What an operator has opened up (`HOOKPOST_ALLOW_PRIVATE_TARGETS`, `HOOKPOST_ALLOWED_CIDRS`). */
export interface OutboundPolicy {
  allowPrivateTargets: boolean;
  /** CIDRs such as `10.0.0.0/8` or `fd00::/8`, already validated by the config parser. */
  allowedCidrs: string[];
}

/** Every address of a host name (A and AAAA), in the resolver's order. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** The operating system's resolver, so `/etc/hosts` and the system's DNS settings apply. */
export const systemResolver: Resolver = async (hostname) => {
  const entries = await lookup(hostname, { all: true, verbatim: true });
  return entries.map((entry) => entry.address);
};

/** The target is refused by the policy; the message is what the delivery log shows. */
export class BlockedTargetError extends Error {
  override name = "BlockedTargetError";
}

/** The host name could not be resolved to any address; the message names the host. */
export class ResolveError extends Error {
  override name = "ResolveError";
}

/** The checked address a delivery connects to, and the name it was asked for (no brackets). */
export interface PinnedTarget {
  address: string;
  family: 4 | 6;
  hostname: string;
}

// Never add ::ffff:0:0/96 here: BlockList matches an IPv6 rule over that range against every
// plain IPv4 address, which would refuse the whole IPv4 internet. IPv4 rules already match the
// mapped forms (::ffff:127.0.0.1, ::ffff:7f00:1) on their own.
const SPECIAL_PURPOSE_RANGES: readonly string[] = [
  "0.0.0.0/8", // "this network", unspecified
  "10.0.0.0/8", // RFC 1918
  "100.64.0.0/10", // carrier-grade NAT
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local, including the cloud metadata service 169.254.169.254
  "172.16.0.0/12", // RFC 1918
  "192.0.0.0/24", // IETF protocol assignments
  "192.0.2.0/24", // documentation (TEST-NET-1)
  "192.168.0.0/16", // RFC 1918
  "198.18.0.0/15", // benchmarking
  "198.51.100.0/24", // documentation (TEST-NET-2)
  "203.0.113.0/24", // documentation (TEST-NET-3)
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, up to and including the broadcast 255.255.255.255
  "::/128", // unspecified
  "::1/128", // loopback
  "64:ff9b:1::/48", // local-use NAT64 (RFC 8215)
  "2001:db8::/32", // documentation
  "fc00::/7", // unique-local
  "fe80::/10", // link-local
  "fec0::/10", // deprecated site-local, still private where it is used
  "ff00::/8", // multicast
];

const specialPurpose = blockListOf(SPECIAL_PURPOSE_RANGES);

/**
 * Whether an address lies in a range a webhook must not reach, whatever the policy. IPv6 forms
 * that carry an IPv4 address (mapped, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
 * are also judged by that IPv4 address. A string that is not an IP address counts as special,
 * so a caller that forgets to resolve fails closed.
 *
 * @example isSpecialPurposeAddress("169.254.169.254") // true
 * @example isSpecialPurposeAddress("2002:808:808::1") // false: 6to4 of 8.8.8.8
 */
export function isSpecialPurposeAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  if (specialPurpose.check(ip, family === 4 ? "ipv4" : "ipv6")) return true;
  const embedded = family === 6 ? embeddedIPv4(ip) : null;
  return embedded !== null && isSpecialPurposeAddress(embedded);
}

/** Applies an {@link OutboundPolicy} to endpoint URLs: at `PUT /webhooks` and before each send. */
export class OutboundGuard {
  private readonly allowed: BlockList;

  constructor(
    private readonly policy: OutboundPolicy,
    private readonly resolver: Resolver = systemResolver,
  ) {
    this.allowed = blockListOf(policy.allowedCidrs);
  }

  /** Whether connecting to this IP is refused: special-purpose and not opened up by the policy. */
  isRefused(ip: string): boolean {
    if (this.policy.allowPrivateTargets) return false;
    if (!isSpecialPurposeAddress(ip)) return false;
    return !this.isAllowed(ip);
  }

  /**
   * The reason to reject an endpoint at `PUT /webhooks`, or null. Only what the URL says by
   * itself is judged: an IP literal (after the URL parser's normalisation, so `http://2130706433/`
   * is 127.0.0.1) and the `localhost` names, which always mean loopback. Other names are resolved
   * at delivery time, since their addresses can change after the webhook is saved.
   */
  literalRefusal(url: URL): string | null {
    if (this.policy.allowPrivateTargets) return null;
    const host = bareHostname(url);
    const name = host.replace(/\.$/, "");
    if (name === "localhost" || name.endsWith(".localhost")) {
      return `endpoint host ${host} always means loopback`;
    }
    if (isIP(host) !== 0 && this.isRefused(host)) {
      return `endpoint resolves to a private address (${host})`;
    }
    return null;
  }

  /**
   * The address to connect to: the literal itself, or the first resolved address the policy
   * allows. Throws {@link BlockedTargetError} when every address is refused and
   * {@link ResolveError} when the name does not resolve.
   */
  async resolve(url: URL): Promise<PinnedTarget> {
    const hostname = bareHostname(url);
    const addresses = isIP(hostname) !== 0 ? [hostname] : await this.lookup(hostname);
    const address = addresses.find((candidate) => !this.isRefused(candidate));
    if (address === undefined) {
      const named = addresses[0] === hostname ? "" : ` (${hostname})`;
      throw new BlockedTargetError(`blocked: private address ${addresses[0]}${named}`);
    }
    return { address, family: isIP(address) === 4 ? 4 : 6, hostname };
  }

  private async lookup(hostname: string): Promise<string[]> {
    let addresses: string[];
    try {
      addresses = await this.resolver(hostname);
    } catch (error) {
      throw new ResolveError(`dns lookup failed for ${hostname}: ${failureCode(error)}`);
    }
    if (addresses.length === 0) {
      throw new ResolveError(`dns lookup failed for ${hostname}: no addresses`);
    }
    return addresses;
  }

  /** An address carrying an IPv4 one is allowed when either form lies in an allowed range. */
  private isAllowed(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) return false;
    if (this.allowed.check(ip, family === 4 ? "ipv4" : "ipv6")) return true;
    const embedded = family === 6 ? embeddedIPv4(ip) : null;
    return embedded !== null && this.allowed.check(embedded, "ipv4");
  }
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = "", prefix = ""] = cidr.split("/");
    list.addSubnet(network, Number(prefix), isIP(network) === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

/** The URL's host as an address or name: IPv6 literals lose the brackets URL keeps on them. */
function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** `ENOTFOUND` for DNS errors, else the error's message. */
function failureCode(error: unknown): string {
  if (error instanceof Error) {
    const code: unknown = (error as { code?: unknown }).code;
    return typeof code === "string" ? code : error.message;
  }
  return String(error);
}

/**
 * The IPv4 address inside an IPv6 one that carries it: mapped `::ffff:a.b.c.d`, compatible
 * `::a.b.c.d` (so `::1` reads as 0.0.0.1), NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:AABB:CCDD::`.
 */
function embeddedIPv4(ip: string): string | null {
  const groups = ipv6Groups(ip);
  const quad = (high: number, low: number) =>
    [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zeroMiddle = g2 === 0 && g3 === 0 && g4 === 0;
  if (g0 === 0 && g1 === 0 && zeroMiddle && (g5 === 0xffff || g5 === 0)) return quad(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && zeroMiddle && g5 === 0) return quad(g6, g7);
  if (g0 === 0x2002 && g1 !== undefined && g2 !== undefined) return quad(g1, g2);
  return null;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and a trailing quad split. */
function ipv6Groups(ip: string): number[] {
  const [head = "", tail] = (ip.split("%")[0] ?? "").split("::");
  const parse = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((piece) => {
          if (!piece.includes(".")) return [Number.parseInt(piece, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = piece.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
