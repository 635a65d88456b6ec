// IPv6 neighbour discovery messages (RFC 4861 4.1-4.4, options 4.6): router solicitation and
// advertisement, neighbour solicitation and advertisement.
//
// Contract: parseNd takes a packet that parsePacket refused with Reason.NOT_TCP, so `seg` holds its
// validated IPv6 fields and payloadOffset/payloadLen bound the ICMPv6 message inside [inPtr, inPtr +
// inLen). It checks everything RFC 4861 6.1.1, 6.1.2, 7.1.1 and 7.1.2 ask of a message on its own
// (hop limit 255, checksum, code 0, length, target not multicast, option lengths, addresses), walking
// the options by their own lengths and never past the message; every refusal is an EdgeReason, never
// a trap. Whether the target is ours and what to cache is the caller's business. emitNd trusts the
// NdMessage it is given (STYLE.md rule 2) and writes the IPv6 header, the message and its checksum.
import { EdgeReason } from "./reason";
import { Segment } from "./segment";
import { onesSum, finishChecksum, pseudoHeaderSumV6 } from "./checksum";
import { loadMac, storeMac } from "./ethernet";
import * as ipv6 from "./ipv6";

export const IPPROTO_ICMPV6: u8 = 58;
export const TYPE_ROUTER_SOLICITATION: u32 = 133;
export const TYPE_ROUTER_ADVERTISEMENT: u32 = 134;
export const TYPE_NEIGHBOR_SOLICITATION: u32 = 135;
export const TYPE_NEIGHBOR_ADVERTISEMENT: u32 = 136;

// Offsets inside the ICMPv6 message.
export const TYPE: usize = 0;
export const CODE: usize = 1;
export const CHECKSUM: usize = 2;
export const RA_CUR_HOP_LIMIT: usize = 4;
export const RA_FLAGS: usize = 5;
export const RA_ROUTER_LIFETIME: usize = 6;
export const RA_REACHABLE_TIME: usize = 8;
export const RA_RETRANS_TIMER: usize = 12;
export const NA_FLAGS: usize = 4;
export const TARGET: usize = 8;

/** The fixed part of each message, before its options. */
export const RS_LEN: u32 = 8;
export const RA_LEN: u32 = 16;
export const NS_LEN: u32 = 24;
export const NA_LEN: u32 = 24;

/** RFC 4861 4.2: the managed-address and other-configuration flags of an RA. */
export const RA_MANAGED: u32 = 0x80;
export const RA_OTHER: u32 = 0x40;
/** RFC 4861 4.4: router, solicited and override flags, the top bits of the NA's first word. */
export const NA_ROUTER: u32 = 0x80;
export const NA_SOLICITED: u32 = 0x40;
export const NA_OVERRIDE: u32 = 0x20;
/** RFC 4861 4.6.2: on-link and autonomous address-configuration flags of a prefix. */
export const PREFIX_ON_LINK: u32 = 0x80;
export const PREFIX_AUTONOMOUS: u32 = 0x40;

// RFC 4861 4.6: option types, and their lengths in units of 8 bytes (link-layer options sized for
// Ethernet's 6-byte address, RFC 2464 8).
export const OPT_SOURCE_LINK_ADDR: u32 = 1;
export const OPT_TARGET_LINK_ADDR: u32 = 2;
export const OPT_PREFIX_INFO: u32 = 3;
export const OPT_MTU: u32 = 5;
const LINK_ADDR_OPT_UNITS: u32 = 1;
const PREFIX_OPT_UNITS: u32 = 4;
const MTU_OPT_UNITS: u32 = 1;

/** RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2: the hop limit proving a message was not forwarded. */
export const ND_HOP_LIMIT: u32 = 255;

/**
 * One neighbour discovery message (smoltcp's Repr): parseNd fills it, emitNd writes from it. IPv6
 * addresses as two u64 halves in memory byte order (like Segment), MACs as ethernet.ts loads them.
 */
