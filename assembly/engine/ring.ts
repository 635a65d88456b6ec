// A byte ring in linear memory: the send and receive buffers of one connection.
//
// Contract
// - `cap` is a power of two (ringSetCapacity rounds up), so positions wrap with a mask, never a
//   division. `start` is always < cap; `len` <= cap.
// - Storage is taken lazily (ringEnsure, through the pool) so an idle connection costs no buffer,
//   and given back by ringRelease when the connection ends. The capacity survives a release.
//   Storage is not zeroed (poolAllocUninit): a byte is read only after it was written.
// - Released storage is kept for the next rings of the same capacity (ringCacheTake), up to
//   RING_CACHE_MAX_BYTES, counted as freed; ringCacheDecay gives it all back to the heap once a
//   second of engine time passed without a ring taken from it. Only the capacities connections
//   start with are kept: a ring grown by auto-sizing (autosize.ts) goes back to the heap.
// - ringGrow moves a ring to larger storage with every byte at the same offset from `start`;
//   ringBytesHeld is the storage all rings hold (auto-sizing's budget).
// - The pointer/length pairs (ringWritePtr + ringWriteContig, ringReadPtr + ringReadContig) let the
//   host write straight into the send ring and read straight out of the receive ring: user data
//   crosses the boundary once each way, with no copy through a staging buffer. They need storage
//   (ringEnsure).
// - ringCopyOutSum / ringCopyInSum copy as ringCopyOut / ringCopyIn and return the RFC 1071 sum of
//   the bytes moved (wire/copysum.ts): a segment's checksum costs no pass of its own.
// - ringCopyIn may write beyond `len` (out-of-order data held past RCV.NXT) as long as it stays within
//   cap; ringCommit later makes it readable. Out-of-range offsets are the caller's bug: the debug
//   build asserts, release builds clamp nothing (the state machine bounds them by the window).
import { poolAllocUninit, poolFree, poolForget, poolReclaim, poolFreeForgotten } from "./pool";
import { copyAndSum, addSums } from "../wire/copysum";
import { swap16 } from "../wire/checksum";
import * as config from "./config";

@unmanaged
export class Ring {
  buf: usize;
  cap: u32;
  start: u32;
  len: u32;
}

// The largest ring: window scaling tops out at 2^30 bytes (RFC 7323 2.3).
export const RING_MAX_CAPACITY: u32 = 1 << 30;

/** The capacity of a ring asked to hold `bytes`: the power of two at or above it, within bounds. */
export function ringCapacityFor(bytes: u32): u32 {
  if (bytes <= 1) return 1;
  if (bytes > RING_MAX_CAPACITY) bytes = RING_MAX_CAPACITY;
  return <u32>1 << (32 - clz(bytes - 1));
}

export function ringSetCapacity(r: Ring, bytes: u32): void {
  if (DEBUG) assert(r.buf == 0, "ring: capacity changes only while no storage is held");
  if (r.buf != 0) return;
  r.cap = ringCapacityFor(bytes);
  r.start = 0;
  r.len = 0;
}

// Bytes of storage all rings hold now (not the cache).
let ringHeld: u64 = 0;

export function ringBytesHeld(): u64 {
  return ringHeld;
}

// Ring storage is the largest block a connection takes (256 KiB by default, one per direction and
// end). Taking it from TLSF splits a large free block and giving it back merges it again, each time
// touching block headers a ring's length away from the bytes in use: cache and TLB misses that were
// the largest part of connection setup and teardown (about 9% of a churn's samples). Storage kept
// here is reused where it lies, its first bytes warm. One capacity at a time, last in first out, and
// only a capacity connections start with (config SEND_BUFFER, RECV_BUFFER): a ring that auto-sizing
// grew would otherwise take the cache's one capacity, and every new ring would then go to the heap.
const RING_CACHE_MAX_BYTES: usize = 64 << 20;
const RING_CACHE_SLOTS: u32 = 512;
const ringCache = memory.data(<i32>RING_CACHE_SLOTS << 2, 4);
let ringCached: u32 = 0;
let ringCachedCap: u32 = 0;
let ringCacheTaken: u32 = 0;
let ringCacheCheckUs: i64 = 0;

