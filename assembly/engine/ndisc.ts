// IPv6 neighbour discovery on Ethernet interfaces (RFC 4861): neighbour solicitations answered and
// their senders learned (7.2.3, 7.2.4), advertisements applied to the cache (7.2.5), duplicate address
// detection for our addresses (RFC 4862 5.4, optimistic per RFC 4429 so connections need not wait),
// and, when the interface is a router, router solicitations answered and periodic router
// advertisements (6.2.4, 6.2.6) carrying our prefixes with the autonomous flag (so a guest
// autoconfigures, RFC 4862 5.5.3), the link MTU and a router lifetime.
import { Segment } from "../wire/segment";
import {
  NdMessage, parseNd, emitNd, writeNeighborAdvertisement, isUnspecified, solicitedNodeHigh, solicitedNodeLow,
  TYPE_NEIGHBOR_SOLICITATION, TYPE_NEIGHBOR_ADVERTISEMENT, TYPE_ROUTER_SOLICITATION, TYPE_ROUTER_ADVERTISEMENT,
  NA_ROUTER, NA_SOLICITED, NA_OVERRIDE, PREFIX_ON_LINK, PREFIX_AUTONOMOUS, OPT_PREFIX_INFO, IPPROTO_ICMPV6, CHECKSUM,
} from "../wire/ndp";
import { ETHERTYPE_IPV6, ipv6MulticastMac } from "../wire/ethernet";
import { EdgeReason } from "../wire/reason";
import { onesSum, finishChecksum, pseudoHeaderSumV6 } from "../wire/checksum";
import * as ipv6 from "../wire/ipv6";
import { controlWritePtr } from "./emit";
import { ifaceAt, addressAt, ownAddressIndex, Dad, Address, MAX_IFACES, IfKind } from "./iface";
import { NbState, nbFind, nbCreate, nbLearn, nbAt, enterState } from "./neighbour";
import { frameRoom, commitFrame, releasePending, linkLocalSource } from "./resolve";
import { NEVER } from "./timers";
import { rngBelow } from "./rng";
import { emitAddressConflict } from "./events";
import { count, Counter } from "./counters";

const msg = changetype<NdMessage>(memory.data(offsetof<NdMessage>(), 8));
const src16 = memory.data(16, 8);

/** ff02::1, all nodes (RFC 4291 2.7.1), as its two halves. */
export const ALL_NODES_HIGH: u64 = 0x02ff;
export const ALL_NODES_LOW: u64 = 0x0100000000000000;
export const ALL_ROUTERS_LOW: u64 = 0x0200000000000000;

// RFC 4862 5.1 DupAddrDetectTransmits (1) solicitations RetransTimer (1 s) apart.
const DAD_TRANSMITS: u32 = 1;
const RETRANS_TIMER_US: i64 = 1_000_000;
// RFC 4861 6.2.1 and 10: router variables' defaults.
const MAX_RTR_ADV_INTERVAL_US: i64 = 600_000_000;
const MIN_RTR_ADV_INTERVAL_US: i64 = 200_000_000;
const MAX_INITIAL_RTR_ADVERT_INTERVAL_US: i64 = 16_000_000;
const MAX_INITIAL_RTR_ADVERTISEMENTS: u32 = 3;
const MIN_DELAY_BETWEEN_RAS_US: i64 = 3_000_000;
const ROUTER_LIFETIME_S: u32 = 1800;
const VALID_LIFETIME_S: u32 = 2_592_000;
const PREFERRED_LIFETIME_S: u32 = 604_800;
const CUR_HOP_LIMIT: u32 = 64;

/** A lower bound on the interfaces' DAD and router advertisement deadlines. */
export let ndDeadline: i64 = NEVER;

@inline function lower(d: i64): void {
  if (d < ndDeadline) ndDeadline = d;
}

/**
 * The ICMPv6 packet parsePacket refused as NOT_TCP, arrived on Ethernet interface `ifIndex` in a
 * frame from `srcMac`: handled here when it is neighbour discovery (true), else false.
 */
export function ndArrives(ifIndex: u32, ptr: usize, len: u32, seg: Segment, srcMac: u64, nowUs: i64): bool {
  const r = parseNd(ptr, len, seg, msg);
  if (r == EdgeReason.ND_NOT_ND) return false;
  count(Counter.ND_IN);
  if (r != EdgeReason.OK) {
    count(Counter.ND_DROPPED);
    return true;
  }
  if (msg.type == TYPE_NEIGHBOR_SOLICITATION) solicitationArrives(ifIndex, seg, srcMac, nowUs);
  else if (msg.type == TYPE_NEIGHBOR_ADVERTISEMENT) advertisementArrives(ifIndex, nowUs);
  else if (msg.type == TYPE_ROUTER_SOLICITATION) routerSolicitationArrives(ifIndex, seg, nowUs);
  // Router advertisements from others: this stack configures its addresses from the host, not by RA.
  return true;
}

