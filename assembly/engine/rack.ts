// RACK, time-based loss detection (RFC 8985 6), for connections with SACK. A run of octets not yet
// delivered is lost once a run sent after it was delivered and the reordering window has passed since:
// Segment.xmit_ts + RACK.rtt + RACK.reo_wnd <= now (6.2 step 5). This replaces RFC 6675's DupThresh
// counting (IsLost) as the trigger of fast recovery (RFC 8985 6.2: DupThresh survives only in step 4,
// while no reordering has been seen), so data that arrives late but within the window costs nothing,
// and a lost retransmission is found as any other loss (6.2's rule applies to every transmission).
//
// The transmit times live in the scoreboard's records (scoreboard.ts, RFC 8985 5.2); this file keeps
// the connection-wide variables of RFC 8985 5.1 in an inline TCB record (tcbRack) and owns the
// reordering timer (TimerKind.Reorder, 6.2 step 5's "RACK reordering timer").
//
// Choices the RFC leaves open, and why:
// - RACK.min_RTT is the smallest RTT measured from the scoreboard's microsecond transmit times, over
//   the connection's life (6.2 step 1 allows a global minimum). The TCP timestamp clock ticks in
//   milliseconds, too coarse for a round trip under one.
// - The window's bound (3.3.2: "MUST be bounded, and this bound SHOULD be SRTT") is SRTT, or
//   RACK.min_RTT when SRTT reads lower: SRTT comes from millisecond timestamps and is 0 on a path
//   faster than a millisecond, where a bound of 0 would disable the window altogether.
// - A fast recovery that a D-SACK later proves spurious (undo.ts) also sets RACK.reordering_seen:
//   the original arrived after data sent later, which is step 3's evidence seen through the
//   retransmission (step 3 alone never sees it once the late segment has been retransmitted).
import { Segment } from "../wire/packet";
import { seqLt, seqGt, seqGe } from "../wire/seq";
import { Tcb, F, hasFlag, setFlag, tcbTimers, tcbRtt, tcbCc, tcbSb, tcbRack } from "./tcb";
import { TimerKind, timerSet, timerClear } from "./timers";
import { Scoreboard, SB_SACKED, SB_LOST, SB_RETRANSMITTED, DUP_THRESH, sbStart, sbEnd, sbTsLast, sbFlags,
  sbMarkLost, sbLostBytes, sbDeliveredCount, sbDeliveredEnd, sbDeliveredTs, sbDeliveredFlags, tsDiff } from "./scoreboard";
import { ccOnEnterSackRecovery } from "./congestion";
import { undoBegin } from "./undo";
import { wantOutput } from "./conn";
import { count, Counter } from "./counters";
import { sendMss, tsNow } from "./emit";

/** RFC 8985 6.2 step 4: D-SACK-free recoveries after which the window shrinks back. */
const REO_WND_PERSIST: u32 = 16;
/** The multiplier's ceiling: the window is bounded by SRTT long before this. */
const REO_WND_MULT_MAX: u32 = 1024;

/** RFC 8985 5.1 per-connection variables (a zeroed record is a fresh connection). */
@unmanaged
export class Rack {
  /** RACK.xmit_ts and RACK.end_seq of RACK.segment, the most recently sent run known delivered. */
  xmitTs: u32;
  endSeq: u32;
  /** RACK.rtt (microseconds). */
  rttUs: u32;
  /** RACK.min_RTT (microseconds), valid once hasMinRtt. */
  minRttUs: u32;
  /** RACK.fack: one past the highest octet delivered, valid once hasFack. */
  fack: u32;
  /** RACK.dsack_round, valid while dsackRoundSet. */
  dsackRound: u32;
  /** RACK.reo_wnd_mult - 1. */
  reoWndMultExtra: u32;
  /** RACK.reo_wnd_persist. */
  reoWndPersist: u32;
  hasSegment: bool;
  hasMinRtt: bool;
  hasFack: bool;
  dsackRoundSet: bool;
  /** RACK.reordering_seen. */
  reorderingSeen: bool;
  /** A retransmission timeout's recovery runs until SND.UNA passes its recovery point. */
  rtoRecovery: bool;
}

/** RACK_sent_after (6.2 step 2): t1/seq1 sent after t2/seq2, the sequence breaking a tie in time. */
// @ts-ignore: decorator
@inline function sentAfter(t1: u32, seq1: u32, t2: u32, seq2: u32): bool {
  const d = tsDiff(t1, t2);
  return d > 0 || (d == 0 && seqGt(seq1, seq2));
}

