// ARP for IPv4 over Ethernet (RFC 826), with the probe and announcement shapes of RFC 5227.
//
// Contract: parseArp is the boundary for the untrusted payload of an ETHERTYPE_ARP frame. It checks
// the 28 bytes are present before reading any (bytes after them are the frame's padding and are
// ignored), then the fixed format and the operation, then that the sender could be a neighbour;
// every refusal is an EdgeReason and never a trap. Whether the packet is for one of our addresses,
// and what to cache, is the caller's business. The writers trust their input and write the 28-byte
// packet only (the caller puts an Ethernet header before it and pads the frame).
import { EdgeReason } from "./reason";
import { loadMac, storeMac, isGroupMac } from "./ethernet";

export const HTYPE: usize = 0;
export const PTYPE: usize = 2;
export const HLEN: usize = 4;
export const PLEN: usize = 5;
export const OPER: usize = 6;
export const SHA: usize = 8;
export const SPA: usize = 14;
export const THA: usize = 18;
export const TPA: usize = 24;
export const PACKET_LEN: u32 = 28;

/** RFC 826 hardware type for Ethernet (IANA ARP parameters: 1). */
export const HTYPE_ETHERNET: u32 = 1;
export const PTYPE_IPV4: u32 = 0x0800;
export const OP_REQUEST: u32 = 1;
export const OP_REPLY: u32 = 2;

/** One decoded ARP packet; IPv4 addresses as loaded (network order bytes), MACs as ethernet.ts loads them. */
@unmanaged export class ArpPacket {
  senderMac: u64;
  targetMac: u64;
  senderIp: u32;
  targetIp: u32;
  /** OP_REQUEST or OP_REPLY. */
  operation: u32;
  /** RFC 5227 2.1.1: a request with sender IP 0.0.0.0, asking whether the target address is in use. */
  probe: bool;
  /** RFC 5227 2.3 (gratuitous ARP): sender IP equals target IP, announcing the sender's binding. */
  announcement: bool;
}

/** 224.0.0.0/3: multicast, reserved and the limited broadcast; no station owns such an address. */
@inline function isGroupOrReservedIpv4(networkOrder: u32): bool {
  return (networkOrder & 0xff) >= 224;
}

/** Parses the untrusted ARP packet of `len` bytes at `p` into `out`. Returns EdgeReason.OK or why not. */
export function parseArp(p: usize, len: u32, out: ArpPacket): EdgeReason {
  memory.fill(changetype<usize>(out), 0, offsetof<ArpPacket>());
  if (len < PACKET_LEN) return EdgeReason.ARP_TRUNCATED;
  if (<u32>bswap<u16>(load<u16>(p + HTYPE)) != HTYPE_ETHERNET || <u32>bswap<u16>(load<u16>(p + PTYPE)) != PTYPE_IPV4 ||
      load<u8>(p + HLEN) != 6 || load<u8>(p + PLEN) != 4) {
    return EdgeReason.ARP_FORMAT;
  }
  const op = <u32>bswap<u16>(load<u16>(p + OPER));
  if (op != OP_REQUEST && op != OP_REPLY) return EdgeReason.ARP_OPERATION;
  out.operation = op;
  out.senderMac = loadMac(p + SHA);
  out.senderIp = load<u32>(p + SPA);
  out.targetMac = loadMac(p + THA);
  out.targetIp = load<u32>(p + TPA);
  // A group sender address would make every reply and cached entry a multicast; a multicast or
  // broadcast sender IP would poison the cache for an address no host holds.
  if (isGroupMac(out.senderMac) || isGroupOrReservedIpv4(out.senderIp)) return EdgeReason.ARP_SENDER;
  out.probe = op == OP_REQUEST && out.senderIp == 0;
  out.announcement = out.senderIp != 0 && out.senderIp == out.targetIp;
  return EdgeReason.OK;
}

/** Writes an ARP packet of any shape at `p`; returns PACKET_LEN. */
export function writeArp(p: usize, op: u32, senderMac: u64, senderIp: u32, targetMac: u64, targetIp: u32): u32 {
  store<u16>(p + HTYPE, bswap<u16>(<u16>HTYPE_ETHERNET));
  store<u16>(p + PTYPE, bswap<u16>(<u16>PTYPE_IPV4));
  store<u8>(p + HLEN, 6);
  store<u8>(p + PLEN, 4);
  store<u16>(p + OPER, bswap<u16>(<u16>op));
  storeMac(p + SHA, senderMac);
  store<u32>(p + SPA, senderIp);
  storeMac(p + THA, targetMac);
  store<u32>(p + TPA, targetIp);
  return PACKET_LEN;
}

/** RFC 826: who has `targetIp`? The target hardware address is unknown and left zero. */
export function writeArpRequest(p: usize, senderMac: u64, senderIp: u32, targetIp: u32): u32 {
  return writeArp(p, OP_REQUEST, senderMac, senderIp, 0, targetIp);
}

/** RFC 826: the reply from the owner of `ownIp` to the station that asked for it. */
export function writeArpReply(p: usize, ownMac: u64, ownIp: u32, requesterMac: u64, requesterIp: u32): u32 {
  return writeArp(p, OP_REPLY, ownMac, ownIp, requesterMac, requesterIp);
}

/** RFC 5227 2.1.1: a probe for `ip` before using it; sender IP all zero so no cache learns from it. */
export function writeArpProbe(p: usize, ownMac: u64, ip: u32): u32 {
  return writeArp(p, OP_REQUEST, ownMac, 0, 0, ip);
}

/** RFC 5227 2.3: an announcement (gratuitous ARP), a request with sender and target IP both `ip`. */
export function writeArpAnnouncement(p: usize, ownMac: u64, ip: u32): u32 {
  return writeArp(p, OP_REQUEST, ownMac, ip, 0, ip);
}
