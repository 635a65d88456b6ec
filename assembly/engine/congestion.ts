// Congestion control behind one small interface: an algorithm id in the struct and a switch in each
// entry point, so a second algorithm adds cases, not call sites.
//
// NewReno (CcAlgo.NewReno): RFC 5681 slow start and congestion avoidance with the window arithmetic of
// RFC 6582 fast recovery. All quantities are bytes; SMSS is `mss`.
// - Initial window RFC 6928: min(10*SMSS, max(2*SMSS, 14600)); ssthresh starts "arbitrarily high"
//   (RFC 5681 3.1).
// - The first slow start runs HyStart++ (RFC 9406, hystart.ts): it may leave early, on a rising RTT,
//   through Conservative Slow Start (a quarter of the growth) into congestion avoidance.
// - ccOnAck, outside recovery: slow start grows cwnd by min(acked, L*SMSS) with L = 2 (RFC 3465 ABC,
//   RFC 5681 3.1 eq. 2; with segmentation offload, offload.ts, L counts in the transmission's size, the
//   burst, since one ACK answers a packet of many segments); congestion avoidance counts acked bytes
//   and adds one SMSS per cwnd bytes acknowledged (RFC 5681 3.1, the byte-counting variant of eq. 3). Growth happens only while the
//   window was the limit (RFC 7661's spirit, RFC 5681 3.1 "cwnd MUST NOT be increased ... when not fully
//   utilised"): flightBefore within one SMSS of cwnd in avoidance, at least half of cwnd in slow start
//   (a sender that is sending in bursts of ACK clocking fills half the window between ACKs).
//   During recovery ccOnAck does nothing: the recovery calls below own cwnd.
// - Recovery (RFC 6582 3.2): enter with ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 eq. 4),
//   cwnd = ssthresh + 3*SMSS (ccOnEnterSackRecovery: cwnd = ssthresh, RFC 6675 5 step 4.2, as pipe
//   counts what is in flight), recover = highSeq (pass SND.NXT: one past the highest octet sent, so
//   ccIsFullAck(ack) is ack >= recover, "all data up to and including" the highest octet sent); each further duplicate ACK inflates by
//   SMSS; a partial ACK deflates by the bytes it acknowledged and adds back SMSS if that was at least
//   SMSS (step 5); the full ACK sets cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (step 6, option 1).
// - RTO (RFC 5681 3.1 eq. 4 and 3.1 "loss window"): ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS.
// - Idle restart (RFC 5681 4.1): cwnd = min(RW, cwnd) with RW = the initial window.
// - Undo (ccUndo, undo.ts): a response proven spurious gives back the cwnd and ssthresh it took
//   (RFC 3708 5, RFC 4015 3.2), and CUBIC's W_max and cwnd_prior, the stage starting over.
// cwnd never drops below SMSS and never exceeds CWND_MAX (2^30, the largest scaled window).
//
// CUBIC (CcAlgo.Cubic), RFC 9438, with C = 0.4 and beta_cubic = 0.7, windows in segments of SMSS:
// - Slow start, recovery inflation/deflation, the full-ACK exit and the idle restart are NewReno's
//   (RFC 9438 4.10 keeps slow start; 4.6 only changes how far the window drops).
// - A congestion event (ccOnEnterRecovery, ccOnRto) sets ssthresh = max(FlightSize * beta_cubic,
//   2*SMSS) (4.6) and remembers cwnd_prior and W_max, with fast convergence (4.7): a loss below the
//   previous W_max lowers it to cwnd * (1 + beta_cubic) / 2. After an RTO the next avoidance stage
//   starts with K = 0 and W_max = cwnd (4.8).
// - Congestion avoidance (4.2 to 4.5): the stage starts at the first avoidance ACK (t_epoch), with
//   K = cubic_root((W_max - cwnd_epoch) / C) (K = 0 and W_max = cwnd when cwnd is already above W_max).
//   Each ACK computes target = W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd] and grows cwnd by
//   (target - cwnd) / cwnd per SMSS acknowledged; the Reno-friendly estimate W_est grows by
//   alpha_cubic * acked / cwnd (alpha_cubic = 3 (1 - beta) / (1 + beta) until W_est reaches
//   cwnd_prior, then 1), and cwnd follows W_est whenever W_cubic(t) < W_est (4.3).
// - CUBIC needs the time and the smoothed RTT: ccOnAckAt passes them (ccOnAck reuses the last ones
//   given to ccOnAckAt or ccSetClock). Fractions of a byte carry over between ACKs.
import { seqGt } from "../wire/seq";

export const enum CcAlgo {
  NewReno = 0,
  Cubic = 1,
}

export const CUBIC_C: f64 = 0.4;
export const CUBIC_BETA: f64 = 0.7;
// RFC 9438 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic).
export const CUBIC_ALPHA: f64 = (3.0 * (1.0 - CUBIC_BETA)) / (1.0 + CUBIC_BETA);

