// The interface exports: the host describes each attached link (engine/iface.ts) and brings it up;
// the edge's timers (neighbour cache, duplicate address detection, router advertisements) join the
// engine's (engine.ts engineTimers / engineNextDeadline).
//
// Protocol, per link, on attach: ifaceConfigure (kind, MTU, router flag; the MAC as 6 bytes at
// engineParamPtr()), then ifaceAddAddress / ifaceAddGateway / ifaceAddRoute as often as needed (an
// address or prefix as 16 bytes at engineParamPtr(), IPv4 in the first 4), then ifaceUp(now): the
// link-local address is derived, duplicate address detection starts, announcements go out. Each
// returns 0 or -EINVAL.
import { paramPtr } from "./user";
import { loadMac } from "../wire/ethernet";
import {
  ifaceAt, addressAt, ifaceReset, ifaceAddAddress, ifaceAddRoute, ownAddressIndex, eui64Low, IfKind, Dad, MAX_IFACES,
  LINK_LOCAL_HIGH,
} from "./iface";
import { neighbourInit, nbChanged, nbDeadline, neighbourBytesPerEntry, neighbourCount, neighbourCapacity } from "./neighbour";
import { neighbourTimers, arpAnnounce } from "./resolve";
import { ndInterfaceUp, ndTimers, ndDeadline } from "./ndisc";
import { Err } from "./errors";

@inline function addrA(version: u32): u64 {
  const p = paramPtr();
  return version == 4 ? <u64>load<u32>(p) : load<u64>(p);
}

@inline function addrB(version: u32): u64 {
  return version == 4 ? 0 : load<u64>(paramPtr(), 8);
}

@inline function validVersionLength(version: u32, prefixLen: u32): bool {
  return (version == 4 && prefixLen <= 32) || (version == 6 && prefixLen <= 128);
}

/**
 * (Re)configures interface `ifIndex`: kind 1 raw IP, 2 Ethernet (MAC at engineParamPtr()), its MTU
 * (the IP MTU), and `router` (1: send router advertisements). Addresses, gateways and routes are
 * cleared.
 */
export function ifaceConfigure(ifIndex: u32, kind: u32, mtu: u32, router: u32): i32 {
  // The MTU range config.ts takes for its MTU key, which a link without an MTU of its own inherits.
  if (ifIndex >= MAX_IFACES || (kind != IfKind.IP && kind != IfKind.ETHERNET) || mtu < 128 || mtu > 65535) return -Err.EINVAL;
  const mac: u64 = kind == IfKind.ETHERNET ? loadMac(paramPtr()) : 0;
  // A group or all-zero MAC cannot be a station's address (IEEE 802 I/G bit).
  if (kind == IfKind.ETHERNET && ((mac & 1) != 0 || mac == 0)) return -Err.EINVAL;
  if (kind == IfKind.ETHERNET && !neighbourInit(mtu)) return -Err.ENOBUFS;
  ifaceReset(ifIndex, kind, mac, mtu, router != 0);
  return 0;
}

/** Adds our address (at engineParamPtr()) with its prefix length to interface `ifIndex`. */
export function ifaceAddAddressExport(ifIndex: u32, version: u32, prefixLen: u32): i32 {
  if (ifIndex >= MAX_IFACES || ifaceAt(ifIndex).kind == IfKind.NONE || !validVersionLength(version, prefixLen)) return -Err.EINVAL;
  const a = addrA(version);
  const b = addrB(version);
  if (ownAddressIndex(ifIndex, version, a, b) >= 0) return 0;
  // RFC 4429 3.1: an IPv6 address starts optimistic; duplicate address detection runs at ifaceUp.
  return ifaceAddAddress(ifIndex, version, a, b, prefixLen, version == 6 ? Dad.OPTIMISTIC : Dad.PREFERRED) ? 0 : -Err.ENOBUFS;
}

/** Sets the gateway of `version` (at engineParamPtr()) for off-link destinations. */
export function ifaceAddGateway(ifIndex: u32, version: u32): i32 {
  if (ifIndex >= MAX_IFACES || ifaceAt(ifIndex).kind != IfKind.ETHERNET || (version != 4 && version != 6)) return -Err.EINVAL;
  const f = ifaceAt(ifIndex);
  nbChanged();
  if (version == 4) {
    f.gw4 = <u32>addrA(4);
    f.hasGw4 = true;
  } else {
    f.gw6A = addrA(6);
    f.gw6B = addrB(6);
    f.hasGw6 = true;
  }
  return 0;
}

/** Adds a route prefix (at engineParamPtr()) the host sends over this interface. */
export function ifaceAddRouteExport(ifIndex: u32, version: u32, prefixLen: u32): i32 {
  if (ifIndex >= MAX_IFACES || ifaceAt(ifIndex).kind == IfKind.NONE || !validVersionLength(version, prefixLen)) return -Err.EINVAL;
  return ifaceAddRoute(ifIndex, version, addrA(version), addrB(version), prefixLen) ? 0 : -Err.ENOBUFS;
}

/**
 * Brings Ethernet interface `ifIndex` up at `nowUs`: its link-local address from the MAC (RFC 4862
 * 5.3, modified EUI-64 per RFC 4291 appendix A) when it has IPv6 addresses, duplicate address
 * detection for each IPv6 address, a gratuitous ARP announcement for each IPv4 one (RFC 5227 2.3),
 * and router advertisements when it is a router. A raw-IP interface has nothing to do.
 */
export function ifaceUpAt(ifIndex: u32, nowUs: i64): i32 {
  if (ifIndex >= MAX_IFACES || ifaceAt(ifIndex).kind == IfKind.NONE) return -Err.EINVAL;
  const f = ifaceAt(ifIndex);
  if (f.kind != IfKind.ETHERNET) return 0;
  let v6 = false;
  for (let k: u32 = 0; k < f.addressCount; k++) if (addressAt(ifIndex, k).version == 6) v6 = true;
  if (v6 || f.router) {
    const low = eui64Low(f.mac);
    if (ownAddressIndex(ifIndex, 6, LINK_LOCAL_HIGH, low) < 0) ifaceAddAddress(ifIndex, 6, LINK_LOCAL_HIGH, low, 64, Dad.OPTIMISTIC);
  }
  f.up = true;
  arpAnnounce(ifIndex);
  ndInterfaceUp(ifIndex, nowUs);
  return 0;
}

/**
 * Runs the edge's due timers: duplicate address detection first, so that a solicitation due at the
 * instant an address stops being optimistic already goes out as from a preferred one.
 */
export function edgeTimers(nowUs: i64): void {
  ndTimers(nowUs);
  neighbourTimers(nowUs);
}

/** The edge's earliest deadline (µs), NEVER when nothing is armed; may be early, never late. */
export function edgeNextDeadline(): i64 {
  return nbDeadline < ndDeadline ? nbDeadline : ndDeadline;
}

/** Bytes per neighbour cache entry, its index included. */
export function engineNeighbourEntryBytes(): u32 {
  return neighbourBytesPerEntry();
}

/** Entries in the neighbour cache now. */
export function engineNeighbourCount(): u32 {
  return neighbourCount();
}

/** Entries the neighbour cache holds at most (0 before the first Ethernet interface). */
export function engineNeighbourCapacity(): u32 {
  return neighbourCapacity();
}
