// Output: what a connection sends and when (RFC 9293 3.8.6 and 3.7.4, RFC 5681, RFC 6675), the
// segment builder (payload straight from the send ring into the TX packet), and the TX region and
// control queue the host drains.
//
// TX region layout (txPtr(), config TX_REGION bytes): records [u32 length][length bytes of IP
// packet] each padded to a multiple of 4, as many as output() reported. The control queue holds
// packets that belong to no connection (RSTs to closed ports, ICMP echo replies) in the same record
// format until output() copies them to the TX region ahead of connection traffic.
import { Segment, emitHeaders, headersLen, finishChecksums } from "../wire/packet";
import { seqGt, seqGe, seqLt } from "../wire/seq";
import { Tcb, State, F, hasFlag, setFlag, clearFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbRtt, tcbCc,
  tcbOoo, tcbSb } from "./tcb";
import { ringCopyOut } from "./ring";
import { TimerKind, NEVER, timerSet, timerClear, timerGet } from "./timers";
import { rttRto } from "./rtt";
import { oooSackBlocks } from "./reassembly";
import { sbNextSegLost, sbNextSegRescue, sbPipe } from "./scoreboard";
import { rngNext } from "./rng";
import { emitEvent, EventType } from "./events";
import { count, Counter } from "./counters";
import * as config from "./config";
import { reschedule, txqFront, txqPop } from "./conn";

export const FLG_FIN: u32 = 0x001;
export const FLG_SYN: u32 = 0x002;
export const FLG_RST: u32 = 0x004;
export const FLG_PSH: u32 = 0x008;
export const FLG_ACK: u32 = 0x010;

const TTL: u8 = 64;

// One Segment for everything we emit: filled, emitted, forgotten (no allocation per segment).
const outSeg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));
// (seq, len) out-parameter of sbNextSeg.
const nextSegOut = memory.data(8, 8);

let txBuf: usize = 0;
let txCap: u32 = 0;
let txUsed: u32 = 0;
let txRecords: u32 = 0;

let ctrlBuf: usize = 0;
let ctrlCap: u32 = 0;
let ctrlUsed: u32 = 0;
let ctrlRead: u32 = 0;

export function outputInit(): void {
  txCap = config.txRegionBytes;
  txBuf = heap.alloc(txCap);
  ctrlCap = config.controlQueueBytes;
  ctrlBuf = heap.alloc(ctrlCap);
}

export function txPtr(): usize {
  return txBuf;
}

export function txCapacity(): u32 {
  return txCap;
}

@inline function recordBytes(packetLen: u32): u32 {
  return 4 + ((packetLen + 3) & ~3);
}

// ---- The segment builder ----

/** Our timestamp clock: milliseconds (RFC 7323 5.4 allows 1 ms to 1 s per tick) plus a per-connection offset. */
@inline export function tsNow(t: Tcb, nowUs: i64): u32 {
  return <u32>(nowUs / 1000) + t.tsOffset;
}

/** Sender MSS (RFC 9293 3.7.1): the peer's MSS option, bounded by our own from the MTU. */
@inline export function sendMss(t: Tcb): u32 {
  return t.peerMss < t.localMss ? t.peerMss : t.localMss;
}

function fillAddresses(seg: Segment, t: Tcb): void {
  const key = tcbKey(t);
  seg.ipVersion = <u8>key.ipVersion;
  seg.ttl = TTL;
  seg.tos = 0;
  seg.ipId = <u16>rngNext();
  seg.dontFragment = true;
  seg.flowLabel = 0;
  seg.srcA = key.localA;
  seg.srcB = key.localB;
  seg.dstA = key.remoteA;
  seg.dstB = key.remoteB;
  seg.srcPort = <u16>key.localPort;
  seg.dstPort = <u16>key.remotePort;
  seg.urgent = 0;
}

/**
 * The window field we advertise (RFC 9293 3.8.6.2.2 receiver SWS avoidance): the right edge moves
 * right only by at least min(buffer / 2, MSS), and never left (RFC 9293 3.8.6 "shrinking the window"
 * is discouraged). In a SYN the window is never scaled (RFC 7323 2.2).
 */
function windowField(t: Tcb, syn: bool): u16 {
  const r = rcvRing(t);
  const free = r.cap - r.len;
  const edge = t.rcvNxt + free;
  if (seqGt(edge, t.rcvAdv)) {
    let threshold = r.cap >> 1;
    if (t.localMss < threshold) threshold = t.localMss;
    if (edge - t.rcvAdv >= threshold || seqLt(t.rcvAdv, t.rcvNxt)) t.rcvAdv = edge;
  }
  let wnd = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  if (!syn) wnd >>= t.rcvShift;
  return wnd > 0xffff ? 0xffff : <u16>wnd;
}

