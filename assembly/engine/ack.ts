// The sender's side of an arriving ACK (RFC 9293 3.10.7.4, fifth check, synchronized states):
// SND.UNA and the send ring, RTT (RFC 7323 4.1 with timestamps, RFC 6298 with Karn's rule without),
// loss detection and recovery: with SACK, RACK (RFC 8985 6, rack.ts) marks losses and SACK recovery
// (RFC 6675) repairs them, a spurious one undone (undo.ts); without SACK, duplicate ACKs, fast
// retransmit (RFC 5681 3.2) and NewReno (RFC 6582). Congestion control (congestion.ts), the
// retransmission timer (RFC 6298 5) and the send window.
import { Segment } from "../wire/packet";
import { seqLt, seqLe, seqGt } from "../wire/seq";
import { Tcb, hasFlag, Snd, Life, Due, Opt, sndRing, tcbTimers, tcbRtt, tcbCc, tcbSb } from "./tcb";
import { ringConsume, ringSpace } from "./ring";
import { TimerKind, timerSet, timerClear } from "./timers";
import { rttSample, rttRto } from "./rtt";
import { ccOnAckAt, ccOnEnterRecovery, ccOnDupAckInRecovery, ccOnPartialAck, ccOnExitRecovery,
  ccIsFullAck } from "./congestion";
import { sbUpdate, DUP_THRESH } from "./scoreboard";
import { rackOnAck, rackOnLoss, rackOnRecoveryExit } from "./rack";
import { undoOnAck, undoOnEifel, undoOnMarksDelivered } from "./undo";
import { EventType } from "./events";
import { tlpArm, tlpOnAck, tlpOnDupAck } from "./tlp";
import { count, Counter } from "./counters";
import { wantOutput, notify } from "./conn";
import { FLG_FIN, FLG_SYN } from "../wire/tcp";
import { tsNow } from "./emit";
import { sndSpaceAdjust } from "./autosize";
import { hystartOnAck } from "./hystart";


