// Segment arrival in a connection's states (RFC 9293 3.10.7.3 SYN-SENT and 3.10.7.4 every later
// state), the checks in the RFC's order: sequence number (with PAWS, RFC 7323 5.3), RST (RFC 5961
// 3.2), SYN (RFC 5961 4.2), ACK (RFC 5961 5.2; ack.ts does the sender's side), text (receive.ts) and
// FIN (fin.ts). The ACKs owed to dropped segments go through the RFC 5961 7 throttle (ackrate.ts). TIME-WAIT
// is not here: a connection entering it moves to timewait.ts. Each returns false when the connection
// ended or left (and may have been freed).
import { Segment } from "../wire/packet";
import { seqLt, seqLe, seqGt, seqGe, segmentAcceptable } from "../wire/seq";
import { Tcb, State, Snd, Life, Due, Opt, hasFlag, tcbTimers, tcbRtt, tcbFromId, tcbAckLimiter, rcvRing } from "./tcb";
import { TimerKind, timerSet, timerClear } from "./timers";
import { rttSample, rttRto } from "./rtt";
import { emitSimple, EventType } from "./events";
import { Outcome } from "./errors";
import { count, Counter } from "./counters";
import * as config from "./config";
import { setState, connectionDone, wantOutput, ackNow, notify } from "./conn";
import { FLG_ACK, FLG_FIN, FLG_RST, FLG_SYN, segLength } from "../wire/tcp";
import { queueReset, queueConnectionReset, offerableEdge } from "./emit";
import { keepaliveTouch } from "./timeouts";
import { takeSynOptions, congestionStart } from "./handshake";
import { processAck } from "./ack";
import { receiveText } from "./receive";
import { finArrives, enterTimeWait } from "./fin";
import { ackAllowed } from "./ackrate";
import { dsackNote } from "./dsack";
import { rcvSpaceStart, rcvEchoRtt } from "./autosize";

/** RFC 7323 5.5: TS.Recent older than 24 days is invalid (the peer's clock may have wrapped). */
const PAWS_IDLE_US: i64 = 24 * 86400 * 1_000_000;
const SYN_TIMEOUT_RTO_US: i64 = 3_000_000;

/** The connection reached ESTABLISHED: tell the host (RFC 9293 3.10.7.3 / 3.10.7.4 fifth check). */
function becomeEstablished(t: Tcb, nowUs: i64): bool {
  // RFC 6298 5.7: a SYN or SYN,ACK timed out and no RTT was measured: start data at RTO >= 3 s.
  const rtt = tcbRtt(t);
  if (t.retries > 0 && !rtt.hasSample && rtt.rtoUs < SYN_TIMEOUT_RTO_US) rtt.rtoUs = SYN_TIMEOUT_RTO_US;
  t.retries = 0;
  if (hasFlag(t.life, Life.PASSIVE)) {
    const l = tcbFromId(t.listenerId);
    if (l == null || l.state != State.LISTEN) {
      // The listener closed meanwhile: nobody can accept this connection.
      queueConnectionReset(t);
      connectionDone(t, Outcome.CLOSED);
      return false;
    }
    setState(t, State.ESTABLISHED);
    t.life |= Life.HOST_HELD;
    emitSimple(EventType.ACCEPTED, 0, t.id, t.listenerId);
  } else {
    setState(t, State.ESTABLISHED);
    notify(t, EventType.CONNECTED, 0);
  }
  // CLOSE during SYN-RECEIVED was queued until ESTABLISHED (RFC 9293 3.10.4).
  if (hasFlag(t.life, Life.USER_CLOSED)) setState(t, State.FIN_WAIT_1);
  keepaliveTouch(t, nowUs);
  rcvSpaceStart(t, nowUs);
  wantOutput(t);
  return true;
}

