// Receive side: which out-of-order sequence ranges beyond RCV.NXT are held in the receive ring, and
// the SACK blocks that describe them (RFC 2018).
//
// Contract
// - The bytes themselves live in the receive ring (ring.ts ringCopyIn at offset seq - RCV.NXT); this
//   file only remembers which [start, end) ranges are there. Ranges are kept sorted, disjoint and
//   non-adjacent (touching ranges merge). Sequence numbers compare modulo 2^32 (wire/seq.ts), which
//   holds because every range lies inside the receive window (< 2^30 bytes, RFC 7323 2.3).
// - Bounded (CVE-2018-6922, SegmentSmack; TCP.md "Out-of-order floods"): at most MAX_OOO_RANGES holes'
//   worth of ranges, and the ring bounds the bytes. oooInsert returns false, changing nothing, when
//   the segment would need a range beyond the bound: the caller drops it (the peer retransmits).
//   Every call does O(MAX_OOO_RANGES) work at most.
// - Storage (MAX_OOO_RANGES * 12 bytes) is taken from the pool on the first out-of-order segment;
//   oooClear keeps it, oooRelease gives it back. oooInsert returns false if it cannot be had.
// - SACK blocks (RFC 2018 section 4): the first block is the range holding the most recently received
//   segment; the rest follow in order of how recently each range last changed, so the blocks sent
//   most recently are repeated first. Each block is (left, right) = (first octet, one past the last).
// - oooTake(rcvNxt): after RCV.NXT advanced, forgets the ranges now wholly below it and, if a range
//   covers RCV.NXT, removes it and returns its end (the new RCV.NXT: that data is now in order).
//   Call it after every advance of RCV.NXT.
import { poolAlloc, poolFree } from "./pool";
import { seqLt, seqLe, seqGt } from "../wire/seq";

export const MAX_OOO_RANGES: u32 = 32;

// One range: start u32, end u32, stamp u32 (when it last grew; larger = more recent).
const R_START: usize = 0;
const R_END: usize = 4;
const R_STAMP: usize = 8;
const RANGE_BYTES: usize = 12;
const STORAGE_BYTES: usize = <usize>MAX_OOO_RANGES * RANGE_BYTES;

@unmanaged
export class OooList {
  ranges: usize;
  count: u32;
  recent: i32; // index of the range holding the most recent segment; meaningful only while count > 0
  bytes: u32;  // total octets held
  stamp: u32;  // the last stamp handed out
}

// @ts-ignore: decorator
@inline function at(q: OooList, i: u32): usize {
  return q.ranges + <usize>i * RANGE_BYTES;
}

// @ts-ignore: decorator
@inline function rStart(q: OooList, i: u32): u32 {
  return load<u32>(at(q, i), R_START);
}

// @ts-ignore: decorator
@inline function rEnd(q: OooList, i: u32): u32 {
  return load<u32>(at(q, i), R_END);
}

function removeRanges(q: OooList, i: u32, n: u32): void {
  if (n == 0) return;
  let tail = q.count - i - n;
  if (tail > 0) memory.copy(at(q, i), at(q, i + n), <usize>tail * RANGE_BYTES);
  q.count -= n;
}

// New ranks while renumbering stamps (static: no allocation).
const rankScratch = memory.data(<i32>MAX_OOO_RANGES * 4, 4);

function nextStamp(q: OooList): u32 {
  if (q.stamp == u32.MAX_VALUE) {
    // Renumber to 1..count keeping the order: once per 2^32 inserts, MAX_OOO_RANGES^2 steps.
    for (let i: u32 = 0; i < q.count; i++) {
      let mine = load<u32>(at(q, i), R_STAMP);
      let rank: u32 = 1;
      for (let k: u32 = 0; k < q.count; k++) if (load<u32>(at(q, k), R_STAMP) < mine) rank++;
      store<u32>(rankScratch + (<usize>i << 2), rank);
    }
    for (let i: u32 = 0; i < q.count; i++) store<u32>(at(q, i), load<u32>(rankScratch + (<usize>i << 2)), R_STAMP);
    q.stamp = q.count;
  }
  return ++q.stamp;
}

export function oooInsert(q: OooList, start: u32, end: u32): bool {
  if (!seqLt(start, end)) return true;
  if (q.ranges == 0) {
    q.ranges = poolAlloc(STORAGE_BYTES);
    if (q.ranges == 0) return false;
    q.count = 0;
    q.recent = -1;
    q.bytes = 0;
    q.stamp = 0;
  }
  // Ranges i..j-1 overlap or touch [start, end).
  let i: u32 = 0;
  while (i < q.count && seqLt(rEnd(q, i), start)) i++;
  let j = i;
  while (j < q.count && seqLe(rStart(q, j), end)) j++;
  if (i == j) {
    if (q.count >= MAX_OOO_RANGES) return false;
    let tail = q.count - i;
    if (tail > 0) memory.copy(at(q, i + 1), at(q, i), <usize>tail * RANGE_BYTES);
    q.count++;
  } else {
    let first = rStart(q, i);
    let last = rEnd(q, j - 1);
    if (seqLt(first, start)) start = first;
    if (seqGt(last, end)) end = last;
    for (let k = i; k < j; k++) q.bytes -= rEnd(q, k) - rStart(q, k);
    removeRanges(q, i + 1, j - i - 1);
  }
  store<u32>(at(q, i), start, R_START);
  store<u32>(at(q, i), end, R_END);
  store<u32>(at(q, i), nextStamp(q), R_STAMP);
  q.bytes += end - start;
  q.recent = <i32>i;
  return true;
}

export function oooTake(q: OooList, rcvNxt: u32): u32 {
  if (q.count == 0) return rcvNxt;
  let stale: u32 = 0;
  while (stale < q.count && seqLe(rEnd(q, stale), rcvNxt)) {
    q.bytes -= rEnd(q, stale) - rStart(q, stale);
    stale++;
  }
  let next = rcvNxt;
  let drop = stale;
  if (stale < q.count && seqLe(rStart(q, stale), rcvNxt)) {
    next = rEnd(q, stale);
    q.bytes -= next - rStart(q, stale);
    drop++;
  }
  if (drop > 0) {
    removeRanges(q, 0, drop);
    q.recent = q.recent >= <i32>drop ? q.recent - <i32>drop : -1;
  }
  return next;
}

export function oooSackBlocks(q: OooList, out: usize, max: u32): u32 {
  let n: u32 = 0;
  let below: u32 = u32.MAX_VALUE; // stamps are unique: pick the largest under the previous pick
  let limit = max < q.count ? max : q.count;
  while (n < limit) {
    let best: i32 = -1;
    let bestStamp: u32 = 0;
    for (let i: u32 = 0; i < q.count; i++) {
      let s = load<u32>(at(q, i), R_STAMP);
      if (s < below && (best < 0 || s > bestStamp)) {
        best = <i32>i;
        bestStamp = s;
      }
    }
    if (best < 0) break;
    store<u32>(out + (<usize>n << 3), rStart(q, <u32>best));
    store<u32>(out + (<usize>n << 3), rEnd(q, <u32>best), 4);
    below = bestStamp;
    n++;
  }
  return n;
}

export function oooBytes(q: OooList): u32 {
  return q.bytes;
}

export function oooCount(q: OooList): u32 {
  return q.count;
}

export function oooClear(q: OooList): void {
  q.count = 0;
  q.recent = -1;
  q.bytes = 0;
  q.stamp = 0;
}

export function oooRelease(q: OooList): void {
  poolFree(q.ranges, STORAGE_BYTES);
  q.ranges = 0;
  oooClear(q);
}