/** RACK.reo_wnd (6.2 step 4), in microseconds. */
export function rackReoWnd(t: Tcb): i64 {
  const rack = tcbRack(t);
  if (!rack.reorderingSeen) {
    // No reordering seen: no settling time in fast or RTO recovery, nor once DupThresh segments'
    // worth is SACKed (RFC 6675's DupThresh, in bytes as IsLost counts them).
    if (tcbCc(t).inRecovery || rack.rtoRecovery) return 0;
    if (<u64>tcbSb(t).sackedBytes > <u64>(DUP_THRESH - 1) * <u64>sendMss(t)) return 0;
  }
  const rtt = tcbRtt(t);
  const minRtt: i64 = rack.hasMinRtt ? <i64>rack.minRttUs : rtt.srttUs;
  const wnd = (<i64>(rack.reoWndMultExtra + 1) * minRtt) >> 2;
  const bound = rtt.srttUs > minRtt ? rtt.srttUs : minRtt;
  return wnd < bound ? wnd : bound;
}

/**
 * Steps 1 to 5 for one ACK, after the scoreboard took it (sbUpdate listed the runs it newly
 * delivered): RACK.segment, RACK.rtt and RACK.min_RTT, reordering, the window's D-SACK adaptation,
 * then the loss marks and the reordering timer. `dsack`: the ACK carried a D-SACK (RFC 2883).
 */
export function rackOnAck(t: Tcb, seg: Segment, nowUs: i64, dsack: bool): void {
  const rack = tcbRack(t);
  const now32 = <u32>nowUs;
  const n = sbDeliveredCount();
  const oldFack = rack.fack;
  const hadFack = rack.hasFack;
  // The latest-sent run of this ACK that may give an RTT (step 2).
  let newest: i32 = -1;
  for (let k: u32 = 0; k < n; k++) {
    const end = sbDeliveredEnd(k);
    const ts = sbDeliveredTs(k);
    const flags = sbDeliveredFlags(k);
    const rtx = (flags & SB_RETRANSMITTED) != 0;
    // Step 3: an original transmission delivered below RACK.fack arrived out of order.
    if (hadFack && !rtx && seqLt(end, oldFack)) rack.reorderingSeen = true;
    if (!rack.hasFack || seqGt(end, rack.fack)) {
      rack.fack = end;
      rack.hasFack = true;
    }
    const rtt = tsDiff(now32, ts);
    if (rtt < 0) continue;
    if (rtx) {
      // Step 2: a retransmitted run tells nothing when this ACK answers an earlier copy (its echo
      // is older than the retransmission's TSval) or comes sooner than a round trip could.
      if (hasFlag(t, F.TS_OK) && seg.hasTimestamps && seg.tsEcr != 0 &&
          seqLt(seg.tsEcr, tsNow(t, nowUs - <i64>rtt))) continue;
      if (rack.hasMinRtt && <u32>rtt < rack.minRttUs) continue;
    }
    if (newest < 0 || sentAfter(ts, end, sbDeliveredTs(<u32>newest), sbDeliveredEnd(<u32>newest))) newest = <i32>k;
    // Step 1.
    if (!rack.hasMinRtt || <u32>rtt < rack.minRttUs) {
      rack.minRttUs = <u32>rtt;
      rack.hasMinRtt = true;
    }
  }
  if (newest >= 0) {
    const ts = sbDeliveredTs(<u32>newest);
    const end = sbDeliveredEnd(<u32>newest);
    rack.rttUs = <u32>tsDiff(now32, ts);
    if (!rack.hasSegment || sentAfter(ts, end, rack.xmitTs, rack.endSeq)) {
      rack.xmitTs = ts;
      rack.endSeq = end;
      rack.hasSegment = true;
    }
  }
  // Step 4: the window grows by min_RTT/4 per round trip that brings a D-SACK.
  if (rack.dsackRoundSet && seqGe(t.sndUna, rack.dsackRound)) rack.dsackRoundSet = false;
  if (!rack.dsackRoundSet && dsack) {
    rack.dsackRound = t.sndMax;
    rack.dsackRoundSet = true;
    if (rack.reoWndMultExtra + 1 < REO_WND_MULT_MAX) rack.reoWndMultExtra++;
    rack.reoWndPersist = REO_WND_PERSIST;
  }
  if (rack.rtoRecovery && seqGe(t.sndUna, tcbCc(t).recover)) {
    rack.rtoRecovery = false;
    rackOnRecoveryExit(t);
  }
  rackDetectLoss(t, nowUs);
}

