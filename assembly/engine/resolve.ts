// Address resolution on Ethernet interfaces: ARP answered and learned (RFC 826 with the merge rule of
// its "packet reception" section), solicitations sent for the neighbour cache (ARP requests for IPv4,
// neighbour solicitations for IPv6, RFC 4861 7.2.2), packets released once a neighbour answers, the
// cache's timers, and gratuitous ARP (RFC 5227 2.3 announcements) when an interface comes up. Every
// frame leaves through the control queue as a ready frame (emit.ts controlCommitFrame).
import { ArpPacket, parseArp, writeArpRequest, writeArp, writeArpAnnouncement, OP_REQUEST, OP_REPLY, PACKET_LEN } from "../wire/arp";
import { writeEthernet, padFrame, HEADER_LEN, MAC_BROADCAST, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ipv6MulticastMac } from "../wire/ethernet";
import { EdgeReason } from "../wire/reason";
import { NdMessage, emitNd, TYPE_NEIGHBOR_SOLICITATION, solicitedNodeHigh, solicitedNodeLow } from "../wire/ndp";
import { controlPacketRoom, controlWritePtr, controlCommitFrame } from "./emit";
import { ifaceAt, addressAt, ownAddressIndex, firstIpv4, Dad } from "./iface";
import {
  NbState, NbDue, nbFind, nbCreate, nbLearn, nbAt, nbFree, nbExpire, nbTakePending, nbPendingPtr, nbPendingLen, nbRelease,
  nbDeadline, nbRecomputeDeadline, nbCapacity, enterState, Neighbour, REACHABLE_TIME_US, DELAY_FIRST_PROBE_US,
} from "./neighbour";
import { neighbourUnreachable, progressSince } from "./nexthop";
import { count, Counter } from "./counters";

const arp = changetype<ArpPacket>(memory.data(offsetof<ArpPacket>(), 8));
const ns = changetype<NdMessage>(memory.data(offsetof<NdMessage>(), 8));

/**
 * Room in the control queue for a frame with `payload` bytes after its Ethernet header; counted as a
 * control drop when there is none.
 */
export function frameRoom(payload: u32): bool {
  if (controlPacketRoom() >= payload) return true;
  count(Counter.CONTROL_DROPPED);
  return false;
}

/** Writes the Ethernet header of the frame being built at controlWritePtr() and commits it. */
export function commitFrame(ifIndex: u32, dstMac: u64, etherType: u32, payload: u32): void {
  const p = controlWritePtr();
  writeEthernet(p - HEADER_LEN, dstMac, ifaceAt(ifIndex).mac, etherType);
  // IEEE 802.3 4.2.3.3: the frame (header included) is padded to 60 bytes.
  const len = padFrame(p - HEADER_LEN, payload + HEADER_LEN) - HEADER_LEN;
  controlCommitFrame(len, ifIndex);
}

const ARP_PAYLOAD: u32 = 46;

/** An ARP packet (arguments as writeArp) in its own broadcast or unicast frame. */
function sendArp(ifIndex: u32, dstMac: u64, op: u32, targetMac: u64, senderIp: u32, targetIp: u32): void {
  if (!frameRoom(ARP_PAYLOAD)) return;
  writeArp(controlWritePtr(), op, ifaceAt(ifIndex).mac, senderIp, targetMac, targetIp);
  commitFrame(ifIndex, dstMac, ETHERTYPE_ARP, PACKET_LEN);
}

/** RFC 826, "packet reception", for the untrusted `len`-byte ARP packet at `p` from interface `ifIndex`. */
export function arpArrives(ifIndex: u32, p: usize, len: u32, nowUs: i64): void {
  count(Counter.ARP_IN);
  if (parseArp(p, len, arp) != EdgeReason.OK) {
    count(Counter.ARP_DROPPED);
    return;
  }
  const f = ifaceAt(ifIndex);
  // RFC 5227 2.4: another station claims one of our addresses.
  if (arp.senderIp != 0 && arp.senderMac != f.mac && ownAddressIndex(ifIndex, 4, arp.senderIp, 0) >= 0) {
    count(Counter.ADDRESS_CONFLICTS);
    return;
  }
  const forUs = arp.targetIp != 0 && ownAddressIndex(ifIndex, 4, arp.targetIp, 0) >= 0;
  let merged = false;
  if (arp.senderIp != 0) {
    // RFC 826: update an entry for the sender if there is one, whoever the packet is for.
    const i = nbFind(ifIndex, 4, arp.senderIp, 0);
    if (i >= 0) {
      merged = true;
      const s = nbAt(<u32>i).state;
      const answer = arp.operation == OP_REPLY && forUs && (s == NbState.INCOMPLETE || s == NbState.PROBE);
      if (nbLearn(<u32>i, arp.senderMac, answer, nowUs)) releasePending(<u32>i);
    }
  }
  if (!forUs) {
    count(Counter.ARP_NOT_FOR_US);
    return;
  }
  // RFC 826: we are the target, so add the sender (not from a probe, whose sender address is 0).
  if (!merged && arp.senderIp != 0) nbCreate(ifIndex, 4, arp.senderIp, 0, NbState.STALE, arp.senderMac, nowUs);
  if (arp.operation == OP_REQUEST) {
    sendArp(ifIndex, arp.senderMac, OP_REPLY, arp.senderMac, arp.targetIp, arp.senderIp);
    count(Counter.ARP_REPLIES_SENT);
  }
}

