// Segment arrival: RFC 9293 3.10.7, the checks in the RFC's order, with RFC 5961 (blind RST, SYN and
// data defences), RFC 7323 (PAWS, timestamps, window scaling), RFC 2018 / 6675 (SACK), RFC 5681 /
// 6582 (duplicate ACKs, fast retransmit, NewReno) and RFC 1337 (no RST assassination in TIME-WAIT).
//
// Input never emits packets: replies are flags on the TCB (ACK_NOW, NEED_SYN, RTX_ONE) or records in
// the control queue (RSTs for segments that match no connection), drained by output().
import { Segment, parsePacket } from "../wire/packet";
import { Reason } from "../wire/reason";
import { seqLt, seqLe, seqGt, seqGe, seqInRange } from "../wire/seq";
import { icmpEchoReply, IPPROTO_ICMP, IPPROTO_ICMPV6 } from "../wire/icmp";
import { Tcb, State, F, hasFlag, setFlag, clearFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbRtt, tcbCc,
  tcbOoo, tcbSb, tcbAtSlot, tcbAlloc, tcbFree, tcbFromId, slotOf } from "./tcb";
import { FlowKey, tableLookup, tableInsert, listenerLookup } from "./table";
import { ringEnsure, ringCopyIn, ringCommit, ringConsume, ringSpace, ringRelease } from "./ring";
import { TimerKind, NEVER, timerSet, timerClear, timerGet } from "./timers";
import { rttSample, rttRto } from "./rtt";
import { ccInit, CcAlgo, ccOnAck, ccOnEnterRecovery, ccOnDupAckInRecovery, ccOnPartialAck, ccOnExitRecovery,
  ccIsFullAck } from "./congestion";
import { oooInsert, oooTake, oooRelease } from "./reassembly";
import { sbUpdate, sbIsLost, sbRelease } from "./scoreboard";
import { emitEvent, emitSimple, EventType } from "./events";
import { Err } from "./errors";
import { count, countReason, Counter } from "./counters";
import * as config from "./config";
import { setState, connectionDone, wantOutput, reschedule, notify, enterHalfOpen, halfOpenTotal } from "./conn";
import { cookieMake, cookieCheck } from "./syncookie";
import { FLG_FIN, FLG_SYN, FLG_RST, FLG_ACK, queueReset, queueReply, queueConnectionReset, tsNow, sendMss,
  controlRoom, controlWritePtr, controlCommit } from "./output";
import { initConnection, inheritOptions } from "./user";
import { keepaliveTouch } from "./timeouts";

const inSeg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));
// The packet being processed (one at a time): payload offsets in inSeg are relative to it.
let inputPacketPtr: usize = 0;
const lookupKey = changetype<FlowKey>(memory.data(offsetof<FlowKey>(), 8));

/** RFC 7323 5.5: TS.Recent older than 24 days is invalid (the peer's clock may have wrapped). */
const PAWS_IDLE_US: i64 = 24 * 86400 * 1_000_000;
const CHALLENGE_WINDOW_US: i64 = 1_000_000;
const SYN_TIMEOUT_RTO_US: i64 = 3_000_000;

@inline function align4(n: u32): u32 {
  return (n + 3) & ~3;
}

/**
 * Processes `records` RX records at `rxPtr` (each [u32 length][packet] padded to 4) within
 * `regionBytes`. Returns the number of records processed (fewer only if a record runs past the region).
 */
export function inputRun(rxPtr: usize, regionBytes: u32, records: u32, nowUs: i64): u32 {
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
    packetArrives(rxPtr + off + 4, len, nowUs);
    off += 4 + align4(len);
  }
  return records;
}

