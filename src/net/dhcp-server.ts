// createDhcpServer: a DHCP server (RFC 2131, options RFC 2132) as a sans-I/O module. The UDP
// payload a client sent to port 67 goes in with the time, the reply (if any) comes out with where to
// send it (RFC 2131 4.1). This file checks the options and derives the option data sent to clients;
// the pool and its state machine are src/net/dhcp-pool.ts, the message format dhcp-message.ts.
// Browser-safe.
import { parseIpv4 } from "../core/address.js";
import { invalidValue, optionsObject, validateArray, validateInteger, validateKnownKeys, validateString } from "../core/validate.js";
import { addressData, Opt, u16Data, u32Data } from "./dhcp-message.js";
import { openPool, type DhcpServer } from "./dhcp-pool.js";

/** Options of {@link createDhcpServer}. Addresses are IPv4 text ("10.0.2.2"). */
export interface DhcpServerOptions {
  /** The server's own address: option 54 (server identifier, RFC 2132 9.7) and never leased. Required. */
  serverAddress: string;
  /**
   * The addresses to lease: a range "10.0.2.15-10.0.2.99" or a prefix "10.0.2.0/24" (then the subnet
   * defaults to it and its network and broadcast addresses are left out). At most 1,048,576 addresses.
   */
  pool: string;
  /** The subnet the clients are on, "10.0.2.0/24": option 1 (subnet mask, RFC 2132 3.3). Default: `pool` when it is a prefix; required for a range. */
  subnet?: string;
  /** Addresses of the pool never leased (the server's own is always left out). Default none. */
  reserved?: string[];
  /** Option 3 (routers, RFC 2132 3.5). Default: `[serverAddress]`; `[]` sends none. */
  routers?: string[];
  /** Option 6 (domain name servers, RFC 2132 3.8). Default none. */
  dnsServers?: string[];
  /** Option 15 (domain name, RFC 2132 3.17), 1 to 255 characters. Default none. */
  domainName?: string;
  /** Option 51 (lease time, RFC 2132 9.2), seconds, 60 to 2^31-1. Default 3600. */
  leaseTimeSeconds?: number;
  /** Option 58 (T1, RFC 2132 9.11), seconds. Default half the lease (RFC 2131 4.4.5). */
  renewalTimeSeconds?: number;
  /** Option 59 (T2, RFC 2132 9.12), seconds, at least T1 and below the lease. Default 7/8 of the lease (RFC 2131 4.4.5). */
  rebindingTimeSeconds?: number;
  /** Option 26 (interface MTU, RFC 2132 5.1), octets, 68 to 65535. Default none. */
  mtu?: number;
  /** Option 28 (broadcast address, RFC 2132 5.3). Default: the subnet's all-ones address. */
  broadcastAddress?: string;
  /** How long an OFFER holds its address for the client, milliseconds. Default 60,000. */
  offerHoldMs?: number;
  /** Most offers held at once; a new one past it evicts the oldest. Default min(pool size, 256). */
  maxOffers?: number;
  /** How long an address a client DECLINEd (RFC 2131 4.3.3) stays out of use, milliseconds. Default 600,000. */
  declineHoldMs?: number;
}

const MAX_POOL = 1 << 20;
const ALL_ONES = 0xffffffff;

const KNOWN = new Set([
  "serverAddress", "pool", "subnet", "reserved", "routers", "dnsServers", "domainName", "leaseTimeSeconds",
  "renewalTimeSeconds", "rebindingTimeSeconds", "mtu", "broadcastAddress", "offerHoldMs", "maxOffers", "declineHoldMs",
]);

