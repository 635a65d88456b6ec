// ICMP echo (RFC 792) and ICMPv6 echo (RFC 4443 4.1-4.2): answering ping addressed to us.
//
// Contract: icmpEchoReply takes a packet that parsePacket refused with Reason.NOT_TCP, so `seg` holds
// its validated IP fields and payloadOffset/payloadLen bound the ICMP message inside [inPtr, inPtr +
// inLen). The caller has decided the destination is one of our addresses. Everything inside the ICMP
// message is checked here (length, type, code, checksum) before the reply is written; the reply is
// built from `seg` and the message, so outPtr may equal inPtr.
import { FlowKey } from "./flowkey";
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

// ---- "Too big" errors: ICMP fragmentation needed (RFC 792, RFC 1191 4) and ICMPv6 packet too big
// (RFC 4443 3.2) ----
//
// Contract: icmpTooBig (and icmpTcpUnreachable, for the other destination unreachable errors) takes
// a packet parsePacket refused with Reason.NOT_TCP (so `seg` holds its
// validated IP fields). It checks the message (length, type and code, checksum) and the header it
// quotes (version, header length, TCP, not a later fragment, sent from the address the error came to)
// before reading the quoted ports and sequence number into `out`. Whether a connection owns that
// segment, and whether to believe the MTU, is the engine's business (engine/pmtu.ts).

export const ICMP_DEST_UNREACHABLE: u8 = 3;
/** RFC 1191 4: "fragmentation needed and DF set", with the next-hop MTU in the low half of the unused word. */
export const ICMP_FRAG_NEEDED: u8 = 4;
export const ICMPV6_PACKET_TOO_BIG: u8 = 2;
/** Type, code, checksum, then the unused word / MTU: the quoted packet starts here. */
export const ERROR_HEADER_LEN: u32 = 8;
/** RFC 792: the quoted header is followed by at least 64 bits of the original data, the TCP ports and SEQ. */
const QUOTED_TCP_BYTES: u32 = 8;
const IPPROTO_TCP: u32 = 6;

/** The segment an ICMP error quotes: its connection (as we sent it), and the reported MTU or code. */
// The 4-tuple is a FlowKey: our address and port are the quoted source, the peer's the destination.
@unmanaged export class QuotedTcp extends FlowKey {
  /** SEG.SEQ of the quoted segment. */
  seq: u32;
  /** The next-hop MTU the error reports. */
  mtu: u32;
  /** The ICMP / ICMPv6 code of a destination unreachable error. */
  code: u32;
}

/** What icmpTooBig found. */
export const enum TooBig {
  /** Not a fragmentation-needed / packet-too-big message at all: some other ICMP. */
  NONE = 0,
  /** A well-formed one quoting a TCP segment of ours: `out` is filled. */
  OK = 1,
  /** One that fails a check (checksum, truncated, quotes something we cannot have sent). */
  MALFORMED = 2,
}

/**
 * Reads an ICMP fragmentation-needed or ICMPv6 packet-too-big message in [inPtr, inPtr + inLen)
 * into `out`. Returns a TooBig.
 */
export function icmpTooBig(inPtr: usize, inLen: u32, seg: Segment, out: QuotedTcp): TooBig {
  const msgOff = seg.payloadOffset;
  const msgLen = seg.payloadLen;
  if (msgOff > inLen || msgLen > inLen - msgOff || msgLen < 2) return TooBig.NONE;
  const msg = inPtr + msgOff;
  if (seg.ipVersion == 4) {
    if (seg.ipProto != IPPROTO_ICMP || icmpType(msg) != ICMP_DEST_UNREACHABLE || icmpCode(msg) != ICMP_FRAG_NEEDED) {
      return TooBig.NONE;
    }
    const r = quotedTcpV4(msg, msgLen, seg, out, false);
    // RFC 1191 4: the next-hop MTU is the low-order 16 bits of the unused field.
    if (r == TooBig.OK) out.mtu = <u32>bswap<u16>(load<u16>(msg, 6));
    return r;
  }
  if (seg.ipVersion == 6) {
    // RFC 4443 3.2: code 0 from the sender, ignored by the receiver.
    if (seg.ipProto != IPPROTO_ICMPV6 || icmpType(msg) != ICMPV6_PACKET_TOO_BIG) return TooBig.NONE;
    const r = quotedTcpV6(inPtr, msg, msgLen, seg, out, false);
    if (r == TooBig.OK) out.mtu = bswap<u32>(load<u32>(msg, 4));
    return r;
  }
  return TooBig.NONE;
}

