// Segment arrival in a connection's states (RFC 9293 3.10.7.3 SYN-SENT and 3.10.7.4 every later
// state), the checks in the RFC's order: sequence number (with PAWS, RFC 7323 5.3), RST (RFC 5961
// 3.2, RFC 1337), SYN (RFC 5961 4.2), ACK (RFC 5961 5.2; ack.ts does the sender's side), text
// (receive.ts) and FIN. Each returns false when the connection ended (and may have been freed).
import { Segment } from "../wire/packet";
import { seqLt, seqLe, seqGt, seqGe, seqInRange } from "../wire/seq";
import { Tcb, State, F, hasFlag, setFlag, clearFlag, sndRing, rcvRing, tcbTimers, tcbRtt, tcbOoo, tcbSb,
  tcbFromId } from "./tcb";
import { ringRelease } from "./ring";
import { TimerKind, timerSet, timerClear } from "./timers";
import { rttSample, rttRto } from "./rtt";
import { oooRelease } from "./reassembly";
import { sbRelease } from "./scoreboard";
import { emitSimple, EventType } from "./events";
import { Err } from "./errors";
import { count, Counter } from "./counters";
import * as config from "./config";
import { setState, connectionDone, wantOutput, notify } from "./conn";
import { FLG_FIN, FLG_SYN, FLG_RST, FLG_ACK, queueReset, queueConnectionReset } from "./emit";
import { keepaliveTouch } from "./timeouts";
import { takeSynOptions, congestionStart, packetPtr } from "./input";
import { processAck } from "./ack";
import { receiveText } from "./receive";
import { dsackNote } from "./dsack";

/** RFC 7323 5.5: TS.Recent older than 24 days is invalid (the peer's clock may have wrapped). */
const PAWS_IDLE_US: i64 = 24 * 86400 * 1_000_000;
const CHALLENGE_WINDOW_US: i64 = 1_000_000;
const SYN_TIMEOUT_RTO_US: i64 = 3_000_000;

/** SEG.LEN (RFC 9293 3.4): payload plus one for SYN and one for FIN. */
@inline function segLength(seg: Segment): u32 {
  return seg.payloadLen + ((seg.flags & FLG_SYN) != 0 ? 1 : 0) + ((seg.flags & FLG_FIN) != 0 ? 1 : 0);
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
export function synSentArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
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
    const fin = (flags & FLG_FIN) != 0;
    if (seg.payloadLen != 0 || fin) return textAndFin(t, seg.seq + 1, seg.payloadOffset, seg.payloadLen, fin, nowUs);
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

/**
 * The ACK of our SYN in SYN-RECEIVED (RFC 9293 3.10.7.4 fifth check), or in FIN-WAIT-1 after CLOSE
 * in SYN-RECEIVED (SYN_UNACKED): SND.UNA = ISS + 1, SND.WND from it (`window` already scaled or not),
 * and the retransmission timer for what is left in flight (our FIN) or none (RFC 6298 5.2, 5.3).
 */
function synAcked(t: Tcb, seg: Segment, window: u32, nowUs: i64): void {
  ackedSyn(t, seg, nowUs);
  clearFlag(t, F.SYN_UNACKED);
  t.sndUna = t.iss + 1;
  t.sndWnd = window;
  t.maxSndWnd = window;
  t.sndWl1 = seg.seq;
  t.sndWl2 = seg.ack;
  const timers = tcbTimers(t);
  if (t.sndUna == t.sndMax) {
    timerClear(timers, TimerKind.Retransmit);
    timerClear(timers, TimerKind.UserTimeout);
  } else {
    t.retries = 0;
    timerSet(timers, TimerKind.Retransmit, nowUs + rttRto(tcbRtt(t)));
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

@inline export function ackNow(t: Tcb): void {
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
export function otherStateArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
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
        // Usually our own retransmission's original, arriving late: report the text it repeats
        // (RFC 2883 4.1.1) so the sender can undo a spurious retransmission (undo.ts).
        if (seg.payloadLen != 0 && seqLt(seg.seq, t.rcvNxt)) {
          const end = seg.seq + seg.payloadLen;
          dsackNote(t, seg.seq, seqLt(end, t.rcvNxt) ? end : t.rcvNxt);
        }
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
    const synPending = state == State.SYN_RECEIVED || hasFlag(t, F.SYN_UNACKED);
    if (synPending && syn && seg.seq == t.irs) {
      if ((flags & FLG_ACK) != 0 && seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndMax)) {
        // Simultaneous open: the peer's SYN,ACK acknowledges our SYN (RFC 9293 3.5 figure 7, line 6);
        // a SYN's window is never scaled (RFC 7323 2.2).
        synAcked(t, seg, seg.window, nowUs);
        ackNow(t);
        return state == State.SYN_RECEIVED ? becomeEstablished(t, nowUs) : true;
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
    // Text we already have: the ACK reports it as a duplicate (RFC 2883 4.1.1).
    if (seg.payloadLen != 0 && seqLe(seg.seq + seg.payloadLen, t.rcvNxt)) dsackNote(t, seg.seq, seg.seq + seg.payloadLen);
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
  if (state == State.SYN_RECEIVED || hasFlag(t, F.SYN_UNACKED)) {
    if (!(seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndMax))) {
      queueReset(seg, seg.ack, 0, false);
      return true;
    }
    // In SYN-RECEIVED nothing but our SYN was in flight (data waits for ESTABLISHED); after CLOSE in
    // SYN-RECEIVED our FIN may follow it, and processAck below takes the ACK of the FIN as usual.
    synAcked(t, seg, <u32>seg.window << t.sndShift, nowUs);
    if (state == State.SYN_RECEIVED && !becomeEstablished(t, nowUs)) return false;
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
  const fin = (flags & FLG_FIN) != 0 && !zeroWindowAck;
  return textAndFin(t, seg.seq, seg.payloadOffset, zeroWindowAck ? 0 : seg.payloadLen, fin, nowUs);
}

/** Seventh and eighth checks: segment text and FIN, trimmed to the receive window. */
function textAndFin(t: Tcb, seq: u32, dataOffset: u32, dataLen: u32, fin: bool, nowUs: i64): bool {
  const state = t.state;
  let len = dataLen;
  let off = dataOffset;
  // Trim what lies before RCV.NXT (duplicate) and beyond the window (RFC 9293 3.10.7.4, first check).
  if (seqLt(seq, t.rcvNxt)) {
    const d = t.rcvNxt - seq;
    if (len != 0) {
      // Partly a duplicate: reported at once (RFC 2883 4.1.1; RFC 5681 4.2 acknowledges data out of
      // order at once), so a sender that retransmitted it can undo without waiting a delayed ACK.
      dsackNote(t, seq, d < len ? t.rcvNxt : seq + len);
      ackNow(t);
    }
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
      if (!receiveText(t, seq, packetPtr() + off, len, nowUs)) return false;
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

/** Eighth check: the peer's FIN, in order (RFC 9293 3.10.7.4). */
export function finArrives(t: Tcb, nowUs: i64): bool {
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