/** Bytes of TCP options a non-SYN segment of `t` carries now (timestamps, SACK blocks). */
function fillOptions(seg: Segment, t: Tcb, nowUs: i64): void {
  seg.mss = 0;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.hasTimestamps = hasFlag(t, F.TS_OK);
  if (seg.hasTimestamps) {
    seg.tsVal = tsNow(t, nowUs);
    seg.tsEcr = t.tsRecent;
  }
  seg.sackCount = 0;
  if (hasFlag(t, F.SACK_OK) && tcbOoo(t).count != 0) {
    // RFC 2018 4: the first block is the most recent; 3 blocks fit beside timestamps, 4 without.
    const max: u32 = seg.hasTimestamps ? 3 : 4;
    seg.sackCount = <u8>oooSackBlocks(tcbOoo(t), changetype<usize>(seg) + offsetof<Segment>("sackL0"), max);
  }
}

/** Payload that fits in one segment beside the options fillOptions put in `outSeg`. */
@inline function payloadRoom(t: Tcb): u32 {
  const optionBytes = headersLen(outSeg) - (tcbKey(t).ipVersion == 6 ? 60 : 40);
  const mss = sendMss(t);
  return mss > optionBytes + 1 ? mss - optionBytes : 1;
}

function traceOut(id: u32, seg: Segment, len: u32): void {
  let opts: u32 = 0;
  if (seg.mss != 0) opts |= 1;
  if (seg.wscale >= 0) opts |= 2;
  if (seg.sackPermitted) opts |= 4;
  if (seg.hasTimestamps) opts |= 8;
  if (seg.sackCount != 0) opts |= 16;
  emitEvent(EventType.SEGMENT_OUT, seg.flags, id, seg.seq, seg.ack, seg.window, len, opts, seg.mss);
}

/**
 * Emits one segment of `t` into the TX region: `seq`, `flags`, `len` payload bytes from the send ring
 * at `ringOffset`. Options are those already in outSeg for SYNs (caller filled), else timestamps and
 * SACK blocks. Returns false when the TX region has no room (nothing written).
 */
function emitSegment(t: Tcb, seq: u32, flags: u32, ringOffset: u32, len: u32, nowUs: i64): bool {
  const seg = outSeg;
  const syn = (flags & FLG_SYN) != 0;
  fillAddresses(seg, t);
  if (!syn) fillOptions(seg, t, nowUs);
  seg.seq = seq;
  seg.flags = <u16>flags;
  seg.ack = (flags & FLG_ACK) != 0 ? t.rcvNxt : 0;
  seg.window = windowField(t, syn);
  const hl = headersLen(seg);
  const total = hl + len;
  if (txUsed + recordBytes(total) > txCap) return false;
  const p = txBuf + txUsed + 4;
  emitHeaders(p, seg, len);
  if (len != 0) ringCopyOut(sndRing(t), ringOffset, p + hl, len);
  finishChecksums(p, total);
  store<u32>(txBuf + txUsed, total);
  txUsed += recordBytes(total);
  txRecords++;
  count(Counter.SEGMENTS_OUT);
  if ((flags & FLG_ACK) != 0) {
    // Every ACK we send answers all that is pending (RFC 9293 3.8.6.3).
    clearFlag(t, F.ACK_NOW);
    timerClear(tcbTimers(t), TimerKind.DelayedAck);
    t.unackedBytes = 0;
    t.lastAckSent = t.rcvNxt;
  }
  if (config.trace) traceOut(t.id, seg, len);
  return true;
}

