// TCP sequence-number arithmetic (RFC 9293 3.4): the one place sequence numbers are compared.
// Sequence space is modulo 2^32; a is "before" b when the signed 32-bit distance a - b is negative,
// which is meaningful while the two are less than 2^31 apart (RFC 1982 serial-number arithmetic).

@inline export function seqLt(a: u32, b: u32): bool {
  return <i32>(a - b) < 0;
}

@inline export function seqLe(a: u32, b: u32): bool {
  return <i32>(a - b) <= 0;
}

@inline export function seqGt(a: u32, b: u32): bool {
  return <i32>(a - b) > 0;
}

@inline export function seqGe(a: u32, b: u32): bool {
  return <i32>(a - b) >= 0;
}

/** The later of two sequence numbers. */
@inline export function seqMax(a: u32, b: u32): u32 {
  return seqGt(a, b) ? a : b;
}

/** The earlier of two sequence numbers. */
@inline export function seqMin(a: u32, b: u32): u32 {
  return seqLt(a, b) ? a : b;
}

/** lo <= x < hi in sequence space: the half-open window tests of RFC 9293 3.4 and 3.10.7.4. */
@inline export function seqInRange(x: u32, lo: u32, hi: u32): bool {
  return seqLe(lo, x) && seqLt(x, hi);
}

/**
 * RFC 9293 3.10.7.4 first check, the four cases of segment acceptability (SEG.LEN `len`), with the
 * special allowance for a zero window: a segment at RCV.NXT is taken for its ACK (its text is not).
 */
export function segmentAcceptable(seq: u32, len: u32, rcvNxt: u32, rcvWnd: u32): bool {
  if (rcvWnd == 0) return seq == rcvNxt;
  if (len == 0) return seqInRange(seq, rcvNxt, rcvNxt + rcvWnd);
  return seqInRange(seq, rcvNxt, rcvNxt + rcvWnd) || seqInRange(seq + len - 1, rcvNxt, rcvNxt + rcvWnd);
}
