// Where `tcpwasm relay` lets a client go: the allow-list, the address ranges refused unless named by
// address, and the bearer-token and Origin checks. Deny by default: with no --allow pattern nothing
// is reachable. Node only.
//
// A destination name is resolved once, here, and every address it resolves to must pass; the relay
// then connects to a checked address, never to the name again. A name whose records point inside a
// private range (DNS rebinding: evil.example -> 127.0.0.1) is refused unless that range is allowed
// by address: a name pattern or "*" admits public addresses only.
import { createHash, timingSafeEqual } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import { parseAddress, formatIpv4 } from "../core/address.js";
import { invalidValue, validateString } from "../core/validate.js";
import { parsePrefix, prefixHolds, type Prefix } from "../net/prefix.js";

/** One --allow pattern: a host (any, a name, *.suffix, or an address prefix) and a port range. */
export interface AllowPattern {
  /** The pattern as written. */
  text: string;
  /** "any" (*), "name" (exact), "suffix" (*.example.com), "prefix" (an address or CIDR). */
  kind: "any" | "name" | "suffix" | "prefix";
  /** The name or suffix, lower case, without a trailing dot. */
  name?: string;
  /** The address prefix for kind "prefix". */
  prefix?: Prefix;
  /** Lowest port allowed. */
  portMin: number;
  /** Highest port allowed. */
  portMax: number;
}

/**
 * Ranges that are not the public Internet (RFC 6890's special-purpose registries and their like):
 * reached only when an --allow pattern names them by address. IPv6 forms that embed an IPv4 address
 * (NAT64, 6to4, Teredo, IPv4-compatible) are refused outright, so an IPv4 private address cannot
 * come in disguised; IPv4-mapped addresses are checked as the IPv4 address they carry.
 */
const SPECIAL_RANGES: readonly Prefix[] = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
  "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
  "224.0.0.0/4", "240.0.0.0/4",
  "::/96", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
  "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
].map((p) => parsePrefix(p, "range"));

function holds(p: Prefix, version: 4 | 6, bytes: Uint8Array): boolean {
  return prefixHolds(p, version, bytes, 0);
}

/** An address as the relay judges it: IPv4-mapped IPv6 becomes the IPv4 address it carries. */
export function normalizeAddress(text: string): { version: 4 | 6; bytes: Uint8Array; text: string } | undefined {
  const a = parseAddress(text);
  if (!a) return undefined;
  if (a.version === 6 && a.bytes.subarray(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff) {
    const v4 = a.bytes.slice(12);
    return { version: 4, bytes: v4, text: formatIpv4(v4) };
  }
  return { version: a.version, bytes: a.bytes, text };
}

/** Whether an address is outside the public Internet (loopback, private, link-local, ...). */
export function isSpecialAddress(version: 4 | 6, bytes: Uint8Array): boolean {
  return SPECIAL_RANGES.some((p) => holds(p, version, bytes));
}

function parsePorts(text: string, what: string): [number, number] {
  if (text === "*") return [1, 65535];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || lo > hi) invalidValue(what, text, "must end in :PORT, :LOW-HIGH or :* (ports 1..65535)");
  return [lo, hi];
}

/**
 * Parses an --allow pattern: HOST:PORTS with HOST one of *, a name, *.suffix, an IPv4 address or
 * CIDR, [an IPv6 address or CIDR], and PORTS one of *, N, N-M.
 * @throws TcpwasmError ERR_INVALID_ARG_VALUE for anything else.
 */
export function parseAllowPattern(text: string, what = "allow"): AllowPattern {
  validateString(text, what);
  let host: string;
  let ports: string;
  const bracket = /^\[([^\]]+)\]:([^:]+)$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    ports = bracket[2]!;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon <= 0 || text.indexOf(":") !== colon) invalidValue(what, text, "must be HOST:PORTS (an IPv6 host in brackets: [::1]:80)");
    host = text.slice(0, colon);
    ports = text.slice(colon + 1);
  }
  const [portMin, portMax] = parsePorts(ports, what);
  const base = { text, portMin, portMax };
  if (host === "*") return { ...base, kind: "any" };
  if (parseAddress(host.split("/")[0]!)) {
    const prefix = parsePrefix(host, what);
    if (bracket === null && prefix.version === 6) invalidValue(what, text, "must put an IPv6 host in brackets");
    return { ...base, kind: "prefix", prefix: normalizePrefix(prefix) };
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  const label = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
  const suffix = name.startsWith("*.");
  const labels = (suffix ? name.slice(2) : name).split(".");
  if (!labels.every((l) => label.test(l))) invalidValue(what, text, "has a host that is no address, name, *.name or *");
  return suffix ? { ...base, kind: "suffix", name: name.slice(1) } : { ...base, kind: "name", name };
}

