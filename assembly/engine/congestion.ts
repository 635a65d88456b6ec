// Congestion control behind one small interface: an algorithm id in the struct and a switch in each
// entry point, so a second algorithm adds cases, not call sites.
//
// NewReno (CcAlgo.NewReno): RFC 5681 slow start and congestion avoidance with the window arithmetic of
// RFC 6582 fast recovery. All quantities are bytes; SMSS is `mss`.
// - Initial window RFC 6928: min(10*SMSS, max(2*SMSS, 14600)); ssthresh starts "arbitrarily high"
//   (RFC 5681 3.1).
// - ccOnAck, outside recovery: slow start grows cwnd by min(acked, L*SMSS) with L = 2 (RFC 3465 ABC,
//   RFC 5681 3.1 eq. 2); congestion avoidance counts acked bytes and adds one SMSS per cwnd bytes
//   acknowledged (RFC 5681 3.1, the byte-counting variant of eq. 3). Growth happens only while the
//   window was the limit (RFC 7661's spirit, RFC 5681 3.1 "cwnd MUST NOT be increased ... when not fully
//   utilised"): flightBefore within one SMSS of cwnd in avoidance, at least half of cwnd in slow start
//   (a sender that is sending in bursts of ACK clocking fills half the window between ACKs).
//   During recovery ccOnAck does nothing: the recovery calls below own cwnd.
// - Recovery (RFC 6582 3.2): enter with ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 eq. 4),
//   cwnd = ssthresh + 3*SMSS, recover = highSeq (pass SND.NXT: one past the highest octet sent, so
//   ccIsFullAck(ack) is ack >= recover, "all data up to and including" the highest octet sent); each further duplicate ACK inflates by
//   SMSS; a partial ACK deflates by the bytes it acknowledged and adds back SMSS if that was at least
//   SMSS (step 5); the full ACK sets cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (step 6, option 1).
// - RTO (RFC 5681 3.1 eq. 4 and 3.1 "loss window"): ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS.
// - Idle restart (RFC 5681 4.1): cwnd = min(RW, cwnd) with RW = the initial window.
// cwnd never drops below SMSS and never exceeds CWND_MAX (2^30, the largest scaled window).
import { seqGt } from "../wire/seq";

export const enum CcAlgo {
  NewReno = 0,
}

export const CWND_MAX: u32 = 1 << 30;
export const SSTHRESH_INITIAL: u32 = u32.MAX_VALUE;

@unmanaged
export class Congestion {
  algo: u32;
  mss: u32;
  cwnd: u32;
  ssthresh: u32;
  ackedInCa: u32;
  inRecovery: bool;
  recover: u32;
}

export function ccInitialWindow(mss: u32): u32 {
  let twoOr14600: u32 = mss * 2 > 14600 ? mss * 2 : 14600;
  let ten: u32 = mss * 10;
  return ten < twoOr14600 ? ten : twoOr14600;
}

export function ccInit(c: Congestion, algo: u32, mss: u32): void {
  if (mss == 0) mss = 536; // RFC 9293 3.7.1 default send MSS
  c.algo = algo;
  c.mss = mss;
  c.cwnd = ccInitialWindow(mss);
  c.ssthresh = SSTHRESH_INITIAL;
  c.ackedInCa = 0;
  c.inRecovery = false;
  c.recover = 0;
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
    // RFC 5681 eq. 2 with RFC 3465 L = 2: at most 2*SMSS per ACK.
    let limit: u32 = c.mss * 2;
    grow(c, ackedBytes < limit ? ackedBytes : limit);
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

export function ccOnAck(c: Congestion, ackedBytes: u32, flightBefore: u32): void {
  if (c.inRecovery || ackedBytes == 0) return;
  switch (c.algo) {
    default:
      renoOnAck(c, ackedBytes, flightBefore);
  }
}

export function ccOnEnterRecovery(c: Congestion, flight: u32, highSeq: u32): void {
  c.ssthresh = halfFlight(c, flight);
  c.cwnd = c.ssthresh;
  grow(c, c.mss * 3);
  c.recover = highSeq;
  c.inRecovery = true;
  c.ackedInCa = 0;
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
}

export function ccOnRto(c: Congestion, flight: u32): void {
  c.ssthresh = halfFlight(c, flight);
  c.cwnd = c.mss;
  c.inRecovery = false;
  c.ackedInCa = 0;
}

export function ccOnIdleRestart(c: Congestion): void {
  let rw = ccInitialWindow(c.mss);
  if (rw < c.cwnd) c.cwnd = rw;
  c.ackedInCa = 0;
}

/** RFC 6582 3.2 step 4: does this cumulative ACK end recovery (it covers `recover`)? */
export function ccIsFullAck(c: Congestion, ack: u32): bool {
  return !seqGt(c.recover, ack);
}