/** Cached storage for a ring of capacity `cap`, or 0. */
function ringCacheTake(cap: u32): usize {
  if (ringCached == 0 || cap != ringCachedCap || !poolReclaim(<usize>cap)) return 0;
  ringCached--;
  ringCacheTaken++;
  return <usize>load<u32>(ringCache + (<usize>ringCached << 2));
}

/** Keeps released storage of capacity `cap`; false when it must go back to the heap. */
function ringCachePut(p: usize, cap: u32): bool {
  if (ringCached != 0 && cap != ringCachedCap) return false;
  if (cap != ringCapacityFor(config.sendBufferDefault) && cap != ringCapacityFor(config.recvBufferDefault)) return false;
  if (ringCached >= RING_CACHE_SLOTS || <usize>(ringCached + 1) * <usize>cap > RING_CACHE_MAX_BYTES) return false;
  poolForget(<usize>cap);
  ringCachedCap = cap;
  store<u32>(ringCache + (<usize>ringCached << 2), <u32>p);
  ringCached++;
  return true;
}

/** Gives every cached block back to the heap. */
export function ringCacheFlush(): void {
  while (ringCached != 0) {
    ringCached--;
    poolFreeForgotten(<usize>load<u32>(ringCache + (<usize>ringCached << 2)));
  }
}

/** From the engine's timers: the cache goes back to the heap after a second in which nothing was taken from it. */
export function ringCacheDecay(nowUs: i64): void {
  if (nowUs - ringCacheCheckUs < 1_000_000) return;
  if (ringCacheTaken == 0) ringCacheFlush();
  ringCacheTaken = 0;
  ringCacheCheckUs = nowUs;
}

export function ringEnsure(r: Ring): bool {
  if (r.buf != 0) return true;
  if (r.cap == 0) return false;
  let p = ringCacheTake(r.cap);
  if (p == 0) p = poolAllocUninit(<usize>r.cap);
  if (p == 0) return false;
  r.buf = p;
  r.start = 0;
  r.len = 0;
  ringHeld += r.cap;
  return true;
}

/** Storage of capacity `cap` back to the cache or the heap. */
function giveBack(p: usize, cap: u32): void {
  if (!ringCachePut(p, cap)) poolFree(p, <usize>cap);
}

export function ringRelease(r: Ring): void {
  if (r.buf != 0) {
    giveBack(r.buf, r.cap);
    ringHeld -= r.cap;
  }
  r.buf = 0;
  r.start = 0;
  r.len = 0;
}

/**
 * Moves the ring to storage of capacity `cap` (a power of two above the current one). Every position
 * keeps its offset from `start`, readable or not: out-of-order text held past `len` (ringCopyIn)
 * moves too, so the whole old ring is copied, from `start` round to just before it. Without storage
 * only the capacity changes (ringEnsure takes it later). False, and nothing changed: no memory.
 */
export function ringGrow(r: Ring, cap: u32): bool {
  if (DEBUG) assert(cap > r.cap && (cap & (cap - 1)) == 0 && cap <= RING_MAX_CAPACITY, "ring: grows to a larger power of two");
  if (r.buf == 0) {
    r.cap = cap;
    return true;
  }
  const p = poolAllocUninit(<usize>cap);
  if (p == 0) return false;
  const toEnd = r.cap - r.start;
  memory.copy(p, r.buf + <usize>r.start, toEnd);
  memory.copy(p + <usize>toEnd, r.buf, r.start);
  giveBack(r.buf, r.cap);
  ringHeld += <u64>(cap - r.cap);
  r.buf = p;
  r.cap = cap;
  r.start = 0;
  return true;
}

@inline export function ringSpace(r: Ring): u32 {
  return r.cap - r.len;
}

@inline function writeIndex(r: Ring): u32 {
  return (r.start + r.len) & (r.cap - 1);
}

export function ringWritePtr(r: Ring): usize {
  return r.buf + <usize>writeIndex(r);
}

