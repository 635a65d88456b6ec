// The network flags of `tcpwasm serve` and `tcpwasm connect`: the stack's addresses, the UDP link it sits
// on (raw IP, or Ethernet frames with --tap), and the services it runs for a guest on that link (a DHCP
// server with --dhcp, a DNS responder with --dns). planNetwork checks the flags and their combinations
// before anything is opened, so every mistake is a usage error naming the flag.
import { lookup } from "node:dns/promises";
import { formatIpv4, parseAddress, parseIpv4 } from "../core/address.js";
import { isArgumentError } from "../core/errors.js";
import { nameLabels } from "../net/dns-message.js";
import type { DnsLookup } from "../net/dns-responder.js";
import type { Link } from "../net/link.js";
import { createUdpLink } from "../net/udp-link.js";
import { serveDhcp } from "../services/serve-dhcp.js";
import { serveDns } from "../services/serve-dns.js";
import { createStack, type Stack } from "../tcp/stack.js";
import { UsageError } from "./cli-usage.js";
import { recordLink } from "./pcap.js";
import { openPcapFile } from "./pcap-file.js";

/** The parseArgs options both commands take. */
export const networkOptions = {
  ip: { type: "string" },
  ip6: { type: "string" },
  "udp-bind": { type: "string" },
  "udp-peer": { type: "string" },
  pcap: { type: "string" },
  tap: { type: "boolean" },
  mac: { type: "string" },
  dhcp: { type: "string" },
  dns: { type: "boolean" },
  "dns-name": { type: "string", multiple: true },
} as const;

export interface NetworkValues {
  ip?: string;
  ip6?: string;
  "udp-bind"?: string;
  "udp-peer"?: string;
  pcap?: string;
  tap?: boolean;
  mac?: string;
  dhcp?: string;
  dns?: boolean;
  "dns-name"?: string[];
}

/** What the flags asked for, checked. */
export interface NetworkPlan {
  /** The stack's addresses with prefixes, IPv4 first. */
  addresses: string[];
  /** The stack's IPv4 address (no prefix), if --ip. */
  v4?: string;
  /** The stack's IPv6 address (no prefix), if --ip6. */
  v6?: string;
  udpBind: string;
  udpPeer: string;
  pcap?: string;
  /** Ethernet framing on the UDP link (--tap). */
  tap: boolean;
  /** The stack's MAC on the TAP link (--mac), lower case; absent: the stack picks one. */
  mac?: string;
  /** The DHCP server's settings (--dhcp): pool as given, the subnet of --ip, the stack as router. */
  dhcp?: { pool: string; serverAddress: string; subnet: string };
  /** The DNS responder's own names (--dns-name) and their addresses, if --dns. */
  dns?: { names: Record<string, string[]> };
}

const u32 = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
const mask = (length: number) => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);
const text4 = (n: number) => formatIpv4(Uint8Array.of(n >>> 24, n >>> 16, n >>> 8, n));

/** "ADDR/PREFIX" of the given family, or a usage error naming `flag` with `example`. */
function addressWithPrefix(value: string, flag: string, version: 4 | 6, example: string): { address: string; length: number } {
  const slash = value.indexOf("/");
  const parsed = slash > 0 ? parseAddress(value.slice(0, slash)) : null;
  const length = Number(value.slice(slash + 1));
  const max = version === 4 ? 32 : 128;
  if (!parsed || parsed.version !== version || !/^\d{1,3}$/.test(value.slice(slash + 1)) || length > max) {
    throw new UsageError(`${flag} must be an IPv${version} address with prefix, like ${example}, got "${value}"`);
  }
  return { address: value.slice(0, slash), length };
}

/**
 * --dhcp POOL: a range "FIRST-LAST" or a prefix "NET/LEN", inside the subnet of --ip (the guests must
 * reach the stack on-link: it is their router and DHCP server).
 */