function packetArrives(ptr: usize, len: u32, nowUs: i64): void {
  count(Counter.PACKETS_IN);
  const seg = inSeg;
  inputPacketPtr = ptr;
  const reason = parsePacket(ptr, len, seg, config.verifyChecksums);
  if (reason == Reason.NOT_TCP) {
    if ((seg.ipVersion == 4 && seg.ipProto == IPPROTO_ICMP) || (seg.ipVersion == 6 && seg.ipProto == IPPROTO_ICMPV6)) {
      const room = controlRoom();
      const cap: u32 = room > 8 ? <u32>(room - 8) : 0;
      const n = icmpEchoReply(ptr, len, seg, controlWritePtr(), cap);
      if (n != 0) {
        controlCommit(n);
        count(Counter.ICMP_ECHO_REPLIES);
        return;
      }
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

function traceIn(id: u32, seg: Segment): void {
  let opts: u32 = 0;
  if (seg.mss != 0) opts |= 1;
  if (seg.wscale >= 0) opts |= 2;
  if (seg.sackPermitted) opts |= 4;
  if (seg.hasTimestamps) opts |= 8;
  if (seg.sackCount != 0) opts |= 16;
  emitEvent(EventType.SEGMENT_IN, seg.flags, id, seg.seq, seg.ack, seg.window, seg.payloadLen, opts, seg.mss);
}

/** SEG.LEN (RFC 9293 3.4): payload plus one for SYN and one for FIN. */
@inline function segLength(seg: Segment): u32 {
  return seg.payloadLen + ((seg.flags & FLG_SYN) != 0 ? 1 : 0) + ((seg.flags & FLG_FIN) != 0 ? 1 : 0);
}

function segmentArrives(seg: Segment, nowUs: i64): void {
  count(Counter.SEGMENTS_IN);
  const key = lookupKey;
  key.ipVersion = seg.ipVersion;
  key.localA = seg.dstA;
  key.localB = seg.dstB;
  key.remoteA = seg.srcA;
  key.remoteB = seg.srcB;
  key.localPort = seg.dstPort;
  key.remotePort = seg.srcPort;
  const slot = tableLookup(key);
  if (slot >= 0) {
    const t = tcbAtSlot(<u32>slot);
    if (t != null && t.state == State.TIME_WAIT && timeWaitTakesSyn(t, seg)) {
      // RFC 9293 3.6.1 / RFC 6191: a new incarnation may start in TIME-WAIT when its SYN is newer
      // than anything of the old one (timestamps if they were in use, else the sequence number).
      connectionDone(t, 0, 0);
    } else if (t != null) {
      if (config.trace) traceIn(t.id, seg);
      keepaliveTouch(t, nowUs);
      const alive = t.state == State.SYN_SENT ? synSentArrives(t, seg, nowUs) : otherStateArrives(t, seg, nowUs);
      if (alive) reschedule(t);
      return;
    }
  }
  const l = listenerLookup(seg.ipVersion, seg.dstA, seg.dstB, seg.dstPort);
  if (l >= 0) {
    const listener = tcbAtSlot(<u32>l);
    if (listener != null && listener.state == State.LISTEN) {
      if (config.trace) traceIn(listener.id, seg);
      listenArrives(listener, seg, nowUs);
      return;
    }
  }
  if (config.trace) traceIn(0, seg);
  closedArrives(seg);
}

function timeWaitTakesSyn(t: Tcb, seg: Segment): bool {
  if ((seg.flags & (FLG_SYN | FLG_ACK | FLG_RST)) != FLG_SYN) return false;
  if (hasFlag(t, F.TS_OK) && seg.hasTimestamps) return seqGt(seg.tsVal, t.tsRecent);
  return seqGt(seg.seq, t.rcvNxt);
}

/** RFC 9293 3.10.7.1: no connection. A RST is ignored; anything else is answered with a RST. */
function closedArrives(seg: Segment): void {
  count(Counter.NO_CONNECTION);
  if ((seg.flags & FLG_RST) != 0) return;
  if ((seg.flags & FLG_ACK) != 0) queueReset(seg, seg.ack, 0, false);
  else queueReset(seg, 0, seg.seq + segLength(seg), true);
}

/** Options of the peer's SYN (RFC 9293 3.7.1 MSS; RFC 7323 2.2, 3.2; RFC 2018 2). */
function takeSynOptions(t: Tcb, seg: Segment, nowUs: i64): void {
  let mss: u32 = seg.mss;
  // RFC 9293 3.7.1 (MUST-15): without the option assume 536 (IPv4) / 1220 (IPv6, RFC 8200 5).
  if (mss == 0) mss = seg.ipVersion == 6 ? 1220 : 536;
  // A tiny MSS turns every byte into a segment (CVE-2019-11477/11478): clamp from below like Linux.
  if (mss < 48) mss = 48;
  t.peerMss = mss;
  const passive = t.state != State.SYN_SENT;
  const ourWs = passive ? config.offerWindowScaling : hasFlag(t, F.SENT_WS);
  if (seg.wscale >= 0 && ourWs) {
    setFlag(t, F.WS_OK);
    t.sndShift = <u32>seg.wscale;
  } else {
    clearFlag(t, F.WS_OK);
    t.sndShift = 0;
    t.rcvShift = 0;
  }
  if (seg.sackPermitted && config.offerSack) setFlag(t, F.SACK_OK);
  else clearFlag(t, F.SACK_OK);
  if (seg.hasTimestamps && config.offerTimestamps) {
    setFlag(t, F.TS_OK);
    t.tsRecent = seg.tsVal;
    t.tsRecentUs = nowUs;
  } else {
    clearFlag(t, F.TS_OK);
  }
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
      const localMss = config.mtu - (seg.ipVersion == 6 ? 60 : 40);
      const iss = cookieMake(lookupKey, seg.seq, seg.mss != 0 ? <u32>seg.mss : 536, nowUs);
      const window = l.rcvBuf < 0xffff ? l.rcvBuf : 0xffff;
      if (queueReply(seg, iss, seg.seq + 1, FLG_SYN | FLG_ACK, window, localMss)) count(Counter.SYN_COOKIES_SENT);
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
  setFlag(t, F.NEED_SYN);
  wantOutput(t);
  reschedule(t);
}

/** A new connection of listener `l` for the 4-tuple in lookupKey, in the table; null if none can be had. */
function passiveConnection(l: Tcb, nowUs: i64): Tcb | null {
  const t = tcbAlloc();
  if (t == null) {
    count(Counter.SYN_DROPPED_NO_SLOT);
    return null;
  }
  const key = tcbKey(t);
  memory.copy(changetype<usize>(key), changetype<usize>(lookupKey), offsetof<FlowKey>());
  if (!tableInsert(key, slotOf(t.id))) {
    tcbFree(t);
    count(Counter.SYN_DROPPED_NO_SLOT);
    return null;
  }
  setFlag(t, F.IN_TABLE | F.PASSIVE | F.OPENED);
  t.listenerId = l.id;
  inheritOptions(t, l);
  initConnection(t, nowUs);
  t.state = State.LISTEN;
  return t;
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
  const r = rcvRing(t);
  t.rcvAdv = t.rcvNxt + (r.cap < 0xffff ? r.cap : 0xffff);
  t.lastAckSent = t.rcvNxt;
  t.iss = seg.ack - 1;
  t.sndUna = t.iss;
  t.sndNxt = seg.ack;
  t.sndMax = seg.ack;
  t.highRxt = seg.ack;
  t.sndWl1 = t.irs;
  t.sndWl2 = t.iss;
  setState(t, State.SYN_RECEIVED);
  congestionStart(t);
  if (otherStateArrives(t, seg, nowUs)) reschedule(t);
}

/** Congestion state once the peer's MSS is known (RFC 5681 3.1); NewReno's `recover` starts at ISS. */
function congestionStart(t: Tcb): void {
  ccInit(tcbCc(t), CcAlgo.NewReno, sendMss(t));
  tcbCc(t).recover = t.iss;
}

/** The connection reached ESTABLISHED: tell the host (RFC 9293 3.10.7.3 / 3.10.7.4 fifth check). */
function becomeEstablished(t: Tcb, nowUs: i64): bool {
  // RFC 6298 5.7: a SYN or SYN,ACK timed out and no RTT was measured: start data at RTO >= 3 s.
  const rtt = tcbRtt(t);
  if (t.retries > 0 && !rtt.hasSample && rtt.rtoUs < SYN_TIMEOUT_RTO_US) rtt.rtoUs = SYN_TIMEOUT_RTO_US;
  t.retries = 0;
  if (hasFlag(t, F.PASSIVE)) {
    const l = tcbFromId(t.listenerId);
    if (l == null || l.state != State.LISTEN) {
      // The listener closed meanwhile: nobody can accept this connection.
      queueConnectionReset(t);
      connectionDone(t, 0, 0);
      return false;
    }
    setState(t, State.ESTABLISHED);
    setFlag(t, F.HOST_HELD);
    emitSimple(EventType.ACCEPTED, 0, t.id, t.listenerId);
  } else {
    setState(t, State.ESTABLISHED);
    notify(t, EventType.CONNECTED, 0);
  }
  // CLOSE during SYN-RECEIVED was queued until ESTABLISHED (RFC 9293 3.10.4).
  if (hasFlag(t, F.USER_CLOSED)) setState(t, State.FIN_WAIT_1);
  keepaliveTouch(t, nowUs);
  wantOutput(t);
  return true;
}

/** RFC 9293 3.10.7.3: SYN-SENT. Returns false when the connection ended. */
function synSentArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
  const flags = seg.flags;
  const hasAck = (flags & FLG_ACK) != 0;
  // First: the ACK must acknowledge our SYN and nothing beyond it.
  if (hasAck && (seqLe(seg.ack, t.iss) || seqGt(seg.ack, t.sndNxt))) {
    if ((flags & FLG_RST) == 0) queueReset(seg, seg.ack, 0, false);
    return true;
  }
  // Second: a RST is believed only with an acceptable ACK (RFC 5961 3.2 for SYN-SENT).
  if ((flags & FLG_RST) != 0) {
    if (hasAck) {
      count(Counter.RESETS_RECEIVED);
      connectionDone(t, EventType.RESET, Err.ECONNREFUSED);
      return false;
    }
    return true;
  }
  // Fourth: SYN.
  if ((flags & FLG_SYN) == 0) return true;
  takeSynOptions(t, seg, nowUs);
  congestionStart(t);
  t.irs = seg.seq;
  t.rcvNxt = seg.seq + 1;
  t.rcvAdv = t.rcvNxt;
  if (hasAck) {
    ackedSyn(t, seg, nowUs);
    t.sndUna = seg.ack;
    timerClear(tcbTimers(t), TimerKind.Retransmit);
    timerClear(tcbTimers(t), TimerKind.UserTimeout);
  }
  if (seqGt(t.sndUna, t.iss)) {
    t.sndWnd = seg.window; // a SYN's window is never scaled (RFC 7323 2.2)
    t.maxSndWnd = t.sndWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = seg.ack;
    setFlag(t, F.ACK_NOW);
    if (!becomeEstablished(t, nowUs)) return false;
    // Data or FIN in the SYN,ACK (RFC 9293 3.10.7.3: "continue processing at the sixth step").
    if (seg.payloadLen != 0 || (flags & FLG_FIN) != 0) return textAndFin(t, seg, seg.seq + 1, seg.payloadOffset, seg.payloadLen, (flags & FLG_FIN) != 0, nowUs);
    return true;
  }
  // Simultaneous open: SYN-RECEIVED, answer with SYN,ACK (RFC 9293 3.10.7.3, fourth, "Otherwise").
  t.sndWnd = seg.window;
  t.maxSndWnd = t.sndWnd;
  t.sndWl1 = seg.seq;
  setState(t, State.SYN_RECEIVED);
  setFlag(t, F.NEED_SYN);
  wantOutput(t);
  return true;
}

/** RTT sample from the ACK of our SYN (Karn: only if it was not retransmitted). */
function ackedSyn(t: Tcb, seg: Segment, nowUs: i64): void {
  if (hasFlag(t, F.RTT_TIMING)) {
    rttSample(tcbRtt(t), nowUs - t.rttStartUs);
    clearFlag(t, F.RTT_TIMING);
  }
}

/** RFC 5961 7: a challenge ACK, at most config.challengeAckLimit per second per connection. */
function challengeAck(t: Tcb, nowUs: i64): void {
  if (nowUs - t.challengeWindowUs >= CHALLENGE_WINDOW_US) {
    t.challengeWindowUs = nowUs;
    t.challengeCount = 0;
  }
  if (t.challengeCount >= config.challengeAckLimit) {
    count(Counter.CHALLENGE_ACKS_LIMITED);
    return;
  }
  t.challengeCount++;
  count(Counter.CHALLENGE_ACKS);
  setFlag(t, F.ACK_NOW);
  wantOutput(t);
}

@inline function ackNow(t: Tcb): void {
  setFlag(t, F.ACK_NOW);
  wantOutput(t);
}

function enterTimeWait(t: Tcb, nowUs: i64): void {
  setState(t, State.TIME_WAIT);
  const timers = tcbTimers(t);
  timerClear(timers, TimerKind.Retransmit);
  timerClear(timers, TimerKind.Persist);
  timerClear(timers, TimerKind.Keepalive);
  timerClear(timers, TimerKind.UserTimeout);
  timerClear(timers, TimerKind.DelayedAck);
  timerSet(timers, TimerKind.TimeWait, nowUs + 2 * config.mslUs);
  // Everything we sent is acknowledged and nothing more will come in order: a TIME-WAIT connection
  // keeps only its TCB (and data the host has not read yet).
  ringRelease(sndRing(t));
  if (rcvRing(t).len == 0) ringRelease(rcvRing(t));
  oooRelease(tcbOoo(t));
  sbRelease(tcbSb(t));
}

/** RFC 9293 3.10.7.4: every state after SYN-SENT. Returns false when the connection ended. */
function otherStateArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
  const flags = seg.flags;
  const rst = (flags & FLG_RST) != 0;
  const syn = (flags & FLG_SYN) != 0;
  const state = t.state;

  // RFC 7323 5.3 R1 (PAWS), before the sequence number check.
  if (hasFlag(t, F.TS_OK) && !rst) {
    if (!seg.hasTimestamps) {
      // RFC 7323 3.2: once negotiated, a non-RST segment without timestamps SHOULD be dropped.
      count(Counter.TS_MISSING_DROPPED);
      return true;
    }
    if (seqLt(seg.tsVal, t.tsRecent)) {
      if (nowUs - t.tsRecentUs > PAWS_IDLE_US) {
        t.tsRecent = seg.tsVal; // RFC 7323 5.5: an idle connection's TS.Recent is invalid
        t.tsRecentUs = nowUs;
      } else {
        count(Counter.PAWS_DROPPED);
        ackNow(t);
        return true;
      }
    }
  }

  // First: sequence number acceptability (RFC 9293 3.10.7.4, the four cases).
  const len = segLength(seg);
  const rcvWnd: u32 = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  let acceptable: bool;
  let zeroWindowAck = false;
  if (len == 0) {
    acceptable = rcvWnd == 0 ? seg.seq == t.rcvNxt : seqInRange(seg.seq, t.rcvNxt, t.rcvNxt + rcvWnd);
  } else if (rcvWnd == 0) {
    // "Special allowance ... to accept valid ACKs, URGs, and RSTs": the text is dropped below.
    acceptable = seg.seq == t.rcvNxt;
    zeroWindowAck = acceptable;
  } else {
    acceptable = seqInRange(seg.seq, t.rcvNxt, t.rcvNxt + rcvWnd) ||
      seqInRange(seg.seq + len - 1, t.rcvNxt, t.rcvNxt + rcvWnd);
  }
  if (!acceptable) {
    count(Counter.OUT_OF_WINDOW);
    if (rst) return true;
    if (state == State.SYN_RECEIVED && syn && seg.seq == t.irs) {
      if ((flags & FLG_ACK) != 0 && seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndNxt)) {
        // Simultaneous open: the peer's SYN,ACK acknowledges our SYN (RFC 9293 3.5 figure 7, line 6).
        ackedSyn(t, seg, nowUs);
        t.sndUna = seg.ack;
        t.sndWnd = seg.window;
        t.maxSndWnd = t.sndWnd;
        t.sndWl1 = seg.seq;
        t.sndWl2 = seg.ack;
        const timers = tcbTimers(t);
        timerClear(timers, TimerKind.Retransmit);
        timerClear(timers, TimerKind.UserTimeout);
        ackNow(t);
        return becomeEstablished(t, nowUs);
      }
      // A retransmitted SYN while our SYN,ACK is unanswered: send the SYN,ACK again.
      setFlag(t, F.NEED_SYN);
      wantOutput(t);
      return true;
    }
    // A retransmitted FIN in TIME-WAIT restarts the 2 MSL wait (RFC 9293 3.10.7.4, eighth check).
    if (state == State.TIME_WAIT && (flags & FLG_FIN) != 0) {
      timerSet(tcbTimers(t), TimerKind.TimeWait, nowUs + 2 * config.mslUs);
    }
    ackNow(t);
    return true;
  }

  // Second: RST (RFC 5961 3.2: exact match resets, anything else in the window is challenged).
  if (rst) {
    if (state == State.TIME_WAIT) return true; // RFC 1337 TIME-WAIT assassination hazard
    if (seg.seq != t.rcvNxt) {
      challengeAck(t, nowUs);
      return true;
    }
    count(Counter.RESETS_RECEIVED);
    if (state == State.SYN_RECEIVED) {
      // Passive: back to LISTEN, which here means the half-open TCB goes away; active: refused.
      connectionDone(t, hasFlag(t, F.PASSIVE) ? 0 : EventType.RESET, Err.ECONNREFUSED);
    } else if (state == State.CLOSING || state == State.LAST_ACK) {
      connectionDone(t, 0, 0);
    } else {
      connectionDone(t, EventType.RESET, Err.ECONNRESET);
    }
    return false;
  }

  // Fourth: SYN (RFC 5961 4.2 challenge ACK; RFC 9293 3.10.7.4 for SYN-RECEIVED from a listener).
  if (syn) {
    if (state == State.SYN_RECEIVED && hasFlag(t, F.PASSIVE)) {
      connectionDone(t, 0, 0);
      return false;
    }
    challengeAck(t, nowUs);
    return true;
  }

  // Fifth: ACK.
  if ((flags & FLG_ACK) == 0) return true;
  if (state == State.SYN_RECEIVED) {
    if (!(seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndNxt))) {
      queueReset(seg, seg.ack, 0, false);
      return true;
    }
    // Nothing but our SYN was in flight (data waits for ESTABLISHED): this ACK covers exactly it.
    ackedSyn(t, seg, nowUs);
    t.sndUna = seg.ack;
    const timers = tcbTimers(t);
    timerClear(timers, TimerKind.Retransmit);
    timerClear(timers, TimerKind.UserTimeout);
    t.sndWnd = <u32>seg.window << t.sndShift;
    t.maxSndWnd = t.sndWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = seg.ack;
    if (!becomeEstablished(t, nowUs)) return false;
  }
  // RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (SND.MAX: data sent before a timeout
  // moved SND.NXT back is still data the peer may acknowledge).
  if (seqLt(seg.ack, t.sndUna - t.maxSndWnd) || seqGt(seg.ack, t.sndMax)) {
    count(Counter.BAD_ACK_DROPPED);
    ackNow(t);
    return true;
  }
  // RFC 7323 4.3: TS.Recent from an acceptable segment that covers Last.ACK.sent.
  if (seg.hasTimestamps && hasFlag(t, F.TS_OK) && seqGe(seg.tsVal, t.tsRecent) && seqLe(seg.seq, t.lastAckSent)) {
    t.tsRecent = seg.tsVal;
    t.tsRecentUs = nowUs;
  }
  processAck(t, seg, nowUs);
  const finAcked = hasFlag(t, F.FIN_SENT) && seqGt(t.sndUna, t.finSeq);
  switch (t.state) {
    case State.FIN_WAIT_1:
      if (finAcked) {
        setState(t, State.FIN_WAIT_2);
        // Nobody will read or close again: bound FIN-WAIT-2 like Linux's tcp_fin_timeout.
        if (!hasFlag(t, F.HOST_HELD)) timerSet(tcbTimers(t), TimerKind.TimeWait, nowUs + 2 * config.mslUs);
      }
      break;
    case State.CLOSING:
      if (finAcked) enterTimeWait(t, nowUs);
      break;
    case State.LAST_ACK:
      if (finAcked) {
        connectionDone(t, 0, 0);
        return false;
      }
      break;
    default:
      break;
  }

  // A zero-window probe: its text cannot be taken, but the peer needs our ACK and window.
  if (zeroWindowAck) ackNow(t);

  // Sixth (URG) is not supported: urgent data is ordinary data (RFC 6093 recommends not using it).
  return textAndFin(t, seg, seg.seq, seg.payloadOffset, zeroWindowAck ? 0 : seg.payloadLen, (flags & FLG_FIN) != 0 && !zeroWindowAck, nowUs);
}

