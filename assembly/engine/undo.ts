// Undoing a loss response that proves spurious. A fast recovery (rack.ts) or a retransmission timeout
// reduced cwnd and ssthresh; when the data it sent again had arrived after all (reordered, or its ACK
// only late), the reduction is taken back: cwnd and ssthresh return to their values before the
// response (the restore of RFC 4015 3.2 / RFC 3708 5), and RACK learns the path reorders.
//
// Detection:
// - D-SACK (RFC 3708 3 over RFC 2883): every octet retransmitted in the episode reported back as a
//   duplicate means no retransmission was needed. Octets are counted (RFC 3708 counts segments: the
//   same thing, as each D-SACK reports one received copy of what we sent), and only D-SACKs inside
//   the octets the episode retransmitted count. The episode stays open after its recovery until the
//   next loss response, as D-SACKs come a round trip after the recovery ended at the earliest (the
//   late original arrives after the retransmission that ended it), later when an ACK is reordered.
//   A network that duplicates one of our retransmissions can fake the last D-SACK; RFC 3708 5 accepts
//   that risk, and so do we.
// - A fast recovery that retransmitted nothing before the originals of everything it marked lost
//   were delivered (undoOnMarksDelivered): the same finding, with no retransmission to be D-SACKed.
// - Spurious retransmission timeouts: Eifel detection with timestamps (RFC 3522), not F-RTO (RFC
//   5682). Both peers of this engine and Linux negotiate timestamps by default, and Eifel needs only
//   the TSecr of the first ACK after the timeout (ack.ts already keeps the timeout's TSval to refuse
//   RTT samples from such echoes, RFC 7323 4.1): an echo older than our first timeout retransmission
//   means the original was received, so the timeout was spurious. F-RTO would instead change what the
//   timeout sends for two round trips (new data in place of the go-back retransmissions), a second
//   retransmission-timeout path. Without timestamps a timeout is still undone by D-SACK as above.
//   After an Eifel undo transmission resumes at SND.MAX rather than going back over data the peer
//   holds (RFC 4015 3.2).
import { Segment } from "../wire/packet";
import { seqLt, seqLe, seqGe, seqGt } from "../wire/seq";
import { Tcb, F, hasFlag, clearFlag, tcbCc, tcbRack, tcbUndo, tcbSb } from "./tcb";
import { sbLostBytes } from "./scoreboard";
import { ccUndo } from "./congestion";
import { count, Counter } from "./counters";
import { wantOutput } from "./conn";
import { tsNow } from "./emit";

@unmanaged
export class Undo {
  /** An episode (a loss response that may still prove spurious) is open. */
  active: bool;
  /** It began with a retransmission timeout (Eifel applies; recovery resumes at SND.MAX on undo). */
  fromRto: bool;
  /** SND.UNA when the episode began: D-SACKs below it belong to earlier ones. */
  marker: u32;
  /** One past the highest octet retransmitted in the episode. */
  high: u32;
  /** Octets retransmitted in the episode and not yet reported as duplicates. */
  rtxBytes: u32;
  /** Our TSval when the episode's first timeout sent data again (RFC 3522). */
  tsVal: u32;
  /** The last D-SACK block counted: a duplicated ACK repeats it. */
  lastLeft: u32;
  lastRight: u32;
  /** The congestion state before the response. */
  cwnd: u32;
  ssthresh: u32;
  wMax: f64;
  cwndPrior: f64;
}

// (left, right) out-parameter of dsackBlock.
const dsackOut = memory.data(8, 4);

/**
 * The D-SACK block of an ACK (RFC 2883 4): its first SACK block when that lies at or below the
 * cumulative ACK, or inside the second block. Writes (left u32, right u32) at out.
 */
export function dsackBlock(seg: Segment, out: usize): bool {
  if (seg.sackCount == 0) return false;
  const blocks = changetype<usize>(seg) + offsetof<Segment>("sackL0");
  const left = load<u32>(blocks);
  const right = load<u32>(blocks, 4);
  if (!seqLt(left, right)) return false;
  const dsack = seqLe(right, seg.ack) ||
    (seg.sackCount > 1 && seqGe(left, load<u32>(blocks, 8)) && seqLe(right, load<u32>(blocks, 12)));
  if (!dsack) return false;
  store<u32>(out, left);
  store<u32>(out, right, 4);
  return true;
}

