// The sender's scoreboard (RFC 6675 2, RFC 8985 5.2): what became of each octet sent and not yet
// cumulatively acknowledged. It is a list of records, each a run of octets sent together: when it was
// last sent, and whether it was SACKed (RFC 2018), marked lost (RACK, rack.ts) or retransmitted.
// RACK reads the transmit times (RFC 8985 5.2 Segment.xmit_ts); SACK recovery (RFC 6675 5) reads pipe
// and the next lost run from it (output.ts).
//
// Contract
// - Records are [start, end) octet runs, sorted, disjoint, covering what was sent since the
//   cumulative ACK (the FIN counts as an octet). Sequence numbers compare modulo 2^32 (wire/seq.ts).
// - A record's octets were last sent between tsFirst and tsLast (the low 32 bits of the host's
//   microsecond clock, compared by wrapping difference: valid while a record is younger than 35
//   minutes, far beyond the retransmission timeout's give-up). tsFirst == tsLast except where a full
//   list had to merge runs sent at different times: loss detection then reads tsLast (never early)
//   and delivery reads tsFirst (never claims a later send time than the truth), so a merge only ever
//   makes RACK slower, never wrong.
// - Flags: SACKED (every octet SACKed), LOST (RACK marked the run lost and it has not been sent
//   again since), RETRANSMITTED (sent more than once). A SACKed record is no longer LOST.
// - No per-segment allocation (STYLE.md rule 7): storage for MAX_SB_RECORDS records is taken from the
//   pool when the connection first sends data (poolAllocUninit: only [0, count) is ever read) and
//   kept until sbRelease. A transmission that finds the list full extends the last record (new data)
//   or merges the pair of adjacent records sent closest in time (a retransmission inside a record).
// - Bounded work (CVE-2019-11477/11478/5599 class; TCP.md "SACK panic"): at most MAX_SACK_BLOCKS
//   blocks are read per ACK and every routine is O(MAX_SB_RECORDS). A SACK block edge that would need
//   a record the list has no room for is ignored for the record it cuts: forgetting a SACK only makes
//   us retransmit more, while rounding one out would claim octets the peer never received.
// - sbUpdate drops what the cumulative ACK covers, then marks the SACK blocks; a block that is empty,
//   ends beyond SND.MAX, or ends at or below SND.UNA (a D-SACK, RFC 2883, or stale) is ignored, one
//   straddling SND.UNA is clipped to it. It returns the octets newly SACKed and lists the runs this ACK
//   newly delivered, cumulatively or selectively, with their transmit times and flags (sbDelivered*),
//   for RACK (RFC 8985 6.2 steps 1 to 3).
// - pipe (RFC 6675 SetPipe, with RACK's loss marks in place of IsLost): the octets between SND.UNA
//   and SND.MAX neither SACKed nor marked lost. A retransmitted run counts once: its first copy was
//   deemed lost when it was sent again.
import { poolAllocUninit, poolFree } from "./pool";
import { seqLt, seqLe, seqGt, seqGe } from "../wire/seq";

export const MAX_SB_RECORDS: u32 = 64;
export const MAX_SACK_BLOCKS: u32 = 4;
export const DUP_THRESH: u32 = 3;

export const SB_SACKED: u32 = 1;
export const SB_LOST: u32 = 2;
export const SB_RETRANSMITTED: u32 = 4;

// One record: start, end, tsFirst, tsLast, flags (u32 each).
const R_START: usize = 0;
const R_END: usize = 4;
const R_TS_FIRST: usize = 8;
const R_TS_LAST: usize = 12;
const R_FLAGS: usize = 16;
const RECORD_BYTES: usize = 20;
const STORAGE_BYTES: usize = <usize>MAX_SB_RECORDS * RECORD_BYTES;

@unmanaged
export class Scoreboard {
  records: usize;
  count: u32;
  /** Octets in SACKED records. */
  sackedBytes: u32;
  /** Octets in LOST records. */
  lostBytes: u32;
  /** Records with RETRANSMITTED set (RACK's fast path: with none and nothing SACKed, no loss can be inferred). */
  rtxRecords: u32;
}

// @ts-ignore: decorator
@inline function at(sb: Scoreboard, i: u32): usize {
  return sb.records + <usize>i * RECORD_BYTES;
}