export function ringWriteContig(r: Ring): u32 {
  let space = r.cap - r.len;
  let toEnd = r.cap - writeIndex(r);
  return space < toEnd ? space : toEnd;
}

export function ringCommit(r: Ring, n: u32): void {
  if (DEBUG) assert(n <= r.cap - r.len, "ring: commit beyond capacity");
  r.len += n;
}

export function ringReadPtr(r: Ring): usize {
  return r.buf + <usize>r.start;
}

export function ringReadContig(r: Ring): u32 {
  let toEnd = r.cap - r.start;
  return r.len < toEnd ? r.len : toEnd;
}

export function ringConsume(r: Ring, n: u32): void {
  if (DEBUG) assert(n <= r.len, "ring: consume beyond length");
  r.len -= n;
  // `start` is not rewound to 0 when the ring empties: out-of-order bytes may sit past `len`
  // (ringCopyIn) at positions relative to `start`.
  r.start = (r.start + n) & (r.cap - 1);
}

export function ringCopyOut(r: Ring, offset: u32, dst: usize, n: u32): void {
  if (n == 0) return;
  if (DEBUG) assert(<u64>offset + <u64>n <= <u64>r.cap && r.buf != 0, "ring: copy out of range");
  let at = (r.start + offset) & (r.cap - 1);
  let first = r.cap - at;
  if (first >= n) {
    memory.copy(dst, r.buf + <usize>at, n);
  } else {
    memory.copy(dst, r.buf + <usize>at, first);
    memory.copy(dst + <usize>first, r.buf, n - first);
  }
}

export function ringCopyIn(r: Ring, offset: u32, src: usize, n: u32): void {
  if (n == 0) return;
  if (DEBUG) assert(<u64>offset + <u64>n <= <u64>r.cap && r.buf != 0, "ring: copy in out of range");
  let at = (r.start + offset) & (r.cap - 1);
  let first = r.cap - at;
  if (first >= n) {
    memory.copy(r.buf + <usize>at, src, n);
  } else {
    memory.copy(r.buf + <usize>at, src, first);
    memory.copy(r.buf, src + <usize>first, n - first);
  }
}

/**
 * The sum of two pieces of one run of bytes, the second starting `firstLen` bytes in: an odd first
 * piece shifts the second's byte pairing, which a byte swap of its sum undoes (RFC 1071 2(B)).
 */
@inline function joinSums(first: u32, second: u32, firstLen: u32): u32 {
  return addSums(first, (firstLen & 1) != 0 ? swap16(second) : second);
}

/** ringCopyOut, returning the RFC 1071 sum of the `n` bytes copied (folded; plus `initial`). */
export function ringCopyOutSum(r: Ring, offset: u32, dst: usize, n: u32, initial: u32): u32 {
  if (n == 0) return initial;
  if (DEBUG) assert(<u64>offset + <u64>n <= <u64>r.cap && r.buf != 0, "ring: copy out of range");
  let at = (r.start + offset) & (r.cap - 1);
  let first = r.cap - at;
  if (first >= n) return copyAndSum(dst, r.buf + <usize>at, n, initial);
  const a = copyAndSum(dst, r.buf + <usize>at, first, initial);
  return joinSums(a, copyAndSum(dst + <usize>first, r.buf, n - first, 0), first);
}

/** ringCopyIn, returning the RFC 1071 sum of the `n` bytes copied (folded; plus `initial`). */
export function ringCopyInSum(r: Ring, offset: u32, src: usize, n: u32, initial: u32): u32 {
  if (n == 0) return initial;
  if (DEBUG) assert(<u64>offset + <u64>n <= <u64>r.cap && r.buf != 0, "ring: copy in out of range");
  let at = (r.start + offset) & (r.cap - 1);
  let first = r.cap - at;
  if (first >= n) return copyAndSum(r.buf + <usize>at, src, n, initial);
  const a = copyAndSum(r.buf + <usize>at, src, first, initial);
  return joinSums(a, copyAndSum(r.buf, src + <usize>first, n - first, 0), first);
}
