// Output: what a connection sends and when. Handshake segments, new data within the send window and
// cwnd (RFC 5681 3.1) subject to Nagle (RFC 9293 3.7.4) and sender SWS avoidance (RFC 9293
// 3.8.6.2.1), retransmissions (go-back after RTO, RFC 6298 5.4; one segment for fast retransmit and
// NewReno partial ACKs, RFC 5681 3.2 / RFC 6582; RFC 6675 NextSeg in SACK recovery), tail loss
// probes (RFC 8985 7.3, new data where there is some), zero-window and keepalive probes, and ACKs. emit.ts builds the segments. With SACK every transmission is entered
// in the scoreboard with its time (RACK, RFC 8985 6.1). Pacing (pacing.ts) gates new data and
// repairs: a connection whose next departure time is ahead waits for its Pace timer.
import { seqGt, seqGe, seqLe, seqLt } from "../wire/seq";
import { Tcb, State, Snd, Life, Member, Due, Opt, hasFlag, sndRing, tcbTimers, tcbRtt, tcbCc, tcbSb } from "./tcb";
import { TimerKind, NEVER, timerSet, timerClear, timerGet } from "./timers";
import { rttRto } from "./rtt";
import { sbSent, sbNextLost, sbPipe, sbLostBytes, DUP_THRESH } from "./scoreboard";
import { undoOnRetransmit } from "./undo";
import { ccSetBurst } from "./congestion";
import { count, Counter } from "./counters";
import * as config from "./config";
import { reschedule, txqFront, txqPop } from "./conn";
import { tlpArm, tlpSent } from "./tlp";
import { FLG_ACK, FLG_FIN, FLG_PSH } from "../wire/tcp";
import { outSeg, sendMss, fillOptions, payloadRoom, packetRoom, emitSegment, emitSyn, txReset, txRecordCount, drainControl, controlPending } from "./emit";
import { ethernetCount } from "./iface";
import { SendKind, traceSendKind, setTraceSendKind } from "./events";
import { txFramePass } from "./frames";
import { paceAllows, paceSent } from "./pacing";

// (seq, len) out-parameter of sbNextSeg.
const nextSegOut = memory.data(8, 8);

@inline function armRetransmit(t: Tcb, nowUs: i64): void {
  const timers = tcbTimers(t);
  if (timerGet(timers, TimerKind.Retransmit) == NEVER) {
    timerSet(timers, TimerKind.Retransmit, nowUs + rttRto(tcbRtt(t)));
  }
  if (t.userTimeoutUs > 0 && timerGet(timers, TimerKind.UserTimeout) == NEVER) {
    timerSet(timers, TimerKind.UserTimeout, nowUs + t.userTimeoutUs);
  }
}

/**
 * Sends one segment of data already sent once (seq inside [SND.UNA, SND.MAX)), with the FIN when it
 * ends at our FIN. Karn's algorithm: a retransmitted range is never timed.
 */
function retransmit(t: Tcb, seq: u32, maxLen: u32, nowUs: i64): bool {
  const ring = sndRing(t);
  const off = seq - t.sndUna;
  let len: u32 = off < ring.len ? ring.len - off : 0;
  if (len > maxLen) len = maxLen;
  const fin = hasFlag(t.life, Life.FIN_SENT) && seq + len == t.finSeq;
  if (len == 0 && !fin) return true;
  let flags = FLG_ACK;
  if (fin) flags |= FLG_FIN;
  if (len != 0 && off + len == ring.len) flags |= FLG_PSH;
  // A probe's kind is set by lossProbe; anything else resent here repairs a loss.
  if (traceSendKind == SendKind.NEW) setTraceSendKind(SendKind.REPAIR);
  const sent = emitSegment(t, seq, flags, off, len, nowUs);
  setTraceSendKind(SendKind.NEW);
  if (!sent) return false;
  paceSent(t, len, sendMss(t), nowUs);
  if (hasFlag(t.sender, Snd.RTT_TIMING) && seqGe(t.rttSeq, seq) && seqLt(t.rttSeq, seq + len + (fin ? 1 : 0))) {
    t.sender &= ~Snd.RTT_TIMING;
  }
  t.totalRetransmits++;
  count(Counter.RETRANSMITS);
  const end = seq + len + (fin ? 1 : 0);
  if (hasFlag(t.options, Opt.SACK_OK)) sbSent(tcbSb(t), seq, end, <u32>nowUs);
  undoOnRetransmit(t, seq, end - seq);
  armRetransmit(t, nowUs);
  return true;
}