// @ts-ignore: decorator
@inline export function sbStart(sb: Scoreboard, i: u32): u32 { return load<u32>(at(sb, i), R_START); }
// @ts-ignore: decorator
@inline export function sbEnd(sb: Scoreboard, i: u32): u32 { return load<u32>(at(sb, i), R_END); }
// @ts-ignore: decorator
@inline export function sbTsFirst(sb: Scoreboard, i: u32): u32 { return load<u32>(at(sb, i), R_TS_FIRST); }
// @ts-ignore: decorator
@inline export function sbTsLast(sb: Scoreboard, i: u32): u32 { return load<u32>(at(sb, i), R_TS_LAST); }
// @ts-ignore: decorator
@inline export function sbFlags(sb: Scoreboard, i: u32): u32 { return load<u32>(at(sb, i), R_FLAGS); }

// @ts-ignore: decorator
@inline function setStart(sb: Scoreboard, i: u32, v: u32): void { store<u32>(at(sb, i), v, R_START); }
// @ts-ignore: decorator
@inline function setEnd(sb: Scoreboard, i: u32, v: u32): void { store<u32>(at(sb, i), v, R_END); }

/** Sets a record's flags, keeping the octet and record counts. */
function setFlags(sb: Scoreboard, i: u32, flags: u32): void {
  const old = sbFlags(sb, i);
  const len = sbEnd(sb, i) - sbStart(sb, i);
  if ((old & SB_SACKED) != 0) sb.sackedBytes -= len;
  if ((old & SB_LOST) != 0) sb.lostBytes -= len;
  if ((old & SB_RETRANSMITTED) != 0) sb.rtxRecords--;
  if ((flags & SB_SACKED) != 0) sb.sackedBytes += len;
  if ((flags & SB_LOST) != 0) sb.lostBytes += len;
  if ((flags & SB_RETRANSMITTED) != 0) sb.rtxRecords++;
  store<u32>(at(sb, i), flags, R_FLAGS);
}

function writeRecord(sb: Scoreboard, i: u32, start: u32, end: u32, tsFirst: u32, tsLast: u32, flags: u32): void {
  const p = at(sb, i);
  store<u32>(p, start, R_START);
  store<u32>(p, end, R_END);
  store<u32>(p, tsFirst, R_TS_FIRST);
  store<u32>(p, tsLast, R_TS_LAST);
  store<u32>(p, 0, R_FLAGS);
  setFlags(sb, i, flags);
}

/** Removes records i..i+n-1, taking their octets out of the counts. */
function removeRecords(sb: Scoreboard, i: u32, n: u32): void {
  if (n == 0) return;
  for (let k = i; k < i + n; k++) setFlags(sb, k, 0);
  const tail = sb.count - i - n;
  if (tail > 0) memory.copy(at(sb, i), at(sb, i + n), <usize>tail * RECORD_BYTES);
  sb.count -= n;
}

/** Opens a slot at i (records i.. move up one); the caller writes it. The list must have room. */
function openSlot(sb: Scoreboard, i: u32): void {
  const tail = sb.count - i;
  if (tail > 0) memory.copy(at(sb, i + 1), at(sb, i), <usize>tail * RECORD_BYTES);
  store<u32>(at(sb, i), 0, R_FLAGS);
  sb.count++;
}

/** Wrapping comparison of two transmit times: a - b as a signed number of microseconds. */
// @ts-ignore: decorator
@inline export function tsDiff(a: u32, b: u32): i32 {
  return <i32>(a - b);
}

/** Merges record i + 1 into record i (same flags): one run sent between the earlier and later times. */
function mergeWithNext(sb: Scoreboard, i: u32): void {
  const flags = sbFlags(sb, i);
  const first = tsDiff(sbTsFirst(sb, i + 1), sbTsFirst(sb, i)) < 0 ? sbTsFirst(sb, i + 1) : sbTsFirst(sb, i);
  const last = tsDiff(sbTsLast(sb, i + 1), sbTsLast(sb, i)) > 0 ? sbTsLast(sb, i + 1) : sbTsLast(sb, i);
  const end = sbEnd(sb, i + 1);
  removeRecords(sb, i + 1, 1);
  setFlags(sb, i, 0);
  setEnd(sb, i, end);
  store<u32>(at(sb, i), first, R_TS_FIRST);
  store<u32>(at(sb, i), last, R_TS_LAST);
  setFlags(sb, i, flags);
}