/** RFC 4861 7.2.3 and 7.2.4; RFC 4862 5.4.3 for a DAD probe. */
function solicitationArrives(ifIndex: u32, seg: Segment, srcMac: u64, nowUs: i64): void {
  const k = ownAddressIndex(ifIndex, 6, msg.targetA, msg.targetB);
  if (k < 0) {
    count(Counter.ND_NOT_FOR_US);
    return;
  }
  const own = addressAt(ifIndex, <u32>k);
  if (own.dad == Dad.DUPLICATE) return;
  const f = ifaceAt(ifIndex);
  const routerFlag: u32 = f.router ? NA_ROUTER : 0;
  if (isUnspecified(seg.srcA, seg.srcB)) {
    // RFC 4862 5.4.3: someone else is verifying an address we are still verifying: it is a duplicate.
    if (own.dad == Dad.OPTIMISTIC) {
      duplicate(ifIndex, own);
      return;
    }
    // RFC 4861 7.2.4: to a solicitation from the unspecified address, answer all nodes.
    sendAdvertisement(ifIndex, ALL_NODES_HIGH, ALL_NODES_LOW, ipv6MulticastMac(ALL_NODES_LOW), own, routerFlag | NA_OVERRIDE);
    return;
  }
  let dstMac = srcMac;
  if (msg.hasSourceLinkAddr) {
    dstMac = msg.sourceLinkAddr;
    const i = nbFind(ifIndex, 6, seg.srcA, seg.srcB);
    if (i < 0) nbCreate(ifIndex, 6, seg.srcA, seg.srcB, NbState.STALE, dstMac, nowUs);
    else if (nbLearn(<u32>i, dstMac, false, nowUs)) releasePending(<u32>i);
  }
  // RFC 4429 3.3: an optimistic address never overrides another node's cache entry.
  const overrideFlag: u32 = own.dad == Dad.OPTIMISTIC ? 0 : NA_OVERRIDE;
  sendAdvertisement(ifIndex, seg.srcA, seg.srcB, dstMac, own, routerFlag | NA_SOLICITED | overrideFlag);
}

/** RFC 4861 7.2.5 (and RFC 4862 5.4.4 for an advertisement of an address we are verifying). */
function advertisementArrives(ifIndex: u32, nowUs: i64): void {
  const k = ownAddressIndex(ifIndex, 6, msg.targetA, msg.targetB);
  if (k >= 0) {
    const own = addressAt(ifIndex, <u32>k);
    if (own.dad == Dad.OPTIMISTIC) duplicate(ifIndex, own);
    else count(Counter.ADDRESS_CONFLICTS);
    return;
  }
  const i = nbFind(ifIndex, 6, msg.targetA, msg.targetB);
  if (i < 0) return;
  const e = nbAt(<u32>i);
  const solicited = (msg.flags & NA_SOLICITED) != 0;
  const overrides = (msg.flags & NA_OVERRIDE) != 0;
  e.isRouter = (msg.flags & NA_ROUTER) != 0 ? 1 : 0;
  if (e.state == NbState.INCOMPLETE) {
    if (!msg.hasTargetLinkAddr) return;
    if (nbLearn(<u32>i, msg.targetLinkAddr, solicited, nowUs)) releasePending(<u32>i);
    return;
  }
  const differs = msg.hasTargetLinkAddr && msg.targetLinkAddr != e.mac;
  if (!overrides && differs) {
    if (e.state == NbState.REACHABLE) enterState(e, NbState.STALE, nowUs);
    return;
  }
  if (differs) nbLearn(<u32>i, msg.targetLinkAddr, solicited, nowUs);
  else if (solicited) enterState(e, NbState.REACHABLE, nowUs);
}

/** RFC 4861 6.2.6: a router answers, at most once per MIN_DELAY_BETWEEN_RAS, to all nodes. */
function routerSolicitationArrives(ifIndex: u32, seg: Segment, nowUs: i64): void {
  const f = ifaceAt(ifIndex);
  if (!f.router) return;
  if (msg.hasSourceLinkAddr && !isUnspecified(seg.srcA, seg.srcB)) {
    const i = nbFind(ifIndex, 6, seg.srcA, seg.srcB);
    if (i < 0) nbCreate(ifIndex, 6, seg.srcA, seg.srcB, NbState.STALE, msg.sourceLinkAddr, nowUs);
    else if (nbLearn(<u32>i, msg.sourceLinkAddr, false, nowUs)) releasePending(<u32>i);
  }
  const earliest = f.raLastUs + MIN_DELAY_BETWEEN_RAS_US;
  if (nowUs >= earliest) sendRouterAdvertisement(ifIndex, nowUs);
  else if (earliest < f.raDeadline) {
    f.raDeadline = earliest;
    lower(earliest);
  }
}