/**
 * RFC 6675 5 (C) with RACK's loss marks (RFC 8985): in SACK recovery, and whenever RACK has marked
 * data lost, send while pipe leaves a segment's room in cwnd: NextSeg rule 1 (lost data), then rule 2
 * (new data). Due.RTX_ONE sends the first lost run whatever pipe says (RFC 6675 5 step 4.3, entering
 * recovery). Rules 3 and 4 (rescue retransmission of data not deemed lost) are left out: RACK's
 * reordering timer marks such data once its time is up, and a rescue would resend exactly the late,
 * reordered segments RACK waits for; the tail loss probe covers a lost tail (RFC 8985 7).
 */
function sackRecoverySend(t: Tcb, nowUs: i64): bool {
  const cc = tcbCc(t);
  const sb = tcbSb(t);
  const mss = sendMss(t);
  for (let rounds = 0; rounds < 64; rounds++) {
    const first = hasFlag(t.due, Due.RTX_ONE);
    const pipe = sbPipe(sb, t.sndUna, t.sndMax);
    if (!first && pipe + mss > cc.cwnd) return true;
    fillOptions(outSeg, t, nowUs);
    // One segment, or with segmentation offload as many whole segments of lost data as cwnd has
    // room for (pipe is below cwnd here, save for the first, which is one segment).
    const room = payloadRoom(t);
    let most = room;
    if (!first && t.offloadMss != 0) {
      const segments = (cc.cwnd - pipe) / mss;
      most = packetRoom(t);
      if (segments * room < most) most = segments * room;
    }
    if (sbNextLost(sb, most, nextSegOut)) {
      if (!first && !paceAllows(t, nowUs)) return true;
      if (!retransmit(t, load<u32>(nextSegOut), load<u32>(nextSegOut, 4), nowUs)) return false;
      t.due &= ~Due.RTX_ONE;
      count(Counter.FAST_RETRANSMITS);
      continue;
    }
    t.due &= ~Due.RTX_ONE;
    if (first) continue;
    const r = sendNewData(t, nowUs, NewData.RECOVERY);
    if (r == SEND_TX_FULL) return false;
    if (r == SEND_SENT) continue;
    return true;
  }
  return true;
}

/**
 * The tail loss probe (RFC 8985 7.3): one segment of new data if there is some and the peer's
 * window takes it, else the last segment sent, again. Returns false when the TX region is full.
 */
function lossProbe(t: Tcb, nowUs: i64): bool {
  const r = sendNewData(t, nowUs, NewData.PROBE);
  if (r == SEND_TX_FULL) return false;
  const again = r != SEND_SENT;
  if (again) {
    fillOptions(outSeg, t, nowUs);
    const dataEnd = hasFlag(t.life, Life.FIN_SENT) ? t.finSeq : t.sndMax;
    let len = dataEnd - t.sndUna;
    const room = payloadRoom(t);
    if (len > room) len = room;
    setTraceSendKind(SendKind.PROBE);
    const sent = retransmit(t, dataEnd - len, len, nowUs);
    setTraceSendKind(SendKind.NEW);
    if (!sent) return false;
  }
  t.due &= ~Due.TLP_SEND;
  tlpSent(t, again);
  return true;
}

/**
 * Whether a segment of `len` bytes, less than a full one, waits: Nagle holds it while a short segment
 * sent before is unacknowledged (RFC 9293 3.7.4 with Minshall's change, draft-minshall-nagle-01, as
 * Linux's tcp_nagle_check); sender SWS avoidance sends it only if it is all we have (`avail`) or half
 * the largest window seen (RFC 9293 3.8.6.2.1).
 *
 * Minshall: Nagle's purpose, at most one short segment in flight, holds; what changes is a short
 * segment behind full ones. Plain Nagle holds the tail of a bulk write until everything before it is
 * acknowledged, and a receiver that delays the ACK of an odd last full segment (RFC 9293 3.8.6.3, up
 * to DELAYED_ACK_MS here) stalls the transfer that long: 40 ms at the end of every write whose length
 * is not a multiple of the MSS.
 */
function holdSmall(t: Tcb, len: u32, avail: u32): bool {
  if (hasFlag(t.due, Due.FORCE_SEND)) return false;
  if (!hasFlag(t.options, Opt.NAGLE_OFF) && shortInFlight(t)) return true;
  return len < avail && len < (t.maxSndWnd >> 1);
}

