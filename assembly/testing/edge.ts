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

const frame = changetype<EtherFrame>(memory.data(offsetof<EtherFrame>(), 8));
const arp = changetype<ArpPacket>(memory.data(offsetof<ArpPacket>(), 8));

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