/** Joins record i with its successor when nothing tells them apart. */
function coalesce(sb: Scoreboard, i: u32): void {
  if (i + 1 >= sb.count || sbEnd(sb, i) != sbStart(sb, i + 1)) return;
  const f = sbFlags(sb, i);
  if (f != sbFlags(sb, i + 1)) return;
  // SACKed runs need no transmit time any more; others only when sent at the same instant.
  if ((f & SB_SACKED) != 0 || (sbTsFirst(sb, i) == sbTsFirst(sb, i + 1) && sbTsLast(sb, i) == sbTsLast(sb, i + 1))) {
    mergeWithNext(sb, i);
  }
}

/**
 * Frees one slot in a full list: merges the adjacent pair with equal flags whose transmit times lie
 * closest together, except a pair meeting inside [keepLo, keepHi] (the cuts being made). Returns
 * false when no pair qualifies (then nothing changes).
 */
function makeRoom(sb: Scoreboard, keepLo: u32, keepHi: u32): bool {
  let best: i32 = -1;
  let bestGap: u32 = u32.MAX_VALUE;
  for (let i: u32 = 0; i + 1 < sb.count; i++) {
    if (sbFlags(sb, i) != sbFlags(sb, i + 1) || sbEnd(sb, i) != sbStart(sb, i + 1)) continue;
    if (seqGe(sbEnd(sb, i), keepLo) && seqLe(sbEnd(sb, i), keepHi)) continue;
    const d = tsDiff(sbTsLast(sb, i + 1), sbTsFirst(sb, i));
    const gap: u32 = d < 0 ? <u32>(-d) : <u32>d;
    if (gap < bestGap) {
      bestGap = gap;
      best = <i32>i;
    }
  }
  if (best < 0) return false;
  mergeWithNext(sb, <u32>best);
  return true;
}

/** Splits the record holding seq (strictly inside it); false when the list has no room. */
function splitAt(sb: Scoreboard, seq: u32, keepLo: u32, keepHi: u32): bool {
  if (sb.count >= MAX_SB_RECORDS && !makeRoom(sb, keepLo, keepHi)) return false;
  // makeRoom may have merged records before it: find seq's record again.
  let k: u32 = 0;
  while (k < sb.count && seqLe(sbEnd(sb, k), seq)) k++;
  if (k >= sb.count || !seqLt(sbStart(sb, k), seq)) return true;
  const flags = sbFlags(sb, k);
  const end = sbEnd(sb, k);
  setFlags(sb, k, 0);
  setEnd(sb, k, seq);
  setFlags(sb, k, flags);
  openSlot(sb, k + 1);
  writeRecord(sb, k + 1, seq, end, sbTsFirst(sb, k), sbTsLast(sb, k), flags);
  return true;
}

/** The index of the first record ending after seq. */
function findFrom(sb: Scoreboard, seq: u32): u32 {
  let i: u32 = 0;
  while (i < sb.count && seqLe(sbEnd(sb, i), seq)) i++;
  return i;
}

/**
 * Records that [seq, end) was sent at `tsUs`: new data past the last record, or data sent again
 * (a retransmission: the octets lose their LOST mark and are RETRANSMITTED from now on).
 */
export function sbSent(sb: Scoreboard, seq: u32, end: u32, tsUs: u32): void {
  if (!seqLt(seq, end)) return;
  if (sb.records == 0) {
    sb.records = poolAllocUninit(STORAGE_BYTES);
    if (sb.records == 0) return; // no memory: RACK sees nothing, the RTO still repairs
    sb.count = 0;
    sb.sackedBytes = 0;
    sb.lostBytes = 0;
    sb.rtxRecords = 0;
  }
  const last = sb.count - 1;
  if (sb.count == 0 || seqGe(seq, sbEnd(sb, last))) {
    // New data. A burst sent at one instant stays one record.
    if (sb.count != 0 && seq == sbEnd(sb, last) && sbFlags(sb, last) == 0 && sbTsLast(sb, last) == tsUs) {
      setEnd(sb, last, end);
      return;
    }
    if (sb.count >= MAX_SB_RECORDS && !makeRoom(sb, seq, seq)) {
      // Nothing to merge elsewhere: a plain last record grows (its octets now span two send times);
      // after any other these octets go unrecorded (RACK cannot judge them, the RTO still can).
      const l = sb.count - 1;
      if (sbFlags(sb, l) == 0 && sbEnd(sb, l) == seq) {
        setEnd(sb, l, end);
        store<u32>(at(sb, l), tsUs, R_TS_LAST);
      }
      return;
    }
    openSlot(sb, sb.count);
    writeRecord(sb, sb.count - 1, seq, end, tsUs, tsUs, 0);
    return;
  }
  // Sent again: cut out [seq, end) where the list has room, then stamp every record inside.
  let i = findFrom(sb, seq);
  if (i < sb.count && seqLt(sbStart(sb, i), seq)) splitAt(sb, seq, seq, end);
  const j = findFrom(sb, end);
  if (j < sb.count && seqLt(sbStart(sb, j), end)) splitAt(sb, end, seq, end);
  i = findFrom(sb, seq);
  while (i < sb.count && seqLt(sbStart(sb, i), end)) {
    const f = sbFlags(sb, i);
    // A record the list could not cut keeps its earlier first time: never claims a later send.
    const whole = seqGe(sbStart(sb, i), seq) && seqLe(sbEnd(sb, i), end);
    if (whole) store<u32>(at(sb, i), tsUs, R_TS_FIRST);
    store<u32>(at(sb, i), tsUs, R_TS_LAST);
    setFlags(sb, i, (f & ~SB_LOST) | SB_RETRANSMITTED);
    i++;
  }
  // Retransmissions sent together become one record again.
  let k = findFrom(sb, seq);
  if (k > 0) k--;
  while (k < sb.count && seqLe(sbStart(sb, k), end)) {
    const before = sb.count;
    coalesce(sb, k);
    if (sb.count == before) k++;
  }
}

