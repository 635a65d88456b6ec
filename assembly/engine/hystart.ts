// HyStart++ (RFC 9406): the initial slow start leaves early when the round trip starts to rise, before
// the queue it is filling (a relay's socket buffer, a TUN's transmit queue) overflows and costs a
// window of losses. It runs in front of every congestion control's slow start (congestion.ts), only
// while ssthresh still has its initial value (RFC 9406 4.3: later slow starts end at the ssthresh a
// loss found).
// - Rounds (4.2): a round ends with the ACK that covers SND.NXT as it was when the round began; each
//   keeps the minimum of its RTT samples (one per ACK that advances SND.UNA: the timestamp echo, or
//   Karn's timing without timestamps).
// - Slow start to Conservative Slow Start (CSS): once a round has N_RTT_SAMPLE samples and both it and
//   the last round have a minimum, a minimum at least RttThresh = clamp(lastRoundMinRTT / 8, 4 ms,
//   16 ms) above the last round's ends slow start; that minimum is CSS's baseline.
// - CSS grows cwnd by a quarter of slow start's rate (congestion.ts). A round whose minimum, over
//   N_RTT_SAMPLE samples, falls below the baseline shows the rise was not a queue: slow start resumes.
//   After CSS_ROUNDS round ends in CSS (the round it began in counts) ssthresh = cwnd and congestion
//   avoidance takes over. A loss in either ends both (congestion.ts sets ssthresh).
// - Only a sender that kept up its flight can show that. A lower minimum in CSS sends it back to slow
//   start only if no ACK since CSS began found less outstanding than the least the baseline's round
//   had. RFC 9406 4.3 expects an application-limited sender, with less than the path holds in flight,
//   to see smaller RTT samples and return to slow start, and holds that harmless while cwnd does not
//   outgrow what is sent. A sender that falls behind its window for a moment (a host waiting for a
//   CPU) lets the queue drain; the window it then sends at once, in a burst or paced, meets the empty
//   queue first, and its round's minimum is low for that reason alone. Resumed, slow start grows a
//   window that was never sent whole; on a path whose round trip jumps with CPU scheduling this can
//   repeat until the window, sent at last, overflows the queue slow start should have found (a UDP
//   relay's socket buffer). A window-limited sender keeps at least the baseline round's flight (cwnd
//   only grows in CSS), so the RFC's jitter check is unchanged for it.
// - L, the most one ACK may add in slow start, stays RFC 3465's 2 SMSS (congestion.ts says why).
import { Congestion, SSTHRESH_INITIAL } from "./congestion";
import { seqLt } from "../wire/seq";

export const N_RTT_SAMPLE: u32 = 8;
export const CSS_ROUNDS: u32 = 5;
const MIN_RTT_THRESH_US: i64 = 4000;
const MAX_RTT_THRESH_US: i64 = 16000;
const MIN_RTT_DIVISOR: i64 = 8;
/** No minimum yet (RFC 9406's infinity). */
const NONE: i64 = -1;

/** A new connection's HyStart++ state, `on` from configuration. */
export function hystartInit(c: Congestion, on: bool): void {
  c.hsOn = on;
  c.hsCss = false;
  c.hsRoundOpen = false;
  c.hsCssRounds = 0;
  c.hsSamples = 0;
  c.hsWindowEnd = 0;
  c.hsLastRoundMinUs = NONE;
  c.hsRoundMinUs = NONE;
  c.hsCssBaselineUs = NONE;
}

@inline function below(a: i64, b: i64): bool {
  return a != NONE && (b == NONE || a < b);
}

/** Starts a round: its end is SND.NXT now, its minimum RTT begins anew (RFC 9406 4.2). */
function roundStart(c: Congestion, sndNxt: u32): void {
  c.hsRoundOpen = true;
  c.hsLastRoundMinUs = c.hsRoundMinUs;
  c.hsRoundMinUs = NONE;
  c.hsRoundMinFlight = u32.MAX_VALUE;
  c.hsSamples = 0;
  c.hsWindowEnd = sndNxt;
}

/**
 * An ACK that advanced SND.UNA to `ack`, outside recovery, before its growth (congestion.ts ccOnAck):
 * `sndNxt` is SND.NXT now, `rttUs` this ACK's RTT sample or -1, `flightBefore` the bytes outstanding
 * when it arrived. The sample counts in the round whose data the ACK acknowledges: the ACK that ends a
 * round is that round's last sample.
 */
export function hystartOnAck(c: Congestion, ack: u32, sndNxt: u32, rttUs: i64, flightBefore: u32): void {
  if (!c.hsOn || c.ssthresh != SSTHRESH_INITIAL || c.cwnd >= c.ssthresh) {
    c.hsCss = false;
    return;
  }
  if (!c.hsRoundOpen) roundStart(c, sndNxt);
  if (flightBefore < c.hsRoundMinFlight) c.hsRoundMinFlight = flightBefore;
  if (c.hsCss && flightBefore < c.hsCssBaselineFlight) c.hsCssFellBehind = true;
  if (rttUs >= 0) sample(c, rttUs);
  if (seqLt(ack, c.hsWindowEnd)) return;
  if (c.hsCss) {
    c.hsCssRounds++;
    if (c.hsCssRounds >= CSS_ROUNDS) {
      // RFC 9406 4.2: CSS_ROUNDS rounds without a return to slow start: congestion avoidance.
      c.ssthresh = c.cwnd;
      c.hsCss = false;
      return;
    }
  }
  roundStart(c, sndNxt);
}

function sample(c: Congestion, rttUs: i64): void {
  if (below(rttUs, c.hsRoundMinUs)) c.hsRoundMinUs = rttUs;
  c.hsSamples++;
  if (c.hsSamples < N_RTT_SAMPLE) return;
  if (c.hsCss) {
    if (below(c.hsRoundMinUs, c.hsCssBaselineUs) && !c.hsCssFellBehind) {
      // As much in flight all along and a shorter round trip: the rise was jitter, not a queue. Back to
      // slow start.
      c.hsCss = false;
      c.hsCssBaselineUs = NONE;
    }
    return;
  }
  if (c.hsLastRoundMinUs == NONE || c.hsRoundMinUs == NONE) return;
  let thresh = c.hsLastRoundMinUs / MIN_RTT_DIVISOR;
  if (thresh < MIN_RTT_THRESH_US) thresh = MIN_RTT_THRESH_US;
  if (thresh > MAX_RTT_THRESH_US) thresh = MAX_RTT_THRESH_US;
  if (c.hsRoundMinUs >= c.hsLastRoundMinUs + thresh) {
    c.hsCssBaselineUs = c.hsRoundMinUs;
    c.hsCssBaselineFlight = c.hsRoundMinFlight;
    c.hsCssFellBehind = false;
    c.hsCss = true;
    c.hsCssRounds = 0;
  }
}
