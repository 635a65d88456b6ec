// Pacing: when the next data segment may leave. Without it a sender emits a whole window the moment
// the window opens, and a relay or NIC queue shorter than that burst drops the tail (a UDP relay's
// socket buffer holds a few dozen datagrams). Pacing spreads the window over the round trip, the way
// Linux's TCP sets a rate for the fq qdisc (and its own pacing timer) to enforce.
//
// Contract
// - The rate is a multiple of max(cwnd, bytes in flight) per SRTT: 2 while cwnd < ssthresh / 2 (slow
//   start, so that the window can still double per round trip), 1.2 after (congestion avoidance,
//   headroom to probe). These are Linux's defaults (sysctl tcp_pacing_ss_ratio 200,
//   tcp_pacing_ca_ratio 120). Before the first RTT sample (RFC 6298 2.1) there is no rate: the
//   initial window (RFC 6928) goes at once; nor while SRTT is 0, a path faster than the millisecond
//   timestamp clock measures (RFC 7323 4), where any rate would be above what the windows allow.
// - Earliest departure time: Tcb.paceNextUs (f64 microseconds, sub-microsecond at fast rates). A data
//   segment may leave once the clock has reached it; each one sent moves it on by its length at the
//   rate, counted from no earlier than now - the burst allowance. So after a quiet spell a burst of
//   up to the allowance (plus one segment) goes at once, then segments follow at the rate.
// - The burst allowance is the larger of two segments (Linux's minimum TSO burst, tcp_min_tso_segs)
//   and BURST_US of sending at the rate. Linux sizes its bursts at about 1 ms of the rate
//   (tcp_tso_autosize, sk_pacing_shift 10) because its pacing timer has microsecond resolution. The
//   host's timer here has 1 ms granularity and fires up to about a millisecond late, so the
//   allowance is two of its ticks: a wake-up that comes late still sends what the rate allowed since
//   the last one, and the timer never caps the rate. Never a busy loop: a connection that must wait
//   arms TimerKind.Pace at its departure time and leaves the output queue.
// - Only new data and repairs the congestion window governs are gated (output.ts): ACKs, window and
//   keepalive probes, the first fast retransmission and the tail loss probe go at once, and count
//   against the rate like any data. The retransmission timer is untouched.
// - Off engine-wide with config PACING 0 (for connections created afterwards) or per connection with
//   ConnOption PACING 0 (Opt.PACING_OFF).
import { Tcb, Opt, hasFlag, tcbCc, tcbRtt, tcbTimers } from "./tcb";
import { TimerKind, timerSet, timerClear } from "./timers";

/** Linux's tcp_pacing_ss_ratio and tcp_pacing_ca_ratio, as factors. */
const SLOW_START_RATIO: f64 = 2.0;
const AVOIDANCE_RATIO: f64 = 1.2;
/** The burst allowance in time: two ticks of the host's 1 ms timer. */
const BURST_US: f64 = 2000.0;
/** The burst allowance in segments, at least. */
const BURST_SEGMENTS: f64 = 2.0;

/** Microseconds one byte takes at the connection's pacing rate; 0 when the connection is not paced. */
export function paceUsPerByte(t: Tcb): f64 {
  if (hasFlag(t.options, Opt.PACING_OFF)) return 0;
  const rtt = tcbRtt(t);
  if (!rtt.hasSample || rtt.srttUs <= 0) return 0;
  const cc = tcbCc(t);
  let window = cc.cwnd;
  const flight = t.sndMax - t.sndUna;
  if (flight > window) window = flight;
  if (window == 0) return 0;
  const ratio = cc.cwnd < (cc.ssthresh >> 1) ? SLOW_START_RATIO : AVOIDANCE_RATIO;
  return <f64>rtt.srttUs / (ratio * <f64>window);
}

/**
 * Whether a paced segment may leave at `nowUs`. When it may not, the pacing timer is armed at the
 * departure time (the caller's reschedule puts it in the engine's queue) and the caller stops.
 */
export function paceAllows(t: Tcb, nowUs: i64): bool {
  const timers = tcbTimers(t);
  if (<f64>nowUs >= t.paceNextUs) {
    timerClear(timers, TimerKind.Pace);
    return true;
  }
  timerSet(timers, TimerKind.Pace, <i64>Math.ceil(t.paceNextUs));
  return false;
}

/** Charges `len` octets just sent at `nowUs` (paced or not) to the departure time of the next one. */
export function paceSent(t: Tcb, len: u32, mss: u32, nowUs: i64): void {
  const perByte = paceUsPerByte(t);
  if (perByte == 0) {
    t.paceNextUs = 0;
    return;
  }
  let burst = BURST_SEGMENTS * <f64>mss * perByte;
  if (burst < BURST_US) burst = BURST_US;
  let from = t.paceNextUs;
  const earliest = <f64>nowUs - burst;
  if (from < earliest) from = earliest;
  t.paceNextUs = from + <f64>len * perByte;
}
