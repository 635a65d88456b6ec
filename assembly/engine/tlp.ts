// Tail Loss Probe (RFC 8985 section 7). When the last segments of a flight, or all the ACKs for them,
// are lost, too few duplicates come back for fast recovery and only the RTO (200 ms or more) would
// repair it. Instead, a probe timeout (PTO) of about two round trips sends one segment, so that the
// receiver answers with an ACK whose SACK blocks start recovery (RFC 6675 as usual). Used only with
// SACK, outside recovery and RTO backoff.
//
// The probe (RFC 8985 7.3, output.ts lossProbe) is a segment of data not sent before when there is
// some and the peer's window takes it, allowed past a full cwnd; only without one is the last segment
// sent again. New data costs nothing when the ACKs were merely late, which on a loaded host is what
// most PTOs find: it is no retransmission and, when its ACK comes, ends the episode with no question
// of loss (RFC 8985 7.4, TLP.is_retrans false). Beyond a lost tail, its SACK starts recovery.
//
// The PTO lives in the Retransmit timer slot (Snd.TLP_ARMED says which one it holds, as Linux's
// ICSK_TIME_LOSS_PROBE shares the retransmit timer); after the probe the RTO is armed again (RFC 8985
// 7.3). One probe at a time: Snd.TLP_OUT until the episode ends (RFC 8985 7.4; tlpOnAck, tlpOnDupAck).
import { Segment } from "../wire/packet";
import { seqLt } from "../wire/seq";
import { Tcb, State, Snd, Life, Due, Opt, hasFlag, tcbTimers, tcbRtt, tcbCc, isSynchronized } from "./tcb";
import { TimerKind, NEVER, timerSet, timerGet } from "./timers";
import { rttRto } from "./rtt";
import { ccOnLossRepaired } from "./congestion";
import { count, Counter } from "./counters";
import { wantOutput } from "./conn";
import { sendMss } from "./emit";
import { dsackBlock } from "./undo";

// (left, right) out-parameter of dsackBlock.
const dsackOut = memory.data(8, 4);

/** RFC 8985 7.2 WCDelAckT: the longest a receiver may delay the ACK of a lone segment. */
const WORST_CASE_DELAYED_ACK_US: i64 = 200_000;
/** PTO floor: two round trips of well under a millisecond are shorter than a host's scheduling jitter. */
const PTO_MIN_US: i64 = 10_000;
/** RFC 8985 7.2: without an RTT sample the PTO is one second. */
const PTO_NO_SAMPLE_US: i64 = 1_000_000;

/** Arms the PTO after new data went out or an ACK advanced SND.UNA (RFC 8985 7.2), if TLP applies. */
export function tlpArm(t: Tcb, nowUs: i64): void {
  if (!hasFlag(t.options, Opt.SACK_OK) || hasFlag(t.sender, Snd.TLP_OUT) || hasFlag(t.life, Life.SYN_UNACKED)) return;
  if (!isSynchronized(t.state) || t.state == State.TIME_WAIT) return;
  if (t.sndUna == t.sndMax || t.retries != 0 || tcbCc(t).inRecovery) return;
  const rtt = tcbRtt(t);
  let pto: i64;
  if (rtt.hasSample) {
    pto = 2 * rtt.srttUs;
    if (pto < PTO_MIN_US) pto = PTO_MIN_US;
    // A lone segment may wait for the receiver's delayed ACK.
    if (t.sndMax - t.sndUna <= sendMss(t)) pto += WORST_CASE_DELAYED_ACK_US;
  } else {
    pto = PTO_NO_SAMPLE_US;
  }
  // An RTO due before the PTO gives the probe its time (RFC 8985 7.2, TLP_calc_PTO): the tail is
  // probed then instead of timing out. The RTO is the one pending, or one from now.
  const timers = tcbTimers(t);
  const pending = timerGet(timers, TimerKind.Retransmit);
  const rtoAt = pending != NEVER && !hasFlag(t.sender, Snd.TLP_ARMED) ? pending : nowUs + rttRto(rtt);
  let at = nowUs + pto;
  if (rtoAt < at) at = rtoAt;
  timerSet(timers, TimerKind.Retransmit, at);
  t.sender |= Snd.TLP_ARMED;
}

/**
 * The Retransmit timer fired holding a PTO (Snd.TLP_ARMED, cleared by the caller): the probe is due at
 * the next output (RFC 8985 7.3), and the RTO is armed behind it. In recovery, or with nothing
 * outstanding, only the RTO is armed again.
 */
export function tlpTimeout(t: Tcb, nowUs: i64): void {
  if (t.sndUna == t.sndMax) return;
  timerSet(tcbTimers(t), TimerKind.Retransmit, nowUs + rttRto(tcbRtt(t)));
  if (tcbCc(t).inRecovery || hasFlag(t.sender, Snd.TLP_OUT)) return;
  t.due |= Due.TLP_SEND;
  wantOutput(t);
}

/**
 * The probe went out (output.ts): new data, or with `again` the last segment again. Its episode runs
 * until the ACKs tell whether it was needed (RFC 8985 7.3, TLP.end_seq and TLP.is_retrans).
 */
export function tlpSent(t: Tcb, again: bool): void {
  t.sender |= Snd.TLP_OUT;
  if (again) t.sender |= Snd.TLP_RETRANS;
  else t.sender &= ~Snd.TLP_RETRANS;
  t.tlpEndSeq = t.sndMax;
  count(Counter.TAIL_LOSS_PROBES);
}

/**
 * An ACK that advanced SND.UNA, for the probe's episode (RFC 8985 7.4.2, as Linux's
 * tcp_process_tlp_ack). A probe of new data ends it once acknowledged: nothing was sent twice, so
 * nothing is left to learn (RFC 8985 7.4, TLP.is_retrans false). A D-SACK ends it with no loss. An
 * ACK beyond tlpEndSeq without one means the probe repaired a real loss, which gets the congestion response of one loss. An ACK reaching exactly
 * tlpEndSeq decides nothing: it may be the late ACK of the original, with the probe's D-SACK (or its
 * pure duplicate ACK, tlpOnDupAck) still to come, so the episode stays open.
 */
export function tlpOnAck(t: Tcb, seg: Segment, flightBefore: u32): void {
  if (!hasFlag(t.sender, Snd.TLP_OUT) || seqLt(seg.ack, t.tlpEndSeq)) return;
  if (!hasFlag(t.sender, Snd.TLP_RETRANS) || dsackBlock(seg, dsackOut)) {
    t.sender &= ~Snd.TLP_OUT;
    return;
  }
  if (seg.ack == t.tlpEndSeq) return;
  t.sender &= ~Snd.TLP_OUT;
  ccOnLossRepaired(tcbCc(t), flightBefore);
  count(Counter.CWND_REDUCTIONS);
}

/**
 * An ACK that did not advance SND.UNA, at the probe's end: with a D-SACK, or as a pure duplicate that
 * SACKs nothing new, both the original and the probe arrived, so no loss (RFC 8985 7.4.2).
 */
export function tlpOnDupAck(t: Tcb, seg: Segment, sackedNew: bool): void {
  if (!hasFlag(t.sender, Snd.TLP_OUT) || !hasFlag(t.sender, Snd.TLP_RETRANS) || seg.ack != t.tlpEndSeq) return;
  if (dsackBlock(seg, dsackOut) || (!sackedNew && seg.payloadLen == 0)) t.sender &= ~Snd.TLP_OUT;
}
