// ICMP echo (RFC 792) and ICMPv6 echo (RFC 4443 4.1-4.2): answering ping addressed to us.
//
// Contract: icmpEchoReply takes a packet that parsePacket refused with Reason.NOT_TCP, so `seg` holds
// its validated IP fields and payloadOffset/payloadLen bound the ICMP message inside [inPtr, inPtr +
// inLen). The caller has decided the destination is one of our addresses. Everything inside the ICMP
// message is checked here (length, type, code, checksum) before the reply is written; the reply is
// built from `seg` and the message, so outPtr may equal inPtr.
import { Segment } from "./segment";
import { onesSum, finishChecksum, pseudoHeaderSumV6 } from "./checksum";
import * as ipv4 from "./ipv4";
import * as ipv6 from "./ipv6";

export const TYPE: usize = 0;
export const CODE: usize = 1;
export const CHECKSUM: usize = 2;
/** Type, code, checksum, identifier, sequence number. */
export const ECHO_HEADER_LEN: u32 = 8;

export const IPPROTO_ICMP: u8 = 1;
export const IPPROTO_ICMPV6: u8 = 58;
export const ICMP_ECHO_REQUEST: u8 = 8;
export const ICMP_ECHO_REPLY: u8 = 0;
export const ICMPV6_ECHO_REQUEST: u8 = 128;
export const ICMPV6_ECHO_REPLY: u8 = 129;

/** Hop limit / TTL of our replies (RFC 1700's recommended default for IP). */
export const REPLY_TTL: u32 = 64;

@inline export function icmpType(p: usize): u8 { return load<u8>(p + TYPE); }
@inline export function icmpCode(p: usize): u8 { return load<u8>(p + CODE); }

/**
 * Writes the echo reply to an ICMP / ICMPv6 echo request at outPtr and returns its length, or 0
 * (nothing written) when the packet is not a well-formed echo request, its checksum fails, its
 * source cannot be answered, or the reply would not fit in outCap bytes.
 */
export function icmpEchoReply(inPtr: usize, inLen: u32, seg: Segment, outPtr: usize, outCap: u32): u32 {
  const msgOff = seg.payloadOffset;
  const msgLen = seg.payloadLen;
  if (msgLen < ECHO_HEADER_LEN || msgOff > inLen || msgLen > inLen - msgOff) return 0;
  const msg = inPtr + msgOff;
  if (icmpCode(msg) != 0) return 0;
  if (seg.ipVersion == 4) {
    if (seg.ipProto != IPPROTO_ICMP || icmpType(msg) != ICMP_ECHO_REQUEST) return 0;
    if (!answerableIpv4(<u32>seg.srcA)) return 0;
    if (onesSum(msg, msgLen, 0) != 0xffff) return 0;
    const total = ipv4.MIN_HEADER_LEN + msgLen;
    if (total > outCap || total > 0xffff) return 0;
    const reply = outPtr + ipv4.MIN_HEADER_LEN;
    memory.copy(reply, msg, msgLen);
    // RFC 6864 4.1: an atomic datagram (DF set, not fragmented) may carry identification 0.
    ipv4.writeIpv4(outPtr, seg.tos, total, 0, true, REPLY_TTL, IPPROTO_ICMP, <u32>seg.dstA, <u32>seg.srcA);
    ipv4.fillIpv4Checksum(outPtr);
    finishEcho(reply, msgLen, ICMP_ECHO_REPLY, 0);
    return total;
  }
  if (seg.ipVersion == 6) {
    if (seg.ipProto != IPPROTO_ICMPV6 || icmpType(msg) != ICMPV6_ECHO_REQUEST) return 0;
    if (!answerableIpv6(seg.srcA, seg.srcB)) return 0;
    const pseudo = pseudoHeaderSumV6(inPtr + ipv6.SRC_ADDR, inPtr + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen);
    if (onesSum(msg, msgLen, pseudo) != 0xffff) return 0;
    const total = ipv6.HEADER_LEN + msgLen;
    if (total > outCap) return 0;
    const reply = outPtr + ipv6.HEADER_LEN;
    memory.copy(reply, msg, msgLen);
    ipv6.writeIpv6(outPtr, seg.tos, 0, msgLen, IPPROTO_ICMPV6, REPLY_TTL, seg.dstA, seg.dstB, seg.srcA, seg.srcB);
    finishEcho(reply, msgLen, ICMPV6_ECHO_REPLY,
      pseudoHeaderSumV6(outPtr + ipv6.SRC_ADDR, outPtr + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen));
    return total;
  }
  return 0;
}

/** Turns the copied request at `p` into a reply: new type, checksum over the message (+ pseudo-header). */
@inline function finishEcho(p: usize, len: u32, replyType: u8, pseudo: u32): void {
  store<u8>(p + TYPE, replyType);
  store<u16>(p + CHECKSUM, 0);
  store<u16>(p + CHECKSUM, bswap<u16>(finishChecksum(onesSum(p, len, pseudo))));
}

/** Not 0.0.0.0/8, not multicast or reserved (224/3, including the limited broadcast): someone to answer. */
@inline function answerableIpv4(networkOrder: u32): bool {
  const first = networkOrder & 0xff;
  return first != 0 && first < 224;
}

/** Not :: and not multicast (ff00::/8). */
@inline function answerableIpv6(high: u64, low: u64): bool {
  return (high | low) != 0 && (high & 0xff) != 0xff;
}
