// Frames in and out of Ethernet interfaces. In: the Ethernet header parsed (wire/ethernet.ts), VLAN
// tags and frames for other stations or groups we do not listen to counted and dropped, ARP to
// resolve.ts, IPv4 and IPv6 checked against the interface's addresses and groups and passed to the
// packet path (input.ts). Out: after output() has filled the TX region, each IP packet the route
// table sends to an Ethernet interface gets its Ethernet header in the record's headroom, or waits
// in the neighbour cache for resolution (RFC 4861 7.2.2: the first packet starts it).
import {
  EtherFrame, parseEthernet, writeEthernet, Destination, HEADER_LEN, MAC_BROADCAST, ETHERTYPE_ARP, ETHERTYPE_IPV4,
  ETHERTYPE_IPV6, ipv4MulticastMac, ipv6MulticastMac,
} from "../wire/ethernet";
import { EdgeReason } from "../wire/reason";
import {
  TX_META_IP, TX_META_FRAME, TX_META_HELD, txRecordCount, txNextRecord, txRecordData, txRecordLen, txRecordMeta, txSetRecordMeta,
} from "./emit";
import { ifaceAt, addressAt, routeLookup, isOnLink, isOwnAnywhere, ownAddressIndex, prefixHolds, Dad, IfKind } from "./iface";
import { NbState, nbFind, nbCreate, nbHold, nbAt, enterState, nbEpoch } from "./neighbour";
import { arpArrives, solicit } from "./resolve";
import { isOurGroup } from "./ndisc";
import { count, Counter } from "./counters";
import { anyDestinationOf, AnyDestination } from "./forward";

const frame = changetype<EtherFrame>(memory.data(offsetof<EtherFrame>(), 8));

/** The source MAC of the frame being processed (neighbour discovery answers it when no option names one). */
export let frameSource: u64 = 0;

/**
 * The frame being processed went to a link-layer broadcast or group, or its IP packet to a broadcast
 * or group address: RFC 1122 3.2.2 forbids answering it with an ICMP error.
 */
export let frameToGroup: bool = false;

/**
 * The untrusted `len`-byte frame at `p` from Ethernet interface `ifIndex`. Returns the IP packet's
 * length to pass on (its first byte at p + HEADER_LEN), or 0 when the frame was consumed or dropped.
 */
export function frameArrives(ifIndex: u32, p: usize, len: u32, nowUs: i64): u32 {
  count(Counter.FRAMES_IN);
  const f = ifaceAt(ifIndex);
  const r = parseEthernet(p, len, f.mac, frame);
  if (r == EdgeReason.ETH_VLAN) {
    count(Counter.FRAMES_VLAN_DROPPED);
    return 0;
  }
  if (r != EdgeReason.OK) {
    count(Counter.FRAMES_DROPPED);
    return 0;
  }
  const dest = frame.destination;
  if (dest == Destination.OTHER || dest == Destination.MULTICAST_OTHER ||
      (dest == Destination.MULTICAST_IPV4 && frame.dstMac != ALL_HOSTS_MAC)) {
    count(Counter.FRAMES_NOT_FOR_US);
    return 0;
  }
  const type = frame.etherType;
  const payload = p + HEADER_LEN;
  const payloadLen = frame.payloadLen;
  if (type == ETHERTYPE_ARP) {
    arpArrives(ifIndex, payload, payloadLen, nowUs);
    return 0;
  }
  if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6) {
    count(Counter.FRAMES_DROPPED);
    return 0;
  }
  // The IP header must agree with the EtherType (RFC 894, RFC 2464 3) and be addressed to us.
  const version: u32 = payloadLen != 0 ? <u32>load<u8>(payload) >> 4 : 0;
  if (version != (type == ETHERTYPE_IPV4 ? <u32>4 : <u32>6)) {
    count(Counter.FRAMES_DROPPED);
    return 0;
  }
  frameToGroup = dest != Destination.US;
  if (!ipForUs(ifIndex, version, payload, payloadLen)) {
    count(Counter.IP_NOT_FOR_US);
    return 0;
  }
  frameSource = frame.srcMac;
  return payloadLen;
}

