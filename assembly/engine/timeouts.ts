// Timeouts (RFC 9293 3.10.8): what each timer kind does when it fires. Deadlines live in each TCB's
// TimerTable (timers.ts); the engine-wide queue hands us the connections whose earliest deadline
// passed. A timer that fires with nothing to do is a no-op, so a spurious timers() call is harmless.
import { Tcb, State, Snd, Life, Due, Opt, hasFlag, tcbTimers, tcbRtt, tcbCc, tcbSb, sndRing, tcbAtSlot,
  isSynchronized } from "./tcb";
import { TimerKind, NEVER, timerGet, timerClear, timerSet, tqPopExpired } from "./timers";
import { rttBackoff } from "./rtt";
import { ccOnRto } from "./congestion";
import { sbForgetSacks } from "./scoreboard";
import { rackTimeout, rackOnRto } from "./rack";
import { undoBegin } from "./undo";
import { Outcome } from "./errors";
import { count, Counter } from "./counters";
import * as config from "./config";
import { connectionDone, reschedule, wantOutput } from "./conn";
import { persistInterval } from "./output";
import { tsNow } from "./emit";
import { tlpTimeout } from "./tlp";

/** Runs every timer due at `nowUs`. */
export function timersRun(nowUs: i64): void {
  for (;;) {
    const slot = tqPopExpired(nowUs);
    if (slot < 0) return;
    const t = tcbAtSlot(<u32>slot);
    if (t == null) continue;
    if (runTimers(t, nowUs)) reschedule(t);
  }
}

@inline function due(t: Tcb, kind: TimerKind, nowUs: i64): bool {
  const timers = tcbTimers(t);
  const at = timerGet(timers, kind);
  if (at > nowUs) return false;
  timerClear(timers, kind);
  return true;
}

/** Returns false when the connection ended (and may have been freed). */
function runTimers(t: Tcb, nowUs: i64): bool {
  if (due(t, TimerKind.TimeWait, nowUs)) {
    // The end of an orphaned FIN-WAIT-2 (no host, no FIN; Linux's tcp_fin_timeout). TIME-WAIT itself
    // waits in timewait.ts.
    connectionDone(t, Outcome.CLOSED);
    return false;
  }
  if (due(t, TimerKind.UserTimeout, nowUs)) {
    if (t.sndUna != t.sndMax) {
      // RFC 9293 3.10.8 user timeout: data unacknowledged for too long.
      count(Counter.TIMEOUTS);
      connectionDone(t, Outcome.TIMED_OUT);
      return false;
    }
  }
  if (due(t, TimerKind.Reorder, nowUs)) rackTimeout(t, nowUs);
  if (due(t, TimerKind.Retransmit, nowUs)) {
    if (!retransmitTimeout(t, nowUs)) return false;
  }
  if (due(t, TimerKind.Persist, nowUs)) {
    if (!persistTimeout(t, nowUs)) return false;
  }
  if (due(t, TimerKind.Keepalive, nowUs)) {
    if (!keepaliveTimeout(t, nowUs)) return false;
  }
  // The departure time of a paced segment came (pacing.ts): output sends it.
  if (due(t, TimerKind.Pace, nowUs)) wantOutput(t);
  if (due(t, TimerKind.DelayedAck, nowUs)) {
    t.due |= Due.ACK_NOW;
    wantOutput(t);
  }
  return true;
}

