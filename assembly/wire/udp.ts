// UDP (RFC 768) over IPv4 and IPv6 (RFC 8200 8.1).
//
// Contract: parseUdp takes a packet that parsePacket refused with Reason.NOT_TCP, so `seg` holds its
// validated IP fields and payloadOffset/payloadLen bound the IP payload inside [inPtr, inPtr + inLen).
// It checks the 8-byte header is there, the UDP length against that payload, and the checksum, before
// reporting the ports and the data's bounds; every refusal is an EdgeReason, never a trap. Which
// socket owns the datagram is the caller's business. The emit side (emitUdpHeaders, then
// finishUdpChecksum once the data is in place, like packet.ts) trusts its input.
import { EdgeReason } from "./reason";
import { Segment } from "./segment";
import { onesSum, finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from "./checksum";
import * as ipv4 from "./ipv4";
import * as ipv6 from "./ipv6";

export const IPPROTO_UDP: u8 = 17;
export const SRC_PORT: usize = 0;
export const DST_PORT: usize = 2;
export const LENGTH: usize = 4;
export const CHECKSUM: usize = 6;
export const HEADER_LEN: u32 = 8;

/** One decoded UDP header and where its data lies. */
@unmanaged export class Datagram {
  srcPort: u32;
  dstPort: u32;
  /** The data after the header, from inPtr. */
  payloadOffset: u32;
  payloadLen: u32;
  /** False for an IPv4 datagram sent without a checksum (field 0, RFC 768). */
  hasChecksum: bool;
}

/**
 * Parses and validates the UDP datagram of the packet at inPtr into `out`. With `verifyChecksum`
 * a present checksum must verify over the pseudo-header, header and data (RFC 768). Returns
 * EdgeReason.OK or why the datagram was refused.
 */
export function parseUdp(inPtr: usize, inLen: u32, seg: Segment, out: Datagram, verifyChecksum: bool): EdgeReason {
  memory.fill(changetype<usize>(out), 0, offsetof<Datagram>());
  const off = seg.payloadOffset;
  const ipPayload = seg.payloadLen;
  if (seg.ipProto != IPPROTO_UDP || (seg.ipVersion != 4 && seg.ipVersion != 6) ||
      off > inLen || ipPayload > inLen - off) {
    return EdgeReason.UDP_NOT_UDP;
  }
  if (ipPayload < HEADER_LEN) return EdgeReason.UDP_TRUNCATED;
  const u = inPtr + off;
  // RFC 768: the length counts header and data. Bytes of the IP payload after it are not part of
  // the datagram and are ignored, as RFC 1122 4.1.3.4 leaves to the receiver; a length beyond the IP
  // payload cannot be honoured. (IPv6 jumbograms, length 0 per RFC 2675, are not supported.)
  const length = <u32>bswap<u16>(load<u16>(u + LENGTH));
  if (length < HEADER_LEN || length > ipPayload) return EdgeReason.UDP_LENGTH;
  out.srcPort = <u32>bswap<u16>(load<u16>(u + SRC_PORT));
  out.dstPort = <u32>bswap<u16>(load<u16>(u + DST_PORT));
  out.payloadOffset = off + HEADER_LEN;
  out.payloadLen = length - HEADER_LEN;
  if (load<u16>(u + CHECKSUM) == 0) {
    // RFC 8200 8.1: IPv6 receivers discard a zero UDP checksum; on IPv4 it means "none sent".
    if (seg.ipVersion == 6) return EdgeReason.UDP_ZERO_CHECKSUM_V6;
    return EdgeReason.OK;
  }
  out.hasChecksum = true;
  if (verifyChecksum) {
    const pseudo = seg.ipVersion == 6
      ? pseudoHeaderSumV6(inPtr + ipv6.SRC_ADDR, inPtr + ipv6.DST_ADDR, IPPROTO_UDP, length)
      : pseudoHeaderSumV4(inPtr + ipv4.SRC_ADDR, inPtr + ipv4.DST_ADDR, IPPROTO_UDP, length);
    if (onesSum(u, length, pseudo) != 0xffff) return EdgeReason.UDP_CHECKSUM;
  }
  return EdgeReason.OK;
}

/** IP header + UDP header, as emitUdpHeaders writes them. */
@inline export function udpHeadersLen(ipVersion: u32): u32 {
  return (ipVersion == 6 ? ipv6.HEADER_LEN : ipv4.MIN_HEADER_LEN) + HEADER_LEN;
}

/**
 * Writes an IP header (IPv4 without options, atomic: DF and identification 0 per RFC 6864 4.1; IPv6
 * without extension headers) and the UDP header for `payloadLen` bytes of data at `p`; the checksum is
 * left zero for finishUdpChecksum. Addresses as Segment holds them. Returns the headers' length.
 */
export function emitUdpHeaders(
  p: usize, ipVersion: u32, srcA: u64, srcB: u64, dstA: u64, dstB: u64, srcPort: u32, dstPort: u32,
  payloadLen: u32, ttl: u32,
): u32 {
  let u: usize;
  const udpLen = HEADER_LEN + payloadLen;
  if (ipVersion == 6) {
    ipv6.writeIpv6(p, 0, 0, udpLen, IPPROTO_UDP, ttl, srcA, srcB, dstA, dstB);
    u = p + ipv6.HEADER_LEN;
  } else {
    ipv4.writeIpv4(p, 0, ipv4.MIN_HEADER_LEN + udpLen, 0, true, ttl, IPPROTO_UDP, <u32>srcA, <u32>dstA);
    u = p + ipv4.MIN_HEADER_LEN;
  }
  store<u16>(u + SRC_PORT, bswap<u16>(<u16>srcPort));
  store<u16>(u + DST_PORT, bswap<u16>(<u16>dstPort));
  store<u16>(u + LENGTH, bswap<u16>(<u16>udpLen));
  store<u16>(u + CHECKSUM, 0);
  return <u32>(u - p) + HEADER_LEN;
}

/**
 * Fills in the checksums of a datagram emitUdpHeaders wrote, `totalLen` bytes with the data: the
 * IPv4 header checksum and the UDP checksum, always sent (RFC 1122 4.1.3.4 asks it on by default).
 */
export function finishUdpChecksum(p: usize, totalLen: u32): void {
  let u: usize;
  let pseudo: u32;
  if (ipv6.version(p) == 6) {
    u = p + ipv6.HEADER_LEN;
    pseudo = pseudoHeaderSumV6(p + ipv6.SRC_ADDR, p + ipv6.DST_ADDR, IPPROTO_UDP, totalLen - ipv6.HEADER_LEN);
  } else {
    ipv4.fillIpv4Checksum(p);
    u = p + ipv4.MIN_HEADER_LEN;
    pseudo = pseudoHeaderSumV4(p + ipv4.SRC_ADDR, p + ipv4.DST_ADDR, IPPROTO_UDP, totalLen - ipv4.MIN_HEADER_LEN);
  }
  store<u16>(u + CHECKSUM, 0);
  const sum = finishChecksum(onesSum(u, totalLen - <u32>(u - p), pseudo));
  // RFC 768: a computed checksum of zero is sent as all ones, since zero means "no checksum".
  store<u16>(u + CHECKSUM, bswap<u16>(sum == 0 ? 0xffff : sum));
}
