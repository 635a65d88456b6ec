// The receiver's side of D-SACK (RFC 2883): a data segment that brought nothing new is reported in the
// first SACK block of an ACK, so the sender learns its retransmission was not needed (undo.ts takes
// back the loss response on such reports). Reported cases:
// - RFC 2883 4.1.1: text wholly below RCV.NXT (an unacceptable or PAWS-stale segment, or the part
//   before RCV.NXT of one that also brings new text);
// - RFC 2883 4.1.2: text already held out of order (every octet of it).
// Each duplicate gets its own ACK, as RFC 2883 4 has it ("a D-SACK block is only used to report a
// duplicate ... in the most recent packet"): output is drained in batches here, so the duplicates of
// one batch wait in a queue of MAX_DSACKS and leave one per ACK (emit.ts, output.ts); a duplicate
// beyond that replaces the newest (the sender then misses one D-SACK, which only keeps it from an
// undo). The sender counts D-SACKed octets against what it retransmitted, so several duplicates can
// neither share a block nor be merged across a gap.
import { seqLt } from "../wire/seq";
import { Tcb, F, hasFlag } from "./tcb";

const MAX_DSACKS: u32 = 4;

// @ts-ignore: decorator
@inline function slot(t: Tcb, i: u32): usize {
  return changetype<usize>(t) + offsetof<Tcb>("dsackL0") + (<usize>i << 3);
}

/** [start, end) arrived again: report it in an ACK of its own. */
export function dsackNote(t: Tcb, start: u32, end: u32): void {
  if (!hasFlag(t, F.SACK_OK) || !seqLt(start, end)) return;
  const i = t.dsackCount < MAX_DSACKS ? t.dsackCount++ : MAX_DSACKS - 1;
  store<u32>(slot(t, i), start);
  store<u32>(slot(t, i), end, 4);
}

/** Whether a D-SACK block waits for an ACK. */
// @ts-ignore: decorator
@inline export function dsackPending(t: Tcb): bool {
  return t.dsackCount != 0;
}

/** Writes the oldest waiting D-SACK block (left, right) at out. */
export function dsackFirst(t: Tcb, out: usize): void {
  store<u32>(out, load<u32>(slot(t, 0)));
  store<u32>(out, load<u32>(slot(t, 0), 4), 4);
}

/** The oldest block went out in an ACK. */
export function dsackSent(t: Tcb): void {
  if (t.dsackCount == 0) return;
  t.dsackCount--;
  if (t.dsackCount != 0) memory.copy(slot(t, 0), slot(t, 1), <usize>t.dsackCount << 3);
}
