// The TCP checksum of an arriving segment (RFC 9293 3.1), verified with one pass over its payload:
// the payload of an in-order segment of a connection that takes text is summed while it is copied to
// where it belongs in the receive ring (RFC 1071 4.1 folds the sum into the copy; wire/copysum.ts),
// and receive.ts then only commits it. Any other segment's payload is summed where it lies.
//
// The copy lands beyond the ring's readable bytes, in space nothing else uses: it is made only when
// no out-of-order data is held there (reassembly.ts keeps that past RCV.NXT) and the payload fits in
// the free space. So a segment that fails the check, or that the state machine then refuses (PAWS,
// an unacceptable ACK, a trimmed window), leaves nothing behind but bytes no one reads.
import { Segment, tcpChecksumOk } from "../wire/packet";
import { onesSum } from "../wire/checksum";
import { FLG_RST, FLG_SYN } from "../wire/tcp";
import { Tcb, State, rcvRing, tcbOoo } from "./tcb";
import { ringCopyInSum } from "./ring";

// The connection and sequence number of the segment whose payload payloadVerifies placed; 0: none.
let placedTcb: usize = 0;
let placedSeq: u32 = 0;

/** Whether `t` would take `len` bytes at `seq` straight into its receive ring (see the top of the file). */
function takesTextInPlace(t: Tcb, seq: u32, len: u32): bool {
  const s = t.state;
  if (s != State.ESTABLISHED && s != State.FIN_WAIT_1 && s != State.FIN_WAIT_2) return false;
  if (seq != t.rcvNxt || tcbOoo(t).count != 0) return false;
  const r = rcvRing(t);
  return r.buf != 0 && len <= r.cap - r.len;
}

/**
 * Completes the TCP checksum of `seg` (parsed by parsePacketPayloadUnsummed) for connection `t` (null:
 * none), copying the payload into t's receive ring on the way when it is in order there. False: the
 * checksum fails and the segment must be dropped before anything in it is acted on.
 */
export function payloadVerifies(t: Tcb | null, seg: Segment): bool {
  placedTcb = 0;
  const src = seg.packet + seg.payloadOffset;
  const len = seg.payloadLen;
  if (t != null && len != 0 && (seg.flags & (FLG_SYN | FLG_RST)) == 0 && takesTextInPlace(t, seg.seq, len)) {
    const r = rcvRing(t);
    if (!tcpChecksumOk(seg, ringCopyInSum(r, r.len, src, len, 0))) return false;
    placedTcb = changetype<usize>(t);
    placedSeq = seg.seq;
    return true;
  }
  return tcpChecksumOk(seg, onesSum(src, len, 0));
}

/** Whether the text at `seq` of `t` is already in its receive ring at RCV.NXT (payloadVerifies put it there). */
export function textPlaced(t: Tcb, seq: u32): bool {
  const placed = placedTcb == changetype<usize>(t) && placedSeq == seq;
  placedTcb = 0;
  return placed;
}