/** Step 4's other half: a recovery ended; after REO_WND_PERSIST without a D-SACK the window resets. */
export function rackOnRecoveryExit(t: Tcb): void {
  const rack = tcbRack(t);
  if (rack.reoWndPersist > 0) rack.reoWndPersist--;
  if (rack.reoWndPersist == 0) rack.reoWndMultExtra = 0;
}

/**
 * Step 5: marks lost every run not delivered that was sent before RACK.segment and has waited
 * RACK.rtt + RACK.reo_wnd since it was sent; arms the reordering timer for the ones still waiting
 * (the latest of their deadlines, as the RFC's RACK_detect_loss returns the largest remainder).
 */
export function rackDetectLoss(t: Tcb, nowUs: i64): void {
  const rack = tcbRack(t);
  const sb = tcbSb(t);
  const timers = tcbTimers(t);
  // With nothing SACKed and nothing sent twice, every run left was sent after everything delivered
  // (new data goes out in sequence order), so none can be judged: the common case costs no walk.
  if (!rack.hasSegment || (sb.sackedBytes == 0 && sb.rtxRecords == 0)) {
    timerClear(timers, TimerKind.Reorder);
    return;
  }
  const now32 = <u32>nowUs;
  const reoWnd = rackReoWnd(t);
  let timeout: i64 = 0;
  for (let i: u32 = 0; i < sb.count; i++) {
    const f = sbFlags(sb, i);
    if ((f & (SB_SACKED | SB_LOST)) != 0) continue;
    const ts = sbTsLast(sb, i);
    if (!sentAfter(rack.xmitTs, rack.endSeq, ts, sbEnd(sb, i))) continue;
    const remaining = <i64>tsDiff(ts, now32) + <i64>rack.rttUs + reoWnd;
    if (remaining <= 0) sbMarkLost(sb, i);
    else if (remaining > timeout) timeout = remaining;
  }
  if (timeout > 0) timerSet(timers, TimerKind.Reorder, nowUs + timeout);
  else timerClear(timers, TimerKind.Reorder);
}

/** The reordering timer fired (6.2 step 5, RACK_detect_loss_and_arm_timer). */
export function rackTimeout(t: Tcb, nowUs: i64): void {
  if (!hasFlag(t, F.SACK_OK) || t.sndUna == t.sndMax) return;
  rackDetectLoss(t, nowUs);
  rackOnLoss(t, nowUs);
}

/**
 * What RACK marked lost goes out again (output.ts, NextSeg rule 1 over the marks). The first loss
 * outside a recovery starts one (RFC 6675 5 step 4; RFC 8985 marks replace DupThresh): ssthresh from
 * FlightSize less what Limited Transmit sent (RFC 5681 3.2 step 2), cwnd = ssthresh (RFC 6675 5 step
 * 4.2), the first lost run at once whatever pipe says (step 4.3), and the window before it kept in
 * case the recovery proves spurious (undo.ts). A new recovery waits until the cumulative ACK passes
 * the last one's recovery point (RFC 6675 5; RFC 6582 3.2); a loss before that is repaired inside
 * the running response without a second reduction.
 */
export function rackOnLoss(t: Tcb, nowUs: i64): void {
  const sb = tcbSb(t);
  if (sbLostBytes(sb) == 0) return;
  wantOutput(t);
  const cc = tcbCc(t);
  if (cc.inRecovery || t.sndNxt != t.sndMax || !seqGt(t.sndUna, cc.recover)) return;
  undoBegin(t, false, nowUs);
  ccOnEnterSackRecovery(cc, t.sndMax - t.sndUna - t.limitedTransmitBytes, t.sndMax);
  count(Counter.CWND_REDUCTIONS);
  setFlag(t, F.RTX_ONE);
}

/** A retransmission timeout (timeouts.ts): RACK's timer stops, RTO recovery starts (step 4). */
export function rackOnRto(t: Tcb): void {
  tcbRack(t).rtoRecovery = true;
  timerClear(tcbTimers(t), TimerKind.Reorder);
}

/** Whether the scoreboard holds octets RACK marked lost and not yet sent again. */
export function rackHasLost(sb: Scoreboard): bool {
  return sbLostBytes(sb) != 0;
}