/**
 * Reads an ICMP destination unreachable other than fragmentation needed (RFC 792), or an ICMPv6
 * destination unreachable (RFC 4443 3.1), that quotes a TCP segment, into `out` (its code in
 * out.code). NONE when it is another message or quotes another protocol (a UDP datagram's error is
 * udp.ts's), MALFORMED when it fails a check.
 */
export function icmpTcpUnreachable(inPtr: usize, inLen: u32, seg: Segment, out: QuotedTcp): TooBig {
  const msgOff = seg.payloadOffset;
  const msgLen = seg.payloadLen;
  if (msgOff > inLen || msgLen > inLen - msgOff || msgLen < 2) return TooBig.NONE;
  const msg = inPtr + msgOff;
  out.code = <u32>icmpCode(msg);
  if (seg.ipVersion == 4) {
    if (seg.ipProto != IPPROTO_ICMP || icmpType(msg) != ICMP_DEST_UNREACHABLE || icmpCode(msg) == ICMP_FRAG_NEEDED) {
      return TooBig.NONE;
    }
    return quotedTcpV4(msg, msgLen, seg, out, true);
  }
  if (seg.ipVersion == 6) {
    if (seg.ipProto != IPPROTO_ICMPV6 || icmpType(msg) != ICMPV6_DEST_UNREACHABLE) return TooBig.NONE;
    return quotedTcpV6(inPtr, msg, msgLen, seg, out, true);
  }
  return TooBig.NONE;
}

/**
 * The IPv4 packet an ICMP error `msg` quotes, checked (length, checksum, version, header length, the
 * transport `proto` with at least `quoted` bytes of its header, not a later fragment, sent from the
 * address the error came to). Returns the quoted IP header's length, 0 when the quote is malformed.
 */
function checkedQuoteV4(msg: usize, msgLen: u32, seg: Segment, proto: u32, quoted: u32): u32 {
  if (msgLen < ERROR_HEADER_LEN + ipv4.MIN_HEADER_LEN + quoted) return 0;
  if (onesSum(msg, msgLen, 0) != 0xffff) return 0;
  const q = msg + ERROR_HEADER_LEN;
  const qLen = msgLen - ERROR_HEADER_LEN;
  const hl = ipv4.headerLen(q);
  if (ipv4.version(q) != 4 || hl < ipv4.MIN_HEADER_LEN || hl + quoted > qLen) return 0;
  // A later fragment quotes no transport header; ours are never fragmented anyway (DF).
  if (ipv4.protocol(q) != proto || (ipv4.flagsFragment(q) & ipv4.FRAGMENT_OFFSET_MASK) != 0) return 0;
  // RFC 5927 4.3: the quoted packet must be one we sent, from the address the error came back to.
  if (<u64>ipv4.srcAddr(q) != seg.dstA) return 0;
  return hl;
}

/** checkedQuoteV4 for ICMPv6 (the checksum covers the pseudo-header of the packet at inPtr). */
function checkedQuoteV6(inPtr: usize, msg: usize, msgLen: u32, seg: Segment, proto: u32, quoted: u32): bool {
  if (msgLen < ERROR_HEADER_LEN + ipv6.HEADER_LEN + quoted) return false;
  const pseudo = pseudoHeaderSumV6(inPtr + ipv6.SRC_ADDR, inPtr + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen);
  if (onesSum(msg, msgLen, pseudo) != 0xffff) return false;
  const q = msg + ERROR_HEADER_LEN;
  // We send no extension headers: the transport header must follow the fixed header directly.
  return ipv6.version(q) == 6 && ipv6.nextHeader(q) == proto && ipv6.srcAddrHigh(q) == seg.dstA && ipv6.srcAddrLow(q) == seg.dstB;
}

