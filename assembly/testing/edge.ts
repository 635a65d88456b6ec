// Numeric wrappers over the edge wire code (assembly/wire/ethernet.ts, arp.ts, ndp.ts, udp.ts and
// icmp.ts's unreachable errors) for test/wire/{ethernet,arp,ndp,udp}.test.ts. Each parser decodes
// into one static struct whose fields the getters below read; MACs and IPv6 address halves cross as
// u64 (BigInt on the host) in memory byte order.
import { EdgeReason, EDGE_REASON_COUNT } from "../wire/reason";
import {
  EtherFrame, parseEthernet, writeEthernet, padFrame, classifyDestination, ipv4MulticastMac, ipv6MulticastMac,
  ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
} from "../wire/ethernet";
import {
  ArpPacket, parseArp, writeArpRequest, writeArpReply, writeArpProbe, writeArpAnnouncement,
} from "../wire/arp";
import { Segment } from "../wire/segment";
import { Reason } from "../wire/reason";
import { parsePacket } from "../wire/packet";
import {
  NdMessage, parseNd, emitNd, writeNeighborSolicitation, writeNeighborAdvertisement, writeRouterAdvertisement,
  solicitedNodeLow,
} from "../wire/ndp";
import { Datagram, parseUdp, emitUdpHeaders, finishUdpChecksum } from "../wire/udp";
import { icmpDestUnreachable, icmpPortUnreachable } from "../wire/icmp";

export function tEdgeReasonCount(): u32 { return EDGE_REASON_COUNT; }

const frame = changetype<EtherFrame>(memory.data(offsetof<EtherFrame>(), 8));
const arp = changetype<ArpPacket>(memory.data(offsetof<ArpPacket>(), 8));
const seg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));
const nd = changetype<NdMessage>(memory.data(offsetof<NdMessage>(), 8));
const ra = changetype<NdMessage>(memory.data(offsetof<NdMessage>(), 8));
const dgram = changetype<Datagram>(memory.data(offsetof<Datagram>(), 8));

/** Added to a wire Reason when parsePacket refused the IP packet before the edge parser ran. */
export const IP_REFUSED: u32 = 0x100;

/** parsePacket with checksums verified: NOT_TCP is where the edge parsers take over. */
function parseIp(p: usize, len: u32): u32 {
  const r = parsePacket(p, len, seg, true);
  return r == Reason.NOT_TCP ? 0 : IP_REFUSED | r;
}

export function tEthParse(p: usize, len: u32, own: u64): u32 { return parseEthernet(p, len, own, frame); }
export function tEthDst(): u64 { return frame.dstMac; }
export function tEthSrc(): u64 { return frame.srcMac; }
export function tEthType(): u32 { return frame.etherType; }
export function tEthDestination(): u32 { return frame.destination; }
export function tEthVlanId(): u32 { return frame.vlanId; }
export function tEthPayloadOffset(): u32 { return frame.payloadOffset; }
export function tEthPayloadLen(): u32 { return frame.payloadLen; }
export function tEthWrite(p: usize, dst: u64, src: u64, etherType: u32): u32 { return writeEthernet(p, dst, src, etherType); }
export function tEthPad(p: usize, len: u32): u32 { return padFrame(p, len); }
export function tEthClassify(dst: u64, own: u64): u32 { return classifyDestination(dst, own); }
export function tIpv4MulticastMac(group: u32): u64 { return ipv4MulticastMac(group); }
export function tIpv6MulticastMac(groupLow: u64): u64 { return ipv6MulticastMac(groupLow); }

export function tArpParse(p: usize, len: u32): u32 { return parseArp(p, len, arp); }
export function tArpOperation(): u32 { return arp.operation; }
export function tArpSenderMac(): u64 { return arp.senderMac; }
export function tArpTargetMac(): u64 { return arp.targetMac; }
export function tArpSenderIp(): u32 { return arp.senderIp; }
export function tArpTargetIp(): u32 { return arp.targetIp; }
export function tArpProbe(): bool { return arp.probe; }
export function tArpAnnouncement(): bool { return arp.announcement; }
export function tArpRequest(p: usize, mac: u64, ip: u32, targetIp: u32): u32 { return writeArpRequest(p, mac, ip, targetIp); }
export function tArpReply(p: usize, mac: u64, ip: u32, toMac: u64, toIp: u32): u32 { return writeArpReply(p, mac, ip, toMac, toIp); }
export function tArpProbeWrite(p: usize, mac: u64, ip: u32): u32 { return writeArpProbe(p, mac, ip); }
export function tArpAnnounce(p: usize, mac: u64, ip: u32): u32 { return writeArpAnnouncement(p, mac, ip); }

/**
 * Ethernet, then ARP or IP by the EtherType: the path a frame from a TAP device takes. Returns the
 * EdgeReason of the first layer that refused it, 0 when all accepted.
 */
export function tFrameParse(p: usize, len: u32, own: u64): u32 {
  const r = parseEthernet(p, len, own, frame);
  if (r != EdgeReason.OK) return r;
  if (frame.etherType == ETHERTYPE_ARP) return parseArp(p + frame.payloadOffset, frame.payloadLen, arp);
  return EdgeReason.OK;
}

