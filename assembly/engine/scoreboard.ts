// Sender side of SACK loss recovery, RFC 6675: the scoreboard of SACKed ranges above SND.UNA, and the
// IsLost, SetPipe and NextSeg routines of RFC 6675 section 4 over it.
//
// Contract
// - Ranges are [start, end) octets, sorted, disjoint and non-adjacent, all inside (SND.UNA, SND.NXT].
//   Sequence numbers compare modulo 2^32 (wire/seq.ts).
// - Bounded work (CVE-2019-11477/11478/5599 class; TCP.md "SACK panic"): at most MAX_SACK_BLOCKS (4,
//   what a TCP option can carry) blocks are read per ACK and at most MAX_SB_RANGES ranges are kept;
//   every routine is O(MAX_SB_RANGES). When a new disjoint range does not fit, the highest range is
//   forgotten (the new one if it is highest): forgetting a SACK only makes us retransmit more, while
//   merging ranges would claim octets the peer never received.
// - sbUpdate ignores a block that is empty, ends beyond SND.NXT, or ends at or below SND.UNA (a D-SACK,
//   RFC 2883, or stale); a block straddling SND.UNA is clipped to it. It first drops what the
//   cumulative ACK covers. It returns the octets these blocks newly mark SACKed (a range forgotten
//   for lack of room is not subtracted: the peer still holds it).
// - highSacked is one past the highest SACKed octet (RFC 6675's HighSACK + 1), SND.UNA when empty.
// - highRxt, in sbPipe and sbNextSeg, is ONE PAST the highest octet retransmitted in this recovery
//   (RFC 6675's HighRxt + 1); pass SND.UNA when nothing has been retransmitted yet (RFC 6675 sets
//   HighRxt = HighACK on entering recovery).
// - IsLost (DupThresh = 3, RFC 6675 section 4): an octet is lost when at least DupThresh
//   discontiguous SACKed ranges lie above it, or more than (DupThresh - 1) * SMSS SACKed octets do.
// - sbPipe is SetPipe() in octets: each unSACKed octet in [SND.UNA, SND.NXT) counts once if not lost
//   and once more if retransmitted. Between two ranges every octet has the same SACKed octets above
//   it, so each hole is wholly lost or not: the sum is over holes, never over octets.
// - sbNextSeg is NextSeg() rules 1 then 3 over the retransmission space. Rule 2 (new data) sits
//   between them in the RFC, so a caller with new data to send uses sbNextSegLost (rule 1), then its
//   own rule 2, then sbNextSegRescue (rule 3). Each writes (seq u32, len u32) at out: up to SMSS octets
//   from the first qualifying octet, never past the next SACKed range.
import { poolAlloc, poolFree } from "./pool";
import { seqLt, seqLe, seqGt, seqGe } from "../wire/seq";

export const MAX_SB_RANGES: u32 = 32;
export const MAX_SACK_BLOCKS: u32 = 4;
export const DUP_THRESH: u32 = 3;
const STORAGE_BYTES: usize = <usize>MAX_SB_RANGES * 8;

@unmanaged
export class Scoreboard {
  ranges: usize;
  count: u32;
  highSacked: u32;
  sackedBytes: u32;
}