/**
 * The IPv4 header and TCP ports and sequence number an ICMP error message `msg` quotes, checked
 * (length, checksum, version, header length, TCP, not a later fragment, sent from the address the
 * error came to). With `tcpOnly`, a quoted packet of another protocol is NONE (someone else's).
 */
function quotedTcpV4(msg: usize, msgLen: u32, seg: Segment, out: QuotedTcp, tcpOnly: bool): TooBig {
  if (tcpOnly && (msgLen < ERROR_HEADER_LEN + ipv4.MIN_HEADER_LEN || ipv4.protocol(msg + ERROR_HEADER_LEN) != IPPROTO_TCP)) {
    return TooBig.NONE;
  }
  const hl = checkedQuoteV4(msg, msgLen, seg, IPPROTO_TCP, QUOTED_TCP_BYTES);
  if (hl == 0) return TooBig.MALFORMED;
  const q = msg + ERROR_HEADER_LEN;
  out.ipVersion = 4;
  out.localA = seg.dstA;
  out.localB = 0;
  out.remoteA = <u64>ipv4.dstAddr(q);
  out.remoteB = 0;
  readQuotedTcp(q + hl, out);
  return TooBig.OK;
}

/** quotedTcpV4 for ICMPv6 (the checksum covers the pseudo-header of the packet at inPtr). */
function quotedTcpV6(inPtr: usize, msg: usize, msgLen: u32, seg: Segment, out: QuotedTcp, tcpOnly: bool): TooBig {
  if (tcpOnly && (msgLen < ERROR_HEADER_LEN + ipv6.HEADER_LEN || ipv6.nextHeader(msg + ERROR_HEADER_LEN) != IPPROTO_TCP)) {
    return TooBig.NONE;
  }
  if (!checkedQuoteV6(inPtr, msg, msgLen, seg, IPPROTO_TCP, QUOTED_TCP_BYTES)) return TooBig.MALFORMED;
  const q = msg + ERROR_HEADER_LEN;
  out.ipVersion = 6;
  out.localA = seg.dstA;
  out.localB = seg.dstB;
  out.remoteA = ipv6.dstAddrHigh(q);
  out.remoteB = ipv6.dstAddrLow(q);
  readQuotedTcp(q + ipv6.HEADER_LEN, out);
  return TooBig.OK;
}

/** Source port, destination port and sequence number: the first 8 bytes of the quoted TCP header. */
@inline function readQuotedTcp(p: usize, out: QuotedTcp): void {
  out.localPort = <u32>bswap<u16>(load<u16>(p));
  out.remotePort = <u32>bswap<u16>(load<u16>(p, 2));
  out.seq = bswap<u32>(load<u32>(p, 4));
}

// ---- Destination unreachable errors: ICMP (RFC 792) and ICMPv6 (RFC 4443 3.1) ----
//
// Contract: icmpDestUnreachable takes a packet parsePacket refused with Reason.NOT_TCP (so `seg` holds
// its validated IP fields and bounds) that the caller will not deliver, for example a UDP datagram to
// a closed port. It refuses to answer what RFC 1122 3.2.2 and RFC 4443 2.4 (e) forbid answering on the
// packet alone (an ICMP error, a multicast or broadcast destination, a source that names no single
// host), then quotes as much of the packet as fits in the minimum reassembly size (576 bytes, RFC
// 1812 4.3.2.3) or the minimum IPv6 MTU (1280, RFC 4443 3.1). outPtr may equal inPtr. Rate limiting
// (RFC 4443 2.4 (f)) is the caller's.