/** 01:00:5e:00:00:01, the all-hosts group 224.0.0.1 (RFC 1112 6.4): the one IPv4 group every host is in. */
const ALL_HOSTS_MAC: u64 = 0x0100005e0001;

const IPPROTO_TCP: u32 = 6;

/**
 * Whether an IP packet in a frame is for this interface: one of its addresses (an IPv6 address found
 * duplicate is not ours any more, RFC 4862 5.4.5), or, for anything but TCP (RFC 1122 4.2.3.10: TCP
 * is unicast), a broadcast or a group we are in. Lengths are checked later by parsePacket; only the
 * fixed header's destination is read here, after checking it is present.
 */
function ipForUs(ifIndex: u32, version: u32, p: usize, len: u32): bool {
  if (version == 4) {
    if (len < 20) return true;
    // RFC 1122 3.2.1.3: a loopback source from a link is a martian.
    if (isLoopback(4, <u64>load<u32>(p + 12), 0)) return false;
    const dst = load<u32>(p + 16);
    const k = ownAddressIndex(ifIndex, 4, dst, 0);
    if (k >= 0) return true;
    const tcp = <u32>load<u8>(p + 9) == IPPROTO_TCP;
    if (dst == 0xffffffff || dst == 0x010000e0 || isDirectedBroadcast(ifIndex, dst)) {
      if (tcp) return false;
      frameToGroup = true;
      return true;
    }
    // A gateway interface (forward.ts) stands in for every unicast destination; not for a group.
    return (anyDestinationOf(ifIndex) & AnyDestination.ACCEPT) != 0 && (dst & 0xf0) != 0xe0;
  }
  if (len < 40) return true;
  if (isLoopback(6, load<u64>(p + 8), load<u64>(p + 16))) return false;
  const a = load<u64>(p + 24);
  const b = load<u64>(p + 32);
  const k = ownAddressIndex(ifIndex, 6, a, b);
  if (k >= 0) return addressAt(ifIndex, <u32>k).dad != Dad.DUPLICATE;
  if ((a & 0xff) != 0xff) return (anyDestinationOf(ifIndex) & AnyDestination.ACCEPT) != 0;
  if (<u32>load<u8>(p + 6) == IPPROTO_TCP) return false;
  frameToGroup = true;
  return isOurGroup(ifIndex, a, b);
}

/** 127.0.0.0/8 (RFC 1122 3.2.1.3) or ::1 (RFC 4291 2.5.3), as Segment holds addresses. */
@inline function isLoopback(version: u32, a: u64, b: u64): bool {
  return version == 4 ? (a & 0xff) == 127 : a == 0 && b == 0x0100000000000000;
}

/** RFC 919 / RFC 1122 3.3.6: the all-ones host part of one of our IPv4 prefixes. */
function isDirectedBroadcast(ifIndex: u32, dst: u32): bool {
  const f = ifaceAt(ifIndex);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version != 4 || e.prefixLen >= 31) continue;
    const hostMask: u32 = <u32>0xffffffff >> e.prefixLen;
    if (prefixHolds(4, e.a, 0, e.prefixLen, dst, 0) && (bswap<u32>(dst) & hostMask) == hostMask) return true;
  }
  return false;
}

// ---- Out: framing the TX region's IP packets ----

// frameFor's last unicast answer: destination, the cache entry of its next hop, our MAC.
let lastEpoch: u32 = 0xffffffff;
let lastVersion: u32 = 0;
let lastA: u64 = 0;
let lastB: u64 = 0;
let lastEntry: u32 = 0;
let lastSrcMac: u64 = 0;

/**
 * Gives every IP record of this output() its link layer (frameFor): the Ethernet header in its
 * headroom and the interface in its meta word, or TX_META_HELD. output.ts runs it only when an
 * Ethernet interface exists, so the raw-IP path never pays for it.
 */