/**
 * A loss response begins (before cwnd and ssthresh change). A timeout inside a fast recovery keeps
 * that recovery's episode, whose saved state predates both reductions.
 */
export function undoBegin(t: Tcb, fromRto: bool, nowUs: i64): void {
  const u = tcbUndo(t);
  const cc = tcbCc(t);
  if (fromRto && u.active && !u.fromRto && cc.inRecovery) {
    u.fromRto = true;
    u.tsVal = tsNow(t, nowUs);
    return;
  }
  u.active = true;
  u.fromRto = fromRto;
  u.marker = t.sndUna;
  u.high = t.sndUna;
  u.rtxBytes = 0;
  u.tsVal = tsNow(t, nowUs);
  u.lastLeft = 0;
  u.lastRight = 0;
  u.cwnd = cc.cwnd;
  u.ssthresh = cc.ssthresh;
  u.wMax = cc.wMax;
  u.cwndPrior = cc.cwndPrior;
}

/** Octets [seq, seq + len) went out again. */
export function undoOnRetransmit(t: Tcb, seq: u32, len: u32): void {
  const u = tcbUndo(t);
  if (!u.active || len == 0) return;
  u.rtxBytes += len;
  if (seqGt(seq + len, u.high)) u.high = seq + len;
}

/**
 * Every ACK on a SACK connection, after SND.UNA moved: counts its D-SACK against the episode.
 * Returns whether the ACK carried a D-SACK.
 */
export function undoOnAck(t: Tcb, seg: Segment): bool {
  const dsack = dsackBlock(seg, dsackOut);
  const u = tcbUndo(t);
  if (!u.active) return dsack;
  if (dsack) {
    const left = load<u32>(dsackOut);
    const right = load<u32>(dsackOut, 4);
    if ((left != u.lastLeft || right != u.lastRight) && seqGe(left, u.marker) && seqLe(right, u.high) && u.rtxBytes != 0) {
      u.lastLeft = left;
      u.lastRight = right;
      const n = right - left;
      u.rtxBytes = n >= u.rtxBytes ? 0 : u.rtxBytes - n;
      if (u.rtxBytes == 0) undoSpurious(t);
    }
  }
  return dsack;
}

/**
 * Every ACK on a SACK connection, after RACK: a fast recovery whose loss marks were all lifted by the
 * originals' own delivery before any octet of the episode went out again (an ACK batch that both
 * crossed RACK's deadline and carried the late segment's ACK; output runs after the batch) lost
 * nothing. That is RFC 3708's finding, every retransmission of the episode unneeded, with none to
 * wait a D-SACK for.
 */
export function undoOnMarksDelivered(t: Tcb): void {
  const u = tcbUndo(t);
  if (!u.active || u.fromRto || u.rtxBytes != 0 || sbLostBytes(tcbSb(t)) != 0) return;
  // The first lost run's forced retransmission (RFC 6675 5 step 4.3) has nothing left to send.
  clearFlag(t, F.RTX_ONE);
  undoSpurious(t);
}

/**
 * The first ACK to advance SND.UNA after a timeout echoes `tsEcr`, older than the timeout's
 * retransmission (ack.ts): RFC 3522 detection, against the episode's first timeout.
 */
export function undoOnEifel(t: Tcb, tsEcr: u32): void {
  const u = tcbUndo(t);
  if (!u.active || !u.fromRto || !seqLt(tsEcr, u.tsVal)) return;
  undoSpurious(t);
}

function undoSpurious(t: Tcb): void {
  const u = tcbUndo(t);
  const cc = tcbCc(t);
  u.active = false;
  ccUndo(cc, u.cwnd, u.ssthresh, u.wMax, u.cwndPrior);
  if (hasFlag(t, F.SACK_OK)) {
    // The episode's recovery point no longer holds back the next real loss's recovery.
    cc.recover = t.sndUna - 1;
    // A fast retransmission that was not needed: the original came after data sent later.
    if (!u.fromRto) tcbRack(t).reorderingSeen = true;
    tcbRack(t).rtoRecovery = false;
  }
  if (u.fromRto) {
    if (seqLt(t.sndNxt, t.sndMax)) t.sndNxt = t.sndMax;
    t.retries = 0;
    count(Counter.SPURIOUS_TIMEOUTS);
  } else {
    count(Counter.SPURIOUS_RECOVERIES);
  }
  wantOutput(t);
}
