// UDP datagrams in and out (RFC 768; RFC 1122 4.1.3): the receive path from input.ts into the receive
// region, port unreachable errors for closed ports, port unreachable errors about our own datagrams,
// and the send path from the host's send region into the control queue. Which socket owns a port is
// udpsockets.ts.
//
// Receive region (udpRxPtr(), config UDP_RX_REGION bytes): records appended in arrival order until the
// host drains them (udpRxCount records, udpRxUsed bytes; then udpRxClear). Past its end a datagram is
// dropped and counted, so an undrained region bounds what a flood can make us hold. Record layout
// (little-endian, padded to a multiple of 4):
//   +0  u32 payloadLen   +4 u32 socketId   +8 u8 ipVersion   +9 u8 flags (RX_BROADCAST, RX_MULTICAST)
//   +10 u16 srcPort      +12 u16 dstPort   +14 u16 ifIndex   +16 source address (16 bytes, IPv4 in the
//   first 4)             +32 destination address (16)        +48 payload
//
// Send region (udpTxPtr(), config UDP_TX_REGION bytes): the host writes records and calls udpSend once
// per batch. Record layout (padded to a multiple of 4):
//   +0  u32 payloadLen   +4 u32 socketId   +8 u8 ipVersion   +9 u8 flags (TX_FRAME: a frame for
//   interface ifIndex to destination MAC +48)   +10 u16 source port (the catch-all socket's only:
//   any other socket's port is the source)
//   +12 u16 dstPort      +14 u16 ifIndex   +16 source address (16)   +32 destination address (16)
//   +48 destination MAC (6) and 2 unused bytes   +56 payload
// Each datagram is built as one IP packet (IPv4 DF set, no fragments: the host refuses what its link
// cannot carry with EMSGSIZE) with its checksum into the control queue, which output() drains. No
// allocation per datagram: both regions are taken once, with the port table, on the first bind.
import { Segment } from "../wire/segment";
import { EdgeReason } from "../wire/reason";
import { FlowKey } from "../wire/flowkey";
import { Datagram, parseUdp, emitUdpHeaders, finishUdpChecksum, udpHeadersLen } from "../wire/udp";
import { icmpPortUnreachable, icmpQuotedUdp, TooBig, REPLY_TTL } from "../wire/icmp";
import { controlPacketRoom, controlWritePtr, controlCommit, controlPending } from "./emit";
import { emitSimple, EventType } from "./events";
import { heapCanAlloc } from "./pool";
import { Err } from "./errors";
import { UdpCounter, udpCount } from "./udpcounters";
import { sockAt, sockId, sockFromId, sockLookup, sockScore, sockSender, bucketHead, sockBind, sockConnect, sockClose
  } from "./udpsockets";