export function txFramePass(nowUs: i64): void {
  const n = txRecordCount();
  let off: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (txRecordMeta(off) == TX_META_IP) txSetRecordMeta(off, frameFor(txRecordData(off), txRecordLen(off), nowUs));
    off = txNextRecord(off);
  }
}

/**
 * The meta word for the TX record whose `len`-byte IP packet is at `p`: TX_META_IP when the host
 * routes it (a raw-IP interface, no route, or one of our own addresses: it loops back in the host);
 * TX_META_FRAME + ifIndex with the Ethernet header written in the 14 bytes before `p`; or
 * TX_META_HELD when it waits for resolution (copied into the neighbour cache) or was dropped.
 */
export function frameFor(p: usize, len: u32, nowUs: i64): u32 {
  const version = <u32>load<u8>(p) >> 4;
  let a: u64;
  let b: u64 = 0;
  if (version == 4) a = <u64>load<u32>(p + 16);
  else if (version == 6) {
    a = load<u64>(p + 24);
    b = load<u64>(p + 32);
  } else return TX_META_IP;
  // A bulk flow sends run after run to one destination: the last answer holds while no interface
  // or cache entry has changed since (nbEpoch) and its entry needs no state change on use.
  if (lastEpoch == nbEpoch && a == lastA && b == lastB && version == lastVersion) {
    const e = nbAt(lastEntry);
    const s = <u32>e.state;
    if (s == NbState.REACHABLE || s == NbState.DELAY || s == NbState.PROBE) {
      writeEthernet(p - HEADER_LEN, e.mac, lastSrcMac, version == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
      return TX_META_FRAME + <u32>e.ifIndex;
    }
  }
  // RFC 1122 3.2.1.3, RFC 4291 2.5.3: loopback never reaches a link; the host loops it back.
  if (isLoopback(version, a, b)) return TX_META_IP;
  const i = routeLookup(version, a, b);
  if (i < 0) return TX_META_IP;
  const ifIndex = <u32>i;
  const f = ifaceAt(ifIndex);
  if (f.kind != IfKind.ETHERNET || isOwnAnywhere(version, a, b)) return TX_META_IP;
  const type = version == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  let mac: u64;
  if (version == 4 && (a & 0xf0) == 0xe0) mac = ipv4MulticastMac(<u32>a);
  else if (version == 4 && (<u32>a == 0xffffffff || isDirectedBroadcast(ifIndex, <u32>a))) mac = MAC_BROADCAST;
  else if (version == 6 && (a & 0xff) == 0xff) mac = ipv6MulticastMac(b);
  else {
    let ha = a;
    let hb = b;
    if (!isOnLink(ifIndex, version, a, b)) {
      ha = version == 4 ? <u64>f.gw4 : f.gw6A;
      hb = version == 4 ? 0 : f.gw6B;
    }
    let n = nbFind(ifIndex, version, ha, hb);
    if (n < 0) {
      n = nbCreate(ifIndex, version, ha, hb, NbState.INCOMPLETE, 0, nowUs);
      if (n < 0) {
        count(Counter.NEIGHBOUR_PENDING_DROPPED);
        return TX_META_HELD;
      }
      nbHold(<u32>n, p, len);
      solicit(<u32>n);
      return TX_META_HELD;
    }
    const e = nbAt(<u32>n);
    if (e.state == NbState.INCOMPLETE) {
      nbHold(<u32>n, p, len);
      return TX_META_HELD;
    }
    // RFC 4861 7.3.3: sending to a STALE entry starts the DELAY timer.
    if (e.state == NbState.STALE) enterState(e, NbState.DELAY, nowUs);
    mac = e.mac;
    lastEpoch = nbEpoch;
    lastVersion = version;
    lastA = a;
    lastB = b;
    lastEntry = <u32>n;
    lastSrcMac = f.mac;
  }
  writeEthernet(p - HEADER_LEN, mac, f.mac, type);
  return TX_META_FRAME + ifIndex;
}
