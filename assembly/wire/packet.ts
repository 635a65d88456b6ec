// One IP+TCP packet: parse (validate, then decode into a Segment) and emit (headers from a Segment).
//
// Contract: parsePacket is the boundary for untrusted bytes. It reads nothing before checking it is
// inside [ptr, ptr + len): ipv4.ts / ipv6.ts validate the IP header and bound the IP payload, this
// file checks the TCP header against that payload, tcp.ts walks the options inside the TCP header.
// Every refusal returns a Reason (reason.ts); the Segment then holds whatever was decoded before the
// refusal (IP fields once the IP header validated, so NOT_TCP packets can go to icmp.ts). Emit
// (headersLen, emitHeaders, finishChecksums) trusts the Segment it is given: the engine built it.
import { Reason } from "./reason";
import { Segment } from "./segment";
import { onesSum, finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from "./checksum";
import * as ipv4 from "./ipv4";
import * as ipv6 from "./ipv6";
import * as tcp from "./tcp";
import { zeroSmall } from "./small";

export { Segment } from "./segment";

export const IPPROTO_TCP: u8 = 6;

/** Debug builds trap when a read would leave the validated bytes: a bug here, never bad input. */
@inline function checkRead(at: usize, n: u32, end: usize): void {
  if (DEBUG) assert(at + n <= end, "wire: read outside the validated packet");
}

/** Resets every decoded field, so nothing from a previous packet survives a refusal. */
@inline function resetSegment(seg: Segment): void {
  zeroSmall(changetype<usize>(seg), offsetof<Segment>());
  seg.wscale = -1;
}

/**
 * Parses and validates the IP+TCP packet of `len` bytes at `ptr` into `seg`. Returns Reason.OK (0)
 * or why the packet was refused. With `verifyChecksums` the IPv4 header checksum and the TCP
 * checksum (RFC 9293 3.1, with the pseudo-header) must verify. On NOT_TCP the IP fields are set and
 * payloadOffset/payloadLen describe the IP payload (after IPv6 extension headers).
 */
export function parsePacket(ptr: usize, len: u32, seg: Segment, verifyChecksums: bool): u32 {
  return parse(ptr, len, seg, verifyChecksums, false);
}

/**
 * parsePacket with checksums verified but for the TCP payload's share: the IPv4 header checksum must
 * verify; the TCP checksum is left to the caller, who sums the payload while it copies it (RFC 1071
 * 4.1; wire/copysum.ts) or with onesSum, adds `seg.headerSum` (pseudo-header and TCP header, folded) and
 * accepts the segment only on 0xffff (tcpChecksumOk), before acting on anything in it.
 */
export function parsePacketPayloadUnsummed(ptr: usize, len: u32, seg: Segment): u32 {
  return parse(ptr, len, seg, true, true);
}

/** Whether `payloadSum` (the folded RFC 1071 sum of the payload) completes `seg.headerSum` to a valid TCP checksum. */
@inline export function tcpChecksumOk(seg: Segment, payloadSum: u32): bool {
  const s = seg.headerSum + payloadSum;
  return ((s >>> 16) + (s & 0xffff)) == 0xffff;
}

function parse(ptr: usize, len: u32, seg: Segment, verifyChecksums: bool, leavePayload: bool): u32 {
  resetSegment(seg);
  seg.packet = ptr;
  if (len == 0) return Reason.TRUNCATED;
  const version = <u32>load<u8>(ptr) >> 4;
  let ipEnd: u32;
  let tcpOff: u32;
  let pseudo: u32;
  if (version == 4) {
    const r = ipv4.validateIpv4(ptr, len, verifyChecksums);
    if (r != Reason.OK) return r;
    checkRead(ptr, ipv4.MIN_HEADER_LEN, ptr + len);
    tcpOff = ipv4.headerLen(ptr);
    ipEnd = ipv4.totalLength(ptr);
    seg.ipVersion = 4;
    seg.ipProto = <u8>ipv4.protocol(ptr);
    seg.ttl = <u8>ipv4.ttl(ptr);
    seg.tos = <u8>ipv4.tos(ptr);
    seg.ipId = <u16>ipv4.ident(ptr);
    seg.dontFragment = ipv4.dontFragment(ptr);
    seg.srcA = <u64>ipv4.srcAddr(ptr);
    seg.dstA = <u64>ipv4.dstAddr(ptr);
    seg.ipHeaderLen = <u16>tcpOff;
    seg.payloadOffset = tcpOff;
    seg.payloadLen = ipEnd - tcpOff;
    if (ipv4.isFragment(ptr)) return Reason.IP_FRAGMENT;
    if (seg.ipProto != IPPROTO_TCP) return Reason.NOT_TCP;
    pseudo = verifyChecksums ? pseudoHeaderSumV4(ptr + ipv4.SRC_ADDR, ptr + ipv4.DST_ADDR, IPPROTO_TCP, ipEnd - tcpOff) : 0;
  } else if (version == 6) {
    const r = ipv6.validateIpv6(ptr, len);
    if (r != Reason.OK) return r;
    checkRead(ptr, ipv6.HEADER_LEN, ptr + len);
    ipEnd = ipv6.HEADER_LEN + ipv6.payloadLength(ptr);
    seg.ipVersion = 6;
    seg.ttl = <u8>ipv6.hopLimit(ptr);
    seg.tos = <u8>ipv6.trafficClass(ptr);
    seg.flowLabel = ipv6.flowLabel(ptr);
    seg.srcA = ipv6.srcAddrHigh(ptr);
    seg.srcB = ipv6.srcAddrLow(ptr);
    seg.dstA = ipv6.dstAddrHigh(ptr);
    seg.dstB = ipv6.dstAddrLow(ptr);
    seg.ipProto = <u8>ipv6.nextHeader(ptr);
    const walked = ipv6.skipExtensionHeaders(ptr, ipEnd);
    if (walked & 0x80000000) return walked & 0xff;
    tcpOff = walked & 0xffff;
    seg.ipProto = <u8>(walked >> 16);
    seg.ipHeaderLen = <u16>tcpOff;
    seg.payloadOffset = tcpOff;
    seg.payloadLen = ipEnd - tcpOff;
    if (seg.ipProto != IPPROTO_TCP) return Reason.NOT_TCP;
    pseudo = verifyChecksums ? pseudoHeaderSumV6(ptr + ipv6.SRC_ADDR, ptr + ipv6.DST_ADDR, IPPROTO_TCP, ipEnd - tcpOff) : 0;
  } else {
    return Reason.BAD_IP_VERSION;
  }

  // TCP header: 20 bytes present, then 20 <= data offset * 4 <= segment length (RFC 9293 3.1).
  const segLen = ipEnd - tcpOff;
  if (segLen < tcp.MIN_HEADER_LEN) return Reason.TRUNCATED;
  const t = ptr + tcpOff;
  checkRead(t, tcp.MIN_HEADER_LEN, ptr + ipEnd);
  const hlen = tcp.headerLen(t);
  if (hlen < tcp.MIN_HEADER_LEN || hlen > segLen) return Reason.TCP_DATA_OFFSET;
  if (leavePayload) seg.headerSum = onesSum(t, hlen, pseudo);
  else if (verifyChecksums && onesSum(t, segLen, pseudo) != 0xffff) return Reason.TCP_CHECKSUM;
  seg.srcPort = tcp.srcPort(t);
  seg.dstPort = tcp.dstPort(t);
  seg.seq = tcp.seqNum(t);
  seg.ack = tcp.ackNum(t);
  seg.flags = tcp.flags(t);
  seg.window = tcp.window(t);
  seg.urgent = tcp.urgent(t);
  seg.tcpHeaderLen = <u16>hlen;
  seg.payloadOffset = tcpOff + hlen;
  seg.payloadLen = segLen - hlen;
  if (hlen > tcp.MIN_HEADER_LEN) {
    checkRead(t, hlen, ptr + ipEnd);
    const r = tcp.parseOptions(t, hlen, seg);
    if (r != Reason.OK) return unsummedRefusal(seg, t + hlen, r, leavePayload);
  }
  // LAND (CVE-1999-0016): a SYN whose source address and port are its destination's.
  if ((seg.flags & tcp.FLG_SYN) != 0 && seg.srcPort == seg.dstPort &&
      seg.srcA == seg.dstA && seg.srcB == seg.dstB) {
    seg.land = true;
    return unsummedRefusal(seg, t + hlen, Reason.LAND, leavePayload);
  }
  return Reason.OK;
}

/**
 * A refusal found after the header sum when the payload was left unsummed: a bad checksum is still
 * the reason reported, as parsePacket reports it, so that the drop counters agree.
 */
function unsummedRefusal(seg: Segment, payload: usize, reason: u32, leavePayload: bool): u32 {
  if (leavePayload && !tcpChecksumOk(seg, onesSum(payload, seg.payloadLen, 0))) return Reason.TCP_CHECKSUM;
  return reason;
}

/** IP header + TCP header with the options `seg` carries, as emitHeaders writes them. */
export function headersLen(seg: Segment): u32 {
  return (seg.ipVersion == 6 ? ipv6.HEADER_LEN : ipv4.MIN_HEADER_LEN) + tcp.MIN_HEADER_LEN + tcp.optionsLen(seg);
}

/**
 * Writes the IP header (IPv4 without options, IPv6 without extension headers; protocol TCP) and the
 * TCP header with options at `ptr`. IP lengths include `payloadLen`; both checksums are left zero for
 * finishChecksums once the payload is in place. Returns the header length.
 */
export function emitHeaders(ptr: usize, seg: Segment, payloadLen: u32): u32 {
  let t: usize;
  const tcpLen = tcp.MIN_HEADER_LEN + tcp.optionsLen(seg);
  if (seg.ipVersion == 6) {
    ipv6.writeIpv6(ptr, seg.tos, seg.flowLabel, tcpLen + payloadLen, IPPROTO_TCP, seg.ttl,
      seg.srcA, seg.srcB, seg.dstA, seg.dstB);
    t = ptr + ipv6.HEADER_LEN;
  } else {
    ipv4.writeIpv4(ptr, seg.tos, ipv4.MIN_HEADER_LEN + tcpLen + payloadLen, seg.ipId, seg.dontFragment,
      seg.ttl, IPPROTO_TCP, <u32>seg.srcA, <u32>seg.dstA);
    t = ptr + ipv4.MIN_HEADER_LEN;
  }
  store<u16>(t + tcp.SRC_PORT, bswap<u16>(seg.srcPort));
  store<u16>(t + tcp.DST_PORT, bswap<u16>(seg.dstPort));
  store<u32>(t + tcp.SEQ_NUM, bswap<u32>(seg.seq));
  store<u32>(t + tcp.ACK_NUM, bswap<u32>(seg.ack));
  store<u16>(t + tcp.OFFSET_FLAGS, bswap<u16>(<u16>((tcpLen << 10) | (seg.flags & tcp.FLAGS_MASK))));
  store<u16>(t + tcp.WINDOW, bswap<u16>(seg.window));
  store<u16>(t + tcp.CHECKSUM, 0);
  store<u16>(t + tcp.URGENT, bswap<u16>(seg.urgent));
  tcp.writeOptions(t + tcp.MIN_HEADER_LEN, seg);
  return <u32>(t - ptr) + tcpLen;
}

/**
 * Fills in the checksums of a packet emitHeaders wrote, `totalLen` bytes including the payload: the
 * IPv4 header checksum, and the TCP checksum over the pseudo-header, header and payload.
 */
export function finishChecksums(ptr: usize, totalLen: u32): void {
  finishChecksumsOver(ptr, totalLen, totalLen, 0);
}

/**
 * finishChecksums for a packet whose payload, from `headersLen` on (as emitHeaders returned it), was
 * summed while it was copied in (`payloadSum`, folded; wire/copysum.ts): only the headers are read.
 */
export function finishChecksumsSummed(ptr: usize, totalLen: u32, headersLen: u32, payloadSum: u32): void {
  finishChecksumsOver(ptr, totalLen, headersLen, payloadSum);
}

/** The checksums of a packet of `totalLen` bytes, reading the first `sumLen` and adding `restSum` for the others. */
function finishChecksumsOver(ptr: usize, totalLen: u32, readLen: u32, restSum: u32): void {
  let t: usize;
  let pseudo: u32;
  if (<u32>load<u8>(ptr) >> 4 == 6) {
    t = ptr + ipv6.HEADER_LEN;
    pseudo = pseudoHeaderSumV6(ptr + ipv6.SRC_ADDR, ptr + ipv6.DST_ADDR, IPPROTO_TCP, totalLen - ipv6.HEADER_LEN);
  } else {
    ipv4.fillIpv4Checksum(ptr);
    const hlen = ipv4.headerLen(ptr);
    t = ptr + hlen;
    pseudo = pseudoHeaderSumV4(ptr + ipv4.SRC_ADDR, ptr + ipv4.DST_ADDR, IPPROTO_TCP, totalLen - hlen);
  }
  const sumLen = readLen - <u32>(t - ptr);
  store<u16>(t + tcp.CHECKSUM, 0);
  // The TCP header is a multiple of 4 bytes, so the payload's words pair as the segment's do.
  let s = onesSum(t, sumLen, pseudo) + restSum;
  s = (s >>> 16) + (s & 0xffff);
  store<u16>(t + tcp.CHECKSUM, bswap<u16>(finishChecksum(s)));
}