@unmanaged export class NdMessage {
  targetA: u64;
  targetB: u64;
  sourceLinkAddr: u64;
  targetLinkAddr: u64;
  prefixA: u64;
  prefixB: u64;
  /** One of the TYPE_* values. */
  type: u32;
  /** RA_* flags of an RA, NA_* flags of an NA. */
  flags: u32;
  /** RA: the hop limit hosts should use (0 = unspecified), router lifetime in s, reachable time and
   *  retransmission timer in ms. */
  curHopLimit: u32;
  routerLifetime: u32;
  reachableTime: u32;
  retransTimer: u32;
  /** The MTU option's value (RA), 0 when absent. */
  mtu: u32;
  /** Prefix information options seen (RA); the prefix fields describe the first. */
  prefixCount: u32;
  prefixLength: u32;
  prefixFlags: u32;
  validLifetime: u32;
  preferredLifetime: u32;
  /** Where the options start and how long they are, from inPtr, for a caller walking every prefix. */
  optionsOffset: u32;
  optionsLen: u32;
  hasSourceLinkAddr: bool;
  hasTargetLinkAddr: bool;
}

@inline export function isMulticast(high: u64): bool { return (high & 0xff) == 0xff; }
@inline export function isUnspecified(high: u64, low: u64): bool { return (high | low) == 0; }
/** fe80::/10 (RFC 4291 2.5.6). */
@inline export function isLinkLocal(high: u64): bool { return (high & 0xc0ff) == 0x80fe; }

/** ff02:: as its high half. */
const SOLICITED_NODE_HIGH: u64 = 0x02ff;
/** ::1:ff00:0 as the low half's bytes 8..12 (RFC 4291 2.7.1). */
const SOLICITED_NODE_LOW: u64 = 0xff01000000;
const LOW_24_BITS_OF_LOW_HALF: u64 = 0xffffff0000000000;

/** The high half of the solicited-node multicast address of any address (RFC 4291 2.7.1). */
@inline export function solicitedNodeHigh(): u64 { return SOLICITED_NODE_HIGH; }
/** Its low half: ff02::1:ff00:0/104 with the low 24 bits of the address whose half `low` is. */
@inline export function solicitedNodeLow(low: u64): u64 { return SOLICITED_NODE_LOW | (low & LOW_24_BITS_OF_LOW_HALF); }
@inline export function isSolicitedNode(high: u64, low: u64): bool {
  return high == SOLICITED_NODE_HIGH && (low & ~LOW_24_BITS_OF_LOW_HALF) == SOLICITED_NODE_LOW;
}

@inline function be16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/**
 * Parses and validates the neighbour discovery message of the packet at inPtr into `out`. Returns
 * EdgeReason.OK or why the message must be discarded.
 */