function sendAdvertisement(ifIndex: u32, dstA: u64, dstB: u64, dstMac: u64, own: Address, flags: u32): void {
  if (!frameRoom(40 + 32)) return;
  const n = writeNeighborAdvertisement(controlWritePtr(), own.a, own.b, dstA, dstB, own.a, own.b, flags, ifaceAt(ifIndex).mac);
  commitFrame(ifIndex, dstMac, ETHERTYPE_IPV6, n);
  count(Counter.NA_SENT);
}

/** RFC 4862 5.4.5: the address is someone else's; we stop answering for it and tell the host. */
function duplicate(ifIndex: u32, own: Address): void {
  own.dad = Dad.DUPLICATE;
  own.dadDeadline = NEVER;
  count(Counter.DAD_DUPLICATES);
  emitAddressConflict(ifIndex, 6, own.a, own.b);
}

// ---- Duplicate address detection and router advertisements, on the interface's timers ----

/**
 * RFC 4862 5.4.2: a solicitation from the unspecified address to the tentative address's
 * solicited-node group (no source link-layer option).
 */
function sendDadProbe(ifIndex: u32, own: Address, nowUs: i64): void {
  own.dadSent++;
  own.dadDeadline = nowUs + RETRANS_TIMER_US;
  lower(own.dadDeadline);
  memory.fill(changetype<usize>(msg), 0, offsetof<NdMessage>());
  msg.type = TYPE_NEIGHBOR_SOLICITATION;
  msg.targetA = own.a;
  msg.targetB = own.b;
  if (!frameRoom(40 + 24)) return;
  const dstB = solicitedNodeLow(own.b);
  const n = emitNd(controlWritePtr(), 0, 0, solicitedNodeHigh(), dstB, msg);
  commitFrame(ifIndex, ipv6MulticastMac(dstB), ETHERTYPE_IPV6, n);
  count(Counter.NS_SENT);
}

/** Starts DAD for every IPv6 address of the interface (optimistic, RFC 4429 3.1) and, for a router, its RAs. */
export function ndInterfaceUp(ifIndex: u32, nowUs: i64): void {
  const f = ifaceAt(ifIndex);
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const own = addressAt(ifIndex, k);
    if (own.version == 6 && own.dad == Dad.OPTIMISTIC) sendDadProbe(ifIndex, own, nowUs);
  }
  if (f.router) {
    f.raInitialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
    sendRouterAdvertisement(ifIndex, nowUs);
  }
}

/** Runs due DAD probes and router advertisements on every interface. */
export function ndTimers(nowUs: i64): void {
  if (ndDeadline > nowUs) return;
  let next = NEVER;
  for (let i: u32 = 0; i < MAX_IFACES; i++) {
    const f = ifaceAt(i);
    if (f.kind != IfKind.ETHERNET) continue;
    for (let k: u32 = 0; k < f.addressCount; k++) {
      const own = addressAt(i, k);
      if (own.dadDeadline <= nowUs) {
        // RFC 4862 5.4.5 (no conflict within RetransTimer of the last probe): the address is preferred.
        if (own.dadSent >= DAD_TRANSMITS) {
          own.dad = Dad.PREFERRED;
          own.dadDeadline = NEVER;
        } else {
          sendDadProbe(i, own, nowUs);
        }
      }
      if (own.dadDeadline < next) next = own.dadDeadline;
    }
    if (f.raDeadline <= nowUs) sendRouterAdvertisement(i, nowUs);
    if (f.raDeadline < next) next = f.raDeadline;
  }
  ndDeadline = next;
}

/**
 * RFC 4861 6.2.3 and 6.2.4: an advertisement to all nodes from our link-local address, then the next
 * one scheduled (MAX_INITIAL_RTR_ADVERT_INTERVAL while the initial ones last, then a random interval
 * in [MinRtrAdvInterval, MaxRtrAdvInterval]).
 */