/** Seventh and eighth checks: segment text and FIN, trimmed to the receive window. */
function textAndFin(t: Tcb, seg: Segment, seq: u32, dataOffset: u32, dataLen: u32, fin: bool, nowUs: i64): bool {
  const state = t.state;
  let len = dataLen;
  let off = dataOffset;
  // Trim what lies before RCV.NXT (duplicate) and beyond the window (RFC 9293 3.10.7.4, first check).
  if (seqLt(seq, t.rcvNxt)) {
    const d = t.rcvNxt - seq;
    if (d > len) {
      len = 0;
      fin = false;
    } else {
      len -= d;
      off += d;
    }
    seq = t.rcvNxt;
  }
  const rcvWnd: u32 = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  const wndEnd = t.rcvNxt + rcvWnd;
  if (len != 0 && seqGt(seq + len, wndEnd)) {
    len = seqGt(wndEnd, seq) ? wndEnd - seq : 0;
    fin = false;
  }
  if (len != 0) {
    if (state == State.ESTABLISHED || state == State.FIN_WAIT_1 || state == State.FIN_WAIT_2) {
      if (!hasFlag(t, F.HOST_HELD)) {
        // Data for a connection whose host is gone: nobody will read it (Linux answers with RST too).
        queueConnectionReset(t);
        connectionDone(t, 0, 0);
        return false;
      }
      if (!receiveText(t, seq, inputPacketPtr + off, len, nowUs)) return false;
    }
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent FIN; ignore the text.
  }
  if (fin) {
    const finSeq = seq + len;
    if (finSeq == t.rcvNxt) return finArrives(t, nowUs);
    if (seqGt(finSeq, t.rcvNxt)) {
      setFlag(t, F.RCV_FIN_PENDING);
      t.rcvFinSeq = finSeq;
      ackNow(t);
    }
  }
  return true;
}