/** RFC 792 code 3 of destination unreachable; RFC 4443 3.1 type 1 and its code 4. */
export const ICMP_PORT_UNREACHABLE: u8 = 3;
export const ICMPV6_DEST_UNREACHABLE: u8 = 1;
export const ICMPV6_PORT_UNREACHABLE: u8 = 4;
/** The largest ICMP error datagram: every IPv4 host reassembles 576 bytes (RFC 1122 3.3.2). */
export const ICMP_ERROR_MAX: u32 = 576;
/** The largest ICMPv6 error packet: the IPv6 minimum MTU (RFC 4443 2.4 (c)). */
export const ICMPV6_ERROR_MAX: u32 = 1280;

/** RFC 792 types that report errors, which no error may answer (RFC 1122 3.2.2). */
@inline function isIcmpError(type: u32): bool {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/**
 * Writes a destination unreachable error with `code` (an RFC 792 code for IPv4, an RFC 4443 3.1 code
 * for IPv6) about the packet at inPtr to outPtr; returns its length, or 0 (nothing written) when no
 * error may be sent or it would not fit in outCap bytes.
 */
export function icmpDestUnreachable(inPtr: usize, inLen: u32, seg: Segment, code: u32, outPtr: usize, outCap: u32): u32 {
  const ipEnd = seg.payloadOffset + seg.payloadLen;
  if (seg.payloadOffset > inLen || seg.payloadLen > inLen - seg.payloadOffset) return 0;
  const upper = inPtr + seg.payloadOffset;
  if (seg.ipVersion == 4) {
    if (!answerableIpv4(<u32>seg.srcA) || !answerableIpv4(<u32>seg.dstA)) return 0;
    if (seg.ipProto == IPPROTO_ICMP && (seg.payloadLen == 0 || isIcmpError(<u32>icmpType(upper)))) return 0;
    let quoted = ipEnd;
    if (quoted > ICMP_ERROR_MAX - ipv4.MIN_HEADER_LEN - ERROR_HEADER_LEN) quoted = ICMP_ERROR_MAX - ipv4.MIN_HEADER_LEN - ERROR_HEADER_LEN;
    const total = ipv4.MIN_HEADER_LEN + ERROR_HEADER_LEN + quoted;
    if (total > outCap) return 0;
    const msg = outPtr + ipv4.MIN_HEADER_LEN;
    memory.copy(msg + ERROR_HEADER_LEN, inPtr, quoted);
    ipv4.writeIpv4(outPtr, 0, total, 0, true, REPLY_TTL, IPPROTO_ICMP, <u32>seg.dstA, <u32>seg.srcA);
    ipv4.fillIpv4Checksum(outPtr);
    finishError(msg, ERROR_HEADER_LEN + quoted, ICMP_DEST_UNREACHABLE, code, 0);
    return total;
  }
  if (seg.ipVersion == 6) {
    if (!answerableIpv6(seg.srcA, seg.srcB) || (seg.dstA & 0xff) == 0xff) return 0;
    // RFC 4443 2.4 (e): no error about an error message (types 0-127).
    if (seg.ipProto == IPPROTO_ICMPV6 && (seg.payloadLen == 0 || icmpType(upper) < 128)) return 0;
    let quoted = ipEnd;
    if (quoted > ICMPV6_ERROR_MAX - ipv6.HEADER_LEN - ERROR_HEADER_LEN) quoted = ICMPV6_ERROR_MAX - ipv6.HEADER_LEN - ERROR_HEADER_LEN;
    const msgLen = ERROR_HEADER_LEN + quoted;
    const total = ipv6.HEADER_LEN + msgLen;
    if (total > outCap) return 0;
    const msg = outPtr + ipv6.HEADER_LEN;
    memory.copy(msg + ERROR_HEADER_LEN, inPtr, quoted);
    ipv6.writeIpv6(outPtr, 0, 0, msgLen, IPPROTO_ICMPV6, REPLY_TTL, seg.dstA, seg.dstB, seg.srcA, seg.srcB);
    finishError(msg, msgLen, ICMPV6_DEST_UNREACHABLE, code,
      pseudoHeaderSumV6(outPtr + ipv6.SRC_ADDR, outPtr + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen));
    return total;
  }
  return 0;
}

/** Port unreachable (ICMP code 3, ICMPv6 code 4) about the packet at inPtr: see icmpDestUnreachable. */
export function icmpPortUnreachable(inPtr: usize, inLen: u32, seg: Segment, outPtr: usize, outCap: u32): u32 {
  const code: u32 = seg.ipVersion == 6 ? ICMPV6_PORT_UNREACHABLE : ICMP_PORT_UNREACHABLE;
  return icmpDestUnreachable(inPtr, inLen, seg, code, outPtr, outCap);
}

/** Type, code, a zero unused word and the checksum over the message (+ pseudo-header). */
@inline function finishError(p: usize, len: u32, type: u8, code: u32, pseudo: u32): void {
  store<u8>(p + TYPE, type);
  store<u8>(p + CODE, <u8>code);
  store<u16>(p + CHECKSUM, 0);
  store<u32>(p + 4, 0);
  store<u16>(p + CHECKSUM, bswap<u16>(finishChecksum(onesSum(p, len, pseudo))));
}

// ---- Port unreachable errors about our own UDP datagrams (RFC 792, RFC 4443 3.1; RFC 1122 4.1.3.3) ----
//
// Contract: icmpQuotedUdp takes a packet parsePacket refused with Reason.NOT_TCP (so `seg` holds its
// validated IP fields). It checks the message (type and code, length, checksum) and the header it
// quotes (version, header length, UDP, not a later fragment, sent from the address the error came to)
// before reading the quoted datagram's addresses and ports into `out`, local being its source. Which
// socket sent it is the engine's business (engine/udp.ts).

const QUOTED_UDP_BYTES: u32 = 8;
const IPPROTO_UDP: u32 = 17;

/** What icmpQuotedUdp found: NONE (not a port unreachable error), OK (`out` filled) or MALFORMED. */
export function icmpQuotedUdp(inPtr: usize, inLen: u32, seg: Segment, out: FlowKey): TooBig {
  const msgOff = seg.payloadOffset;
  const msgLen = seg.payloadLen;
  if (msgOff > inLen || msgLen > inLen - msgOff || msgLen < 2) return TooBig.NONE;
  const msg = inPtr + msgOff;
  if (seg.ipVersion == 4) {
    if (seg.ipProto != IPPROTO_ICMP || icmpType(msg) != ICMP_DEST_UNREACHABLE || icmpCode(msg) != ICMP_PORT_UNREACHABLE) {
      return TooBig.NONE;
    }
    const hl = checkedQuoteV4(msg, msgLen, seg, IPPROTO_UDP, QUOTED_UDP_BYTES);
    if (hl == 0) return TooBig.MALFORMED;
    const q = msg + ERROR_HEADER_LEN;
    out.ipVersion = 4;
    out.localA = seg.dstA;
    out.localB = 0;
    out.remoteA = <u64>ipv4.dstAddr(q);
    out.remoteB = 0;
    out.localPort = <u32>bswap<u16>(load<u16>(q + hl));
    out.remotePort = <u32>bswap<u16>(load<u16>(q + hl, 2));
    return TooBig.OK;
  }
  if (seg.ipVersion == 6) {
    if (seg.ipProto != IPPROTO_ICMPV6 || icmpType(msg) != ICMPV6_DEST_UNREACHABLE || icmpCode(msg) != ICMPV6_PORT_UNREACHABLE) {
      return TooBig.NONE;
    }
    if (!checkedQuoteV6(inPtr, msg, msgLen, seg, IPPROTO_UDP, QUOTED_UDP_BYTES)) return TooBig.MALFORMED;
    const q = msg + ERROR_HEADER_LEN;
    out.ipVersion = 6;
    out.localA = seg.dstA;
    out.localB = seg.dstB;
    out.remoteA = ipv6.dstAddrHigh(q);
    out.remoteB = ipv6.dstAddrLow(q);
    out.localPort = <u32>bswap<u16>(load<u16>(q + ipv6.HEADER_LEN));
    out.remotePort = <u32>bswap<u16>(load<u16>(q + ipv6.HEADER_LEN, 2));
    return TooBig.OK;
  }
  return TooBig.NONE;
}