/** SYN or SYN,ACK with our options (RFC 9293 3.10.1 / 3.10.7.2; RFC 7323 2.2, 3.2; RFC 2018 2). */
function emitSyn(t: Tcb, nowUs: i64): bool {
  const seg = outSeg;
  const active = t.state == State.SYN_SENT;
  seg.mss = <u16>t.localMss;
  // In a SYN,ACK an option may be sent only if the peer's SYN carried it.
  seg.wscale = (active ? config.offerWindowScaling : hasFlag(t, F.WS_OK)) ? <i8>t.rcvShift : -1;
  if (seg.wscale >= 0) setFlag(t, F.SENT_WS);
  seg.sackPermitted = active ? config.offerSack : hasFlag(t, F.SACK_OK);
  seg.hasTimestamps = active ? config.offerTimestamps : hasFlag(t, F.TS_OK);
  seg.tsVal = tsNow(t, nowUs);
  seg.tsEcr = active ? 0 : t.tsRecent;
  seg.sackCount = 0;
  return emitSegment(t, t.iss, active ? FLG_SYN : FLG_SYN | FLG_ACK, 0, 0, nowUs);
}

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
  const fin = hasFlag(t, F.FIN_SENT) && seq + len == t.finSeq;
  if (len == 0 && !fin) return true;
  let flags = FLG_ACK;
  if (fin) flags |= FLG_FIN;
  if (len != 0 && off + len == ring.len) flags |= FLG_PSH;
  if (!emitSegment(t, seq, flags, off, len, nowUs)) return false;
  if (hasFlag(t, F.RTT_TIMING) && seqGe(t.rttSeq, seq) && seqLt(t.rttSeq, seq + len + (fin ? 1 : 0))) {
    clearFlag(t, F.RTT_TIMING);
  }
  t.totalRetransmits++;
  count(Counter.RETRANSMITS);
  const end = seq + len + (fin ? 1 : 0);
  if (seqGt(end, t.highRxt)) t.highRxt = end;
  armRetransmit(t, nowUs);
  return true;
}

/**
 * RFC 6675 5 (C): in SACK recovery, send while pipe leaves a segment's room in cwnd: NextSeg rule 1
 * (lost data), rule 2 (new data), rule 3 (rescue retransmission), in that order.
 */
function sackRecoverySend(t: Tcb, nowUs: i64): bool {
  const cc = tcbCc(t);
  const sb = tcbSb(t);
  const mss = sendMss(t);
  for (let rounds = 0; rounds < 64; rounds++) {
    const pipe = sbPipe(sb, t.sndUna, t.sndMax, t.highRxt, mss);
    if (pipe + mss > cc.cwnd) return true;
    fillOptions(outSeg, t, nowUs);
    const room = payloadRoom(t);
    if (sbNextSegLost(sb, t.sndUna, t.highRxt, room, nextSegOut)) {
      if (!retransmit(t, load<u32>(nextSegOut), load<u32>(nextSegOut, 4), nowUs)) return false;
      count(Counter.FAST_RETRANSMITS);
      continue;
    }
    const r = sendNewData(t, nowUs, true);
    if (r == SEND_TX_FULL) return false;
    if (r == SEND_SENT) continue;
    if (sbNextSegRescue(sb, t.sndUna, t.highRxt, room, nextSegOut)) {
      if (!retransmit(t, load<u32>(nextSegOut), load<u32>(nextSegOut, 4), nowUs)) return false;
      continue;
    }
    return true;
  }
  return true;
}

const SEND_NOTHING: i32 = 0;
const SEND_SENT: i32 = 1;
const SEND_TX_FULL: i32 = 2;

/**
 * Sends the next segment at SND.NXT (new data, or data again after a timeout moved SND.NXT back),
 * with a FIN when the user closed and this is the end of the data. Applies the receive window and
 * cwnd (RFC 5681 3.1), Nagle (RFC 9293 3.7.4) and sender SWS avoidance (RFC 9293 3.8.6.2.1).
 * `oneSegment` is used by SACK recovery, which does its own cwnd accounting through pipe.
 */
