// The interface table: one entry per link the host attached, set from the host on attach (the iface*
// exports in engine/edge.ts). An interface carries raw IP packets or Ethernet II frames; an Ethernet
// interface has a MAC address, our addresses on it with their prefix lengths (the on-link prefixes),
// at most one gateway per IP version, and the routes the host gave the link, so that the core picks
// the same link for a packet as the host's route table (src/net/routes.ts: longest prefix, the
// earlier link on a tie).
//
// Addresses are held as Segment holds them (wire/segment.ts): IPv4 loaded with load<u32> into A and
// B = 0, IPv6 as two u64 halves in memory byte order. Prefix tests byte-swap them to numbers.
import { NEVER } from "./timers";
import { nbChanged } from "./neighbour";

export const MAX_IFACES: u32 = 8;
/** Own addresses per interface (IPv4 and IPv6 together), the derived link-local one included. */
export const MAX_ADDRESSES: u32 = 8;
/** Route prefixes per interface. */
export const MAX_ROUTES: u32 = 8;

export const enum IfKind {
  NONE = 0,
  IP = 1,
  ETHERNET = 2,
}

/** RFC 4862 5.4 / RFC 4429: an IPv6 address is optimistic (usable) until DAD ends, then preferred or duplicate. */
export const enum Dad {
  /** IPv4, or DAD done without a conflict. */
  PREFERRED = 0,
  /** RFC 4429 3: usable while DAD runs. */
  OPTIMISTIC = 1,
  /** RFC 4862 5.4.5: another node holds it; we no longer answer for it. */
  DUPLICATE = 2,
}

@unmanaged export class Address {
  a: u64;
  b: u64;
  dadDeadline: i64;
  version: u32;
  prefixLen: u32;
  dad: u32;
  dadSent: u32;
}

@unmanaged export class Route {
  a: u64;
  b: u64;
  version: u32;
  prefixLen: u32;
}

@unmanaged export class Iface {
  mac: u64;
  gw6A: u64;
  gw6B: u64;
  /** The next router advertisement (RFC 4861 6.2.4), NEVER when not a router. */
  raDeadline: i64;
  /** When the last router advertisement went out (RFC 4861 6.2.6 rate limit). */
  raLastUs: i64;
  kind: u32;
  mtu: u32;
  gw4: u32;
  hasGw4: bool;
  hasGw6: bool;
  router: bool;
  up: bool;
  addressCount: u32;
  routeCount: u32;
  /** Initial advertisements still to send (RFC 4861 6.2.4 MAX_INITIAL_RTR_ADVERTISEMENTS). */
  raInitialLeft: u32;
  /** Gateway mode (forward.ts): AnyDestination flags, 0 for an ordinary interface. */
  anyDestination: u32;
}

const IFACE_SIZE: usize = (offsetof<Iface>() + 7) & ~<usize>7;
const ADDRESS_SIZE: usize = offsetof<Address>();
const ROUTE_SIZE: usize = offsetof<Route>();
const ifaces = memory.data(<i32>(IFACE_SIZE * MAX_IFACES), 8);
const addresses = memory.data(<i32>(ADDRESS_SIZE * MAX_IFACES * MAX_ADDRESSES), 8);
const routes = memory.data(<i32>(ROUTE_SIZE * MAX_IFACES * MAX_ROUTES), 8);

/** Ethernet interfaces configured: 0 keeps the raw-IP output path free of any framing work. */
export let ethernetCount: u32 = 0;

@inline export function ifaceAt(i: u32): Iface {
  return changetype<Iface>(ifaces + <usize>i * IFACE_SIZE);
}

@inline export function addressAt(i: u32, k: u32): Address {
  return changetype<Address>(addresses + (<usize>i * MAX_ADDRESSES + <usize>k) * ADDRESS_SIZE);
}

@inline function routeAt(i: u32, k: u32): Route {
  return changetype<Route>(routes + (<usize>i * MAX_ROUTES + <usize>k) * ROUTE_SIZE);
}

@inline export function isEthernet(i: u32): bool {
  return i < MAX_IFACES && ifaceAt(i).kind == IfKind.ETHERNET;
}

/** (Re)sets interface `i`: no addresses, routes or gateways yet. */
export function ifaceReset(i: u32, kind: u32, mac: u64, mtu: u32, router: bool): void {
  const f = ifaceAt(i);
  if (f.kind == IfKind.ETHERNET) ethernetCount--;
  memory.fill(changetype<usize>(f), 0, IFACE_SIZE);
  f.kind = kind;
  f.mac = mac;
  f.mtu = mtu;
  f.router = router;
  f.raDeadline = NEVER;
  f.raLastUs = i64.MIN_VALUE >> 1;
  if (kind == IfKind.ETHERNET) ethernetCount++;
  if (i >= ifaceLimit) ifaceLimit = i + 1;
  nbChanged();
}

/** One past the highest interface index configured: the route lookup looks no further. */
let ifaceLimit: u32 = 0;