function ipv4(value: unknown, name: string): number {
  validateString(value, name);
  const b = parseIpv4(value);
  if (!b) return invalidValue(name, value, "must be an IPv4 address");
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function prefixMask(length: number): number {
  return length === 0 ? 0 : (ALL_ONES << (32 - length)) >>> 0;
}

function prefix(value: unknown, name: string): { network: number; mask: number } {
  validateString(value, name);
  const slash = value.indexOf("/");
  const length = Number(value.slice(slash + 1));
  if (slash < 0 || !/^\d+$/.test(value.slice(slash + 1)) || length > 30) {
    invalidValue(name, value, "must be an IPv4 prefix of length 0..30 (\"10.0.2.0/24\")");
  }
  const mask = prefixMask(length);
  return { network: (ipv4(value.slice(0, slash), name) & mask) >>> 0, mask };
}

function addressList(value: unknown, name: string): number[] {
  validateArray(value, name, (item, itemName) => ipv4(item, itemName));
  if (value.length > 63) invalidValue(name, value, "must hold at most 63 addresses (one option)");
  return value.map((item, i) => ipv4(item, `${name}[${i}]`));
}

function optionalInteger(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  validateInteger(value, name, min, max);
  return value;
}

/**
 * Makes a DHCP server (RFC 2131 4.3, options RFC 2132) over a fixed pool: DISCOVER gets an OFFER,
 * REQUEST an ACK or NAK, DECLINE, RELEASE and INFORM as RFC 2131 4.3.3-4.3.5 say. The module is
 * sans-I/O: feed it the UDP payloads clients send to port 67 and send what it returns.
 * Throws a TcpwasmError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) for bad options.
 */
export function createDhcpServer(options: DhcpServerOptions): DhcpServer {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", KNOWN);
  const server = ipv4(o.serverAddress, "options.serverAddress");
  validateString(o.pool, "options.pool");
  let first: number;
  let last: number;
  let subnet: { network: number; mask: number } | undefined;
  if (o.pool.includes("/")) {
    subnet = prefix(o.pool, "options.pool");
    first = subnet.network + 1;
    last = (subnet.network | ~subnet.mask) >>> 0;
    last -= 1;
  } else {
    const dash = o.pool.indexOf("-");
    if (dash < 0) invalidValue("options.pool", o.pool, "must be a range \"10.0.2.15-10.0.2.99\" or a prefix \"10.0.2.0/24\"");
    first = ipv4(o.pool.slice(0, dash).trim(), "options.pool");
    last = ipv4(o.pool.slice(dash + 1).trim(), "options.pool");
    if (last < first) invalidValue("options.pool", o.pool, "must be a range from a lower to a higher address");
  }
  if (o.subnet !== undefined) subnet = prefix(o.subnet, "options.subnet");
  if (!subnet) return invalidValue("options.subnet", o.subnet, "must be given when the pool is a range (\"10.0.2.0/24\")");
  const size = last - first + 1;
  if (size > MAX_POOL) invalidValue("options.pool", o.pool, `must hold at most ${MAX_POOL} addresses`);
  const net = subnet;
  const onSubnet = (a: number): boolean => ((a & net.mask) >>> 0) === net.network;
  if (!onSubnet(first) || !onSubnet(last)) invalidValue("options.pool", o.pool, "must lie inside the subnet");
  if (!onSubnet(server)) invalidValue("options.serverAddress", o.serverAddress, "must lie inside the subnet");
  const broadcastAddress = o.broadcastAddress === undefined ? (net.network | ~net.mask) >>> 0 : ipv4(o.broadcastAddress, "options.broadcastAddress");
  // A range may reach the subnet's own network and all-ones addresses (RFC 1122 3.2.1.3): never leased.
  const reserved = [net.network, (net.network | ~net.mask) >>> 0];
  if (o.reserved !== undefined) reserved.push(...addressList(o.reserved, "options.reserved"));
  const routers = o.routers === undefined ? [server] : addressList(o.routers, "options.routers");
  const dns = o.dnsServers === undefined ? [] : addressList(o.dnsServers, "options.dnsServers");
  let domain: Uint8Array | null = null;
  if (o.domainName !== undefined) {
    validateString(o.domainName, "options.domainName");
    if (!/^[\x21-\x7e]{1,255}$/.test(o.domainName)) invalidValue("options.domainName", o.domainName, "must be 1 to 255 printable ASCII characters");
    domain = Uint8Array.from(o.domainName, (c) => c.charCodeAt(0));
  }
  const lease = optionalInteger(o.leaseTimeSeconds, "options.leaseTimeSeconds", 60, 0x7fffffff, 3600);
  const t1 = optionalInteger(o.renewalTimeSeconds, "options.renewalTimeSeconds", 1, lease - 1, Math.floor(lease / 2));
  const t2 = optionalInteger(o.rebindingTimeSeconds, "options.rebindingTimeSeconds", t1, lease - 1, Math.max(t1, Math.floor((lease * 7) / 8)));
  const mtu = o.mtu === undefined ? 0 : optionalInteger(o.mtu, "options.mtu", 68, 65535, 0);
  const offerHold = optionalInteger(o.offerHoldMs, "options.offerHoldMs", 1, 86_400_000, 60_000);
  const maxOffers = optionalInteger(o.maxOffers, "options.maxOffers", 1, size, Math.min(size, 256));
  const declineHold = optionalInteger(o.declineHoldMs, "options.declineHoldMs", 1, 0x7fffffff * 1000, 600_000);

  // Configured options in RFC 2132 order; option 55 reorders them (RFC 2131 4.3.1).
  const configured: [number, Uint8Array][] = [[Opt.SUBNET_MASK, u32Data(net.mask)]];
  if (routers.length) configured.push([Opt.ROUTER, addressData(routers)]);
  if (dns.length) configured.push([Opt.DNS_SERVERS, addressData(dns)]);
  if (domain) configured.push([Opt.DOMAIN_NAME, domain]);
  if (mtu) configured.push([Opt.INTERFACE_MTU, u16Data(mtu)]);
  configured.push([Opt.BROADCAST_ADDRESS, u32Data(broadcastAddress)]);
  const serverId = u32Data(server);
  const leaseTimes: [number, Uint8Array][] = [[Opt.LEASE_TIME, u32Data(lease)], [Opt.RENEWAL_TIME, u32Data(t1)], [Opt.REBINDING_TIME, u32Data(t2)]];

  return openPool({
    first, size, server, onSubnet, reserved, configured, serverId, leaseTimes,
    leaseMs: lease * 1000, offerHoldMs: offerHold, maxOffers, declineHoldMs: declineHold,
  });
}
