// Tail Loss Probe (RFC 8985 section 7). When the last segments of a flight, or all the ACKs for them,
// are lost, too few duplicates come back for fast recovery and only the RTO (200 ms or more) would
// repair it. Instead, a probe timeout (PTO) of about two round trips sends the last segment again, so
// the receiver answers with an ACK whose SACK blocks start recovery (RFC 6675 as usual). Used only
// with SACK, outside recovery and RTO backoff.
//
// RFC 8985 7.3 prefers a segment of new data as the probe when the windows allow it. We always send
// the last segment again: a duplicate gets an immediate ACK (with a D-SACK, RFC 2883) from every
// receiver, while new data beyond a hole relies on the receiver ACKing out-of-order data at once
// (RFC 5681 4.2, a SHOULD). Linux compresses such SACKs (tcp_comp_sack_delay_ns), and in the interop
// captures (test/interop/lossy.test.ts) its kernel left three new-data segments beyond a hole
// unanswered for 200 ms, until our RTO; the retransmitted probe was answered within a round trip.
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
  // PTO = min(PTO, RTO): a pending RTO that comes first stays.
  const timers = tcbTimers(t);
  const pending = timerGet(timers, TimerKind.Retransmit);
  if (pto >= rttRto(rtt) || (pending != NEVER && !hasFlag(t.sender, Snd.TLP_ARMED) && pending <= nowUs + pto)) return;
  timerSet(timers, TimerKind.Retransmit, nowUs + pto);
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

/** The probe went out (output.ts). */
export function tlpSent(t: Tcb): void {
  t.sender |= Snd.TLP_OUT;
  t.tlpEndSeq = t.sndMax;
}

/**
 * An ACK that advanced SND.UNA, for the probe's episode (RFC 8985 7.4.2, as Linux's
 * tcp_process_tlp_ack). A D-SACK ends it with no loss. An ACK beyond tlpEndSeq without one means the
 * probe repaired a real loss, which gets the congestion response of one loss. An ACK reaching exactly
 * tlpEndSeq decides nothing: it may be the late ACK of the original, with the probe's D-SACK (or its
 * pure duplicate ACK, tlpOnDupAck) still to come, so the episode stays open.
 */
export function tlpOnAck(t: Tcb, seg: Segment, flightBefore: u32): void {
  if (!hasFlag(t.sender, Snd.TLP_OUT) || seqLt(seg.ack, t.tlpEndSeq)) return;
  if (dsackBlock(seg, dsackOut)) {
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
  if (!hasFlag(t.sender, Snd.TLP_OUT) || seg.ack != t.tlpEndSeq) return;
  if (dsackBlock(seg, dsackOut) || (!sackedNew && seg.payloadLen == 0)) t.sender &= ~Snd.TLP_OUT;
}