export const CWND_MAX: u32 = 1 << 30;
/** RFC 9406 4.3 CSS_GROWTH_DIVISOR: Conservative Slow Start grows at a quarter of slow start's rate. */
export const HS_CSS_GROWTH_DIVISOR: u32 = 4;
export const SSTHRESH_INITIAL: u32 = u32.MAX_VALUE;

@unmanaged
export class Congestion {
  algo: u32;
  mss: u32;
  /** The most one transmission carries: SMSS, or whole SMSS multiples with segmentation offload. */
  burst: u32;
  cwnd: u32;
  ssthresh: u32;
  ackedInCa: u32;
  inRecovery: bool;
  recover: u32;
  // Clock for CUBIC (ccOnAckAt / ccSetClock).
  nowUs: i64;
  srttUs: i64;
  // CUBIC state, windows in segments (RFC 9438 4.1.2 names).
  wMax: f64;
  k: f64;
  wEst: f64;
  cwndPrior: f64;
  epochUs: i64;
  carry: f64;
  epochStarted: bool;
  afterRto: bool;
  // HyStart++ state (RFC 9406 4.2 names; hystart.ts owns it). Times in microseconds, -1: infinity.
  hsOn: bool;
  hsCss: bool;
  hsRoundOpen: bool;
  hsCssRounds: u32;
  hsSamples: u32;
  hsWindowEnd: u32;
  hsLastRoundMinUs: i64;
  hsRoundMinUs: i64;
  hsCssBaselineUs: i64;
  /** Least flight (SND.MAX - SND.UNA before an ACK) among the current round's ACKs, bytes. */
  hsRoundMinFlight: u32;
  /** hsRoundMinFlight of the round whose minimum became cssBaselineMinRtt. */
  hsCssBaselineFlight: u32;
  /** Some ACK since CSS began found less than hsCssBaselineFlight outstanding. */
  hsCssFellBehind: bool;
}

export function ccInitialWindow(mss: u32): u32 {
  let twoOr14600: u32 = mss * 2 > 14600 ? mss * 2 : 14600;
  let ten: u32 = mss * 10;
  return ten < twoOr14600 ? ten : twoOr14600;
}

/**
 * A connection's congestion state for send MSS `mss`: the initial window, ssthresh "arbitrarily high",
 * no recovery, CUBIC's stage not begun. HyStart++'s fields are not set here: hystart.ts hystartInit
 * sets them (it imports this file, not the other way round).
 */
export function ccInit(c: Congestion, algo: u32, mss: u32): void {
  if (mss == 0) mss = 536; // RFC 9293 3.7.1 default send MSS
  c.algo = algo;
  c.mss = mss;
  c.burst = mss;
  c.cwnd = ccInitialWindow(mss);
  c.ssthresh = SSTHRESH_INITIAL;
  c.ackedInCa = 0;
  c.inRecovery = false;
  c.recover = 0;
  c.nowUs = 0;
  c.srttUs = 0;
  c.wMax = 0;
  c.k = 0;
  c.wEst = 0;
  c.cwndPrior = 0;
  c.epochUs = 0;
  c.carry = 0;
  c.epochStarted = false;
  c.afterRto = false;
}

/** The largest transmission the sender now makes (offload.ts); never below SMSS. */
export function ccSetBurst(c: Congestion, bytes: u32): void {
  c.burst = bytes > c.mss ? bytes : c.mss;
}

/** Gives CUBIC the time and smoothed RTT that the next ccOnAck uses. */
export function ccSetClock(c: Congestion, nowUs: i64, srttUs: i64): void {
  c.nowUs = nowUs;
  c.srttUs = srttUs;
}

/** Whether the window, not the application, limited sending before this ACK. */
// @ts-ignore: decorator
@inline function cwndLimited(c: Congestion, flightBefore: u32): bool {
  if (c.cwnd < c.ssthresh) return <u64>flightBefore * 2 >= <u64>c.cwnd;
  return <u64>flightBefore + <u64>c.mss > <u64>c.cwnd;
}

// @ts-ignore: decorator
@inline function grow(c: Congestion, bytes: u32): void {
  let w = <u64>c.cwnd + <u64>bytes;
  c.cwnd = w > <u64>CWND_MAX ? CWND_MAX : <u32>w;
}

// @ts-ignore: decorator
@inline function halfFlight(c: Congestion, flight: u32): u32 {
  let half = flight >> 1;
  let floor: u32 = c.mss * 2;
  return half > floor ? half : floor;
}

