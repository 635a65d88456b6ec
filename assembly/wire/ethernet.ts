// Ethernet II frames (IEEE 802.3 clause 3 with an EtherType, as a TAP device carries them: no
// preamble, no frame check sequence).
//
// Contract: parseEthernet is the boundary for untrusted frames. It reads the 14-byte header only
// after checking the frame holds it, and the 802.1Q tag only after checking the frame holds that too;
// every refusal is an EdgeReason (reason.ts) and never a trap. The payload it reports may carry the
// padding a short frame gets (IEEE 802.3 4.2.3.3: 46 bytes at least); the IP and ARP layers bound
// their own lengths. Emit (writeEthernet, padFrame) trusts its input.
//
// MAC addresses travel as u64 holding the six bytes in memory order (loadMac), like Segment's IP
// addresses: equality and hashing are integer compares, and storeMac writes the bytes back as read.
import { EdgeReason } from "./reason";

export const DST_MAC: usize = 0;
export const SRC_MAC: usize = 6;
export const ETHER_TYPE: usize = 12;
export const HEADER_LEN: u32 = 14;
/** An 802.1Q / 802.1ad tag: TPID (already read as the EtherType), then the tag control information. */
export const VLAN_TAG_LEN: u32 = 4;
/** The smallest frame without FCS (IEEE 802.3 4.4.2: 64 bytes with it); shorter ones are padded. */
export const MIN_FRAME_LEN: u32 = 60;

export const ETHERTYPE_IPV4: u32 = 0x0800;
export const ETHERTYPE_ARP: u32 = 0x0806;
export const ETHERTYPE_IPV6: u32 = 0x86dd;
/** IEEE 802.1Q customer VLAN tag. */
export const ETHERTYPE_VLAN: u32 = 0x8100;
/** IEEE 802.1ad service VLAN tag (QinQ). */
export const ETHERTYPE_QINQ: u32 = 0x88a8;
/** The pre-standard QinQ tag some switches still send. */
export const ETHERTYPE_QINQ_LEGACY: u32 = 0x9100;
/** IEEE 802.3 3.2.6: values from here up are EtherTypes; values up to 1500 are lengths. */
export const ETHERTYPE_MIN: u32 = 0x0600;

export const MAC_BROADCAST: u64 = 0xffffffffffff;
/** The I/G bit: the least significant bit of the first byte marks a group address. */
const MAC_GROUP_BIT: u64 = 1;

/** Who a frame is addressed to, from its destination MAC. */
export const enum Destination {
  /** Unicast to the station's own address. */
  US = 0,
  BROADCAST = 1,
  /** 01:00:5e with the 24th bit clear: an IPv4 multicast group (RFC 1112 6.4). */
  MULTICAST_IPV4 = 2,
  /** 33:33: an IPv6 multicast group (RFC 2464 7). */
  MULTICAST_IPV6 = 3,
  /** Any other group address (spanning tree, LLDP, ...). */
  MULTICAST_OTHER = 4,
  /** Unicast to another station: a hub, a bridge in flood, or a guest in promiscuous mode. */
  OTHER = 5,
}

/** One decoded Ethernet header. */
@unmanaged export class EtherFrame {
  dstMac: u64;
  srcMac: u64;
  /** The EtherType; for a VLAN-tagged frame, the tag protocol identifier. */
  etherType: u32;
  /** A Destination. */
  destination: u32;
  /** The 12-bit VLAN identifier of a tagged frame whose tag is present, else 0. */
  vlanId: u32;
  payloadOffset: u32;
  payloadLen: u32;
}

@inline export function loadMac(p: usize): u64 {
  return <u64>load<u32>(p) | (<u64>load<u16>(p, 4) << 32);
}

@inline export function storeMac(p: usize, mac: u64): void {
  store<u32>(p, <u32>mac);
  store<u16>(p, <u16>(mac >> 32), 4);
}

@inline export function isGroupMac(mac: u64): bool {
  return (mac & MAC_GROUP_BIT) != 0;
}

/** RFC 1112 6.4: 01:00:5e and the low 23 bits of the IPv4 group address (network order u32 as loaded). */
export function ipv4MulticastMac(group: u32): u64 {
  const b1 = <u64>((group >> 8) & 0x7f);
  const b2 = <u64>((group >> 16) & 0xff);
  const b3 = <u64>(group >> 24);
  return 0x5e0001 | (b1 << 24) | (b2 << 32) | (b3 << 40);
}

/** RFC 2464 7: 33:33 and the last four bytes of the IPv6 group address (its low half as loaded). */
export function ipv6MulticastMac(groupLow: u64): u64 {
  return 0x3333 | ((groupLow >> 32) << 16);
}

/** The Destination of a frame whose destination address is `dst`, for a station whose own is `own`. */
export function classifyDestination(dst: u64, own: u64): Destination {
  if (dst == own) return Destination.US;
  if (!isGroupMac(dst)) return Destination.OTHER;
  if (dst == MAC_BROADCAST) return Destination.BROADCAST;
  if ((dst & 0xffffff) == 0x5e0001 && (dst & 0x80000000) == 0) return Destination.MULTICAST_IPV4;
  if ((dst & 0xffff) == 0x3333) return Destination.MULTICAST_IPV6;
  return Destination.MULTICAST_OTHER;
}

/**
 * Parses the untrusted `len`-byte frame at `p` into `out` for a station whose address is `own`.
 * Returns EdgeReason.OK or why the frame was refused; the addresses and EtherType are set whenever
 * the header was present, so a refused frame can still be counted by kind.
 */
export function parseEthernet(p: usize, len: u32, own: u64, out: EtherFrame): EdgeReason {
  memory.fill(changetype<usize>(out), 0, offsetof<EtherFrame>());
  if (len < HEADER_LEN) return EdgeReason.ETH_TRUNCATED;
  const dst = loadMac(p + DST_MAC);
  const src = loadMac(p + SRC_MAC);
  const type = <u32>bswap<u16>(load<u16>(p + ETHER_TYPE));
  out.dstMac = dst;
  out.srcMac = src;
  out.etherType = type;
  out.destination = classifyDestination(dst, own);
  if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_LEGACY) {
    if (len < HEADER_LEN + VLAN_TAG_LEN) return EdgeReason.ETH_TRUNCATED;
    // IEEE 802.1Q 9.6: the tag control information's low 12 bits are the VLAN identifier.
    out.vlanId = <u32>bswap<u16>(load<u16>(p + HEADER_LEN)) & 0xfff;
    return EdgeReason.ETH_VLAN;
  }
  if (type < ETHERTYPE_MIN) return EdgeReason.ETH_NOT_ETHERNET_II;
  if (isGroupMac(src)) return EdgeReason.ETH_GROUP_SOURCE;
  out.payloadOffset = HEADER_LEN;
  out.payloadLen = len - HEADER_LEN;
  return EdgeReason.OK;
}

/** Writes the 14-byte header at `p`; returns its length. */
@inline export function writeEthernet(p: usize, dst: u64, src: u64, etherType: u32): u32 {
  storeMac(p + DST_MAC, dst);
  storeMac(p + SRC_MAC, src);
  store<u16>(p + ETHER_TYPE, bswap<u16>(<u16>etherType));
  return HEADER_LEN;
}

/** Zero-fills a `len`-byte frame at `p` up to MIN_FRAME_LEN (IEEE 802.3 4.2.3.3); returns the new length. */
export function padFrame(p: usize, len: u32): u32 {
  if (len >= MIN_FRAME_LEN) return len;
  memory.fill(p + len, 0, MIN_FRAME_LEN - len);
  return MIN_FRAME_LEN;
}