// Runs newly delivered by the last sbUpdate: start, end, tsFirst, flags (before this ACK).
const DELIVERED_MAX: u32 = MAX_SB_RECORDS + 2 * MAX_SACK_BLOCKS + 2;
const deliveredRuns = memory.data(<i32>DELIVERED_MAX * 16, 8);
let deliveredCount: u32 = 0;

function delivered(start: u32, end: u32, tsFirst: u32, flags: u32): void {
  if (deliveredCount >= DELIVERED_MAX) return;
  const p = deliveredRuns + (<usize>deliveredCount << 4);
  store<u32>(p, start);
  store<u32>(p, end, 4);
  store<u32>(p, tsFirst, 8);
  store<u32>(p, flags, 12);
  deliveredCount++;
}

export function sbDeliveredCount(): u32 { return deliveredCount; }
export function sbDeliveredEnd(k: u32): u32 { return load<u32>(deliveredRuns + (<usize>k << 4), 4); }
export function sbDeliveredTs(k: u32): u32 { return load<u32>(deliveredRuns + (<usize>k << 4), 8); }
export function sbDeliveredFlags(k: u32): u32 { return load<u32>(deliveredRuns + (<usize>k << 4), 12); }

/** Drops what the cumulative ACK covers; runs not SACKed before are newly delivered. */
function trimBelow(sb: Scoreboard, sndUna: u32): void {
  let n: u32 = 0;
  while (n < sb.count && seqLe(sbEnd(sb, n), sndUna)) {
    const f = sbFlags(sb, n);
    if ((f & SB_SACKED) == 0) delivered(sbStart(sb, n), sbEnd(sb, n), sbTsFirst(sb, n), f);
    n++;
  }
  removeRecords(sb, 0, n);
  if (sb.count > 0 && seqLt(sbStart(sb, 0), sndUna)) {
    const f = sbFlags(sb, 0);
    if ((f & SB_SACKED) == 0) delivered(sbStart(sb, 0), sndUna, sbTsFirst(sb, 0), f);
    setFlags(sb, 0, 0);
    setStart(sb, 0, sndUna);
    setFlags(sb, 0, f);
  }
}

/** Marks [left, right) SACKed; returns the octets newly SACKed. */
function sackRange(sb: Scoreboard, left: u32, right: u32): u32 {
  let i = findFrom(sb, left);
  if (i < sb.count && seqLt(sbStart(sb, i), left) && (sbFlags(sb, i) & SB_SACKED) == 0) splitAt(sb, left, left, right);
  const j = findFrom(sb, right);
  if (j < sb.count && seqLt(sbStart(sb, j), right) && (sbFlags(sb, j) & SB_SACKED) == 0) splitAt(sb, right, left, right);
  let gained: u32 = 0;
  i = findFrom(sb, left);
  while (i < sb.count && seqLt(sbStart(sb, i), right)) {
    const f = sbFlags(sb, i);
    // Only whole records: a cut the list had no room for leaves that record as it was.
    if ((f & SB_SACKED) == 0 && seqGe(sbStart(sb, i), left) && seqLe(sbEnd(sb, i), right)) {
      delivered(sbStart(sb, i), sbEnd(sb, i), sbTsFirst(sb, i), f);
      gained += sbEnd(sb, i) - sbStart(sb, i);
      setFlags(sb, i, (f & ~SB_LOST) | SB_SACKED);
    }
    i++;
  }
  // SACKed neighbours become one record.
  let k = findFrom(sb, left);
  if (k > 0) k--;
  while (k < sb.count && seqLe(sbStart(sb, k), right)) {
    const before = sb.count;
    coalesce(sb, k);
    if (sb.count == before) k++;
  }
  return gained;
}