/** A short segment of new data sent is still unacknowledged: SND.UNA < SND.SML <= SND.NXT. */
@inline function shortInFlight(t: Tcb): bool {
  return seqGt(t.sndSml, t.sndUna) && seqLe(t.sndSml, t.sndNxt);
}

/** What a call of sendNewData sends. */
const enum NewData {
  /** As much as cwnd and the peer's window allow. */
  ALL = 0,
  /** One segment (or one offload packet); SACK recovery does its own cwnd accounting through pipe. */
  RECOVERY = 1,
  /**
   * A tail loss probe (RFC 8985 7.3): one segment of at most SMSS, never held back (Nagle, sender
   * SWS avoidance, pacing) and allowed past a full cwnd, but only previously unsent data and only if
   * the peer's window takes a full segment, or all there is.
   */
  PROBE = 2,
}

const SEND_NOTHING: i32 = 0;
const SEND_SENT: i32 = 1;
const SEND_TX_FULL: i32 = 2;
/** A segment is ready but its departure time is ahead: the Pace timer is armed (pacing.ts). */
const SEND_PACED: i32 = 3;

/**
 * Sends the next segment at SND.NXT (new data, or data again after a timeout moved SND.NXT back),
 * with a FIN when the user closed and this is the end of the data. Applies the receive window and
 * cwnd (RFC 5681 3.1), Nagle (RFC 9293 3.7.4) and sender SWS avoidance (RFC 9293 3.8.6.2.1),
 * as `mode` (NewData) says.
 */
function sendNewData(t: Tcb, nowUs: i64, mode: NewData): i32 {
  const ring = sndRing(t);
  const off = t.sndNxt - t.sndUna;
  if (off > ring.len) return SEND_NOTHING; // only our FIN is beyond, and it was sent
  const avail = ring.len - off;
  const probe = mode == NewData.PROBE;
  if (probe && (avail == 0 || seqLt(t.sndNxt, t.sndMax))) return SEND_NOTHING;
  let win = t.sndWnd;
  let cwndLimit: u32 = u32.MAX_VALUE;
  if (mode == NewData.ALL) {
    const cc = tcbCc(t);
    cwndLimit = cc.cwnd;
    let cwnd = <u64>cc.cwnd;
    // Limited Transmit (RFC 3042 2; RFC 5681 3.2; RFC 6675 5 step (3)): on each of the first two
    // duplicate ACKs one more segment of new data, FlightSize up to cwnd + 2*SMSS; cwnd unchanged.
    if (!cc.inRecovery && t.dupAcks != 0 && seqGe(t.sndNxt, t.sndMax)) {
      cwnd += <u64>(t.dupAcks < DUP_THRESH - 1 ? t.dupAcks : DUP_THRESH - 1) * <u64>sendMss(t);
    }
    if (cwnd < <u64>win) win = <u32>cwnd;
  }
  let len: u32 = win > off ? win - off : 0;
  if (len > avail) len = avail;
  fillOptions(outSeg, t, nowUs);
  const room = payloadRoom(t);
  const closing = hasFlag(t.life, Life.USER_CLOSED);
  const fresh = seqGe(t.sndNxt, t.sndMax);
  if (probe) {
    if (len < room && len < avail) return SEND_NOTHING;
    if (len > room) len = room;
  }
  if (len > room) {
    const most = packetRoom(t);
    if (len > most) len = most;
    // Slow start counts an ACK of one such packet as of one transmission (congestion.ts).
    ccSetBurst(tcbCc(t), most);
    // Several segments in one packet (offload.ts): a short last one goes only when it would go alone.
    const partial = len % room;
    if (partial != 0 && len > room && fresh && !(closing && len == avail) && holdSmall(t, partial, avail - (len - partial))) {
      len -= partial;
    }
  }
  const fin = closing && len == avail && (!hasFlag(t.life, Life.FIN_SENT) || t.sndNxt + len == t.finSeq);
  if (len == 0 && !fin) return SEND_NOTHING;
  if (!probe) {
    if (len != 0 && len < room && fresh && !fin && holdSmall(t, len, avail)) return SEND_NOTHING;
    if (len != 0 && !paceAllows(t, nowUs)) return SEND_PACED;
  }
  let flags = FLG_ACK;
  if (fin) flags |= FLG_FIN;
  if (len != 0 && len == avail) flags |= FLG_PSH;
  if (!emitSegment(t, t.sndNxt, flags, off, len, nowUs)) return SEND_TX_FULL;
  if (len != 0) paceSent(t, len, sendMss(t), nowUs);
  if (fresh && off + len > cwndLimit) {
    const beyond = off + len - cwndLimit;
    t.limitedTransmitBytes += beyond < len ? beyond : len;
  }
  if (hasFlag(t.options, Opt.SACK_OK)) sbSent(tcbSb(t), t.sndNxt, t.sndNxt + len + (fin ? 1 : 0), <u32>nowUs);
  if (!fresh) {
    t.totalRetransmits++;
    count(Counter.RETRANSMITS);
    undoOnRetransmit(t, t.sndNxt, len + (fin ? 1 : 0));
  } else if (len != 0 && !hasFlag(t.options, Opt.TS_OK) && !hasFlag(t.sender, Snd.RTT_TIMING)) {
    // Without timestamps, time one segment per round trip (RFC 6298 3).
    t.sender |= Snd.RTT_TIMING;
    t.rttSeq = t.sndNxt;
    t.rttStartUs = nowUs;
  }
  t.sndNxt += len;
  // Minshall's SND.SML: this packet's last segment was short (a packet under offload carries full
  // segments and at most one short one, at its end).
  if (fresh && len % room != 0) t.sndSml = t.sndNxt;
  if (fin) {
    t.life |= Life.FIN_SENT;
    t.finSeq = t.sndNxt;
    t.sndNxt += 1;
  }
  if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
  timerClear(tcbTimers(t), TimerKind.Persist);
  armRetransmit(t, nowUs);
  return SEND_SENT;
}

