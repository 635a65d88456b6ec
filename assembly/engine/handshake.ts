// What a new connection starts with, before its SYN or SYN,ACK: the engine's default options or its
// listener's, the ISS (RFC 6528) and timestamp offset (RFC 7323 5.4) of its 4-tuple, its MSS, window
// scale, RTO and congestion state, and the ISS floor after a TIME-WAIT incarnation (RFC 6191); then
// what the peer's SYN settles: the options both sides agreed and the congestion state for its MSS.
// Used by the user calls (active OPEN, user.ts), by a listener's arrivals (passive OPEN, input.ts)
// and by SYN-SENT (states.ts).
import { Segment } from "../wire/segment";
import { seqGt, seqLt } from "../wire/seq";
import { Tcb, State, Opt, hasFlag, tcbKey, sndRing, rcvRing, tcbRtt, tcbCc, tcbOoo } from "./tcb";
import { isnFor, tsOffsetFor } from "./isn";
import { ringSetCapacity } from "./ring";
import { rttInit } from "./rtt";
import { ccInit } from "./congestion";
import { hystartInit } from "./hystart";
import { oooClear } from "./reassembly";
import * as config from "./config";
import { sendMss } from "./emit";
import { linkMss } from "./pmtu";
import { offloadStart } from "./offload";
import { sendBufferInitial, recvBufferInitial, windowShift } from "./autosize";

/** Options a new connection starts with: the engine defaults. */
export function applyDefaults(t: Tcb): void {
  // Auto-sized (autosize.ts) until the user sets a size.
  t.sndBuf = 0;
  t.rcvBuf = 0;
  if (!config.nagleDefault) t.options |= Opt.NAGLE_OFF;
  if (config.keepaliveDefault) t.options |= Opt.KEEPALIVE;
  if (!config.pacingDefault) t.options |= Opt.PACING_OFF;
  t.keepIdleUs = config.keepaliveIdleUs;
  t.keepIntervalUs = config.keepaliveIntervalUs;
  t.keepCount = config.keepaliveCount;
  t.userTimeoutUs = config.userTimeoutUs;
  t.tos = 0;
  t.ccAlgo = config.ccAlgoDefault;
}

/** A passive connection takes its listener's options (set on the listener before accept). */
export function inheritOptions(t: Tcb, l: Tcb): void {
  t.options |= l.options & (Opt.NAGLE_OFF | Opt.KEEPALIVE | Opt.PACING_OFF);
  t.sndBuf = l.sndBuf;
  t.rcvBuf = l.rcvBuf;
  t.keepIdleUs = l.keepIdleUs;
  t.keepIntervalUs = l.keepIntervalUs;
  t.keepCount = l.keepCount;
  t.userTimeoutUs = l.userTimeoutUs;
  t.tos = l.tos;
  t.ccAlgo = l.ccAlgo;
}

/**
 * Sequence and buffer state of a connection about to send its SYN or SYN,ACK: ISS (RFC 6528), ring
 * capacities (storage comes later), our MSS from the MTU (RFC 9293 3.7.1), our window scale from the
 * largest receive ring auto-sizing may grow to (RFC 7323 2.3; autosize.ts), RTO (RFC 6298 2.1), the
 * timestamp offset of the 4-tuple (RFC 7323 5.4).
 */
export function initConnection(t: Tcb, nowUs: i64): void {
  const key = tcbKey(t);
  ringSetCapacity(sndRing(t), sendBufferInitial(t));
  ringSetCapacity(rcvRing(t), recvBufferInitial(t));
  t.localMss = linkMss(key.ipVersion);
  t.pathMss = t.localMss;
  offloadStart(t);
  t.peerMss = key.ipVersion == 6 ? 1220 : 536;
  t.rcvShift = <u8>windowShift(t);
  t.tsOffset = tsOffsetFor(key);
  rttInit(tcbRtt(t), config.rtoInitialUs, config.rtoMinUs, config.rtoMaxUs);
  ccInit(tcbCc(t), t.ccAlgo, sendMss(t));
  hystartInit(tcbCc(t), config.hystartDefault);
  setIss(t, isnFor(key, nowUs));
  oooClear(tcbOoo(t));
  t.lastRecvUs = nowUs;
  // No forward progress yet (nexthop.ts): an ACK of new data sets it.
  t.progressUs = i64.MIN_VALUE;
  t.quickAcks = config.quickAcks;
}

function setIss(t: Tcb, iss: u32): void {
  t.iss = iss;
  t.sndUna = iss;
  t.sndNxt = iss;
  t.sndMax = iss;
  t.sndSml = iss;
  tcbCc(t).recover = iss;
}

/** The largest window a SYN can offer (RFC 7323 2.2: a SYN's window is never scaled), plus one. */
const UNSCALED_WINDOW_SPAN: u32 = 65536;

/**
 * A new incarnation of a 4-tuple that was in TIME-WAIT here: its ISS lies beyond everything the old one
 * sent (RFC 9293 3.6.1, RFC 1122 4.2.2.13), by a whole unscaled window so that an old duplicate cannot
 * land in the new one's first window, and its TSvals beyond any the old one sent (RFC 6191 2, PAWS):
 * the same 4-tuple has the same offset (tsOffsetFor), so within the same millisecond it moves one on.
 */
export function startAfterTimeWait(t: Tcb, oldSndNxt: u32, oldTsOffset: u32): void {
  const floor = oldSndNxt + UNSCALED_WINDOW_SPAN;
  if (seqLt(t.iss, floor)) setIss(t, floor);
  if (!seqGt(t.tsOffset, oldTsOffset)) t.tsOffset = oldTsOffset + 1;
}

/** Options of the peer's SYN (RFC 9293 3.7.1 MSS; RFC 7323 2.2, 3.2; RFC 2018 2). */
export function takeSynOptions(t: Tcb, seg: Segment, nowUs: i64): void {
  let mss: u32 = seg.mss;
  // RFC 9293 3.7.1 (MUST-15): without the option assume 536 (IPv4) / 1220 (IPv6, RFC 8200 5).
  if (mss == 0) mss = seg.ipVersion == 6 ? 1220 : 536;
  // A tiny MSS turns every byte into a segment (CVE-2019-11477/11478): clamp from below like Linux.
  if (mss < 48) mss = 48;
  t.peerMss = mss;
  const passive = t.state != State.SYN_SENT;
  const ourWs = passive ? config.offerWindowScaling : hasFlag(t.options, Opt.SENT_WS);
  if (seg.wscale >= 0 && ourWs) {
    t.options |= Opt.WS_OK;
    t.sndShift = <u8>seg.wscale;
  } else {
    t.options &= ~Opt.WS_OK;
    t.sndShift = 0;
    t.rcvShift = 0;
  }
  if (seg.sackPermitted && config.offerSack) t.options |= Opt.SACK_OK;
  else t.options &= ~Opt.SACK_OK;
  if (seg.hasTimestamps && config.offerTimestamps) {
    t.options |= Opt.TS_OK;
    t.tsRecent = seg.tsVal;
    t.tsRecentUs = nowUs;
  } else {
    t.options &= ~Opt.TS_OK;
  }
}

/** Congestion state once the peer's MSS is known (RFC 5681 3.1); NewReno's `recover` starts at ISS. */
export function congestionStart(t: Tcb): void {
  // HyStart++ (RFC 9406) runs in front of either algorithm's slow start.
  ccInit(tcbCc(t), t.ccAlgo, sendMss(t));
  hystartInit(tcbCc(t), config.hystartDefault);
  tcbCc(t).recover = t.iss;
}