/** RFC 9293 3.10.7.3: SYN-SENT. Returns false when the connection ended. */
export function synSentArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
  const flags = seg.flags;
  const hasAck = (flags & FLG_ACK) != 0;
  // First: the ACK must acknowledge our SYN and nothing beyond it.
  if (hasAck && (seqLe(seg.ack, t.iss) || seqGt(seg.ack, t.sndNxt))) {
    // <SEQ=SEG.ACK><CTL=RST>, within the RFC 5961 7 budget like every answer to a dropped segment.
    if ((flags & FLG_RST) == 0) {
      if (ackAllowed(tcbAckLimiter(t), nowUs)) queueReset(seg, seg.ack, 0, false);
      else count(Counter.ACKS_RATE_LIMITED);
    }
    return true;
  }
  // Second: a RST is believed only with an acceptable ACK (RFC 5961 3.2 for SYN-SENT).
  if ((flags & FLG_RST) != 0) {
    if (hasAck) {
      count(Counter.RESETS_RECEIVED);
      connectionDone(t, Outcome.REFUSED);
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
  // The edge our SYN offered, its window unscaled (RFC 7323 2.2) and the ring still empty: data in
  // the SYN,ACK is inside it, and the edge never moves left from here (RFC 9293 3.8.6).
  t.rcvAdv = offerableEdge(t, 0);
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
    t.due |= Due.ACK_NOW;
    if (!becomeEstablished(t, nowUs)) return false;
    // Data or FIN in the SYN,ACK (RFC 9293 3.10.7.3: "continue processing at the sixth step").
    const fin = (flags & FLG_FIN) != 0;
    if (seg.payloadLen != 0 || fin) return textAndFin(t, seg.seq + 1, seg.packet + seg.payloadOffset, seg.payloadLen, fin, nowUs);
    return true;
  }
  // Simultaneous open: SYN-RECEIVED, answer with SYN,ACK (RFC 9293 3.10.7.3, fourth, "Otherwise").
  t.sndWnd = seg.window;
  t.maxSndWnd = t.sndWnd;
  t.sndWl1 = seg.seq;
  setState(t, State.SYN_RECEIVED);
  t.due |= Due.NEED_SYN;
  wantOutput(t);
  return true;
}

/** RTT sample from the ACK of our SYN (Karn: only if it was not retransmitted). */
function ackedSyn(t: Tcb, seg: Segment, nowUs: i64): void {
  if (hasFlag(t.sender, Snd.RTT_TIMING)) {
    rttSample(tcbRtt(t), nowUs - t.rttStartUs);
    t.sender &= ~Snd.RTT_TIMING;
  }
}

/**
 * The ACK of our SYN in SYN-RECEIVED (RFC 9293 3.10.7.4 fifth check), or in FIN-WAIT-1 after CLOSE
 * in SYN-RECEIVED (SYN_UNACKED): SND.UNA = ISS + 1, SND.WND from it (`window` already scaled or not),
 * and the retransmission timer for what is left in flight (our FIN) or none (RFC 6298 5.2, 5.3).
 */
