// Segment text into the receive ring (RFC 9293 3.10.7.4, seventh check): in order straight in, out
// of order held past RCV.NXT and described by SACK blocks (RFC 2018, reassembly.ts), the delayed-ACK
// rule (RFC 9293 3.8.6.3) and READABLE for the host.
import { Tcb, hasFlag, Life, Due, rcvRing, tcbTimers, tcbOoo } from "./tcb";
import { ringEnsure, ringCopyIn, ringCommit } from "./ring";
import { textPlaced } from "./rxsum";
import { TimerKind, NEVER, timerSet, timerGet } from "./timers";
import { oooInsert, oooTake, oooBytes } from "./reassembly";
import { dsackNote } from "./dsack";
import { EventType } from "./events";
import { Outcome } from "./errors";
import { count, Counter } from "./counters";
import * as config from "./config";
import { connectionDone, wantOutput, ackNow, notify } from "./conn";
import { queueConnectionReset } from "./emit";
import { finArrives } from "./fin";
import { rcvSpaceAdjust } from "./autosize";

/** Seventh check, ESTABLISHED / FIN-WAIT-1 / FIN-WAIT-2: data into the receive ring. */
export function receiveText(t: Tcb, seq: u32, src: usize, len: u32, nowUs: i64): bool {
  const r = rcvRing(t);
  if (!ringEnsure(r)) {
    queueConnectionReset(t);
    connectionDone(t, Outcome.NO_BUFFERS);
    return false;
  }
  // "Full-sized" is at most our MSS: a larger segment from a peer with segmentation offload (offload.ts)
  // is many segments, and counting it as one would stretch the every-second-segment rule below.
  if (len > t.rcvSegMax) t.rcvSegMax = len < t.localMss ? len : t.localMss;
  if (seq == t.rcvNxt) {
    // Checked and copied in already while its checksum was summed (rxsum.ts), or copied now.
    if (!textPlaced(t, seq)) ringCopyIn(r, r.len, src, len);
    ringCommit(r, len);
    t.rcvNxt += len;
    t.unackedBytes += len;
    if (tcbOoo(t).count != 0) {
      const next = oooTake(tcbOoo(t), t.rcvNxt);
      if (next != t.rcvNxt) {
        ringCommit(r, next - t.rcvNxt);
        t.rcvNxt = next;
      }
      // RFC 5681 4.2: ACK at once when a segment fills (part of) a hole.
      t.due |= Due.ACK_NOW;
    }
    rcvSpaceAdjust(t, nowUs);
    if (!hasFlag(t.life, Life.READABLE_SENT)) {
      t.life |= Life.READABLE_SENT;
      notify(t, EventType.READABLE, 0);
    }
    // Quick-ACK phase: the first config QUICK_ACKS segments are acknowledged at once. While the
    // peer is in slow start (RFC 5681 3.1), or its window is one large segment (an unscaled 64 KiB
    // window admits a single segment at MTU 65535), a delayed ACK stalls it for the whole delay.
    if (t.quickAcks != 0) {
      t.quickAcks--;
      t.due |= Due.ACK_NOW;
    }
    // RFC 9293 3.8.6.3 (RFC 1122 4.2.3.2): delay the ACK, but ACK at least every second full-sized segment.
    if (hasFlag(t.due, Due.ACK_NOW) || t.unackedBytes >= 2 * t.rcvSegMax) {
      t.due |= Due.ACK_NOW;
      wantOutput(t);
    } else {
      const timers = tcbTimers(t);
      if (timerGet(timers, TimerKind.DelayedAck) == NEVER) {
        timerSet(timers, TimerKind.DelayedAck, nowUs + config.delayedAckUs);
      }
    }
    if (hasFlag(t.life, Life.RCV_FIN_PENDING) && t.rcvFinSeq == t.rcvNxt) return finArrives(t, nowUs);
    return true;
  }
  // Out of order: hold it in the ring past RCV.NXT and say so at once with SACK (RFC 5681 4.2, RFC 2018 4).
  const q = tcbOoo(t);
  const held = oooBytes(q);
  if (oooInsert(q, seq, seq + len)) {
    ringCopyIn(r, r.len + (seq - t.rcvNxt), src, len);
    if (oooBytes(q) == held) dsackNote(t, seq, seq + len); // all held already (RFC 2883 4.1.2)
  } else {
    count(Counter.OOO_DROPPED);
  }
  ackNow(t);
  return true;
}
