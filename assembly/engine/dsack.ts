// The receiver's side of D-SACK (RFC 2883): a data segment that brought nothing new is reported in the
// first SACK block of an ACK, so the sender learns its retransmission was not needed (undo.ts takes
// back the loss response on such reports). Reported cases:
// - RFC 2883 4.1.1: text wholly below RCV.NXT (an unacceptable or PAWS-stale segment, or the part
//   before RCV.NXT of one that also brings new text);
// - RFC 2883 4.1.2: text already held out of order (every octet of it).
// Each duplicate gets an ACK of its own, as RFC 2883 4 has it ("a D-SACK block is only used to
// report a duplicate ... in the most recent packet"), and as a sender needs: it counts the octets
// reported against what it retransmitted (RFC 3708), so several duplicates can neither share a
// block nor be merged across a gap. Input here comes in batches (a burst's late originals arrive
// together), so the duplicates of a batch wait in a queue of MAX_DSACKS blocks and leave one per ACK
// (emit.ts, output.ts). The queue is taken from the pool at the first duplicate and kept until the
// TCB goes (dsackRelease); past MAX_DSACKS, or without memory, a duplicate goes unreported, which
// only keeps the sender from an undo.
import { seqLt } from "../wire/seq";
import { poolAlloc, poolFree } from "./pool";
import { Tcb, F, hasFlag } from "./tcb";

const MAX_DSACKS: u32 = 16;
const QUEUE_BYTES: usize = <usize>MAX_DSACKS * 8;

/** [start, end) arrived again: report it in an ACK of its own. */
export function dsackNote(t: Tcb, start: u32, end: u32): void {
  if (!hasFlag(t, F.SACK_OK) || !seqLt(start, end) || t.dsackCount >= MAX_DSACKS) return;
  if (t.dsackQueue == 0) {
    t.dsackQueue = poolAlloc(QUEUE_BYTES);
    if (t.dsackQueue == 0) return;
  }
  const p = t.dsackQueue + (<usize>t.dsackCount << 3);
  store<u32>(p, start);
  store<u32>(p, end, 4);
  t.dsackCount++;
}

/** Whether a D-SACK block waits for an ACK. */
// @ts-ignore: decorator
@inline export function dsackPending(t: Tcb): bool {
  return t.dsackCount != 0;
}

/** Writes the oldest waiting D-SACK block (left, right) at out. */
export function dsackFirst(t: Tcb, out: usize): void {
  store<u64>(out, load<u64>(t.dsackQueue));
}

/** The oldest block went out in an ACK. */
export function dsackSent(t: Tcb): void {
  if (t.dsackCount == 0) return;
  t.dsackCount--;
  if (t.dsackCount != 0) memory.copy(t.dsackQueue, t.dsackQueue + 8, <usize>t.dsackCount << 3);
}

/** Gives the queue back (the TCB goes). */
export function dsackRelease(t: Tcb): void {
  poolFree(t.dsackQueue, QUEUE_BYTES);
  t.dsackQueue = 0;
  t.dsackCount = 0;
}