/** Seventh check, ESTABLISHED / FIN-WAIT-1 / FIN-WAIT-2: data into the receive ring. */
function receiveText(t: Tcb, seq: u32, src: usize, len: u32, nowUs: i64): bool {
  const r = rcvRing(t);
  if (!ringEnsure(r)) {
    queueConnectionReset(t);
    connectionDone(t, EventType.ERROR, Err.ENOBUFS);
    return false;
  }
  if (len > t.rcvSegMax) t.rcvSegMax = len;
  if (seq == t.rcvNxt) {
    ringCopyIn(r, r.len, src, len);
    ringCommit(r, len);
    t.rcvNxt += len;
    t.unackedBytes += len;
    if (tcbOoo(t).count != 0) {
      const next = oooTake(tcbOoo(t), t.rcvNxt);
      if (next != t.rcvNxt) {
        ringCommit(r, next - t.rcvNxt);
        t.rcvNxt = next;
      }
      // RFC 5681 4.2: ACK at once when a segment fills (part of) a hole.
      setFlag(t, F.ACK_NOW);
    }
    if (!hasFlag(t, F.READABLE_SENT)) {
      setFlag(t, F.READABLE_SENT);
      notify(t, EventType.READABLE, 0);
    }
    // RFC 9293 3.8.6.3: delay the ACK, but ACK at least every second full-sized segment.
    if (hasFlag(t, F.ACK_NOW) || t.unackedBytes >= 2 * t.rcvSegMax) {
      setFlag(t, F.ACK_NOW);
      wantOutput(t);
    } else {
      const timers = tcbTimers(t);
      if (timerGet(timers, TimerKind.DelayedAck) == NEVER) timerSet(timers, TimerKind.DelayedAck, nowUs + config.delayedAckUs);
    }
    if (hasFlag(t, F.RCV_FIN_PENDING) && t.rcvFinSeq == t.rcvNxt) return finArrives(t, nowUs);
    return true;
  }
  // Out of order: hold it in the ring past RCV.NXT and say so at once with SACK (RFC 5681 4.2, RFC 2018 4).
  const q = tcbOoo(t);
  if (oooInsert(q, seq, seq + len)) {
    ringCopyIn(r, r.len + (seq - t.rcvNxt), src, len);
  } else {
    count(Counter.OOO_DROPPED);
  }
  ackNow(t);
  return true;
}

