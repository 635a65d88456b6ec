// Packets in: the RX records, parsing (wire/packet.ts), ICMP echo, ICMP errors about TCP (pmtu.ts,
// unreachable.ts), UDP datagrams and port unreachable errors handed to udp.ts, and segment arrival up to the
// connection (RFC 9293 3.10.7): CLOSED (3.10.7.1), LISTEN (3.10.7.2, with RFC 4987 half-open bounds
// and SYN cookies); states.ts takes it from SYN-SENT on. The arrival path runs one way: input.ts ->
// states.ts (per state) -> ack.ts, receive.ts, fin.ts; what a new connection and the peer's SYN set
// up is in handshake.ts, below both.
//
// RX records of an Ethernet interface are frames (frames.ts): ARP and neighbour discovery are answered
// there and in ndisc.ts, IP packets for us continue here.
//
// Input never emits packets: replies are flags on the TCB (ACK_NOW, NEED_SYN, RTX_ONE) or records in
// the control queue (RSTs for segments that match no connection), drained by output().
import { Segment, parsePacket, parsePacketPayloadUnsummed } from "../wire/packet";
import { payloadVerifies } from "./rxsum";
import { Reason } from "../wire/reason";
import { icmpEchoReply, IPPROTO_ICMP, IPPROTO_ICMPV6 } from "../wire/icmp";
import { Tcb, State, Life, Member, Due, hasFlag, tcbKey, tcbAtSlot, tcbFree, slotOf } from "./tcb";
import { FlowKey } from "../wire/flowkey";
import { tableLookup, tableInsert, listenerLookup } from "./table";
import { traceSegment, EventType } from "./events";
import { count, countReason, Counter } from "./counters";
import * as config from "./config";
import { setState, connAlloc, wantOutput, reschedule, enterHalfOpen, halfOpenTotal } from "./conn";
import { cookieMake, cookieCheck } from "./syncookie";
import { FLG_ACK, FLG_RST, FLG_SYN, segLength } from "../wire/tcp";
import { queueReset, queueReply, controlPacketRoom, controlWritePtr, controlCommit } from "./emit";
import { initConnection, inheritOptions, startAfterTimeWait, takeSynOptions, congestionStart } from "./handshake";
import { twLookup, twTakesSyn, twSegmentArrives, twEnd, twSndNxt, twTsOffset } from "./timewait";
import { keepaliveTouch } from "./timeouts";
import { tooBigArrives, linkMss } from "./pmtu";
import { unreachableArrives } from "./unreachable";
import { synSentArrives, otherStateArrives } from "./states";
import { isEthernet } from "./iface";
import { frameArrives, frameSource, frameToGroup } from "./frames";
import { ndArrives } from "./ndisc";
import { HEADER_LEN } from "../wire/ethernet";
import { anyListenerFor, echoAllowed, heldArrives, holdSyn, isAnyListener } from "./forward";

// The Ethernet interface the batch being processed came from, -1 for a raw-IP one.
let inputIface: i32 = -1;
// The interface the batch came from, whatever its kind.
let batchIface: u32 = 0;

/** The interface of the RX batch being processed (engineInput's ifIndex), for protocols that record it. */
export function inputInterface(): u32 {
  return batchIface;
}
import { udpArrives, udpIcmpArrives } from "./udp";
import { IPPROTO_UDP } from "../wire/udp";
import { recvBufferInitial } from "./autosize";
import { copySmall } from "../wire/small";

const inSeg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));

const lookupKey = changetype<FlowKey>(memory.data(offsetof<FlowKey>(), 8));

// A SYN that ended a TIME-WAIT (RFC 6191): the old incarnation's SND.NXT and timestamp offset, which
// the new connection must start beyond. Valid for the segment being processed only.
let reusing = false;
let reuseSndNxt: u32 = 0;
let reuseTsOffset: u32 = 0;

@inline function align4(n: u32): u32 {
  return (n + 3) & ~3;
}

/**
 * Processes `records` RX records at `rxPtr` (each [u32 length][packet] padded to 4) within
 * `regionBytes`. Returns the number of records processed (fewer only if a record runs past the region).
 */
export function inputRun(rxPtr: usize, regionBytes: u32, records: u32, nowUs: i64, ifIndex: u32): u32 {
  const ethernet = isEthernet(ifIndex);
  inputIface = ethernet ? <i32>ifIndex : -1;
  batchIface = ifIndex;
  let off: u32 = 0;
  for (let i: u32 = 0; i < records; i++) {
    if (off + 4 > regionBytes) {
      count(Counter.RX_RECORD_INVALID);
      return i;
    }
    const len = load<u32>(rxPtr + off);
    if (len > regionBytes - off - 4) {
      count(Counter.RX_RECORD_INVALID);
      return i;
    }
    const p = rxPtr + off + 4;
    if (!ethernet) packetArrives(p, len, nowUs);
    else {
      // RX records of an Ethernet interface are frames: the IP packet follows the header.
      const ipLen = frameArrives(ifIndex, p, len, nowUs);
      if (ipLen != 0) packetArrives(p + HEADER_LEN, ipLen, nowUs);
    }
    off += 4 + align4(len);
  }
  return records;
}