function sendNewData(t: Tcb, nowUs: i64, oneSegment: bool): i32 {
  const ring = sndRing(t);
  const off = t.sndNxt - t.sndUna;
  if (off > ring.len) return SEND_NOTHING; // only our FIN is beyond, and it was sent
  const avail = ring.len - off;
  let win = t.sndWnd;
  if (!oneSegment && tcbCc(t).cwnd < win) win = tcbCc(t).cwnd;
  let len: u32 = win > off ? win - off : 0;
  if (len > avail) len = avail;
  fillOptions(outSeg, t, nowUs);
  const room = payloadRoom(t);
  if (len > room) len = room;
  const closing = hasFlag(t, F.USER_CLOSED);
  const fin = closing && len == avail && (!hasFlag(t, F.FIN_SENT) || t.sndNxt + len == t.finSeq);
  if (len == 0 && !fin) return SEND_NOTHING;
  const fresh = seqGe(t.sndNxt, t.sndMax);
  if (len != 0 && len < room && fresh && !fin && !hasFlag(t, F.FORCE_SEND)) {
    // Nagle: while data is unacknowledged, hold back a small segment (RFC 9293 3.7.4).
    if (!hasFlag(t, F.NAGLE_OFF) && t.sndUna != t.sndNxt) return SEND_NOTHING;
    // Sender SWS: send less than a segment only if it is all we have or half the largest window seen.
    if (len < avail && len < (t.maxSndWnd >> 1)) return SEND_NOTHING;
  }
  let flags = FLG_ACK;
  if (fin) flags |= FLG_FIN;
  if (len != 0 && len == avail) flags |= FLG_PSH;
  if (!emitSegment(t, t.sndNxt, flags, off, len, nowUs)) return SEND_TX_FULL;
  if (!fresh) {
    t.totalRetransmits++;
    count(Counter.RETRANSMITS);
  } else if (len != 0 && !hasFlag(t, F.TS_OK) && !hasFlag(t, F.RTT_TIMING)) {
    // Without timestamps, time one segment per round trip (RFC 6298 3).
    setFlag(t, F.RTT_TIMING);
    t.rttSeq = t.sndNxt;
    t.rttStartUs = nowUs;
  }
  t.sndNxt += len;
  if (fin) {
    setFlag(t, F.FIN_SENT);
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
  if (s == State.SYN_SENT || s == State.SYN_RECEIVED) {
    if (hasFlag(t, F.NEED_SYN)) {
      if (!emitSyn(t, nowUs)) return false;
      clearFlag(t, F.NEED_SYN | F.ACK_NOW);
      t.sndNxt = t.iss + 1;
      if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
      if (t.retries == 0) {
        setFlag(t, F.RTT_TIMING);
        t.rttSeq = t.iss;
        t.rttStartUs = nowUs;
      } else {
        clearFlag(t, F.RTT_TIMING); // Karn: a retransmitted SYN gives no sample
      }
      armRetransmit(t, nowUs);
    }
    if (s == State.SYN_RECEIVED && hasFlag(t, F.ACK_NOW)) {
      if (!emitSegment(t, t.sndNxt, FLG_ACK, 0, 0, nowUs)) return false;
    }
    return true;
  }
  if (s == State.TIME_WAIT) {
    if (hasFlag(t, F.ACK_NOW) && !emitSegment(t, t.sndMax, FLG_ACK, 0, 0, nowUs)) return false;
    return true;
  }

  // Zero-window probe or keepalive: an old sequence number with no data makes the peer answer with
  // its current ACK and window (RFC 9293 3.8.6.1 persist; RFC 1122 4.2.3.6 keepalive, SEG.SEQ = SND.NXT - 1).
  if (hasFlag(t, F.PROBE_NOW)) {
    if (!emitSegment(t, t.sndUna - 1, FLG_ACK, 0, 0, nowUs)) return false;
    clearFlag(t, F.PROBE_NOW);
  }
  // Fast retransmit / NewReno partial ACK (RFC 5681 3.2, RFC 6582 3.2): the segment at SND.UNA.
  if (hasFlag(t, F.RTX_ONE)) {
    fillOptions(outSeg, t, nowUs);
    if (!retransmit(t, t.sndUna, payloadRoom(t), nowUs)) return false;
    clearFlag(t, F.RTX_ONE);
  }
  if (tcbCc(t).inRecovery && hasFlag(t, F.SACK_OK)) {
    if (!sackRecoverySend(t, nowUs)) return false;
  } else {
    for (;;) {
      const r = sendNewData(t, nowUs, false);
      if (r == SEND_TX_FULL) return false;
      if (r == SEND_NOTHING) break;
    }
  }
  clearFlag(t, F.FORCE_SEND);
  // Data waits and nothing is in flight: only the persist timer can move things on, both for a zero
  // window (RFC 9293 3.8.6.1) and as the sender SWS override timeout (RFC 9293 3.8.6.2.1).
  const timers = tcbTimers(t);
  if (t.sndNxt == t.sndUna && sndRing(t).len > t.sndNxt - t.sndUna &&
      timerGet(timers, TimerKind.Retransmit) == NEVER && timerGet(timers, TimerKind.Persist) == NEVER) {
    if (t.persistBackoff == 0) t.persistStartUs = nowUs;
    timerSet(timers, TimerKind.Persist, nowUs + persistInterval(t));
  }
  // A pure ACK carries the next new sequence number, SND.MAX: after a timeout moved SND.NXT back, an
  // ACK numbered SND.NXT would be old to the peer and dropped there unread (BSD's tcp_output does
  // the same), and two such peers could each wait forever for the other's ACK.
  if (hasFlag(t, F.ACK_NOW)) {
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

// ---- The control queue: packets for no connection ----

@inline export function controlRoom(): usize {
  return ctrlCap - ctrlUsed;
}

/** Where the next control packet goes (after its 4-byte length), and how many bytes fit. */
@inline export function controlWritePtr(): usize {
  return ctrlBuf + ctrlUsed + 4;
}

export function controlCommit(len: u32): void {
  store<u32>(ctrlBuf + ctrlUsed, len);
  ctrlUsed += recordBytes(len);
}

/**
 * A RST answering segment `inSeg` (RFC 9293 3.10.7.1): <SEQ=seq><CTL=RST> or, with `withAck`,
 * <SEQ=0><ACK=ack><CTL=RST,ACK>. Addresses and ports are the segment's, reversed.
 */
export function queueReset(inSeg: Segment, seq: u32, ack: u32, withAck: bool): void {
  if (queueReply(inSeg, seq, withAck ? ack : 0, withAck ? FLG_RST | FLG_ACK : FLG_RST, 0, 0)) count(Counter.RESETS_SENT);
}

/**
 * A segment answering `inSeg` that belongs to no connection (a RST, or a SYN,ACK carrying a SYN
 * cookie), through the control queue; `mss` 0 means no options. Returns false when the queue is full.
 */
export function queueReply(inSeg: Segment, seq: u32, ack: u32, flags: u32, window: u32, mss: u32): bool {
  const seg = outSeg;
  seg.ipVersion = inSeg.ipVersion;
  seg.ttl = TTL;
  seg.tos = 0;
  seg.ipId = <u16>rngNext();
  seg.dontFragment = true;
  seg.flowLabel = 0;
  seg.srcA = inSeg.dstA;
  seg.srcB = inSeg.dstB;
  seg.dstA = inSeg.srcA;
  seg.dstB = inSeg.srcB;
  seg.srcPort = inSeg.dstPort;
  seg.dstPort = inSeg.srcPort;
  seg.seq = seq;
  seg.ack = ack;
  seg.flags = <u16>flags;
  seg.window = <u16>window;
  seg.urgent = 0;
  seg.mss = <u16>mss;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.hasTimestamps = false;
  seg.sackCount = 0;
  const len = headersLen(seg);
  if (<usize>recordBytes(len) > controlRoom()) {
    count(Counter.CONTROL_DROPPED);
    return false;
  }
  const p = controlWritePtr();
  emitHeaders(p, seg, 0);
  finishChecksums(p, len);
  controlCommit(len);
  if (config.trace) traceOut(0, seg, 0);
  return true;
}

/** A RST for a connection (ABORT, RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST>, through the control queue. */
export function queueConnectionReset(t: Tcb): void {
  const seg = outSeg;
  fillAddresses(seg, t);
  seg.seq = t.sndNxt;
  seg.ack = 0;
  seg.flags = <u16>FLG_RST;
  seg.window = 0;
  seg.mss = 0;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.hasTimestamps = false;
  seg.sackCount = 0;
  const len = headersLen(seg);
  if (<usize>recordBytes(len) > controlRoom()) {
    count(Counter.CONTROL_DROPPED);
    return;
  }
  const p = controlWritePtr();
  emitHeaders(p, seg, 0);
  finishChecksums(p, len);
  controlCommit(len);
  count(Counter.RESETS_SENT);
  if (config.trace) traceOut(t.id, seg, 0);
}

// ---- The output export ----

let more: bool = false;

/**
 * Fills the TX region from the start with as many packets as fit: control packets first, then each
 * queued connection's segments. Returns the number of records written.
 */
export function outputRun(nowUs: i64): u32 {
  txUsed = 0;
  txRecords = 0;
  more = false;
  while (ctrlRead < ctrlUsed) {
    const len = load<u32>(ctrlBuf + ctrlRead);
    const rec = recordBytes(len);
    if (txUsed + rec > txCap) {
      more = true;
      return txRecords;
    }
    memory.copy(txBuf + txUsed, ctrlBuf + ctrlRead, rec);
    txUsed += rec;
    txRecords++;
    ctrlRead += rec;
  }
  ctrlRead = 0;
  ctrlUsed = 0;
  for (;;) {
    const t = txqFront();
    if (t == null) break;
    const done = connectionOutput(t, nowUs);
    reschedule(t);
    if (!done) {
      more = true;
      break;
    }
    clearFlag(t, F.IN_TXQ);
    txqPop();
  }
  return txRecords;
}

/** 1 when the last output() stopped because the TX region was full, or more output is queued. */
export function outputMore(): bool {
  return more || ctrlUsed != 0 || txqFront() != null;
}
