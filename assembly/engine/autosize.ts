// Send and receive buffer auto-sizing: ring memory on demand. A connection starts with rings of config
// SEND_BUFFER / RECV_BUFFER bytes and grows them, to powers of two, up to SEND_BUFFER_MAX /
// RECV_BUFFER_MAX, while the storage of all rings together stays within BUFFER_BUDGET (past it growth
// is refused and counted). A size the user set (ConnOption SEND_BUFFER / RECV_BUFFER, Tcb.sndBuf /
// rcvBuf) is kept as set, as SO_SNDBUF / SO_RCVBUF turn Linux's auto-tuning off.
//
// Receive ("dynamic right-sizing"): once per round trip, the bytes the reader consumed in it, twice
// over, is the ring the connection needs: the window then covers a round trip of what the
// application actually takes plus room for the sender to grow, and a reader that does not keep up
// never earns a larger window. Linux's tcp_rcv_space_adjust likewise grows only when the rate read per
// round trip rises. A round trip is measured without the sender's help: a measurement
// ends when text arrives beyond where the reader stood at its start plus the ring's capacity.
// Every edge we had advertised by then lay within that span (the window is the ring's free space),
// so such text was sent after the peer heard an ACK from within the measurement, at least one round
// trip after it began; the shortest measurement is the estimate (rcvRttUs), and a longer one scales
// what was consumed in it down to one estimate. That measurement is a round trip only while the
// window limits the sender: one held back by its path's rate instead (a relay, a standing queue at a
// bottleneck) takes as long to fill the ring whatever the round trip, so the estimate becomes the
// ring's time to fill, every measurement reads "a whole ring per round trip", and the ring would
// double for a window the path cannot use, enlarging the burst the sender may put into that queue.
// With timestamps the estimate is never above the least round trip the echoes of arriving text
// showed (RFC 7323 4.1 measured at the receiver, as Linux's receiver does; the least, as a queue
// only adds to it), at least the timestamp clock's 1 ms. The ring grows only when the reader took at least
// three quarters of it in one estimated round trip (the window, not the reader, is the limit) and,
// after a first growth, when the rate it was read at rose by at least 7/4 since the last one: a
// window that doubles over a round trip that stays doubles the rate. Where the round trip is the time
// to process a window (two stacks in one process), a doubled ring only takes twice as long to pass:
// growing further buys no throughput, only cache misses. Nor does either ring grow past what carries
// SIZED_RATE over the round trip (the receiver's estimate, the sender's SRTT): a window above that
// buys nothing a host running this engine can use, and in one process, where a round trip is
// microseconds, it keeps both rings at their first size.
// The window scale offered in the SYN is chosen for the
// largest ring (RFC 7323 2.3), so the window can grow later; the advertised right edge only ever moves
// right as the ring grows (RFC 9293 3.8.6: the window should not shrink).
//
// Send: the ring holds what is in flight and what is queued behind it. Twice the least of cwnd, the
// largest window the peer offered and SIZED_RATE over SRTT keeps a window's worth queued while one is
// in flight, so the sender is never held back by its ring while congestion control and the peer
// allow more. It grows when the host finds the ring full (connSendSpace) and, while the host waits
// for room, on each ACK (cwnd may have grown).
import { seqGt } from "../wire/seq";
import { Tcb, sndRing, rcvRing, tcbCc, tcbRtt } from "./tcb";
import { Ring, ringCapacityFor, ringGrow, ringBytesHeld, RING_MAX_CAPACITY } from "./ring";
import { count, Counter } from "./counters";
import * as config from "./config";
import { tsNow } from "./emit";

/**
 * The fastest one connection is sized for, bytes per millisecond: 10 Gbit/s, above what a stack of
 * this engine moves on one connection on the machines it runs on (bench/RESULTS.md).
 */
const SIZED_RATE: u64 = 1_250_000;

/** Bytes of the send ring a connection starts with. */
export function sendBufferInitial(t: Tcb): u32 {
  return t.sndBuf != 0 ? t.sndBuf : config.sendBufferDefault;
}

/** Bytes of the receive ring a connection starts with (a SYN cookie's window is this, unscaled). */
export function recvBufferInitial(t: Tcb): u32 {
  return t.rcvBuf != 0 ? t.rcvBuf : config.recvBufferDefault;
}

/** The largest power of two at or below `bytes` (at least 1), within a ring's bounds. */
function capacityAtMost(bytes: u32): u32 {
  if (bytes > RING_MAX_CAPACITY) return RING_MAX_CAPACITY;
  return bytes <= 1 ? 1 : <u32>1 << (31 - clz(bytes));
}

/** The largest capacity auto-sizing may grow `r` to: its own when the user set the size. */
function ceiling(r: Ring, userSet: u32, max: u32): u32 {
  if (userSet != 0) return r.cap;
  const most = capacityAtMost(max);
  return most > r.cap ? most : r.cap;
}