export function parseNd(inPtr: usize, inLen: u32, seg: Segment, out: NdMessage): EdgeReason {
  memory.fill(changetype<usize>(out), 0, offsetof<NdMessage>());
  const msgOff = seg.payloadOffset;
  const msgLen = seg.payloadLen;
  if (seg.ipVersion != 6 || seg.ipProto != IPPROTO_ICMPV6 || msgOff > inLen || msgLen > inLen - msgOff) {
    return EdgeReason.ND_NOT_ND;
  }
  if (msgLen < 4) return EdgeReason.ND_TRUNCATED;
  const msg = inPtr + msgOff;
  const type = <u32>load<u8>(msg + TYPE);
  let fixedLen: u32;
  if (type == TYPE_ROUTER_SOLICITATION) fixedLen = RS_LEN;
  else if (type == TYPE_ROUTER_ADVERTISEMENT) fixedLen = RA_LEN;
  else if (type == TYPE_NEIGHBOR_SOLICITATION) fixedLen = NS_LEN;
  else if (type == TYPE_NEIGHBOR_ADVERTISEMENT) fixedLen = NA_LEN;
  else return EdgeReason.ND_NOT_ND;
  out.type = type;
  // The checks in the order RFC 4861 7.1.1 lists them (6.1.1, 6.1.2 and 7.1.2 share it).
  if (<u32>seg.ttl != ND_HOP_LIMIT) return EdgeReason.ND_HOP_LIMIT;
  const pseudo = pseudoHeaderSumV6(inPtr + ipv6.SRC_ADDR, inPtr + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen);
  if (onesSum(msg, msgLen, pseudo) != 0xffff) return EdgeReason.ND_CHECKSUM;
  if (load<u8>(msg + CODE) != 0) return EdgeReason.ND_CODE;
  if (msgLen < fixedLen) return EdgeReason.ND_TRUNCATED;
  if (type == TYPE_ROUTER_ADVERTISEMENT) {
    out.curHopLimit = <u32>load<u8>(msg + RA_CUR_HOP_LIMIT);
    out.flags = <u32>load<u8>(msg + RA_FLAGS);
    out.routerLifetime = be16(msg + RA_ROUTER_LIFETIME);
    out.reachableTime = be32(msg + RA_REACHABLE_TIME);
    out.retransTimer = be32(msg + RA_RETRANS_TIMER);
  } else if (type >= TYPE_NEIGHBOR_SOLICITATION) {
    if (type == TYPE_NEIGHBOR_ADVERTISEMENT) out.flags = <u32>load<u8>(msg + NA_FLAGS);
    out.targetA = load<u64>(msg + TARGET);
    out.targetB = load<u64>(msg + TARGET + 8);
    if (isMulticast(out.targetA)) return EdgeReason.ND_TARGET;
  }
  out.optionsOffset = msgOff + fixedLen;
  out.optionsLen = msgLen - fixedLen;
  const r = parseOptions(msg, fixedLen, msgLen, out);
  if (r != EdgeReason.OK) return r;
  return checkAddresses(seg, out);
}

/**
 * RFC 4861 4.6: walks the options in [msg + from, msg + end). Every option needs its two header bytes
 * and a non-zero length inside the message; known options must have their defined length. Options a
 * message type does not use, and unknown ones, are skipped (RFC 4861 4.6: silently ignored).
 */
function parseOptions(msg: usize, from: u32, end: u32, out: NdMessage): EdgeReason {
  let off = from;
  while (off < end) {
    if (end - off < 2) return EdgeReason.ND_OPTION;
    const kind = <u32>load<u8>(msg + off);
    const units = <u32>load<u8>(msg + off + 1);
    if (units == 0 || (units << 3) > end - off) return EdgeReason.ND_OPTION;
    const o = msg + off;
    if (kind == OPT_SOURCE_LINK_ADDR && out.type != TYPE_NEIGHBOR_ADVERTISEMENT) {
      if (units != LINK_ADDR_OPT_UNITS) return EdgeReason.ND_OPTION;
      out.hasSourceLinkAddr = true;
      out.sourceLinkAddr = loadMac(o + 2);
    } else if (kind == OPT_TARGET_LINK_ADDR && out.type == TYPE_NEIGHBOR_ADVERTISEMENT) {
      if (units != LINK_ADDR_OPT_UNITS) return EdgeReason.ND_OPTION;
      out.hasTargetLinkAddr = true;
      out.targetLinkAddr = loadMac(o + 2);
    } else if (kind == OPT_MTU && out.type == TYPE_ROUTER_ADVERTISEMENT) {
      if (units != MTU_OPT_UNITS) return EdgeReason.ND_OPTION;
      out.mtu = be32(o + 4);
    } else if (kind == OPT_PREFIX_INFO && out.type == TYPE_ROUTER_ADVERTISEMENT) {
      if (units != PREFIX_OPT_UNITS) return EdgeReason.ND_OPTION;
      if (out.prefixCount == 0) {
        out.prefixLength = <u32>load<u8>(o + 2);
        out.prefixFlags = <u32>load<u8>(o + 3);
        out.validLifetime = be32(o + 4);
        out.preferredLifetime = be32(o + 8);
        out.prefixA = load<u64>(o + 16);
        out.prefixB = load<u64>(o + 24);
      }
      out.prefixCount++;
    }
    off += units << 3;
  }
  return EdgeReason.OK;
}