/** Adds an own address; false when the interface holds MAX_ADDRESSES already. */
export function ifaceAddAddress(i: u32, version: u32, a: u64, b: u64, prefixLen: u32, dad: u32): bool {
  const f = ifaceAt(i);
  if (f.addressCount >= MAX_ADDRESSES) return false;
  nbChanged();
  const e = addressAt(i, f.addressCount++);
  e.a = a;
  e.b = b;
  e.version = version;
  e.prefixLen = prefixLen;
  e.dad = dad;
  e.dadSent = 0;
  e.dadDeadline = NEVER;
  return true;
}

export function ifaceAddRoute(i: u32, version: u32, a: u64, b: u64, prefixLen: u32): bool {
  const f = ifaceAt(i);
  if (f.routeCount >= MAX_ROUTES) return false;
  nbChanged();
  const r = routeAt(i, f.routeCount++);
  r.a = a;
  r.b = b;
  r.version = version;
  r.prefixLen = prefixLen;
  return true;
}

/** Whether the first `len` bits of (a, b) and (pa, pb) agree. */
export function prefixHolds(version: u32, pa: u64, pb: u64, len: u32, a: u64, b: u64): bool {
  if (len == 0) return true;
  if (version == 4) {
    const mask: u32 = len >= 32 ? 0xffffffff : ~(<u32>0xffffffff >> len);
    return ((bswap<u32>(<u32>pa) ^ bswap<u32>(<u32>a)) & mask) == 0;
  }
  const hi = bswap<u64>(pa) ^ bswap<u64>(a);
  if (len <= 64) {
    const mask: u64 = len == 64 ? u64.MAX_VALUE : ~(u64.MAX_VALUE >> len);
    return (hi & mask) == 0;
  }
  if (hi != 0) return false;
  const rest = len - 64;
  const mask: u64 = rest >= 64 ? u64.MAX_VALUE : ~(u64.MAX_VALUE >> rest);
  return ((bswap<u64>(pb) ^ bswap<u64>(b)) & mask) == 0;
}

/**
 * The interface whose route holds the destination with the longest prefix, the earlier interface on
 * a tie (src/net/routes.ts routeTo), or -1.
 */
export function routeLookup(version: u32, a: u64, b: u64): i32 {
  let best: i32 = -1;
  let bestLen: i32 = -1;
  for (let i: u32 = 0; i < ifaceLimit; i++) {
    const f = ifaceAt(i);
    if (f.kind == IfKind.NONE) continue;
    for (let k: u32 = 0; k < f.routeCount; k++) {
      const r = routeAt(i, k);
      if (r.version == version && <i32>r.prefixLen > bestLen && prefixHolds(version, r.a, r.b, r.prefixLen, a, b)) {
        best = <i32>i;
        bestLen = <i32>r.prefixLen;
      }
    }
  }
  return best;
}

/** The index of our address (a, b) on interface `i`, or -1. */
export function ownAddressIndex(i: u32, version: u32, a: u64, b: u64): i32 {
  const f = ifaceAt(i);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(i, k);
    if (e.version == version && e.a == a && e.b == b) return <i32>k;
  }
  return -1;
}

/** Whether (a, b) is one of our addresses on any interface (a packet to it loops back in the host). */
export function isOwnAnywhere(version: u32, a: u64, b: u64): bool {
  for (let i: u32 = 0; i < ifaceLimit; i++) {
    if (ifaceAt(i).kind != IfKind.NONE && ownAddressIndex(i, version, a, b) >= 0) return true;
  }
  return false;
}

/**
 * The on-link rule of an Ethernet interface: a destination inside one of our address prefixes, an
 * IPv6 link-local destination, or any destination when the interface has no gateway of its version.
 */
export function isOnLink(i: u32, version: u32, a: u64, b: u64): bool {
  const f = ifaceAt(i);
  if (version == 4 ? !f.hasGw4 : !f.hasGw6) return true;
  if (version == 6 && (a & 0xc0ff) == 0x80fe) return true;
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(i, k);
    if (e.version == version && prefixHolds(version, e.a, e.b, e.prefixLen, a, b)) return true;
  }
  return false;
}

/** The source address for an IPv4 packet out of interface `i`: the first own IPv4 address, or 0. */
export function firstIpv4(i: u32): u32 {
  const f = ifaceAt(i);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(i, k);
    if (e.version == 4) return <u32>e.a;
  }
  return 0;
}

/** RFC 4291 2.5.1 and appendix A: the modified EUI-64 interface identifier of a 48-bit MAC, as the low half. */
export function eui64Low(mac: u64): u64 {
  // Bytes m0 m1 m2 ff fe m3 m4 m5, with the universal/local bit (0x02 of m0) inverted.
  const m0 = (mac & 0xff) ^ 0x02;
  return m0 | (mac & 0xff00) | (mac & 0xff0000) | (<u64>0xff << 24) | (<u64>0xfe << 32) |
    (((mac >> 24) & 0xff) << 40) | (((mac >> 32) & 0xff) << 48) | (((mac >> 40) & 0xff) << 56);
}

/** fe80::/64 as a high half. */
export const LINK_LOCAL_HIGH: u64 = 0x80fe;