function checkPool(pool: string, network: number, length: number, ip: string): void {
  const subnet = `${text4(network)}/${length}`;
  const inside = (a: number) => ((a & mask(length)) >>> 0) === network;
  const range = /^([^-/\s]+)-([^-/\s]+)$/.exec(pool);
  if (range) {
    const first = parseIpv4(range[1]!);
    const last = parseIpv4(range[2]!);
    if (!first || !last) throw new UsageError(`--dhcp must be a range like 10.0.2.15-10.0.2.100 or a prefix like 10.0.2.0/24, got "${pool}"`);
    if (u32(first) > u32(last)) throw new UsageError(`--dhcp range ${pool} ends before it starts`);
    for (const [a, bytes] of [[range[1]!, first], [range[2]!, last]] as const) {
      if (!inside(u32(bytes))) throw new UsageError(`--dhcp address ${a} is outside --ip ${ip}'s subnet ${subnet}`);
    }
    return;
  }
  const slash = pool.indexOf("/");
  const net = slash > 0 ? parseIpv4(pool.slice(0, slash)) : null;
  const poolLength = Number(pool.slice(slash + 1));
  if (!net || !/^\d{1,2}$/.test(pool.slice(slash + 1)) || poolLength > 30) {
    throw new UsageError(`--dhcp must be a range like 10.0.2.15-10.0.2.100 or a prefix like 10.0.2.0/24 (length up to 30), got "${pool}"`);
  }
  if (poolLength < length || !inside(u32(net))) throw new UsageError(`--dhcp prefix ${pool} is not inside --ip ${ip}'s subnet ${subnet}`);
}

/** --dns-name NAME=ADDR, repeatable: each name gets every address given for it. */
function dnsNames(values: string[]): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const name = v.slice(0, eq).replace(/\.$/, "").toLowerCase();
    const address = v.slice(eq + 1);
    if (eq <= 0 || !nameLabels(name) || !parseAddress(address)) {
      throw new UsageError(`--dns-name must be NAME=ADDRESS with an IPv4 or IPv6 address, like gateway.test=10.0.2.2, got "${v}"`);
    }
    (names[name] ??= []).push(address);
  }
  return names;
}

/** Checks the network flags and how they combine; throws a UsageError naming the flag at fault. */
export function planNetwork(values: NetworkValues): NetworkPlan {
  if (values.ip === undefined && values.ip6 === undefined) throw new UsageError("give the stack an address: --ip ADDR/PREFIX and/or --ip6 ADDR/PREFIX");
  const v4 = values.ip === undefined ? undefined : addressWithPrefix(values.ip, "--ip", 4, "10.77.0.2/24");
  const v6 = values.ip6 === undefined ? undefined : addressWithPrefix(values.ip6, "--ip6", 6, "fd77::2/64");
  if (!values["udp-bind"]) throw new UsageError("--udp-bind HOST:PORT is required");
  if (!values["udp-peer"]) throw new UsageError("--udp-peer HOST:PORT is required");
  const tap = values.tap === true;
  let mac: string | undefined;
  if (values.mac !== undefined) {
    if (!tap) throw new UsageError("--mac needs --tap: only an Ethernet link has MAC addresses");
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(values.mac)) throw new UsageError(`--mac must be six hex octets like 02:00:00:00:00:01, got "${values.mac}"`);
    if (parseInt(values.mac.slice(0, 2), 16) & 1) throw new UsageError(`--mac must be a unicast MAC (the first octet even), got "${values.mac}"`);
    mac = values.mac.toLowerCase();
  }
  let dhcp: NetworkPlan["dhcp"];
  if (values.dhcp !== undefined) {
    if (!tap) throw new UsageError("--dhcp needs --tap: DHCP clients broadcast Ethernet frames");
    if (!v4) throw new UsageError("--dhcp needs --ip: the DHCP server's address and the guests' subnet");
    if (v4.length > 30) throw new UsageError(`--dhcp needs a subnet with room for guests: --ip ${values.ip} has a /${v4.length}`);
    const network = (u32(parseIpv4(v4.address)!) & mask(v4.length)) >>> 0;
    checkPool(values.dhcp, network, v4.length, values.ip!);
    dhcp = { pool: values.dhcp, serverAddress: v4.address, subnet: `${text4(network)}/${v4.length}` };
  }
  const names = values["dns-name"] ?? [];
  if (names.length && !values.dns) throw new UsageError("--dns-name needs --dns: the names are answered by the stack's DNS responder");
  return {
    addresses: [values.ip, values.ip6].filter((a): a is string => a !== undefined),
    v4: v4?.address,
    v6: v6?.address,
    udpBind: values["udp-bind"],
    udpPeer: values["udp-peer"],
    pcap: values.pcap,
    tap,
    mac,
    dhcp,
    dns: values.dns ? { names: dnsNames(names) } : undefined,
  };
}

/** How long one name may take to resolve before the guest is answered SERVFAIL. */
const LOOKUP_TIMEOUT_MS = 5000;
/**
 * Queries answered at once (serveDns maxPendingQueries; past it a query is dropped and counted).
 * getaddrinfo runs on libuv's four-thread pool: a guest asking for random names faster than they
 * resolve would otherwise queue a thousand lookups there and stall every other use of the pool.
 */