/** The address rules of RFC 4861 6.1.1 (RS), 6.1.2 (RA), 7.1.1 (NS) and 7.1.2 (NA). */
function checkAddresses(seg: Segment, m: NdMessage): EdgeReason {
  const unspecified = isUnspecified(seg.srcA, seg.srcB);
  if (m.type == TYPE_ROUTER_ADVERTISEMENT) {
    if (!isLinkLocal(seg.srcA)) return EdgeReason.ND_ADDRESS;
  } else if (m.type == TYPE_NEIGHBOR_ADVERTISEMENT) {
    if (isMulticast(seg.dstA) && (m.flags & NA_SOLICITED) != 0) return EdgeReason.ND_ADDRESS;
  } else if (unspecified) {
    // RS and NS from :: (an address being verified, RFC 4862 5.4.2) carry no link-layer address,
    // and an NS from :: is a DAD probe sent to the target's solicited-node group.
    if (m.hasSourceLinkAddr) return EdgeReason.ND_ADDRESS;
    if (m.type == TYPE_NEIGHBOR_SOLICITATION && !isSolicitedNode(seg.dstA, seg.dstB)) return EdgeReason.ND_ADDRESS;
  }
  return EdgeReason.OK;
}

/** The ICMPv6 message emitNd writes for `m`: fixed part and options. */
export function ndMessageLen(m: NdMessage): u32 {
  let len: u32;
  if (m.type == TYPE_ROUTER_SOLICITATION) len = RS_LEN;
  else if (m.type == TYPE_ROUTER_ADVERTISEMENT) len = RA_LEN;
  else if (m.type == TYPE_NEIGHBOR_SOLICITATION) len = NS_LEN;
  else len = NA_LEN;
  if (m.hasSourceLinkAddr) len += LINK_ADDR_OPT_UNITS << 3;
  if (m.hasTargetLinkAddr) len += LINK_ADDR_OPT_UNITS << 3;
  if (m.mtu != 0) len += MTU_OPT_UNITS << 3;
  if (m.prefixCount != 0) len += PREFIX_OPT_UNITS << 3;
  return len;
}

/**
 * Writes the IPv6 packet (hop limit 255) carrying `m` from src to dst at `p`, options in the order
 * source link-layer address, target link-layer address, MTU, one prefix; returns its length.
 */
export function emitNd(p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64, m: NdMessage): u32 {
  const msgLen = ndMessageLen(m);
  ipv6.writeIpv6(p, 0, 0, msgLen, IPPROTO_ICMPV6, ND_HOP_LIMIT, srcA, srcB, dstA, dstB);
  const msg = p + ipv6.HEADER_LEN;
  memory.fill(msg, 0, msgLen);
  store<u8>(msg + TYPE, <u8>m.type);
  let off: usize;
  if (m.type == TYPE_ROUTER_SOLICITATION) {
    off = RS_LEN;
  } else if (m.type == TYPE_ROUTER_ADVERTISEMENT) {
    store<u8>(msg + RA_CUR_HOP_LIMIT, <u8>m.curHopLimit);
    store<u8>(msg + RA_FLAGS, <u8>m.flags);
    store<u16>(msg + RA_ROUTER_LIFETIME, bswap<u16>(<u16>m.routerLifetime));
    store<u32>(msg + RA_REACHABLE_TIME, bswap<u32>(m.reachableTime));
    store<u32>(msg + RA_RETRANS_TIMER, bswap<u32>(m.retransTimer));
    off = RA_LEN;
  } else {
    // NS and NA: the reserved word (NA: its flags byte), then the target address.
    if (m.type == TYPE_NEIGHBOR_ADVERTISEMENT) store<u8>(msg + NA_FLAGS, <u8>m.flags);
    store<u64>(msg + TARGET, m.targetA);
    store<u64>(msg + TARGET + 8, m.targetB);
    off = TARGET + 16;
  }
  if (m.hasSourceLinkAddr) off = writeLinkAddrOption(msg + off, off, OPT_SOURCE_LINK_ADDR, m.sourceLinkAddr);
  if (m.hasTargetLinkAddr) off = writeLinkAddrOption(msg + off, off, OPT_TARGET_LINK_ADDR, m.targetLinkAddr);
  if (m.mtu != 0) {
    const o = msg + off;
    store<u8>(o, <u8>OPT_MTU);
    store<u8>(o + 1, <u8>MTU_OPT_UNITS);
    store<u32>(o + 4, bswap<u32>(m.mtu));
    off += MTU_OPT_UNITS << 3;
  }
  if (m.prefixCount != 0) {
    const o = msg + off;
    store<u8>(o, <u8>OPT_PREFIX_INFO);
    store<u8>(o + 1, <u8>PREFIX_OPT_UNITS);
    store<u8>(o + 2, <u8>m.prefixLength);
    store<u8>(o + 3, <u8>m.prefixFlags);
    store<u32>(o + 4, bswap<u32>(m.validLifetime));
    store<u32>(o + 8, bswap<u32>(m.preferredLifetime));
    store<u64>(o + 16, m.prefixA);
    store<u64>(o + 24, m.prefixB);
  }
  const pseudo = pseudoHeaderSumV6(p + ipv6.SRC_ADDR, p + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen);
  store<u16>(msg + CHECKSUM, bswap<u16>(finishChecksum(onesSum(msg, msgLen, pseudo))));
  return ipv6.HEADER_LEN + msgLen;
}