function synAcked(t: Tcb, seg: Segment, window: u32, nowUs: i64): void {
  ackedSyn(t, seg, nowUs);
  t.life &= ~Life.SYN_UNACKED;
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

/** RFC 5961 3.2 / 4.2: a challenge ACK, within the connection's RFC 5961 7 budget (ackrate.ts). */
function challengeAck(t: Tcb, nowUs: i64): void {
  if (!ackAllowed(tcbAckLimiter(t), nowUs)) {
    count(Counter.CHALLENGE_ACKS_LIMITED);
    return;
  }
  count(Counter.CHALLENGE_ACKS);
  t.due |= Due.ACK_NOW;
  wantOutput(t);
}

/**
 * The ACK owed to a segment that is dropped (outside the window, PAWS-stale, an unacceptable ACK):
 * within the same budget as challenge ACKs (RFC 5961 7), so a flood of them is not answered in kind.
 */
function throttledAck(t: Tcb, nowUs: i64): bool {
  if (!ackAllowed(tcbAckLimiter(t), nowUs)) {
    count(Counter.ACKS_RATE_LIMITED);
    return false;
  }
  ackNow(t);
  return true;
}

/** Text starting within one receive buffer below RCV.NXT: a duplicate a real sender retransmitted. */
function recentDuplicate(t: Tcb, seg: Segment): bool {
  return seg.payloadLen != 0 && seqLt(seg.seq, t.rcvNxt) && !seqLt(seg.seq, t.rcvNxt - rcvRing(t).cap);
}

/** RFC 9293 3.10.7.4: every state after SYN-SENT. Returns false when the connection ended. */
export function otherStateArrives(t: Tcb, seg: Segment, nowUs: i64): bool {
  const flags = seg.flags;
  const rst = (flags & FLG_RST) != 0;
  const syn = (flags & FLG_SYN) != 0;
  const state = t.state;

  // RFC 7323 5.3 R1 (PAWS), before the sequence number check.
  if (hasFlag(t.options, Opt.TS_OK) && !rst) {
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
        // (RFC 2883 4.1.1) at once so the sender can undo a spurious retransmission (undo.ts).
        if (recentDuplicate(t, seg)) {
          const end = seg.seq + seg.payloadLen;
          dsackNote(t, seg.seq, seqLt(end, t.rcvNxt) ? end : t.rcvNxt);
          ackNow(t);
        } else {
          throttledAck(t, nowUs);
        }
        return true;
      }
    }
  }

  // First: sequence number acceptability (RFC 9293 3.10.7.4, the four cases).
  const len = segLength(seg);
  const rcvWnd: u32 = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  const acceptable = segmentAcceptable(seg.seq, len, t.rcvNxt, rcvWnd);
  // "Special allowance ... to accept valid ACKs, URGs, and RSTs": the text is dropped below.
  const zeroWindowAck = acceptable && len != 0 && rcvWnd == 0;
  if (!acceptable) {
    count(Counter.OUT_OF_WINDOW);
    if (rst) return true;
    const synPending = state == State.SYN_RECEIVED || hasFlag(t.life, Life.SYN_UNACKED);
    if (synPending && syn && seg.seq == t.irs) {
      if ((flags & FLG_ACK) != 0 && seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndMax)) {
        // Simultaneous open: the peer's SYN,ACK acknowledges our SYN (RFC 9293 3.5 figure 7, line 6);
        // a SYN's window is never scaled (RFC 7323 2.2).
        synAcked(t, seg, seg.window, nowUs);
        ackNow(t);
        return state == State.SYN_RECEIVED ? becomeEstablished(t, nowUs) : true;
      }
      // A retransmitted SYN while our SYN,ACK is unanswered: send the SYN,ACK again (as throttled
      // as any other answer to a segment outside the window, RFC 5961 7).
      if (ackAllowed(tcbAckLimiter(t), nowUs)) {
        t.due |= Due.NEED_SYN;
        wantOutput(t);
      } else {
        count(Counter.ACKS_RATE_LIMITED);
      }
      return true;
    }
    // Text we already have, from within one receive buffer below RCV.NXT: a retransmission whose
    // sender must learn that it arrived, answered at once with its D-SACK (RFC 2883 4.1.1). A blind
    // sender lands there with odds of one buffer in 2^32; anything else waits for the RFC 5961 7 budget.
    if (recentDuplicate(t, seg)) {
      if (seqLe(seg.seq + seg.payloadLen, t.rcvNxt)) dsackNote(t, seg.seq, seg.seq + seg.payloadLen);
      ackNow(t);
    } else {
      throttledAck(t, nowUs);
    }
    return true;
  }

  // Second: RST (RFC 5961 3.2: exact match resets, anything else in the window is challenged).
  if (rst) {
    if (seg.seq != t.rcvNxt) {
      challengeAck(t, nowUs);
      return true;
    }
    count(Counter.RESETS_RECEIVED);
    if (state == State.SYN_RECEIVED) {
      // Passive: back to LISTEN, which here means the half-open TCB goes away; active: refused. A
      // passive one the host already holds (a forwarder's, forward.ts) was reset under its user.
      connectionDone(t, !hasFlag(t.life, Life.PASSIVE) ? Outcome.REFUSED : hasFlag(t.life, Life.HOST_HELD) ? Outcome.RESET : Outcome.CLOSED);
    } else if (state == State.CLOSING || state == State.LAST_ACK) {
      connectionDone(t, Outcome.CLOSED);
    } else {
      connectionDone(t, Outcome.RESET);
    }
    return false;
  }

  // Fourth: SYN (RFC 5961 4.2 challenge ACK; RFC 9293 3.10.7.4 for SYN-RECEIVED from a listener).
  if (syn) {
    if (state == State.SYN_RECEIVED && hasFlag(t.life, Life.PASSIVE)) {
      connectionDone(t, hasFlag(t.life, Life.HOST_HELD) ? Outcome.RESET : Outcome.CLOSED);
      return false;
    }
    challengeAck(t, nowUs);
    return true;
  }

  // Fifth: ACK.
  if ((flags & FLG_ACK) == 0) return true;
  if (state == State.SYN_RECEIVED || hasFlag(t.life, Life.SYN_UNACKED)) {
    if (!(seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndMax))) {
      // RFC 9293 3.10.7.4 fifth check: <SEQ=SEG.ACK><CTL=RST>, within the RFC 5961 7 budget.
      if (ackAllowed(tcbAckLimiter(t), nowUs)) queueReset(seg, seg.ack, 0, false);
      else count(Counter.ACKS_RATE_LIMITED);
      return true;
    }
    // In SYN-RECEIVED nothing but our SYN was in flight (data waits for ESTABLISHED); after CLOSE in
    // SYN-RECEIVED our FIN may follow it, and processAck below takes the ACK of the FIN as usual.
    synAcked(t, seg, <u32>seg.window << t.sndShift, nowUs);
    if (state == State.SYN_RECEIVED && !becomeEstablished(t, nowUs)) return false;
  }
  // RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (SND.MAX: data sent before a timeout
  // moved SND.NXT back is still data the peer may acknowledge). Outside it, the whole segment is
  // dropped, its text and FIN too (an ACK of data never sent says the segment is not for this
  // connection, as Linux treats it), and answered with an ACK within the RFC 5961 7 budget.
  if (seqLt(seg.ack, t.sndUna - t.maxSndWnd) || seqGt(seg.ack, t.sndMax)) {
    count(Counter.BAD_ACK_DROPPED);
    throttledAck(t, nowUs);
    return true;
  }
  // RFC 7323 4.3: TS.Recent from an acceptable segment that covers Last.ACK.sent.
  if (seg.hasTimestamps && hasFlag(t.options, Opt.TS_OK) && seqGe(seg.tsVal, t.tsRecent) && seqLe(seg.seq, t.lastAckSent)) {
    t.tsRecent = seg.tsVal;
    t.tsRecentUs = nowUs;
  }
  if (seg.payloadLen != 0 && seg.hasTimestamps && hasFlag(t.options, Opt.TS_OK)) rcvEchoRtt(t, seg.tsEcr, nowUs);
  processAck(t, seg, nowUs);
  const finAcked = hasFlag(t.life, Life.FIN_SENT) && seqGt(t.sndUna, t.finSeq);
  switch (t.state) {
    case State.FIN_WAIT_1:
      if (finAcked) {
        setState(t, State.FIN_WAIT_2);
        // Nobody will read or close again: bound FIN-WAIT-2 like Linux's tcp_fin_timeout.
        if (!hasFlag(t.life, Life.HOST_HELD)) timerSet(tcbTimers(t), TimerKind.TimeWait, nowUs + 2 * config.mslUs);
      }
      break;
    case State.CLOSING:
      if (finAcked) return enterTimeWait(t, nowUs);
      break;
    case State.LAST_ACK:
      if (finAcked) {
        connectionDone(t, Outcome.CLOSED);
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
  return textAndFin(t, seg.seq, seg.packet + seg.payloadOffset, zeroWindowAck ? 0 : seg.payloadLen, fin, nowUs);
}

/** Seventh and eighth checks: segment text and FIN, trimmed to the receive window. */
function textAndFin(t: Tcb, seq: u32, data: usize, dataLen: u32, fin: bool, nowUs: i64): bool {
  const state = t.state;
  let len = dataLen;
  let src = data;
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
      src += d;
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
      if (!hasFlag(t.life, Life.HOST_HELD)) {
        // Data for a connection whose host is gone: nobody will read it (Linux answers with RST too).
        queueConnectionReset(t);
        connectionDone(t, Outcome.CLOSED);
        return false;
      }
      if (!receiveText(t, seq, src, len, nowUs)) return false;
    }
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent FIN; ignore the text.
  }
  if (fin) {
    const finSeq = seq + len;
    if (finSeq == t.rcvNxt) return finArrives(t, nowUs);
    if (seqGt(finSeq, t.rcvNxt)) {
      t.life |= Life.RCV_FIN_PENDING;
      t.rcvFinSeq = finSeq;
      ackNow(t);
    }
  }
  return true;
}