function packetArrives(ptr: usize, len: u32, nowUs: i64): void {
  count(Counter.PACKETS_IN);
  const seg = inSeg;
  // With checksums on, the TCP payload's share is summed once the connection is known (rxsum.ts).
  const reason = config.verifyChecksums ? parsePacketPayloadUnsummed(ptr, len, seg) : parsePacket(ptr, len, seg, false);
  if (reason == Reason.NOT_TCP) {
    if ((seg.ipVersion == 4 && seg.ipProto == IPPROTO_ICMP) || (seg.ipVersion == 6 && seg.ipProto == IPPROTO_ICMPV6)) {
      if (inputIface >= 0 && seg.ipVersion == 6 && ndArrives(<u32>inputIface, ptr, len, seg, frameSource, nowUs)) return;
      if (tooBigArrives(ptr, len, seg)) return;
      if (unreachableArrives(ptr, len, seg)) return;
      if (udpIcmpArrives(ptr, len, seg)) return;
      if (!echoAllowed(batchIface, seg)) {
        count(Counter.NOT_TCP_DROPPED);
        return;
      }
      const n = icmpEchoReply(ptr, len, seg, controlWritePtr(), controlPacketRoom());
      if (n != 0) {
        controlCommit(n);
        count(Counter.ICMP_ECHO_REPLIES);
        return;
      }
    }
    if (seg.ipProto == IPPROTO_UDP) {
      udpArrives(ptr, len, seg, batchIface, inputIface >= 0 && frameToGroup, nowUs);
      return;
    }
    count(Counter.NOT_TCP_DROPPED);
    return;
  }
  if (reason != Reason.OK) {
    countReason(reason);
    return;
  }
  segmentArrives(seg, nowUs);
}

function segmentArrives(seg: Segment, nowUs: i64): void {
  const key = lookupKey;
  key.ipVersion = seg.ipVersion;
  key.localA = seg.dstA;
  key.localB = seg.dstB;
  key.remoteA = seg.srcA;
  key.remoteB = seg.srcB;
  key.localPort = seg.dstPort;
  key.remotePort = seg.srcPort;
  reusing = false;
  const slot = tableLookup(key);
  const t = slot >= 0 ? tcbAtSlot(<u32>slot) : null;
  if (config.verifyChecksums && !payloadVerifies(t, seg)) {
    countReason(Reason.TCP_CHECKSUM);
    return;
  }
  count(Counter.SEGMENTS_IN);
  if (slot >= 0) {
    if (t != null) {
      if (config.trace) traceSegment(EventType.SEGMENT_IN, t.id, seg, seg.payloadLen);
      if (hasFlag(t.life, Life.SYN_HELD)) {
        heldArrives(t, seg);
        return;
      }
      keepaliveTouch(t, nowUs);
      const alive = t.state == State.SYN_SENT ? synSentArrives(t, seg, nowUs) : otherStateArrives(t, seg, nowUs);
      if (alive) reschedule(t);
      return;
    }
  } else {
    const tw = twLookup(key);
    if (tw >= 0) {
      if (!twTakesSyn(<u32>tw, seg)) {
        twSegmentArrives(<u32>tw, seg, nowUs);
        return;
      }
      // RFC 9293 3.6.1 / RFC 6191: a new incarnation may start in TIME-WAIT when its SYN is newer
      // than anything of the old one; a listener (if any) takes it from here.
      reusing = true;
      reuseSndNxt = twSndNxt(<u32>tw);
      reuseTsOffset = twTsOffset(<u32>tw);
      count(Counter.TIME_WAIT_REUSED);
      twEnd(<u32>tw);
    }
  }
  let l = listenerLookup(seg.ipVersion, seg.dstA, seg.dstB, seg.dstPort);
  if (l < 0) l = anyListenerFor(batchIface, seg);
  if (l >= 0) {
    const listener = tcbAtSlot(<u32>l);
    if (listener != null && listener.state == State.LISTEN) {
      if (config.trace) traceSegment(EventType.SEGMENT_IN, listener.id, seg, seg.payloadLen);
      listenArrives(listener, seg, nowUs);
      return;
    }
  }
  if (config.trace) traceSegment(EventType.SEGMENT_IN, 0, seg, seg.payloadLen);
  closedArrives(seg);
}

/** RFC 9293 3.10.7.1: no connection. A RST is ignored; anything else is answered with a RST. */
function closedArrives(seg: Segment): void {
  count(Counter.NO_CONNECTION);
  if ((seg.flags & FLG_RST) != 0) return;
  if ((seg.flags & FLG_ACK) != 0) queueReset(seg, seg.ack, 0, false);
  else queueReset(seg, 0, seg.seq + segLength(seg), true);
}