/** RFC 5227 2.3: an announcement for each IPv4 address of the interface (gratuitous ARP). */
export function arpAnnounce(ifIndex: u32): void {
  const f = ifaceAt(ifIndex);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version != 4 || !frameRoom(ARP_PAYLOAD)) continue;
    writeArpAnnouncement(controlWritePtr(), f.mac, <u32>e.a);
    commitFrame(ifIndex, MAC_BROADCAST, ETHERTYPE_ARP, PACKET_LEN);
    count(Counter.ARP_REQUESTS_SENT);
  }
}

/**
 * Our link-local address on the interface while we may use it as a source (RFC 4861 7.2.2), written
 * at `out`; returns its Dad state, or -1 when there is none (or it turned out duplicate).
 */
export function linkLocalSource(ifIndex: u32, out: usize): i32 {
  const f = ifaceAt(ifIndex);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version == 6 && (e.a & 0xc0ff) == 0x80fe && e.dad != Dad.DUPLICATE) {
      store<u64>(out, e.a);
      store<u64>(out, e.b, 8);
      return <i32>e.dad;
    }
  }
  return -1;
}

const llScratch = memory.data(16, 8);

/**
 * A solicitation for entry `i`: to everyone (ARP broadcast, the solicited-node group) while it is
 * INCOMPLETE, to the cached address in PROBE (RFC 4861 7.3.3).
 */
export function solicit(i: u32): void {
  const e = nbAt(i);
  const ifIndex = <u32>e.ifIndex;
  const unicast = e.state == NbState.PROBE;
  if (e.version == 4) {
    const src = firstIpv4(ifIndex);
    if (!frameRoom(ARP_PAYLOAD)) return;
    writeArpRequest(controlWritePtr(), ifaceAt(ifIndex).mac, src, <u32>e.a);
    commitFrame(ifIndex, unicast ? e.mac : MAC_BROADCAST, ETHERTYPE_ARP, PACKET_LEN);
    count(Counter.ARP_REQUESTS_SENT);
    return;
  }
  const dad = linkLocalSource(ifIndex, llScratch);
  if (dad < 0) return;
  const f = ifaceAt(ifIndex);
  memory.fill(changetype<usize>(ns), 0, offsetof<NdMessage>());
  ns.type = TYPE_NEIGHBOR_SOLICITATION;
  ns.targetA = e.a;
  ns.targetB = e.b;
  // RFC 4429 3.3: from an optimistic address, no source link-layer option: it would override the
  // cache entry of the address's genuine owner, should DAD find one. The target resolves us itself.
  ns.hasSourceLinkAddr = dad != Dad.OPTIMISTIC;
  ns.sourceLinkAddr = f.mac;
  if (!frameRoom(40 + 32)) return;
  const dstA = unicast ? e.a : solicitedNodeHigh();
  const dstB = unicast ? e.b : solicitedNodeLow(e.b);
  const n = emitNd(controlWritePtr(), load<u64>(llScratch), load<u64>(llScratch, 8), dstA, dstB, ns);
  commitFrame(ifIndex, unicast ? e.mac : ipv6MulticastMac(dstB), ETHERTYPE_IPV6, n);
  count(Counter.NS_SENT);
}

/** Entry `i` has a link-layer address now: its waiting packets go out, oldest first, as frames. */
export function releasePending(i: u32): void {
  const e = nbAt(i);
  const ifIndex = <u32>e.ifIndex;
  const type = e.version == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  for (;;) {
    const s = nbTakePending(e);
    if (s < 0) return;
    const len = nbPendingLen(<u32>s);
    if (frameRoom(len)) {
      memory.copy(controlWritePtr(), nbPendingPtr(<u32>s), len);
      commitFrame(ifIndex, e.mac, type, len);
    } else {
      count(Counter.NEIGHBOUR_PENDING_DROPPED);
    }
    nbRelease(<u32>s);
  }
}

/**
 * RFC 4861 7.3.1: forward progress of a connection through `e` confirms it. A REACHABLE entry whose
 * ReachableTime ran out stays REACHABLE when progress came in its last BASE_REACHABLE_TIME / 2 (the
 * shortest ReachableTime, 6.3.2); a DELAY entry goes to REACHABLE instead of PROBE when progress came
 * since it entered DELAY. True when `e` was renewed so.
 */
function confirmedByProgress(e: Neighbour, nowUs: i64): bool {
  let since: i64;
  if (e.state == NbState.REACHABLE) since = nowUs - REACHABLE_TIME_US / 2;
  else if (e.state == NbState.DELAY) since = e.deadline - DELAY_FIRST_PROBE_US;
  else return false;
  if (!progressSince(<u32>e.ifIndex, <u32>e.version, e.a, e.b, since)) return false;
  enterState(e, NbState.REACHABLE, nowUs);
  return true;
}

/** Runs the neighbour entries whose deadline has come (RFC 4861 7.3.3); cheap when none is due. */
export function neighbourTimers(nowUs: i64): void {
  if (nbDeadline > nowUs) return;
  const n = nbCapacity();
  for (let i: u32 = 0; i < n; i++) {
    const e = nbAt(i);
    if (e.state == NbState.FREE || e.deadline > nowUs) continue;
    if (confirmedByProgress(e, nowUs)) continue;
    const due = nbExpire(i, nowUs);
    if (due == NbDue.SOLICIT) solicit(i);
    else if (due == NbDue.FAILED) {
      count(Counter.NEIGHBOUR_FAILED);
      neighbourUnreachable(<u32>e.ifIndex, <u32>e.version, e.a, e.b);
      nbFree(i);
    }
  }
  nbRecomputeDeadline();
}