/** Fifth check, synchronized states: SND.UNA, SND.WND, RTT, loss recovery and congestion control. */
export function processAck(t: Tcb, seg: Segment, nowUs: i64): void {
  const ack = seg.ack;
  const cc = tcbCc(t);
  const timers = tcbTimers(t);
  const oldWnd = t.sndWnd;
  const oldUna = t.sndUna;
  const segWnd = <u32>seg.window << t.sndShift;

  const sack = hasFlag(t.options, Opt.SACK_OK);
  // RFC 6675 5: every ACK updates the scoreboard. What the cumulative ACK covers leaves it, and blocks
  // are taken above the cumulative ACK this segment carries (HighACK after it), so only octets
  // between HighACK and HighData that were neither acknowledged nor SACKed count as new; the runs
  // newly delivered either way are listed for RACK (RFC 8985 6.2).
  let sackedNew = false;
  if (sack) {
    const highAck = seqGt(ack, t.sndUna) ? ack : t.sndUna;
    sackedNew = sbUpdate(tcbSb(t), highAck, t.sndMax, changetype<usize>(seg) + offsetof<Segment>("sackL0"), seg.sackCount) != 0;
  }

  if (seqGt(ack, t.sndUna)) {
    const acked = ack - t.sndUna;
    const flightBefore = t.sndMax - t.sndUna;
    // Our SYN was acknowledged before this (SYN-SENT / SYN-RECEIVED): only data and the FIN remain.
    let dataAcked = acked;
    if (hasFlag(t.life, Life.FIN_SENT) && seqGt(ack, t.finSeq)) dataAcked--;
    const ring = sndRing(t);
    ringConsume(ring, dataAcked < ring.len ? dataAcked : ring.len);
    t.sndUna = ack;
    t.progressUs = nowUs;
    if (seqLt(t.sndNxt, ack)) t.sndNxt = ack;
    t.retries = 0;
    t.dupAcks = 0;
    t.limitedTransmitBytes = 0;
    // RTT (RFC 7323 4.1, 3.2): with timestamps, a sample from each ACK that advances SND.UNA, from
    // the TSval it echoes; otherwise Karn's timing (RFC 6298 3). After a retransmission timeout the
    // receiver may answer our retransmitted duplicate echoing the original's TSval (it was received,
    // the ACK lost; RFC 7323 4.3 leaves TS.Recent alone for a segment outside the window): that
    // measures our RTO wait, and taking it would feed the backed-off RTO back into SRTT until RTO
    // sticks at its maximum. Such echoes, older than the retransmission, give no sample (Karn's rule
    // with the timestamp as the transmission's name), and show the timeout was spurious (RFC 3522
    // Eifel detection; undo.ts).
    let rttUs: i64 = -1;
    if (hasFlag(t.options, Opt.TS_OK) && seg.hasTimestamps && seg.tsEcr != 0) {
      const fresh = !hasFlag(t.sender, Snd.RTO_TS) || <i32>(seg.tsEcr - t.rtoTsVal) >= 0;
      if (fresh) {
        t.sender &= ~Snd.RTO_TS;
        const ms = <i32>(tsNow(t, nowUs) - seg.tsEcr);
        if (ms >= 0) {
          rttUs = <i64>ms * 1000;
          rttSample(tcbRtt(t), rttUs);
        }
      } else {
        undoOnEifel(t, seg.tsEcr);
      }
    } else if (hasFlag(t.sender, Snd.RTT_TIMING) && seqGt(ack, t.rttSeq)) {
      rttUs = nowUs - t.rttStartUs;
      rttSample(tcbRtt(t), rttUs);
      t.sender &= ~Snd.RTT_TIMING;
    }
    if (cc.inRecovery) {
      if (ccIsFullAck(cc, ack)) {
        ccOnExitRecovery(cc, t.sndMax - t.sndUna);
        if (sack) rackOnRecoveryExit(t);
      } else if (!sack) {
        // RFC 6582 3.2 step 5: a partial ACK retransmits the next hole at once.
        ccOnPartialAck(cc, acked);
        t.due |= Due.RTX_ONE;
      }
    } else {
      // HyStart++ (RFC 9406) sees the round and the RTT before slow start grows the window.
      hystartOnAck(cc, ack, t.sndNxt, rttUs, flightBefore);
      // CUBIC's window is a function of the time since the loss and of the round trip (RFC 9438 4.2).
      ccOnAckAt(cc, dataAcked, flightBefore, nowUs, tcbRtt(t).srttUs);
    }
    // RFC 6298 5.2 / 5.3; the tail loss probe timeout may take the timer's place (RFC 8985 7.2).
    tlpOnAck(t, seg, flightBefore);
    t.sender &= ~Snd.TLP_ARMED;
    if (t.sndUna == t.sndMax) {
      timerClear(timers, TimerKind.Retransmit);
      timerClear(timers, TimerKind.UserTimeout);
    } else {
      timerSet(timers, TimerKind.Retransmit, nowUs + rttRto(tcbRtt(t)));
      if (t.userTimeoutUs > 0) timerSet(timers, TimerKind.UserTimeout, nowUs + t.userTimeoutUs);
      tlpArm(t, nowUs);
    }
    if (hasFlag(t.life, Life.WRITE_BLOCKED) && !hasFlag(t.life, Life.USER_CLOSED)) {
      // The host waits for room: cwnd may have grown past what the ring holds (autosize.ts).
      sndSpaceAdjust(t);
      if (ringSpace(ring) != 0) {
        t.life &= ~Life.WRITE_BLOCKED;
        notify(t, EventType.WRITABLE, 0);
      }
    }
    wantOutput(t);
  }

  if (sack) {
    if (ack == oldUna) tlpOnDupAck(t, seg, sackedNew);
    // A D-SACK may prove the last loss response spurious (RFC 3708), then RACK (RFC 8985 6.2) learns
    // from what this ACK delivered, marks what is lost, and a first loss starts SACK recovery.
    const dsack = undoOnAck(t, seg);
    rackOnAck(t, seg, nowUs, dsack);
    rackOnLoss(t, nowUs);
    undoOnMarksDelivered(t);
    // A DupAck (RFC 6675 2: new SACK information, whatever the window or cumulative ACK) lets
    // Limited Transmit send (RFC 3042; RFC 6675 5 step 3; output.ts), and in recovery frees pipe.
    if (sackedNew) {
      t.dupAcks++;
      wantOutput(t);
    }
  } else {
    // Duplicate ACKs without SACK: RFC 5681 2's conditions (a) to (e), (e) being an unchanged
    // window; Linux grows its window on nearly every ACK while it receives, so its duplicates mostly
    // go uncounted and recovery waits for the timeout there.
    const duplicate = ack == oldUna && t.sndMax != oldUna && seg.payloadLen == 0 &&
      (seg.flags & (FLG_SYN | FLG_FIN)) == 0 && segWnd == oldWnd;
    if (duplicate) {
      t.dupAcks++;
      if (cc.inRecovery) {
        // RFC 5681 3.2 step 4: each further duplicate inflates cwnd.
        ccOnDupAckInRecovery(cc);
        wantOutput(t);
      } else if (t.dupAcks == DUP_THRESH && seqGt(t.sndUna, cc.recover)) {
        // RFC 5681 3.2 fast retransmit / RFC 6582 3.2 step 2 (recovery again only once the
        // cumulative ACK is beyond the last recovery point). RFC 5681 3.2 step 2: data sent by
        // Limited Transmit is not part of FlightSize for ssthresh.
        ccOnEnterRecovery(cc, t.sndMax - t.sndUna - t.limitedTransmitBytes, t.sndMax);
        count(Counter.CWND_REDUCTIONS);
        t.due |= Due.RTX_ONE;
        count(Counter.FAST_RETRANSMITS);
        wantOutput(t);
      } else if (t.dupAcks < DUP_THRESH) {
        // Limited Transmit (RFC 3042; RFC 5681 3.2): new data may go out on the first DupThresh - 1
        // duplicates (output.ts), so a small window still gets enough of them.
        wantOutput(t);
      }
    }
  }

  // Window update (RFC 9293 3.10.7.4 fifth check): only from a newer segment (SND.WL1, SND.WL2).
  if (seqLt(t.sndWl1, seg.seq) || (t.sndWl1 == seg.seq && seqLe(t.sndWl2, ack))) {
    t.sndWnd = segWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = ack;
    if (segWnd > t.maxSndWnd) t.maxSndWnd = segWnd;
    if (segWnd > oldWnd) {
      t.persistBackoff = 0;
      wantOutput(t);
    }
  }
}