function renoOnAck(c: Congestion, ackedBytes: u32, flightBefore: u32): void {
  if (!cwndLimited(c, flightBefore)) return;
  if (c.cwnd < c.ssthresh) {
    // RFC 5681 eq. 2 with RFC 3465 L = 2: at most 2*SMSS per ACK, or two of the sender's transmissions
    // when one carries several segments (an ACK of one offload segment is not a stretch ACK). HyStart++
    // (hystart.ts) keeps this L rather than RFC 9406 4.3's larger one (8 SMSS, unbounded when paced):
    // with either, a stretch ACK after reordering grows the window in steps that the two-engine
    // reordering scripts (test/engine/reorder.test.ts) answer with 2 to 430 retransmissions where
    // L = 2 gives 1. Its Conservative Slow Start divides the growth by CSS_GROWTH_DIVISOR.
    let limit: u32 = (c.burst > c.mss ? c.burst : c.mss) * 2;
    let inc: u32 = ackedBytes < limit ? ackedBytes : limit;
    if (c.hsCss && c.hsOn && c.ssthresh == SSTHRESH_INITIAL) inc /= HS_CSS_GROWTH_DIVISOR;
    grow(c, inc);
    // Slow start ends at ssthresh; the remainder counts toward avoidance.
    if (c.cwnd > c.ssthresh) c.cwnd = c.ssthresh;
    return;
  }
  let acked = <u64>c.ackedInCa + <u64>ackedBytes;
  if (acked >= <u64>c.cwnd) {
    acked -= <u64>c.cwnd;
    grow(c, c.mss);
    if (acked >= <u64>c.cwnd) acked = 0; // one SMSS per ACK at most
  }
  c.ackedInCa = <u32>acked;
}

/** RFC 9438 figure 1: W_cubic(t) = C (t - K)^3 + W_max, in segments, t in seconds. */
export function cubicW(c: Congestion, tSeconds: f64): f64 {
  let d = tSeconds - c.k;
  return CUBIC_C * d * d * d + c.wMax;
}

function cubicOnAck(c: Congestion, ackedBytes: u32, flightBefore: u32): void {
  if (c.cwnd < c.ssthresh) {
    renoOnAck(c, ackedBytes, flightBefore); // slow start is NewReno's
    return;
  }
  if (!cwndLimited(c, flightBefore)) return;
  let mss = <f64>c.mss;
  let cwndSeg = <f64>c.cwnd / mss;
  if (!c.epochStarted) {
    // RFC 9438 4.2: a new avoidance stage; 4.8 after an RTO (and any stage above W_max): K = 0.
    c.epochStarted = true;
    c.epochUs = c.nowUs;
    if (c.afterRto || c.wMax <= cwndSeg) {
      c.wMax = cwndSeg;
      c.k = 0;
    } else {
      c.k = Math.cbrt((c.wMax - cwndSeg) / CUBIC_C);
    }
    c.afterRto = false;
    c.wEst = cwndSeg;
    c.carry = 0;
  }
  let t = <f64>(c.nowUs - c.epochUs) / 1e6;
  let rtt = <f64>c.srttUs / 1e6;
  let ackedSeg = <f64>ackedBytes / mss;
  // 4.3 Reno-friendly estimate.
  let alpha = c.wEst >= c.cwndPrior ? 1.0 : CUBIC_ALPHA;
  c.wEst += (alpha * ackedSeg) / cwndSeg;
  let next: f64;
  if (cubicW(c, t) < c.wEst) {
    next = c.wEst;
  } else {
    // 4.4 / 4.5 concave and convex regions: aim one RTT ahead, clamped.
    let target = cubicW(c, t + rtt);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    next = cwndSeg + ((target - cwndSeg) / cwndSeg) * ackedSeg;
  }
  let delta = (next - cwndSeg) * mss + c.carry;
  if (delta <= 0) {
    c.carry = 0;
    return;
  }
  let whole = Math.floor(delta);
  c.carry = delta - whole;
  grow(c, whole >= <f64>CWND_MAX ? CWND_MAX : <u32>whole);
}

/** RFC 9438 4.6 / 4.7: the window reduction and W_max bookkeeping of a congestion event. */
function cubicOnCongestion(c: Congestion, flight: u32): void {
  let cwndSeg = <f64>c.cwnd / <f64>c.mss;
  c.wMax = cwndSeg < c.wMax ? (cwndSeg * (1.0 + CUBIC_BETA)) / 2.0 : cwndSeg;
  c.cwndPrior = cwndSeg;
  let reduced = <f64>flight * CUBIC_BETA;
  let floor: u32 = c.mss * 2;
  c.ssthresh = reduced < <f64>floor ? floor : <u32>reduced;
  c.epochStarted = false;
}

export function ccOnAck(c: Congestion, ackedBytes: u32, flightBefore: u32): void {
  if (c.inRecovery || ackedBytes == 0) return;
  switch (c.algo) {
    case CcAlgo.Cubic:
      cubicOnAck(c, ackedBytes, flightBefore);
      break;
    default:
      renoOnAck(c, ackedBytes, flightBefore);
  }
}