/**
 * Emits everything `t` has to send now. Returns false when the TX region filled up first: the
 * connection stays at the front of the output queue and continues in the next output() call.
 */
export function connectionOutput(t: Tcb, nowUs: i64): bool {
  const s = t.state;
  if (s == State.CLOSED || s == State.LISTEN) return true;
  const synUnacked = hasFlag(t.life, Life.SYN_UNACKED);
  if (s == State.SYN_SENT || s == State.SYN_RECEIVED || synUnacked) {
    if (hasFlag(t.due, Due.NEED_SYN)) {
      // A SYN sent again after a timeout (RFC 6298 5.7) repairs a loss like any retransmission.
      if (t.retries != 0) setTraceSendKind(SendKind.REPAIR);
      const synSent = emitSyn(t, nowUs);
      setTraceSendKind(SendKind.NEW);
      if (!synSent) return false;
      t.due &= ~(Due.NEED_SYN | Due.ACK_NOW);
      t.sndNxt = t.iss + 1;
      if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
      if (t.retries == 0) {
        t.sender |= Snd.RTT_TIMING;
        t.rttSeq = t.iss;
        t.rttStartUs = nowUs;
      } else {
        t.sender &= ~Snd.RTT_TIMING; // Karn: a retransmitted SYN gives no sample
      }
      armRetransmit(t, nowUs);
    }
    // CLOSE in SYN-RECEIVED (RFC 9293 3.10.4): the FIN follows the SYN, <SEQ=ISS+1><CTL=FIN,ACK>;
    // sent again after each SYN,ACK retransmission (which moves SND.NXT back to ISS+1).
    if (synUnacked && t.sndNxt == t.iss + 1) {
      if (!emitSegment(t, t.sndNxt, FLG_FIN | FLG_ACK, 0, 0, nowUs)) return false;
      t.life |= Life.FIN_SENT;
      t.finSeq = t.sndNxt;
      t.sndNxt += 1;
      if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
      armRetransmit(t, nowUs);
    }
    if (s != State.SYN_SENT && hasFlag(t.due, Due.ACK_NOW)) {
      if (!emitSegment(t, t.sndNxt, FLG_ACK, 0, 0, nowUs)) return false;
    }
    return true;
  }
  if (s == State.TIME_WAIT) {
    if (hasFlag(t.due, Due.ACK_NOW) && !emitSegment(t, t.sndMax, FLG_ACK, 0, 0, nowUs)) return false;
    return true;
  }

  // Zero-window probe or keepalive: an old sequence number with no data makes the peer answer with
  // its current ACK and window (RFC 9293 3.8.6.1 persist; RFC 1122 4.2.3.6 keepalive, SEG.SEQ = SND.NXT - 1).
  if (hasFlag(t.due, Due.PROBE_NOW)) {
    if (!emitSegment(t, t.sndUna - 1, FLG_ACK, 0, 0, nowUs)) return false;
    t.due &= ~Due.PROBE_NOW;
  }
  const sndMaxBefore = t.sndMax;
  if (hasFlag(t.due, Due.TLP_SEND) && !lossProbe(t, nowUs)) return false;
  const sack = hasFlag(t.options, Opt.SACK_OK);
  // Fast retransmit / NewReno partial ACK (RFC 5681 3.2, RFC 6582 3.2): the segment at SND.UNA.
  if (hasFlag(t.due, Due.RTX_ONE) && !sack) {
    fillOptions(outSeg, t, nowUs);
    if (!retransmit(t, t.sndUna, payloadRoom(t), nowUs)) return false;
    t.due &= ~Due.RTX_ONE;
  }
  // After a timeout's go-back (SND.NXT < SND.MAX) the data is sent again in order below instead.
  if (sack && (tcbCc(t).inRecovery || (sbLostBytes(tcbSb(t)) != 0 && t.sndNxt == t.sndMax))) {
    if (!sackRecoverySend(t, nowUs)) return false;
  } else {
    for (;;) {
      const r = sendNewData(t, nowUs, NewData.ALL);
      if (r == SEND_TX_FULL) return false;
      if (r != SEND_SENT) break;
    }
  }
  // A segment waiting for its departure time keeps the SWS override for when it leaves.
  const timers = tcbTimers(t);
  const paced = timerGet(timers, TimerKind.Pace) != NEVER;
  if (!paced) t.due &= ~Due.FORCE_SEND;
  // New data went out: the tail loss probe timeout starts over (RFC 8985 7.2).
  if (t.sndMax != sndMaxBefore) tlpArm(t, nowUs);
  // Data waits and nothing is in flight: only the persist timer can move things on, both for a zero
  // window (RFC 9293 3.8.6.1) and as the sender SWS override timeout (RFC 9293 3.8.6.2.1).
  if (!paced && t.sndNxt == t.sndUna && sndRing(t).len > t.sndNxt - t.sndUna &&
      timerGet(timers, TimerKind.Retransmit) == NEVER && timerGet(timers, TimerKind.Persist) == NEVER) {
    if (t.persistBackoff == 0) t.persistStartUs = nowUs;
    timerSet(timers, TimerKind.Persist, nowUs + persistInterval(t));
  }
  // A pure ACK carries the next new sequence number, SND.MAX: after a timeout moved SND.NXT back, an
  // ACK numbered SND.NXT would be old to the peer and dropped there unread (BSD's tcp_output does
  // the same), and two such peers could each wait forever for the other's ACK. Each waiting D-SACK
  // block asks for an ACK of its own (dsack.ts).
  while (hasFlag(t.due, Due.ACK_NOW)) {
    if (!emitSegment(t, t.sndMax, FLG_ACK, 0, 0, nowUs)) return false;
  }
  return true;
}