// An IPv4-mapped prefix (::ffff:10.0.0.0/104) is the IPv4 prefix it denotes, as addresses are judged.
function normalizePrefix(p: Prefix): Prefix {
  if (p.version === 6 && p.length >= 96 && p.bytes.subarray(0, 10).every((b) => b === 0) && p.bytes[10] === 0xff && p.bytes[11] === 0xff) {
    return { version: 4, bytes: p.bytes.slice(12), length: p.length - 96 };
  }
  return p;
}

/** A destination the policy admitted: the address to connect to (never the name again). */
export interface CheckedDestination {
  /** The address the relay connects to. */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
  /** Every address the name resolved to (all of them passed). */
  resolved: string[];
}

/** The verdict on one destination. */
export type DestinationVerdict = { allowed: true; destination: CheckedDestination } | { allowed: false; reason: string };

/** Resolves a name to every address it has. */
export type Resolve = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as node:net would use): every address, in its order. */
export const systemResolve: Resolve = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((r) => r.address);

/** The allow-list, applied: which host:port a client may reach. */
export class DestinationPolicy {
  /** The patterns, in the order given. */
  readonly patterns: readonly AllowPattern[];
  readonly #resolve: Resolve;

  /** @internal Patterns from parseAllowPattern. */
  constructor(patterns: readonly AllowPattern[], resolve: Resolve = systemResolve) {
    this.patterns = patterns;
    this.#resolve = resolve;
  }

  /** Whether some pattern admits address `a` on `port` for the name `name` (undefined for an address literal). */
  #admits(name: string | undefined, a: { version: 4 | 6; bytes: Uint8Array }, port: number): "yes" | "special" | "no" {
    let byName = false;
    for (const p of this.patterns) {
      if (port < p.portMin || port > p.portMax) continue;
      if (p.kind === "prefix") {
        if (holds(p.prefix!, a.version, a.bytes)) return "yes";
      } else if (p.kind === "any" || (name !== undefined && (p.kind === "name" ? name === p.name : name.endsWith(p.name!)))) {
        byName = true;
      }
    }
    if (!byName) return "no";
    return isSpecialAddress(a.version, a.bytes) ? "special" : "yes";
  }

  /**
   * Judges host:port: resolves a name (every address must pass), then the allow-list and the special
   * ranges. Never throws: a resolver failure is a refusal.
   */
  async check(host: string, port: number): Promise<DestinationVerdict> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return { allowed: false, reason: `bad port ${port}` };
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    const literal = normalizeAddress(bare);
    const name = literal ? undefined : bare.toLowerCase().replace(/\.$/, "");
    if (name !== undefined && !/^[a-z0-9_.-]{1,253}$/.test(name)) return { allowed: false, reason: "not an address or a host name" };
    if (this.patterns.length === 0) return { allowed: false, reason: "no --allow pattern: everything is refused" };
    let addresses: string[];
    if (literal) addresses = [literal.text];
    else {
      try {
        addresses = await this.#resolve(name!);
      } catch (err) {
        return { allowed: false, reason: `cannot resolve ${name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
      }
      if (addresses.length === 0) return { allowed: false, reason: `${name} has no address` };
    }
    const checked: { version: 4 | 6; text: string }[] = [];
    for (const text of addresses) {
      const a = normalizeAddress(text);
      if (!a) return { allowed: false, reason: `resolver gave a bad address ${JSON.stringify(text)}` };
      const verdict = this.#admits(name, a, port);
      if (verdict === "special") return { allowed: false, reason: `${a.text} is in a private, loopback or special range (allow it by address)` };
      if (verdict === "no") return { allowed: false, reason: `${name ?? a.text}:${port}${name ? ` (${a.text})` : ""} is not in the allow-list` };
      checked.push({ version: a.version, text: a.text });
    }
    const first = checked[0]!;
    return { allowed: true, destination: { address: first.text, family: first.version, resolved: checked.map((c) => c.text) } };
  }
}

/** A bearer token check in constant time (both sides hashed first, so their lengths leak nothing either). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