import { paramPtr } from "./user";
import { isEthernet } from "./iface";
import { commitFrame } from "./resolve";
import { loadMac, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../wire/ethernet";
import * as config from "./config";
import { anyDestinationOf, AnyDestination } from "./forward";

export const UDP_RECV_HEADER: u32 = 48;
export const UDP_SEND_HEADER: u32 = 56;
export const RX_BROADCAST: u32 = 1;
export const RX_MULTICAST: u32 = 2;
export const TX_FRAME: u32 = 1;

const dgram = changetype<Datagram>(memory.data(offsetof<Datagram>(), 8));
const quoted = changetype<FlowKey>(memory.data(offsetof<FlowKey>(), 8));

let rxBuf: usize = 0;
let rxCap: u32 = 0;
let rxUsed: u32 = 0;
let rxCount: u32 = 0;
let txBuf: usize = 0;
let txCap: u32 = 0;

@inline function align4(n: u32): u32 {
  return (n + 3) & ~3;
}

/** Takes both regions on first use; false when memory cannot hold them. */
function ensureRegions(): bool {
  if (rxBuf != 0) return true;
  if (!heapCanAlloc(<usize>config.udpRxRegionBytes + <usize>config.udpTxRegionBytes)) return false;
  rxBuf = heap.alloc(config.udpRxRegionBytes);
  rxCap = config.udpRxRegionBytes;
  txBuf = heap.alloc(config.udpTxRegionBytes);
  txCap = config.udpTxRegionBytes;
  return true;
}

// ---- The host's calls ----

@inline function paramA(at: usize, version: u32): u64 {
  return version == 4 ? <u64>load<u32>(at) : load<u64>(at);
}

@inline function paramB(at: usize, version: u32): u64 {
  return version == 4 ? 0 : load<u64>(at, 8);
}

/**
 * Binds a socket of `ipVersion` to the address at paramPtr()+0 (all zero: any address of that
 * version) and `port` (0: an ephemeral port, udpLocalPort tells which); `reuse` 1 lets sockets that
 * all ask for it share the port. Returns the socket id, or -EADDRINUSE, -EADDRNOTAVAIL, -ENOBUFS, -EINVAL.
 */
export function udpBind(ipVersion: u32, port: u32, reuse: u32): i32 {
  if (!ensureRegions()) return -Err.ENOBUFS;
  const p = paramPtr();
  return sockBind(ipVersion, paramA(p, ipVersion), paramB(p, ipVersion), port, reuse != 0);
}

/** The socket's local port, or -EBADF. */
export function udpLocalPort(id: u32): i32 {
  const s = sockFromId(id);
  return s == null ? -Err.EBADF : <i32>s.localPort;
}

/**
 * Connects the socket to the address at paramPtr()+16 and `port`: it then takes datagrams from there
 * only, and port unreachable errors about what it sent there are reported to it (UDP_ERROR). Port 0
 * disconnects. Returns 0 or -EBADF.
 */
export function udpConnect(id: u32, port: u32): i32 {
  const s = sockFromId(id);
  if (s == null) return -Err.EBADF;
  const p = paramPtr() + 16;
  return sockConnect(id, paramA(p, s.version), paramB(p, s.version), port);
}

/** Closes the socket: its port is free again, datagrams for it are answered as for a closed port. */
// The catch-all socket of each IP version (0: none): a gateway's host forwards what it receives and
// answers from the address and port each datagram went to (the send record's source port, +10).
let catchAll4: u32 = 0;
let catchAll6: u32 = 0;

/**
 * Makes socket `id` (on = 1) its IP version's catch-all for gateway interfaces, or stops (on = 0).
 * Returns 0 or -EBADF.
 */
export function udpSetCatchAll(id: u32, on: u32): i32 {
  const s = sockFromId(id);
  if (s == null) return -Err.EBADF;
  const now: u32 = on != 0 ? id : 0;
  if (s.version == 4) {
    if (on != 0 || catchAll4 == id) catchAll4 = now;
  } else if (on != 0 || catchAll6 == id) catchAll6 = now;
  return 0;
}

/** The catch-all socket's slot for `version`, or -1 (none, or closed since). */
function catchAllSlot(version: u32): i32 {
  const id = version == 4 ? catchAll4 : catchAll6;
  return id != 0 && sockFromId(id) != null ? <i32>(id & 0xffff) - 1 : -1;
}

export function udpClose(id: u32): i32 {
  return sockClose(id);
}

export function udpRxPtr(): usize {
  return rxBuf;
}

export function udpRxCapacity(): u32 {
  return rxCap;
}

export function udpRxCount(): u32 {
  return rxCount;
}

export function udpRxUsed(): u32 {
  return rxUsed;
}

/** The host has read every record: the region starts again from the beginning. */
export function udpRxClear(): void {
  rxUsed = 0;
  rxCount = 0;
}

export function udpTxPtr(): usize {
  return txBuf;
}

export function udpTxCapacity(): u32 {
  return txCap;
}

// ---- Receive ----

/**
 * A UDP datagram addressed to us (input.ts, after parsePacket said NOT_TCP with protocol 17), from
 * interface `ifIndex` (the host's index; 0xffff: loopback), `toGroup` when its frame went to a
 * link-layer broadcast or group or its IP destination is a directed broadcast (frames.ts): checked,
 * then delivered to its socket, to every matching socket for a broadcast or multicast destination, or
 * answered with port unreachable.
 */
export function udpArrives(ptr: usize, len: u32, seg: Segment, ifIndex: u32, toGroup: bool, nowUs: i64): void {
  udpCount(UdpCounter.DATAGRAMS_IN);
  const r = parseUdp(ptr, len, seg, dgram, config.verifyChecksums);
  if (r != EdgeReason.OK) {
    if (r == EdgeReason.UDP_TRUNCATED) udpCount(UdpCounter.BAD_TRUNCATED);
    else if (r == EdgeReason.UDP_LENGTH) udpCount(UdpCounter.BAD_LENGTH);
    else if (r == EdgeReason.UDP_CHECKSUM) udpCount(UdpCounter.BAD_CHECKSUM);
    else if (r == EdgeReason.UDP_ZERO_CHECKSUM_V6) udpCount(UdpCounter.BAD_ZERO_CHECKSUM_V6);
    return;
  }
  let flags = destinationClass(seg);
  // A subnet-directed broadcast (RFC 919), or a unicast packet in a link-layer broadcast frame.
  if (flags == 0 && toGroup) flags = RX_BROADCAST;
  if (flags != 0) {
    // A group destination goes to every socket that takes it, and is never answered with an error
    // (RFC 1122 3.2.2, 4.1.3.1; RFC 4443 2.4 (e)).
    let any = false;
    let i = bucketHead(dgram.dstPort);
    while (i >= 0) {
      const s = sockAt(<u32>i);
      // Sockets on the wildcard or on the group address itself (as BSD and Linux deliver them).
      if (sockScore(s, seg.ipVersion, seg.dstA, seg.dstB, dgram.dstPort, seg.srcA, seg.srcB, dgram.srcPort) >= 0) {
        deliver(<u32>i, ptr, seg, flags, ifIndex);
        any = true;
      }
      i = s.next;
    }
    if (!any) {
      udpCount(UdpCounter.NO_PORT);
      udpCount(UdpCounter.UNREACHABLE_SUPPRESSED);
    }
    return;
  }
  let slot = sockLookup(seg.ipVersion, seg.dstA, seg.dstB, dgram.dstPort, seg.srcA, seg.srcB, dgram.srcPort);
  // Gateway mode (forward.ts): what no socket takes on a gateway interface goes to the catch-all.
  if (slot < 0 && (anyDestinationOf(ifIndex) & AnyDestination.ACCEPT) != 0) slot = catchAllSlot(seg.ipVersion);
  if (slot < 0) {
    udpCount(UdpCounter.NO_PORT);
    portUnreachable(ptr, len, seg, nowUs);
    return;
  }
  deliver(<u32>slot, ptr, seg, 0, ifIndex);
}

/** RX_BROADCAST for the IPv4 limited broadcast, RX_MULTICAST for a multicast destination, else 0. */
function destinationClass(seg: Segment): u32 {
  if (seg.ipVersion == 4) {
    const dst = <u32>seg.dstA;
    if (dst == 0xffffffff) return RX_BROADCAST;
    if ((dst & 0xf0) == 0xe0) return RX_MULTICAST;
    return 0;
  }
  return (seg.dstA & 0xff) == 0xff ? RX_MULTICAST : 0;
}

@inline function storeAddress(at: usize, version: u32, a: u64, b: u64): void {
  if (version == 4) {
    store<u64>(at, a);
    store<u64>(at, 0, 8);
  } else {
    store<u64>(at, a);
    store<u64>(at, b, 8);
  }
}

function deliver(slot: u32, ptr: usize, seg: Segment, flags: u32, ifIndex: u32): void {
  const n = dgram.payloadLen;
  const rec = UDP_RECV_HEADER + align4(n);
  if (rec > rxCap - rxUsed) {
    udpCount(UdpCounter.RECEIVE_REGION_FULL);
    return;
  }
  const p = rxBuf + rxUsed;
  store<u32>(p, n);
  store<u32>(p, sockId(slot), 4);
  store<u8>(p, seg.ipVersion, 8);
  store<u8>(p, <u8>flags, 9);
  store<u16>(p, <u16>dgram.srcPort, 10);
  store<u16>(p, <u16>dgram.dstPort, 12);
  store<u16>(p, <u16>ifIndex, 14);
  storeAddress(p + 16, seg.ipVersion, seg.srcA, seg.srcB);
  storeAddress(p + 32, seg.ipVersion, seg.dstA, seg.dstB);
  memory.copy(p + UDP_RECV_HEADER, ptr + dgram.payloadOffset, n);
  rxUsed += rec;
  rxCount++;
  udpCount(UdpCounter.DELIVERED);
}

// ---- Port unreachable out, rate limited ----

/** Tokens in millionths: the bucket refills config.udpUnreachableRate tokens a second. */
const TOKEN: i64 = 1_000_000;
let tokens: i64 = -1;
let refilledUs: i64 = 0;

/** Refills the bucket to `nowUs`; whether an error may go now. */
function tokenAvailable(nowUs: i64): bool {
  const burst = <i64>config.udpUnreachableBurst * TOKEN;
  if (tokens < 0) {
    tokens = burst;
    refilledUs = nowUs;
  } else if (nowUs > refilledUs) {
    // Microseconds times tokens per second is millionths of a token: no rounding lost per call.
    const add = (nowUs - refilledUs) * <i64>config.udpUnreachableRate;
    tokens = add > burst - tokens ? burst : tokens + add;
    refilledUs = nowUs;
  }
  return tokens >= TOKEN;
}

/**
 * RFC 1122 4.1.3.1: a datagram for a port nobody listens on SHOULD be answered with ICMP port
 * unreachable; RFC 4443 2.4 (f) and RFC 1812 4.3.2.8 bound the rate of such errors (a token bucket:
 * config UDP_UNREACHABLE_RATE a second, bursts of UDP_UNREACHABLE_BURST). icmpDestUnreachable refuses
 * what must never be answered (errors about errors, group or unanswerable addresses).
 */
function portUnreachable(ptr: usize, len: u32, seg: Segment, nowUs: i64): void {
  if (config.udpUnreachableRate == 0 || !tokenAvailable(nowUs)) {
    udpCount(UdpCounter.UNREACHABLE_RATE_LIMITED);
    return;
  }
  const n = icmpPortUnreachable(ptr, len, seg, controlWritePtr(), controlPacketRoom());
  if (n == 0) {
    udpCount(UdpCounter.UNREACHABLE_SUPPRESSED);
    return;
  }
  controlCommit(n);
  tokens -= TOKEN;
  udpCount(UdpCounter.UNREACHABLE_SENT);
}

// ---- Port unreachable in ----

/**
 * An ICMP or ICMPv6 message (input.ts): when it is a port unreachable error quoting a datagram a
 * connected socket sent, the socket hears ECONNREFUSED (UDP_ERROR event), as RFC 1122 4.1.3.3 asks
 * that ICMP errors be passed to the application and as Linux does for connected sockets only.
 * Returns false when the message is no port unreachable error (someone else's to handle).
 */
export function udpIcmpArrives(ptr: usize, len: u32, seg: Segment): bool {
  const r = icmpQuotedUdp(ptr, len, seg, quoted);
  if (r == TooBig.NONE) return false;
  if (r == TooBig.OK) {
    const slot = sockSender(quoted.ipVersion, quoted.localA, quoted.localB, quoted.localPort,
      quoted.remoteA, quoted.remoteB, quoted.remotePort);
    if (slot >= 0) {
      udpCount(UdpCounter.ICMP_UNREACHABLE_IN);
      emitSimple(EventType.UDP_ERROR, Err.ECONNREFUSED, sockId(<u32>slot), 0);
      return true;
    }
  }
  udpCount(UdpCounter.ICMP_UNREACHABLE_IGNORED);
  return true;
}

// ---- Send ----

/**
 * Builds the `count` send records starting `offset` bytes into the send region, in order, into the
 * control queue. Returns how many it took: fewer than `count` when the control queue filled (call
 * engineOutput, send what it gives, then call again at the next record's offset). A record it cannot
 * send (stale socket, wrong IP version, too large for an IP packet, a frame for an interface that is not
 * Ethernet)
 * is taken, dropped and counted; a record running past the region ends the batch.
 */
export function udpSend(offset: u32, count: u32): u32 {
  let off = offset;
  for (let i: u32 = 0; i < count; i++) {
    if (txBuf == 0 || off > txCap || txCap - off < UDP_SEND_HEADER) {
      udpCount(UdpCounter.SEND_INVALID);
      return count;
    }
    const r = txBuf + off;
    const len = load<u32>(r);
    if (len > txCap - off - UDP_SEND_HEADER) {
      udpCount(UdpCounter.SEND_INVALID);
      return count;
    }
    const version = <u32>load<u8>(r, 8);
    const s = sockFromId(load<u32>(r, 4));
    const total = udpHeadersLen(version) + len;
    // 32: more than a control queue record's header and padding; a larger datagram never fits in it.
    if (s == null || s.version != version || (version == 4 ? total : len + 8) > 0xffff ||
        <usize>total + 32 > <usize>config.controlQueueBytes) {
      udpCount(UdpCounter.SEND_INVALID);
    } else {
      const frame = (<u32>load<u8>(r, 9) & TX_FRAME) != 0;
      const ifIndex = <u32>load<u16>(r, 14);
      if (frame && !isEthernet(ifIndex)) {
        udpCount(UdpCounter.SEND_NO_INTERFACE);
      } else if (total > controlPacketRoom()) {
        if (controlPending()) return i;
        udpCount(UdpCounter.SEND_INVALID);
      } else {
        const p = controlWritePtr();
        const src = r + 16;
        const dst = r + 32;
        // The catch-all answers from the port each datagram went to.
        const id = load<u32>(r, 4);
        const srcPort = id == catchAll4 || id == catchAll6 ? <u32>load<u16>(r, 10) : s.localPort;
        emitUdpHeaders(p, version, paramA(src, version), paramB(src, version), paramA(dst, version), paramB(dst, version),
          srcPort, <u32>load<u16>(r, 12), len, REPLY_TTL);
        memory.copy(p + udpHeadersLen(version), r + UDP_SEND_HEADER, len);
        finishUdpChecksum(p, total);
        // A frame to a named MAC skips neighbour resolution: the limited broadcast, or a DHCP
        // client that has no address yet (RFC 2131 4.1, the reply to chaddr).
        if (frame) commitFrame(ifIndex, loadMac(r + 48), version == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, total);
        else controlCommit(total);
        udpCount(UdpCounter.DATAGRAMS_OUT);
      }
    }
    off += UDP_SEND_HEADER + align4(len);
  }
  return count;
}