export function tNdParse(p: usize, len: u32): u32 {
  const r = parseIp(p, len);
  if (r != 0) return r;
  return parseNd(p, len, seg, nd);
}
export function tNdType(): u32 { return nd.type; }
export function tNdFlags(): u32 { return nd.flags; }
export function tNdTargetA(): u64 { return nd.targetA; }
export function tNdTargetB(): u64 { return nd.targetB; }
export function tNdHasSourceLinkAddr(): bool { return nd.hasSourceLinkAddr; }
export function tNdSourceLinkAddr(): u64 { return nd.sourceLinkAddr; }
export function tNdHasTargetLinkAddr(): bool { return nd.hasTargetLinkAddr; }
export function tNdTargetLinkAddr(): u64 { return nd.targetLinkAddr; }
export function tNdCurHopLimit(): u32 { return nd.curHopLimit; }
export function tNdRouterLifetime(): u32 { return nd.routerLifetime; }
export function tNdReachableTime(): u32 { return nd.reachableTime; }
export function tNdRetransTimer(): u32 { return nd.retransTimer; }
export function tNdMtu(): u32 { return nd.mtu; }
export function tNdPrefixCount(): u32 { return nd.prefixCount; }
export function tNdPrefixLength(): u32 { return nd.prefixLength; }
export function tNdPrefixFlags(): u32 { return nd.prefixFlags; }
export function tNdValidLifetime(): u32 { return nd.validLifetime; }
export function tNdPreferredLifetime(): u32 { return nd.preferredLifetime; }
export function tNdPrefixA(): u64 { return nd.prefixA; }
export function tNdPrefixB(): u64 { return nd.prefixB; }
export function tNdOptionsOffset(): u32 { return nd.optionsOffset; }
export function tNdOptionsLen(): u32 { return nd.optionsLen; }
export function tNdWriteNs(p: usize, srcA: u64, srcB: u64, targetA: u64, targetB: u64, mac: u64): u32 {
  return writeNeighborSolicitation(p, srcA, srcB, targetA, targetB, mac);
}
export function tNdWriteNa(p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64, targetA: u64, targetB: u64, flags: u32, mac: u64): u32 {
  return writeNeighborAdvertisement(p, srcA, srcB, dstA, dstB, targetA, targetB, flags, mac);
}
/** Router fields for tNdWriteRa; mtu 0 leaves the MTU option out, prefixLength 255 the prefix. */
export function tNdRaFields(curHopLimit: u32, flags: u32, lifetime: u32, reachable: u32, retrans: u32, mtu: u32): void {
  memory.fill(changetype<usize>(ra), 0, offsetof<NdMessage>());
  ra.curHopLimit = curHopLimit;
  ra.flags = flags;
  ra.routerLifetime = lifetime;
  ra.reachableTime = reachable;
  ra.retransTimer = retrans;
  ra.mtu = mtu;
}
export function tNdRaPrefix(prefixA: u64, prefixB: u64, length: u32, flags: u32, valid: u32, preferred: u32): void {
  ra.prefixCount = 1;
  ra.prefixA = prefixA;
  ra.prefixB = prefixB;
  ra.prefixLength = length;
  ra.prefixFlags = flags;
  ra.validLifetime = valid;
  ra.preferredLifetime = preferred;
}
export function tNdWriteRa(p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64, mac: u64): u32 {
  return writeRouterAdvertisement(p, srcA, srcB, dstA, dstB, mac, ra);
}
/** emitNd of the last parsed message: a parse -> emit round trip. */
export function tNdEmitParsed(p: usize, srcA: u64, srcB: u64, dstA: u64, dstB: u64): u32 {
  return emitNd(p, srcA, srcB, dstA, dstB, nd);
}
export function tSolicitedNodeLow(low: u64): u64 { return solicitedNodeLow(low); }

export function tUdpParse(p: usize, len: u32, verify: bool): u32 {
  const r = parseIp(p, len);
  if (r != 0) return r;
  return parseUdp(p, len, seg, dgram, verify);
}
export function tUdpSrcPort(): u32 { return dgram.srcPort; }
export function tUdpDstPort(): u32 { return dgram.dstPort; }
export function tUdpPayloadOffset(): u32 { return dgram.payloadOffset; }
export function tUdpPayloadLen(): u32 { return dgram.payloadLen; }
export function tUdpHasChecksum(): bool { return dgram.hasChecksum; }
export function tUdpEmitHeaders(
  p: usize, ipVersion: u32, srcA: u64, srcB: u64, dstA: u64, dstB: u64, srcPort: u32, dstPort: u32, payloadLen: u32, ttl: u32,
): u32 {
  return emitUdpHeaders(p, ipVersion, srcA, srcB, dstA, dstB, srcPort, dstPort, payloadLen, ttl);
}
export function tUdpFinish(p: usize, totalLen: u32): void { finishUdpChecksum(p, totalLen); }