/**
 * Our window scale (RFC 7323 2.3): the smallest shift that lets the window field say the whole of
 * the largest receive ring the connection may grow to (set before the SYN; ring capacities are set).
 */
export function windowShift(t: Tcb): u32 {
  const most = ceiling(rcvRing(t), t.rcvBuf, config.recvBufferMax);
  let shift: u32 = 0;
  while (shift < 14 && (most >> shift) > 0xffff) shift++;
  return shift;
}

/**
 * Grows `r` to the power of two at or above `want`, bounded by `most`, when that is larger than it
 * is; within the budget. True when it grew.
 */
function growTo(r: Ring, want: u64, most: u32): bool {
  if (want <= <u64>r.cap || r.cap >= most) return false;
  let cap = want >= <u64>most ? most : ringCapacityFor(<u32>want);
  if (cap > most) cap = most;
  if (cap <= r.cap) return false;
  // Storage not taken yet is not held: only the new capacity would count then.
  const held = ringBytesHeld() - (r.buf != 0 ? <u64>r.cap : 0) + <u64>cap;
  if (held > <u64>config.bufferBudget || !ringGrow(r, cap)) {
    count(Counter.BUFFER_GROWTH_REFUSED);
    return false;
  }
  return true;
}

/** A measurement starts: at ESTABLISHED, and each time one ends. */
export function rcvSpaceStart(t: Tcb, nowUs: i64): void {
  t.rcvSpaceSeq = t.rcvNxt - rcvRing(t).len;
  t.rcvSpaceUs = <u32>nowUs;
}

/**
 * Arriving text echoed `tsEcr` (RFC 7323 3.2): the time since we sent that TSval is a round trip at
 * least, plus any queue the text waited in; the least such is the path's (rcvRttUs caps at it).
 */
export function rcvEchoRtt(t: Tcb, tsEcr: u32, nowUs: i64): void {
  if (tsEcr == 0) return;
  const ms = <i32>(tsNow(t, nowUs) - tsEcr);
  if (ms < 0) return;
  // The timestamp clock ticks in milliseconds: 0 says "under one".
  const us: u32 = ms == 0 ? 1000 : <u32>ms * 1000;
  if (t.rcvEchoRttUs == 0 || us < t.rcvEchoRttUs) t.rcvEchoRttUs = us;
}

/**
 * In-order text moved RCV.NXT (receive.ts): when it passed the end of the measurement, take the
 * round-trip sample and grow the receive ring to twice what the reader consumed per round trip.
 */
export function rcvSpaceAdjust(t: Tcb, nowUs: i64): void {
  const r = rcvRing(t);
  if (!seqGt(t.rcvNxt, t.rcvSpaceSeq + r.cap)) return;
  // The low 32 bits wrap every 71 minutes; a measurement that long ends on its first arrival anyway.
  let elapsed = <u32>nowUs - t.rcvSpaceUs;
  if (elapsed == 0) elapsed = 1;
  if (t.rcvRttUs == 0 || elapsed < t.rcvRttUs) t.rcvRttUs = elapsed;
  let rttUs = t.rcvRttUs;
  if (t.rcvEchoRttUs != 0 && t.rcvEchoRttUs < rttUs) rttUs = t.rcvEchoRttUs;
  const consumed = t.rcvNxt - r.len - t.rcvSpaceSeq;
  const perRtt = <u64>consumed * <u64>rttUs / <u64>elapsed;
  // The window field cannot say more than 0xffff << shift: a larger ring would never be offered.
  const shown = <u32>1 << (16 + t.rcvShift);
  let most = ceiling(r, t.rcvBuf, config.recvBufferMax);
  if (shown < most) most = shown;
  // Bytes per millisecond.
  let rate = <u64>consumed * 1000 / <u64>elapsed;
  if (rate > <u64>u32.MAX_VALUE) rate = u32.MAX_VALUE;
  const rose = t.rcvGrowRate == 0 || rate * 4 >= <u64>t.rcvGrowRate * 7;
  const slow = <u64>r.cap * 1000 < SIZED_RATE * <u64>rttUs;
  if (perRtt * 4 >= <u64>r.cap * 3 && rose && slow && growTo(r, perRtt * 2, most)) {
    count(Counter.RECV_BUFFER_GROWN);
    t.rcvGrowRate = <u32>rate;
  }
  rcvSpaceStart(t, nowUs);
}

/** The send ring is full and the host wants room, or an ACK arrived while it waits for some. */
export function sndSpaceAdjust(t: Tcb): void {
  const r = sndRing(t);
  const cwnd = tcbCc(t).cwnd;
  let window = <u64>(cwnd < t.maxSndWnd ? cwnd : t.maxSndWnd);
  const rtt = tcbRtt(t);
  if (rtt.hasSample) {
    const sized = SIZED_RATE * <u64>rtt.srttUs / 1000;
    if (sized < window) window = sized;
  }
  if (growTo(r, window * 2, ceiling(r, t.sndBuf, config.sendBufferMax))) count(Counter.SEND_BUFFER_GROWN);
}