function sendRouterAdvertisement(ifIndex: u32, nowUs: i64): void {
  const f = ifaceAt(ifIndex);
  f.raLastUs = nowUs;
  let interval: i64;
  if (f.raInitialLeft > 1) {
    f.raInitialLeft--;
    interval = MAX_INITIAL_RTR_ADVERT_INTERVAL_US;
  } else {
    f.raInitialLeft = 0;
    interval = MIN_RTR_ADV_INTERVAL_US + <i64>rngBelow(<u32>((MAX_RTR_ADV_INTERVAL_US - MIN_RTR_ADV_INTERVAL_US) / 1000)) * 1000;
  }
  f.raDeadline = nowUs + interval;
  lower(f.raDeadline);
  if (linkLocalSource(ifIndex, src16) < 0) return;
  let prefixes: u32 = 0;
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version == 6 && (e.a & 0xc0ff) != 0x80fe) prefixes++;
  }
  if (!frameRoom(40 + 16 + 8 + 8 + 32 * prefixes)) return;
  memory.fill(changetype<usize>(msg), 0, offsetof<NdMessage>());
  msg.type = TYPE_ROUTER_ADVERTISEMENT;
  msg.curHopLimit = CUR_HOP_LIMIT;
  msg.routerLifetime = ROUTER_LIFETIME_S;
  msg.hasSourceLinkAddr = true;
  msg.sourceLinkAddr = f.mac;
  msg.mtu = f.mtu;
  const p = controlWritePtr();
  let n = emitNd(p, load<u64>(src16), load<u64>(src16, 8), ALL_NODES_HIGH, ALL_NODES_LOW, msg);
  // RFC 4861 4.6.2: one prefix information option per prefix of ours, appended after the options
  // emitNd wrote; the payload length and checksum are redone over the whole message.
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version != 6 || (e.a & 0xc0ff) == 0x80fe) continue;
    n += writePrefixOption(p + n, e);
  }
  const msgLen = n - ipv6.HEADER_LEN;
  store<u16>(p + ipv6.PAYLOAD_LENGTH, bswap<u16>(<u16>msgLen));
  const m = p + ipv6.HEADER_LEN;
  store<u16>(m + CHECKSUM, 0);
  const pseudo = pseudoHeaderSumV6(p + ipv6.SRC_ADDR, p + ipv6.DST_ADDR, IPPROTO_ICMPV6, msgLen);
  store<u16>(m + CHECKSUM, bswap<u16>(finishChecksum(onesSum(m, msgLen, pseudo))));
  commitFrame(ifIndex, ipv6MulticastMac(ALL_NODES_LOW), ETHERTYPE_IPV6, n);
  count(Counter.RA_SENT);
}

/** RFC 4861 4.6.2 for our address `e`: on-link, and autonomous when the prefix is a /64 (RFC 4862 5.5.3 needs it on Ethernet, RFC 2464 4). */
function writePrefixOption(o: usize, e: Address): u32 {
  memory.fill(o, 0, 32);
  store<u8>(o, <u8>OPT_PREFIX_INFO);
  store<u8>(o + 1, 4);
  store<u8>(o + 2, <u8>e.prefixLen);
  store<u8>(o + 3, <u8>(PREFIX_ON_LINK | (e.prefixLen == 64 ? PREFIX_AUTONOMOUS : 0)));
  store<u32>(o + 4, bswap<u32>(VALID_LIFETIME_S));
  store<u32>(o + 8, bswap<u32>(PREFERRED_LIFETIME_S));
  // The prefix itself: our address with the bits past the prefix length cleared.
  const len = e.prefixLen;
  let hi = bswap<u64>(e.a);
  let lo = bswap<u64>(e.b);
  if (len < 64) {
    hi = len == 0 ? 0 : hi & ~(u64.MAX_VALUE >> len);
    lo = 0;
  } else if (len < 128) {
    lo = len == 64 ? 0 : lo & ~(u64.MAX_VALUE >> (len - 64));
  }
  store<u64>(o + 16, bswap<u64>(hi));
  store<u64>(o + 24, bswap<u64>(lo));
  return 32;
}

/** Whether a multicast IPv6 destination is a group this interface listens to (RFC 4861 7.2.1, 6.2.2). */
export function isOurGroup(ifIndex: u32, a: u64, b: u64): bool {
  if (a != ALL_NODES_HIGH) return false;
  if (b == ALL_NODES_LOW) return true;
  const f = ifaceAt(ifIndex);
  if (b == ALL_ROUTERS_LOW) return f.router;
  for (let k: u32 = 0; k < f.addressCount; k++) {
    const e = addressAt(ifIndex, k);
    if (e.version == 6 && solicitedNodeLow(e.b) == b) return true;
  }
  return false;
}
