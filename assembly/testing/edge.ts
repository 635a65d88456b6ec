// Numeric wrappers over the edge wire code (assembly/wire/ethernet.ts, arp.ts, ndp.ts, udp.ts and
// icmp.ts's unreachable errors) for test/wire/{ethernet,arp,ndp,udp}.test.ts. Each parser decodes
// into one static struct whose fields the getters below read; MACs and IPv6 address halves cross as
// u64 (BigInt on the host) in memory byte order.
import { EdgeReason } from "../wire/reason";
import {
  EtherFrame, parseEthernet, writeEthernet, padFrame, classifyDestination, ipv4MulticastMac, ipv6MulticastMac,
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
  if (frame.etherType == 0x0806) return parseArp(p + frame.payloadOffset, frame.payloadLen, arp);
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
