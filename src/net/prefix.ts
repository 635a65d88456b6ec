// Address prefixes ("10.0.0.0/24", "fd00::1/64"): the stack's own addresses with their on-link
// prefix, and the destination prefixes of link routes. Matched against raw IP packets in place, so a
// packet's addresses are never turned into text on the hot path. Browser-safe.
import { formatIpv4, formatIpv6, parseAddress } from "../core/address.js";
import { invalidValue, validateString } from "../core/validate.js";

export interface Prefix {
  /** The IP version. */
  version: 4 | 6;
  /** The address, 4 or 16 bytes. */
  bytes: Uint8Array;
  /** Prefix length in bits (32 or 128 for a single address). */
  length: number;
}

/** An address with an optional prefix length ("10.0.0.1/24"; none: a host route), named `what` in errors. */
export function parsePrefix(text: unknown, what: string): Prefix {
  validateString(text, what);
  const slash = text.lastIndexOf("/");
  const a = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!a) invalidValue(what, text, "must be an IPv4 or IPv6 address, with a prefix length (\"10.0.0.1/24\") or alone (its /32 or /128)");
  const max = a.version === 4 ? 32 : 128;
  const length = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!/^\d+$/.test(slash < 0 ? String(max) : text.slice(slash + 1)) || length > max) {
    invalidValue(what, text, `has a bad prefix length (0..${max})`);
  }
  return { version: a.version, bytes: a.bytes, length };
}

/** Whether prefix `p` holds the IPv`version` address at `packet[at]`. */
export function prefixHolds(p: Prefix, version: number, packet: Uint8Array, at: number): boolean {
  if (p.version !== version) return false;
  let bits = p.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((p.bytes[i]! & mask) !== (packet[at + i]! & mask)) return false;
  }
  return true;
}

/** Where an IP packet's destination address starts: 16 (IPv4), 24 (IPv6), or -1 if no whole header. */
export function destinationAt(packet: Uint8Array): number {
  if (packet.length < 20) return -1;
  const version = packet[0]! >> 4;
  if (version === 4) return 16;
  if (version === 6 && packet.length >= 40) return 24;
  return -1;
}

/**
 * Whether the address at `bytes[at]` is a loopback address: 127.0.0.0/8 (RFC 1122 3.2.1.3 (g)) or ::1
 * (RFC 4291 2.5.3). Such addresses never appear outside a host.
 */
export function isLoopback(version: 4 | 6, bytes: Uint8Array, at: number): boolean {
  if (version === 4) return bytes[at] === 127;
  for (let i = 0; i < 15; i++) if (bytes[at + i] !== 0) return false;
  return bytes[at + 15] === 1;
}

/**
 * Whether an IP packet's destination is a unicast address a gateway may stand in for: not a group
 * (224.0.0.0/4, ff00::/8), not the limited broadcast, not loopback, not unspecified.
 */
export function isUnicastDestination(packet: Uint8Array): boolean {
  const at = destinationAt(packet);
  if (at < 0) return false;
  const first = packet[at]!;
  if (at === 16) {
    if (first >= 224 || first === 127 || first === 0) return false;
    return true;
  }
  if (first === 0xff || isLoopback(6, packet, at)) return false;
  for (let i = 0; i < 16; i++) if (packet[at + i] !== 0) return true;
  return false;
}

/** Where an IP packet's source address starts: 12 (IPv4), 8 (IPv6), or -1 if no whole header. */
export function sourceAt(packet: Uint8Array): number {
  const at = destinationAt(packet);
  return at < 0 ? -1 : at === 16 ? 12 : 8;
}

/** Whether the address at `packet[at]` equals `address` (4 or 16 bytes). */
export function sameAddress(address: Uint8Array, packet: Uint8Array, at: number): boolean {
  for (let i = 0; i < address.length; i++) if (address[i] !== packet[at + i]) return false;
  return true;
}

/** The prefix's address as text, without the length. */
export function formatPrefixAddress(p: Prefix): string {
  return p.version === 4 ? formatIpv4(p.bytes) : formatIpv6(p.bytes);
}