/** RFC 6298 5.4-5.7 with RFC 5681 3.1 (loss window) and RFC 9293 3.8.3 (R2: give up). */
function retransmitTimeout(t: Tcb, nowUs: i64): bool {
  if (hasFlag(t.sender, Snd.TLP_ARMED)) {
    t.sender &= ~Snd.TLP_ARMED;
    tlpTimeout(t, nowUs);
    return true;
  }
  const s = t.state;
  // Our SYN unanswered; with SYN_UNACKED (CLOSE in SYN-RECEIVED) the FIN follows it again.
  if (s == State.SYN_SENT || s == State.SYN_RECEIVED || hasFlag(t.life, Life.SYN_UNACKED)) {
    t.retries++;
    if (t.retries > config.synRetries) {
      count(Counter.TIMEOUTS);
      // A passive half-open connection just goes away (RFC 4987 3.2 caps its SYN,ACK retries).
      connectionDone(t, hasFlag(t.life, Life.PASSIVE) ? Outcome.CLOSED : Outcome.TIMED_OUT);
      return false;
    }
    rttBackoff(tcbRtt(t));
    t.due |= Due.NEED_SYN;
    wantOutput(t);
    return true;
  }
  if (!isSynchronized(s) || t.sndUna == t.sndMax) return true;
  t.retries++;
  if (t.retries > config.dataRetries) {
    count(Counter.TIMEOUTS);
    connectionDone(t, Outcome.TIMED_OUT);
    return false;
  }
  rttBackoff(tcbRtt(t));
  const cc = tcbCc(t);
  // The first timeout of an episode may prove spurious (undo.ts keeps what it reduces).
  if (t.retries == 1) undoBegin(t, true, nowUs);
  ccOnRto(cc, t.sndMax - t.sndUna);
  count(Counter.CWND_REDUCTIONS);
  // Go back to SND.UNA: everything after it is sent again as the window allows. The receiver may
  // have reneged on SACKed data, so SACKs and loss marks are forgotten (RFC 2018 8, RFC 6675 5.1);
  // the transmit times stay for RACK. No fast recovery until the data sent before the timeout is
  // acknowledged (RFC 6582 3.2 step 1's "after a retransmit timeout", RFC 6675 5.1).
  t.sndNxt = t.sndUna;
  if (hasFlag(t.options, Opt.SACK_OK)) {
    sbForgetSacks(tcbSb(t));
    cc.recover = t.sndMax;
    rackOnRto(t);
  }
  // The receiver may hold the original and echo its TSval to the retransmission (its ACK was lost):
  // such an echo measures this timeout, not the path (ack.ts takes no sample from it).
  t.rtoTsVal = tsNow(t, nowUs);
  t.sender |= Snd.RTO_TS;
  t.dupAcks = 0;
  t.limitedTransmitBytes = 0;
  t.sender &= ~(Snd.RTT_TIMING | Snd.TLP_OUT);
  t.due &= ~(Due.RTX_ONE | Due.TLP_SEND);
  wantOutput(t);
  return true;
}

/** RFC 9293 3.8.6.1: probe a zero window, backing off; give up after config PERSIST_TOTAL_MS. */
function persistTimeout(t: Tcb, nowUs: i64): bool {
  const waiting = sndRing(t).len > t.sndNxt - t.sndUna;
  if (!isSynchronized(t.state) || !waiting || t.sndNxt != t.sndUna) {
    t.persistBackoff = 0;
    return true;
  }
  if (t.sndWnd == 0) {
    if (config.persistTotalUs > 0 && nowUs - t.persistStartUs >= config.persistTotalUs) {
      count(Counter.TIMEOUTS);
      connectionDone(t, Outcome.TIMED_OUT);
      return false;
    }
    t.due |= Due.PROBE_NOW;
    count(Counter.ZERO_WINDOW_PROBES);
    t.persistBackoff++;
    timerSet(tcbTimers(t), TimerKind.Persist, nowUs + persistInterval(t));
  } else {
    // The sender SWS override timeout (RFC 9293 3.8.6.2.1): send what the window allows.
    t.due |= Due.FORCE_SEND;
    t.persistBackoff = 0;
  }
  wantOutput(t);
  return true;
}

/** RFC 1122 4.2.3.6 / RFC 9293 3.8.4: probe an idle connection; ETIMEDOUT after the probe count. */
function keepaliveTimeout(t: Tcb, nowUs: i64): bool {
  if (!hasFlag(t.options, Opt.KEEPALIVE) || !isSynchronized(t.state) || t.state == State.TIME_WAIT) return true;
  const timers = tcbTimers(t);
  // Only an idle connection is probed: outstanding data has the retransmission timer.
  if (t.sndUna != t.sndMax || sndRing(t).len != 0) {
    timerSet(timers, TimerKind.Keepalive, nowUs + t.keepIdleUs);
    return true;
  }
  const idleUntil = t.lastRecvUs + (t.keepProbes == 0 ? t.keepIdleUs : t.keepIntervalUs);
  if (idleUntil > nowUs && t.keepProbes == 0) {
    timerSet(timers, TimerKind.Keepalive, idleUntil);
    return true;
  }
  if (t.keepProbes >= t.keepCount) {
    count(Counter.TIMEOUTS);
    connectionDone(t, Outcome.TIMED_OUT);
    return false;
  }
  t.keepProbes++;
  count(Counter.KEEPALIVE_PROBES);
  t.due |= Due.PROBE_NOW;
  timerSet(timers, TimerKind.Keepalive, nowUs + t.keepIntervalUs);
  wantOutput(t);
  return true;
}

/** (Re)arms keepalive after activity: called for every segment that reaches a connection. */
export function keepaliveTouch(t: Tcb, nowUs: i64): void {
  t.lastRecvUs = nowUs;
  t.keepProbes = 0;
  if (hasFlag(t.options, Opt.KEEPALIVE) && isSynchronized(t.state)) {
    const timers = tcbTimers(t);
    if (timerGet(timers, TimerKind.Keepalive) == NEVER) timerSet(timers, TimerKind.Keepalive, nowUs + t.keepIdleUs);
  }
}