/** Eighth check: the peer's FIN, in order (RFC 9293 3.10.7.4). */
function finArrives(t: Tcb, nowUs: i64): bool {
  clearFlag(t, F.RCV_FIN_PENDING);
  t.rcvNxt += 1;
  setFlag(t, F.PEER_FIN | F.ACK_NOW);
  wantOutput(t);
  notify(t, EventType.PEER_FIN, 0);
  switch (t.state) {
    case State.SYN_RECEIVED:
    case State.ESTABLISHED:
      setState(t, State.CLOSE_WAIT);
      break;
    case State.FIN_WAIT_1:
      if (hasFlag(t, F.FIN_SENT) && seqGt(t.sndUna, t.finSeq)) enterTimeWait(t, nowUs);
      else setState(t, State.CLOSING);
      break;
    case State.FIN_WAIT_2:
      enterTimeWait(t, nowUs);
      break;
    case State.TIME_WAIT:
      timerSet(tcbTimers(t), TimerKind.TimeWait, nowUs + 2 * config.mslUs);
      break;
    default:
      break;
  }
  return true;
}

/** Fifth check, synchronized states: SND.UNA, SND.WND, RTT, loss recovery and congestion control. */
function processAck(t: Tcb, seg: Segment, nowUs: i64): void {
  const ack = seg.ack;
  const cc = tcbCc(t);
  const timers = tcbTimers(t);
  const oldWnd = t.sndWnd;
  const segWnd = <u32>seg.window << t.sndShift;

  if (hasFlag(t, F.SACK_OK) && seg.sackCount != 0) {
    sbUpdate(tcbSb(t), t.sndUna, t.sndMax, changetype<usize>(seg) + offsetof<Segment>("sackL0"), seg.sackCount);
  }

  if (seqGt(ack, t.sndUna)) {
    const acked = ack - t.sndUna;
    const flightBefore = t.sndMax - t.sndUna;
    // Our SYN was acknowledged before this (SYN-SENT / SYN-RECEIVED): only data and the FIN remain.
    let dataAcked = acked;
    if (hasFlag(t, F.FIN_SENT) && seqGt(ack, t.finSeq)) dataAcked--;
    const ring = sndRing(t);
    ringConsume(ring, dataAcked < ring.len ? dataAcked : ring.len);
    t.sndUna = ack;
    if (seqLt(t.sndNxt, ack)) t.sndNxt = ack;
    if (seqLt(t.highRxt, ack)) t.highRxt = ack;
    t.retries = 0;
    t.dupAcks = 0;
    // RTT: timestamps echo exactly the segment that was acked (RFC 7323 4.1); otherwise Karn's timing.
    if (hasFlag(t, F.TS_OK) && seg.hasTimestamps && seg.tsEcr != 0) {
      const ms = <i32>(tsNow(t, nowUs) - seg.tsEcr);
      if (ms >= 0) rttSample(tcbRtt(t), <i64>ms * 1000);
    } else if (hasFlag(t, F.RTT_TIMING) && seqGt(ack, t.rttSeq)) {
      rttSample(tcbRtt(t), nowUs - t.rttStartUs);
      clearFlag(t, F.RTT_TIMING);
    }
    if (cc.inRecovery) {
      if (ccIsFullAck(cc, ack)) {
        ccOnExitRecovery(cc, t.sndMax - t.sndUna);
      } else if (!hasFlag(t, F.SACK_OK)) {
        // RFC 6582 3.2 step 5: a partial ACK retransmits the next hole at once.
        ccOnPartialAck(cc, acked);
        setFlag(t, F.RTX_ONE);
      }
    } else {
      ccOnAck(cc, dataAcked, flightBefore);
    }
    // RFC 6298 5.2 / 5.3.
    if (t.sndUna == t.sndMax) {
      timerClear(timers, TimerKind.Retransmit);
      timerClear(timers, TimerKind.UserTimeout);
    } else {
      timerSet(timers, TimerKind.Retransmit, nowUs + rttRto(tcbRtt(t)));
      if (t.userTimeoutUs > 0) timerSet(timers, TimerKind.UserTimeout, nowUs + t.userTimeoutUs);
    }
    if (hasFlag(t, F.WRITE_BLOCKED) && ringSpace(ring) != 0 && !hasFlag(t, F.USER_CLOSED)) {
      clearFlag(t, F.WRITE_BLOCKED);
      notify(t, EventType.WRITABLE, 0);
    }
    wantOutput(t);
  } else if (ack == t.sndUna && t.sndMax != t.sndUna && seg.payloadLen == 0 &&
             (seg.flags & (FLG_SYN | FLG_FIN)) == 0 && segWnd == oldWnd) {
    // A duplicate ACK (RFC 5681 2, conditions (a) to (e)).
    t.dupAcks++;
    if (cc.inRecovery) {
      if (!hasFlag(t, F.SACK_OK)) ccOnDupAckInRecovery(cc);
      wantOutput(t);
    } else if ((t.dupAcks == 3 || (hasFlag(t, F.SACK_OK) && sbIsLost(tcbSb(t), t.sndUna, sendMss(t)))) &&
               seqGt(ack, cc.recover)) {
      // RFC 5681 3.2 fast retransmit / RFC 6675 5 (4) / RFC 6582 3.2 step 2.
      ccOnEnterRecovery(cc, t.sndMax - t.sndUna, t.sndMax);
      t.highRxt = t.sndUna;
      setFlag(t, F.RTX_ONE);
      count(Counter.FAST_RETRANSMITS);
      wantOutput(t);
    }
  }

  // Window update (RFC 9293 3.10.7.4 fifth check): only from a newer segment (SND.WL1, SND.WL2).
  if (seqLt(t.sndWl1, seg.seq) || (t.sndWl1 == seg.seq && seqLe(t.sndWl2, ack))) {
    t.sndWnd = segWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = ack;
    if (segWnd > t.maxSndWnd) t.maxSndWnd = segWnd;
    if (segWnd > oldWnd) {
      t.persistBackoff = 0;
      wantOutput(t);
    }
  }
}