// @ts-ignore: decorator
@inline function rStart(sb: Scoreboard, i: u32): u32 {
  return load<u32>(sb.ranges + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function rEnd(sb: Scoreboard, i: u32): u32 {
  return load<u32>(sb.ranges + (<usize>i << 3), 4);
}

// @ts-ignore: decorator
@inline function setRange(sb: Scoreboard, i: u32, start: u32, end: u32): void {
  store<u32>(sb.ranges + (<usize>i << 3), start);
  store<u32>(sb.ranges + (<usize>i << 3), end, 4);
}

function removeRanges(sb: Scoreboard, i: u32, n: u32): void {
  if (n == 0) return;
  let tail = sb.count - i - n;
  if (tail > 0) memory.copy(sb.ranges + (<usize>i << 3), sb.ranges + (<usize>(i + n) << 3), <usize>tail << 3);
  sb.count -= n;
}

/** Marks [start, end) SACKed; returns the octets that were not SACKed before. */
function addRange(sb: Scoreboard, start: u32, end: u32): u32 {
  let i: u32 = 0;
  while (i < sb.count && seqLt(rEnd(sb, i), start)) i++;
  let j = i;
  while (j < sb.count && seqLe(rStart(sb, j), end)) j++;
  let held: u32 = 0;
  if (i == j) {
    if (sb.count >= MAX_SB_RANGES) {
      if (i == sb.count) return 0; // the new range is the highest: forget it
      sb.sackedBytes -= rEnd(sb, sb.count - 1) - rStart(sb, sb.count - 1);
      sb.count--;
    }
    let tail = sb.count - i;
    if (tail > 0) memory.copy(sb.ranges + (<usize>(i + 1) << 3), sb.ranges + (<usize>i << 3), <usize>tail << 3);
    sb.count++;
  } else {
    let first = rStart(sb, i);
    let last = rEnd(sb, j - 1);
    if (seqLt(first, start)) start = first;
    if (seqGt(last, end)) end = last;
    for (let k = i; k < j; k++) {
      let covered = rEnd(sb, k) - rStart(sb, k);
      sb.sackedBytes -= covered;
      held += covered;
    }
    removeRanges(sb, i + 1, j - i - 1);
  }
  setRange(sb, i, start, end);
  sb.sackedBytes += end - start;
  return (end - start) - held;
}

/** Drops everything the cumulative ACK covers. */
function trimBelow(sb: Scoreboard, sndUna: u32): void {
  let n: u32 = 0;
  while (n < sb.count && seqLe(rEnd(sb, n), sndUna)) {
    sb.sackedBytes -= rEnd(sb, n) - rStart(sb, n);
    n++;
  }
  removeRanges(sb, 0, n);
  if (sb.count > 0 && seqLt(rStart(sb, 0), sndUna)) {
    sb.sackedBytes -= sndUna - rStart(sb, 0);
    setRange(sb, 0, sndUna, rEnd(sb, 0));
  }
}

export function sbUpdate(sb: Scoreboard, sndUna: u32, sndNxt: u32, blocks: usize, nBlocks: u32): u32 {
  if (sb.ranges != 0) trimBelow(sb, sndUna);
  let gained: u32 = 0;
  if (nBlocks > MAX_SACK_BLOCKS) nBlocks = MAX_SACK_BLOCKS;
  for (let b: u32 = 0; b < nBlocks; b++) {
    let left = load<u32>(blocks + (<usize>b << 3));
    let right = load<u32>(blocks + (<usize>b << 3), 4);
    if (!seqLt(left, right) || seqGt(right, sndNxt) || seqLe(right, sndUna)) continue;
    if (seqLt(left, sndUna)) left = sndUna;
    if (sb.ranges == 0) {
      sb.ranges = poolAlloc(STORAGE_BYTES);
      if (sb.ranges == 0) break;
      sb.count = 0;
      sb.sackedBytes = 0;
    }
    gained += addRange(sb, left, right);
  }
  sb.highSacked = sb.count > 0 ? rEnd(sb, sb.count - 1) : sndUna;
  return gained;
}

export function sbIsSacked(sb: Scoreboard, seq: u32, end: u32): bool {
  for (let i: u32 = 0; i < sb.count; i++) {
    if (seqLe(rStart(sb, i), seq) && seqLe(end, rEnd(sb, i))) return true;
    if (seqGt(rStart(sb, i), seq)) break;
  }
  return false;
}

export function sbIsLost(sb: Scoreboard, seq: u32, mss: u32): bool {
  let rangesAbove: u32 = 0;
  let octetsAbove: u64 = 0;
  for (let i = sb.count; i > 0; i--) {
    let s = rStart(sb, i - 1);
    let e = rEnd(sb, i - 1);
    if (!seqGt(e, seq + 1)) break;
    if (seqGt(s, seq)) {
      rangesAbove++;
      octetsAbove += e - s;
    } else {
      octetsAbove += e - (seq + 1);
    }
  }
  return rangesAbove >= DUP_THRESH || octetsAbove > <u64>(DUP_THRESH - 1) * <u64>mss;
}

// Hole k is [k == 0 ? sndUna : end of range k-1, k == count ? sndNxt : start of range k).
// Every octet in hole k has ranges k..count-1 above it, so hole k is lost or not as a whole.
// @ts-ignore: decorator
@inline function holeLost(rangesAbove: u32, octetsAbove: u64, mss: u32): bool {
  return rangesAbove >= DUP_THRESH || octetsAbove > <u64>(DUP_THRESH - 1) * <u64>mss;
}

/** SACKed octets in ranges k..count-1, for every k, into a static table: suffix[k]. */
const suffixOctets = memory.data(<i32>(MAX_SB_RANGES + 1) * 8, 8);

function fillSuffix(sb: Scoreboard): void {
  let acc: u64 = 0;
  store<u64>(suffixOctets + (<usize>sb.count << 3), 0);
  for (let k = sb.count; k > 0; k--) {
    acc += rEnd(sb, k - 1) - rStart(sb, k - 1);
    store<u64>(suffixOctets + (<usize>(k - 1) << 3), acc);
  }
}

export function sbPipe(sb: Scoreboard, sndUna: u32, sndNxt: u32, highRxt: u32, mss: u32): u32 {
  fillSuffix(sb);
  let pipe: u64 = 0;
  let holeStart = sndUna;
  for (let k: u32 = 0; k <= sb.count; k++) {
    let holeEnd = k < sb.count ? rStart(sb, k) : sndNxt;
    if (seqLt(holeStart, sndUna)) holeStart = sndUna;
    if (seqLt(holeStart, holeEnd)) {
      if (!holeLost(sb.count - k, load<u64>(suffixOctets + (<usize>k << 3)), mss)) pipe += holeEnd - holeStart;
      // Octets of this hole below highRxt were retransmitted: one more copy in flight.
      if (seqGt(highRxt, holeStart)) pipe += (seqLt(highRxt, holeEnd) ? highRxt : holeEnd) - holeStart;
    }
    if (k < sb.count) holeStart = rEnd(sb, k);
  }
  return pipe > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>pipe;
}

// NextSeg rules 1 (requireLost) and 3 (not): the first unSACKed octet at or above highRxt and SND.UNA
// and below HighSACK.
function nextSeg(sb: Scoreboard, sndUna: u32, highRxt: u32, mss: u32, out: usize, requireLost: bool): bool {
  if (requireLost) fillSuffix(sb);
  let floor = seqGt(highRxt, sndUna) ? highRxt : sndUna;
  let holeStart = sndUna;
  for (let k: u32 = 0; k < sb.count; k++) {
    let holeEnd = rStart(sb, k);
    if (requireLost && !holeLost(sb.count - k, load<u64>(suffixOctets + (<usize>k << 3)), mss)) return false;
    let s = seqGt(floor, holeStart) ? floor : holeStart;
    if (seqLt(s, holeEnd)) {
      let len = holeEnd - s;
      store<u32>(out, s);
      store<u32>(out, len < mss ? len : mss, 4);
      return true;
    }
    holeStart = rEnd(sb, k);
  }
  return false;
}

export function sbNextSegLost(sb: Scoreboard, sndUna: u32, highRxt: u32, mss: u32, out: usize): bool {
  return nextSeg(sb, sndUna, highRxt, mss, out, true);
}

export function sbNextSegRescue(sb: Scoreboard, sndUna: u32, highRxt: u32, mss: u32, out: usize): bool {
  return nextSeg(sb, sndUna, highRxt, mss, out, false);
}

export function sbNextSeg(sb: Scoreboard, sndUna: u32, sndNxt: u32, highRxt: u32, mss: u32, out: usize): bool {
  if (DEBUG) assert(sb.count == 0 || seqGe(sndNxt, sb.highSacked), "scoreboard: SACKed data beyond SND.NXT");
  return nextSeg(sb, sndUna, highRxt, mss, out, true) || nextSeg(sb, sndUna, highRxt, mss, out, false);
}

export function sbSackedBytes(sb: Scoreboard): u32 {
  return sb.sackedBytes;
}

export function sbClear(sb: Scoreboard): void {
  sb.count = 0;
  sb.sackedBytes = 0;
  sb.highSacked = 0;
}

export function sbRelease(sb: Scoreboard): void {
  poolFree(sb.ranges, STORAGE_BYTES);
  sb.ranges = 0;
  sbClear(sb);
}