@inline function writeLinkAddrOption(o: usize, off: usize, kind: u32, mac: u64): usize {
  store<u8>(o, <u8>kind);
  store<u8>(o + 1, <u8>LINK_ADDR_OPT_UNITS);
  storeMac(o + 2, mac);
  return off + (LINK_ADDR_OPT_UNITS << 3);
}

// The messages a host or a gateway sends, built through one NdMessage kept in static memory.
const built = changetype<NdMessage>(memory.data(offsetof<NdMessage>(), 8));

/**
 * RFC 4861 7.2.2: a neighbour solicitation for the target, to its solicited-node group, with our
 * link-layer address; from the unspecified address (a DAD probe, RFC 4862 5.4.2) without it.
 */
export function writeNeighborSolicitation(p: usize, srcA: u64, srcB: u64, targetA: u64, targetB: u64, ownMac: u64): u32 {
  memory.fill(changetype<usize>(built), 0, offsetof<NdMessage>());
  built.type = TYPE_NEIGHBOR_SOLICITATION;
  built.targetA = targetA;
  built.targetB = targetB;
  built.hasSourceLinkAddr = !isUnspecified(srcA, srcB);
  built.sourceLinkAddr = ownMac;
  return emitNd(p, srcA, srcB, SOLICITED_NODE_HIGH, solicitedNodeLow(targetB), built);
}

/**
 * RFC 4861 7.2.4: a neighbour advertisement for our address `target` to dst, with our link-layer
 * address and the NA_* flags given (solicited to the soliciting node, unsolicited to ff02::1).
 */
export function writeNeighborAdvertisement(
  p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64, targetA: u64, targetB: u64, flags: u32, ownMac: u64,
): u32 {
  memory.fill(changetype<usize>(built), 0, offsetof<NdMessage>());
  built.type = TYPE_NEIGHBOR_ADVERTISEMENT;
  built.flags = flags & (NA_ROUTER | NA_SOLICITED | NA_OVERRIDE);
  built.targetA = targetA;
  built.targetB = targetB;
  built.hasTargetLinkAddr = true;
  built.targetLinkAddr = ownMac;
  return emitNd(p, srcA, srcB, dstA, dstB, built);
}

/**
 * RFC 4861 6.2.3: a router advertisement from our link-local address with the router fields, MTU
 * and prefix of `m` (its type is set here) and our link-layer address.
 */
export function writeRouterAdvertisement(p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64, ownMac: u64, m: NdMessage): u32 {
  m.type = TYPE_ROUTER_ADVERTISEMENT;
  m.hasSourceLinkAddr = true;
  m.sourceLinkAddr = ownMac;
  m.hasTargetLinkAddr = false;
  return emitNd(p, srcA, srcB, dstA, dstB, m);
}