/** parsePacket, then a port unreachable error about the packet to `out`; 0 when none may be sent. */
export function tIcmpPortUnreachable(p: usize, len: u32, out: usize, cap: u32): u32 {
  if (parseIp(p, len) != 0) return 0;
  return icmpPortUnreachable(p, len, seg, out, cap);
}
export function tIcmpDestUnreachable(p: usize, len: u32, code: u32, out: usize, cap: u32): u32 {
  if (parseIp(p, len) != 0) return 0;
  return icmpDestUnreachable(p, len, seg, code, out, cap);
}

// ---- Fuzzing: many untrusted inputs per call, each parsed where a read past its end traps ----

/** Inputs handed to tEdgeFuzz, by the parser they exercise. */
export const FUZZ_FRAME: u32 = 0;
export const FUZZ_ARP: u32 = 1;
export const FUZZ_ND: u32 = 2;
export const FUZZ_UDP: u32 = 3;

let tailPage: i32 = -1;

/**
 * Where a `len`-byte input goes so that its last byte is the last byte of linear memory: a page grown
 * here, outside the heap, and re-grown if the heap has grown past it since. Any read beyond the input
 * is then an out-of-bounds trap, not a silent read of the next record.
 */
function tailFor(len: u32): usize {
  if (tailPage < 0 || memory.size() != tailPage + 1) tailPage = memory.grow(1);
  return (<usize>(tailPage + 1) << 16) - len;
}

/** The whole receive path of a frame from a TAP device: Ethernet, ARP or IP, then ND or UDP, then
 *  the port unreachable error a closed port would send (written to `out`). */
function fuzzFrame(p: usize, len: u32, own: u64, out: usize): u32 {
  let r = parseEthernet(p, len, own, frame);
  if (r != EdgeReason.OK) return r;
  assert(frame.payloadOffset + frame.payloadLen == len);
  const inner = p + frame.payloadOffset;
  if (frame.etherType == ETHERTYPE_ARP) return fuzzArp(inner, frame.payloadLen);
  if (frame.etherType == ETHERTYPE_IPV6) {
    r = fuzzNd(inner, frame.payloadLen);
    if (r != EdgeReason.ND_NOT_ND) return r;
  }
  if (frame.etherType == ETHERTYPE_IPV4 || frame.etherType == ETHERTYPE_IPV6) return fuzzUdp(inner, frame.payloadLen, out);
  return EdgeReason.OK;
}

function fuzzArp(p: usize, len: u32): u32 {
  const r = parseArp(p, len, arp);
  if (r == EdgeReason.OK) assert(arp.operation == 1 || arp.operation == 2);
  return r;
}

function fuzzNd(p: usize, len: u32): u32 {
  const ip = parseIp(p, len);
  if (ip != 0) return ip;
  const r = parseNd(p, len, seg, nd);
  if (r == EdgeReason.OK) assert(nd.optionsOffset + nd.optionsLen <= len);
  return r;
}

function fuzzUdp(p: usize, len: u32, out: usize): u32 {
  const ip = parseIp(p, len);
  if (ip != 0) return ip;
  const r = parseUdp(p, len, seg, dgram, true);
  if (r == EdgeReason.OK) {
    assert(dgram.payloadOffset + dgram.payloadLen <= len);
    const n = icmpPortUnreachable(p, len, seg, out, 1280);
    assert(n <= (seg.ipVersion == 6 ? <u32>1280 : <u32>576));
  }
  return r;
}

/**
 * Runs parser `kind` (FUZZ_*) over the records at `ptr` ([u32 length][bytes][pad to 4], as
 * parseBatch takes them), each copied to the end of memory first; stores each result as a u16 at
 * `resultsOut` (an EdgeReason, or IP_REFUSED | Reason) and returns the number of records. Debug
 * assertions check what an accepted input reports lies inside it. `out` takes the ICMP errors.
 */
export function tEdgeFuzz(kind: u32, ptr: usize, byteLen: u32, own: u64, resultsOut: usize, out: usize): u32 {
  let off: u32 = 0;
  let n: u32 = 0;
  while (byteLen - off >= 4) {
    const len = load<u32>(ptr + off);
    if (len > byteLen - off - 4 || len > 65536) break;
    const p = tailFor(len);
    memory.copy(p, ptr + off + 4, len);
    let r: u32;
    if (kind == FUZZ_FRAME) r = fuzzFrame(p, len, own, out);
    else if (kind == FUZZ_ARP) r = fuzzArp(p, len);
    else if (kind == FUZZ_ND) r = fuzzNd(p, len);
    else r = fuzzUdp(p, len, out);
    store<u16>(resultsOut + (<usize>n << 1), <u16>r);
    n++;
    off = (off + 4 + len + 3) & ~3;
    if (off > byteLen) break;
  }
  return n;
}

/** Reads the byte `at` bytes into a `len`-byte input placed as tEdgeFuzz places it: traps from `at` = len. */
export function tTailRead(len: u32, at: u32): u32 {
  return <u32>load<u8>(tailFor(len) + at);
}