/** RFC 9293 3.10.7.2: a segment for a listener. */
function listenArrives(l: Tcb, seg: Segment, nowUs: i64): void {
  const flags = seg.flags;
  if ((flags & FLG_RST) != 0) return;
  if ((flags & FLG_ACK) != 0) {
    if (config.synCookies && (flags & FLG_SYN) == 0) {
      const mss = cookieCheck(lookupKey, seg.ack - 1, seg.seq - 1, nowUs);
      if (mss != 0) {
        cookieArrives(l, seg, mss, nowUs);
        return;
      }
    }
    queueReset(seg, seg.ack, 0, false);
    return;
  }
  if ((flags & FLG_SYN) == 0) return;
  // RFC 4987 3.1 / 3.2: bounded half-open connections, per listener and in total; past the bound,
  // a SYN cookie (RFC 4987 3.6) or nothing.
  if (l.halfOpen >= l.backlog || halfOpenTotal >= config.maxHalfOpenTotal) {
    if (config.synCookies) {
      const localMss = linkMss(seg.ipVersion);
      const iss = cookieMake(lookupKey, seg.seq, seg.mss != 0 ? <u32>seg.mss : 536, nowUs);
      if (queueReply(seg, iss, seg.seq + 1, FLG_SYN | FLG_ACK, cookieWindow(recvBufferInitial(l)), localMss)) count(Counter.SYN_COOKIES_SENT);
    } else {
      count(Counter.SYN_DROPPED_HALF_OPEN);
    }
    return;
  }
  const t = passiveConnection(l, nowUs);
  if (t == null) return;
  takeSynOptions(t, seg, nowUs);
  // SEG.SEQ of the SYN is IRS; RCV.NXT = SEG.SEQ + 1; ISS from RFC 6528; the SYN,ACK goes out in output().
  t.irs = seg.seq;
  t.rcvNxt = seg.seq + 1;
  t.rcvAdv = t.rcvNxt;
  t.lastAckSent = t.rcvNxt;
  t.sndWnd = seg.window; // never scaled in a SYN (RFC 7323 2.2)
  t.maxSndWnd = t.sndWnd;
  t.sndWl1 = seg.seq;
  t.sndWl2 = t.iss;
  setState(t, State.SYN_RECEIVED);
  enterHalfOpen(t, l);
  congestionStart(t);
  if (isAnyListener(l)) {
    holdSyn(t, l);
    return;
  }
  t.due |= Due.NEED_SYN;
  wantOutput(t);
  reschedule(t);
}

/** A new connection of listener `l` for the 4-tuple in lookupKey, in the table; null if none can be had. */
function passiveConnection(l: Tcb, nowUs: i64): Tcb | null {
  const t = connAlloc();
  if (t == null) {
    count(Counter.SYN_DROPPED_NO_SLOT);
    return null;
  }
  const key = tcbKey(t);
  copySmall(changetype<usize>(key), changetype<usize>(lookupKey), offsetof<FlowKey>());
  if (!tableInsert(key, slotOf(t.id))) {
    tcbFree(t);
    count(Counter.SYN_DROPPED_NO_SLOT);
    return null;
  }
  t.member |= Member.IN_TABLE;
  t.life |= Life.PASSIVE | Life.OPENED;
  t.listenerId = l.id;
  inheritOptions(t, l);
  initConnection(t, nowUs);
  if (reusing) startAfterTimeWait(t, reuseSndNxt, reuseTsOffset);
  t.state = State.LISTEN;
  return t;
}

/**
 * The window of a SYN,ACK carrying a SYN cookie: the receive buffer, unscaled (RFC 7323 2.2; a cookie
 * keeps no window scale, so none is offered). The connection the ACK creates records the same edge.
 */
function cookieWindow(rcvBuf: u32): u32 {
  return rcvBuf < 0xffff ? rcvBuf : 0xffff;
}

/**
 * The ACK of a cookie SYN,ACK (RFC 4987 3.6): the connection is created as if it had been in
 * SYN-RECEIVED all along (no options but the MSS were agreed), then the ACK is processed as usual.
 */
function cookieArrives(l: Tcb, seg: Segment, mss: u32, nowUs: i64): void {
  const t = passiveConnection(l, nowUs);
  if (t == null) return;
  count(Counter.SYN_COOKIES_ACCEPTED);
  t.peerMss = mss;
  t.sndShift = 0;
  t.rcvShift = 0;
  t.irs = seg.seq - 1;
  t.rcvNxt = seg.seq;
  // The edge is the one the cookie SYN,ACK offered, not the (larger, power-of-two) ring's.
  t.rcvAdv = t.rcvNxt + cookieWindow(recvBufferInitial(t));
  t.lastAckSent = t.rcvNxt;
  t.iss = seg.ack - 1;
  t.sndUna = t.iss;
  t.sndNxt = seg.ack;
  t.sndMax = seg.ack;
  t.sndSml = t.iss;
  t.sndWl1 = t.irs;
  t.sndWl2 = t.iss;
  setState(t, State.SYN_RECEIVED);
  congestionStart(t);
  if (otherStateArrives(t, seg, nowUs)) reschedule(t);
}