/** ccOnAck with the clock CUBIC needs (NewReno ignores it). */
export function ccOnAckAt(c: Congestion, ackedBytes: u32, flightBefore: u32, nowUs: i64, srttUs: i64): void {
  c.nowUs = nowUs;
  c.srttUs = srttUs;
  ccOnAck(c, ackedBytes, flightBefore);
}

export function ccOnEnterRecovery(c: Congestion, flight: u32, highSeq: u32): void {
  c.hsCss = false; // RFC 9406 4.2: a loss in slow start or CSS ends both
  if (c.algo == CcAlgo.Cubic) cubicOnCongestion(c, flight);
  else c.ssthresh = halfFlight(c, flight);
  c.cwnd = c.ssthresh;
  grow(c, c.mss * 3);
  c.recover = highSeq;
  c.inRecovery = true;
  c.ackedInCa = 0;
}

/**
 * A loss repaired by a tail loss probe outside recovery (RFC 8985 7.4.2): the reduction of one loss
 * event (RFC 5681 eq. 4, RFC 9438 4.6) with no recovery to run.
 */
export function ccOnLossRepaired(c: Congestion, flight: u32): void {
  c.hsCss = false; // RFC 9406 4.2: a loss in slow start or CSS ends both
  if (c.algo == CcAlgo.Cubic) cubicOnCongestion(c, flight);
  else c.ssthresh = halfFlight(c, flight);
  if (c.cwnd > c.ssthresh) c.cwnd = c.ssthresh;
  c.ackedInCa = 0;
}

/**
 * Entering SACK-based recovery (RFC 6675 5 step 4.2): ssthresh as for NewReno, but cwnd = ssthresh
 * with no 3*SMSS inflation; pipe (RFC 6675 SetPipe) counts what is in flight instead.
 */
export function ccOnEnterSackRecovery(c: Congestion, flight: u32, highSeq: u32): void {
  ccOnEnterRecovery(c, flight, highSeq);
  c.cwnd = c.ssthresh;
}

/** Takes back a loss response found spurious: the state saved before it, where larger (undo.ts). */
export function ccUndo(c: Congestion, cwnd: u32, ssthresh: u32, wMax: f64, cwndPrior: f64): void {
  if (cwnd > c.cwnd) c.cwnd = cwnd > CWND_MAX ? CWND_MAX : cwnd;
  if (ssthresh > c.ssthresh) c.ssthresh = ssthresh;
  c.wMax = wMax;
  c.cwndPrior = cwndPrior;
  c.inRecovery = false;
  c.ackedInCa = 0;
  c.epochStarted = false;
  c.afterRto = false;
}

export function ccOnDupAckInRecovery(c: Congestion): void {
  if (!c.inRecovery) return;
  grow(c, c.mss);
}

export function ccOnPartialAck(c: Congestion, ackedBytes: u32): void {
  if (!c.inRecovery) return;
  // RFC 6582 3.2 step 5: deflate by the newly acknowledged bytes, add back one SMSS if at least that much.
  let w = <i64>c.cwnd - <i64>ackedBytes;
  if (ackedBytes >= c.mss) w += <i64>c.mss;
  c.cwnd = w < <i64>c.mss ? c.mss : <u32>w;
}

export function ccOnExitRecovery(c: Congestion, flight: u32): void {
  let f = flight > c.mss ? flight : c.mss;
  let w = <u64>f + <u64>c.mss;
  if (w > <u64>c.ssthresh) w = <u64>c.ssthresh;
  if (w > <u64>CWND_MAX) w = <u64>CWND_MAX;
  c.cwnd = <u32>w;
  c.inRecovery = false;
  c.ackedInCa = 0;
  c.epochStarted = false;
}

export function ccOnRto(c: Congestion, flight: u32): void {
  c.hsCss = false; // RFC 9406 4.2: a loss in slow start or CSS ends both
  if (c.algo == CcAlgo.Cubic) {
    cubicOnCongestion(c, flight);
    c.afterRto = true;
  } else {
    c.ssthresh = halfFlight(c, flight);
  }
  c.cwnd = c.mss;
  c.inRecovery = false;
  c.ackedInCa = 0;
}

export function ccOnIdleRestart(c: Congestion): void {
  let rw = ccInitialWindow(c.mss);
  if (rw < c.cwnd) c.cwnd = rw;
  c.ackedInCa = 0;
  c.epochStarted = false; // RFC 9438 5.8 (application-limited flows): idle time is not growth time
}

/** RFC 6582 3.2 step 4: does this cumulative ACK end recovery (it covers `recover`)? */
export function ccIsFullAck(c: Congestion, ack: u32): bool {
  return !seqGt(c.recover, ack);
}