export function sbUpdate(sb: Scoreboard, sndUna: u32, sndMax: u32, blocks: usize, nBlocks: u32): u32 {
  deliveredCount = 0;
  if (sb.records == 0 || sb.count == 0) return 0;
  trimBelow(sb, sndUna);
  let gained: u32 = 0;
  if (nBlocks > MAX_SACK_BLOCKS) nBlocks = MAX_SACK_BLOCKS;
  for (let b: u32 = 0; b < nBlocks; b++) {
    let left = load<u32>(blocks + (<usize>b << 3));
    const right = load<u32>(blocks + (<usize>b << 3), 4);
    if (!seqLt(left, right) || seqGt(right, sndMax) || seqLe(right, sndUna)) continue;
    if (seqLt(left, sndUna)) left = sndUna;
    gained += sackRange(sb, left, right);
  }
  return gained;
}

/** Marks record i lost (RACK, RFC 8985 6.2 step 5). */
export function sbMarkLost(sb: Scoreboard, i: u32): void {
  setFlags(sb, i, sbFlags(sb, i) | SB_LOST);
}

/** Octets sent and neither SACKed nor marked lost: RFC 6675 SetPipe() with RACK's loss marks. */
export function sbPipe(sb: Scoreboard, sndUna: u32, sndMax: u32): u32 {
  const outstanding = sndMax - sndUna;
  const gone = <u64>sb.sackedBytes + <u64>sb.lostBytes;
  return gone >= <u64>outstanding ? 0 : outstanding - <u32>gone;
}

/**
 * NextSeg() rule 1 (RFC 6675 4) with RACK's marks: the first run marked lost, at most `mss` octets
 * of it, written as (seq u32, len u32) at out. False when nothing is marked lost.
 */
export function sbNextLost(sb: Scoreboard, mss: u32, out: usize): bool {
  if (sb.lostBytes == 0) return false;
  for (let i: u32 = 0; i < sb.count; i++) {
    if ((sbFlags(sb, i) & SB_LOST) == 0) continue;
    const len = sbEnd(sb, i) - sbStart(sb, i);
    store<u32>(out, sbStart(sb, i));
    store<u32>(out, len < mss ? len : mss, 4);
    return true;
  }
  return false;
}

export function sbIsSacked(sb: Scoreboard, seq: u32, end: u32): bool {
  for (let i: u32 = 0; i < sb.count; i++) {
    if ((sbFlags(sb, i) & SB_SACKED) == 0) continue;
    if (seqLe(sbStart(sb, i), seq) && seqLe(end, sbEnd(sb, i))) return true;
  }
  return false;
}

export function sbSackedBytes(sb: Scoreboard): u32 {
  return sb.sackedBytes;
}

export function sbLostBytes(sb: Scoreboard): u32 {
  return sb.lostBytes;
}

/**
 * After a retransmission timeout the receiver may have reneged on what it SACKed (RFC 2018 8,
 * RFC 6675 5.1): every SACK and loss mark is forgotten; the transmit times stay.
 */
export function sbForgetSacks(sb: Scoreboard): void {
  for (let i: u32 = 0; i < sb.count; i++) setFlags(sb, i, sbFlags(sb, i) & SB_RETRANSMITTED);
  let k: u32 = 0;
  while (k < sb.count) {
    const before = sb.count;
    coalesce(sb, k);
    if (sb.count == before) k++;
  }
}

/** Forgets every record (the storage stays). */
export function sbClear(sb: Scoreboard): void {
  sb.count = 0;
  sb.sackedBytes = 0;
  sb.lostBytes = 0;
  sb.rtxRecords = 0;
  deliveredCount = 0;
}

export function sbRelease(sb: Scoreboard): void {
  poolFree(sb.records, STORAGE_BYTES);
  sb.records = 0;
  sbClear(sb);
}