/** Current persist interval: RTO-based, doubled per unanswered probe, within the configured bounds. */
export function persistInterval(t: Tcb): i64 {
  let iv = rttRto(tcbRtt(t));
  if (iv < config.persistMinUs) iv = config.persistMinUs;
  const shift = t.persistBackoff < 20 ? t.persistBackoff : 20;
  iv <<= shift;
  if (iv > config.persistMaxUs) iv = config.persistMaxUs;
  return iv;
}

// ---- The output export ----

let more: bool = false;

/**
 * Fills the TX region from the start with as many packets as fit: control packets first, then each
 * queued connection's segments. Returns the number of records written.
 */
export function outputRun(nowUs: i64): u32 {
  const n = fillTx(nowUs);
  if (ethernetCount != 0) txFramePass(nowUs);
  return n;
}

function fillTx(nowUs: i64): u32 {
  txReset();
  more = false;
  if (!drainControl()) {
    more = true;
    return txRecordCount();
  }
  for (;;) {
    const t = txqFront();
    if (t == null) break;
    const done = connectionOutput(t, nowUs);
    reschedule(t);
    if (!done) {
      more = true;
      break;
    }
    t.member &= ~Member.IN_TXQ;
    txqPop();
  }
  return txRecordCount();
}

/** 1 when the last output() stopped because the TX region was full, or more output is queued. */
export function outputMore(): bool {
  return more || controlPending() || txqFront() != null;
}