const MAX_PENDING_QUERIES = 64;

/** getaddrinfo's "no such name" (EAI_NONAME) and "no address" (EAI_NODATA), as Node reports them. */
const notFound = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOTFOUND" || code === "ENODATA";
};

/** One getaddrinfo call, rejected after LOOKUP_TIMEOUT_MS. */
function boundedLookup(name: string, family: 0 | 4 | 6): Promise<{ address: string }[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup of ${name} took over ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS);
  });
  return Promise.race([lookup(name, { family, all: true }), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves a guest's query the way this machine resolves names: Node's dns.promises.lookup
 * (getaddrinfo: /etc/hosts, then the configured DNS servers). A rejection is answered SERVFAIL.
 */
export const lookupThroughNode: DnsLookup = async (name, type) => {
  try {
    return (await boundedLookup(name, type === "A" ? 4 : 6)).map((a) => a.address);
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  // getaddrinfo reports a name without addresses of one family like a name that does not exist; a
  // lookup of any family tells NODATA (RFC 2308 2.2) from NXDOMAIN (2.1).
  try {
    await boundedLookup(name, 0);
    return [];
  } catch (err) {
    if (notFound(err)) return null;
    throw err;
  }
};

/** A stack on its UDP link, with the services the flags asked for. */
export interface OpenNetwork {
  stack: Stack;
  /** The stack's MAC on the TAP link (--mac, or the one it drew); undefined without --tap. */
  mac: string | undefined;
  /** Stops the services and the stack, and closes the capture. */
  shutdown(): void;
}

/** Usage errors for what the stack or the link refuse as arguments; anything else is a runtime error. */
function asUsage(err: unknown): unknown {
  return isArgumentError(err) ? new UsageError(err.message) : err;
}

/**
 * Opens what `plan` describes: the UDP link (Ethernet framing with --tap), the stack on it (with a MAC,
 * and as the guests' IPv6 router when it has an IPv6 address), the capture, the DHCP server and the DNS
 * responder.
 */
export async function openNetwork(plan: NetworkPlan, name: string): Promise<OpenNetwork> {
  let udp: Link;
  try {
    udp = await createUdpLink({ bind: plan.udpBind, peer: plan.udpPeer, framing: plan.tap ? "ethernet" : "ip" });
  } catch (err) {
    throw asUsage(err);
  }
  const pcap = plan.pcap ? openPcapFile(plan.pcap) : undefined;
  const services: { close(): void }[] = [];
  const link = pcap ? recordLink(udp, pcap.sink) : udp;
  let stack: Stack | undefined;
  try {
    stack = await createStack({ addresses: plan.addresses, name });
    // RFC 4861 6.2: a router advertises the prefixes of its addresses; the guest's only router is us.
    stack.attach(link, plan.tap ? { mac: plan.mac, router: plan.v6 !== undefined } : undefined);
    if (plan.dhcp) {
      services.push(serveDhcp(stack, {
        link,
        serverAddress: plan.dhcp.serverAddress,
        pool: plan.dhcp.pool,
        subnet: plan.dhcp.subnet,
        routers: [plan.dhcp.serverAddress],
        dnsServers: plan.dns ? [plan.dhcp.serverAddress] : [],
      }));
    }
    if (plan.dns) services.push(serveDns(stack, { names: plan.dns.names, lookup: lookupThroughNode, maxPendingQueries: MAX_PENDING_QUERIES }));
  } catch (err) {
    for (const s of services) s.close();
    stack?.close();
    udp.close();
    pcap?.close();
    throw asUsage(err);
  }
  const opened = stack;
  return {
    stack: opened,
    mac: opened.macAddress(link),
    shutdown() {
      for (const s of services) s.close();
      opened.close();
      pcap?.close();
    },
  };
}

/** The link and services in a line: "UDP 127.0.0.1:7000 <-> 127.0.0.1:7001, TAP as 02:..., DHCP 10.0.2.15-10.0.2.100, DNS". */
export function describeNetwork(plan: NetworkPlan, mac: string | undefined): string {
  const parts = [`UDP ${plan.udpBind} <-> ${plan.udpPeer}`];
  if (plan.tap) parts.push(`TAP as ${mac}`);
  if (plan.dhcp) parts.push(`DHCP ${plan.dhcp.pool}`);
  if (plan.dns) parts.push("DNS");
  return parts.join(", ");
}
