// The receiver's side of D-SACK (RFC 2883): a data segment that brought nothing new is reported in the
// first SACK block of the next ACK, so the sender learns its retransmission was not needed (undo.ts
// takes back the loss response on such reports). Reported cases:
// - RFC 2883 4.1.1: text wholly below RCV.NXT (an unacceptable segment, or the part before RCV.NXT
//   of one that also brings new text);
// - RFC 2883 4.1.2: text already held out of order (every octet of it).
// Only the most recent duplicate is kept: RFC 2883 4 reports each D-SACK once, in the next ACK; the
// block then leaves with the first ACK we send (emit.ts) and the regular blocks follow it.
import { seqLt } from "../wire/seq";
import { Tcb, F, hasFlag } from "./tcb";

/** [start, end) arrived again: report it in the next ACK. */
export function dsackNote(t: Tcb, start: u32, end: u32): void {
  if (!hasFlag(t, F.SACK_OK) || !seqLt(start, end)) return;
  t.dsackStart = start;
  t.dsackEnd = end;
}

/** Whether a D-SACK block waits for the next ACK. */
// @ts-ignore: decorator
@inline export function dsackPending(t: Tcb): bool {
  return t.dsackStart != t.dsackEnd;
}

/** The block went out in an ACK. */
// @ts-ignore: decorator
@inline export function dsackSent(t: Tcb): void {
  t.dsackEnd = t.dsackStart;
}
