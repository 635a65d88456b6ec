// Memory accounting: every byte the engine takes from the heap goes through here.
//
// Contract
// - poolAlloc(size) returns a zero-filled block of at least `size` bytes, 16-byte aligned, or 0 when
//   the block cannot be had. It never traps: the TLSF allocator of the 'minimal' runtime traps
//   (`unreachable`) when memory.grow fails, so we refuse up front any request that could make it grow
//   past the byte limit (poolSetLimit) or past the 4 GiB of wasm32 linear memory (65536 pages).
//   The page check is conservative: it assumes TLSF may need fresh pages for the whole request.
// - poolAllocUninit(size) is the same block without the zero fill, for storage whose bytes are always
//   written before they are read (ring buffers: only [start, start + len) is ever read, and ringCopyIn
//   writes every byte it later commits). Zeroing two 256 KiB rings per connection was most of the
//   cost of connection churn. Everything else (TCBs, tables, lists) keeps the zero-filled path.
// - poolFree(ptr, size) takes back a block with the size it was asked for; the counters are what the
//   tests use to prove that open/transfer/close cycles leave the heap where it started
//   (TCP.md, "Leaks on drop paths").
// - Freeing 0 is a no-op, so drop paths can free unconditionally.
// - Linear memory grows when TLSF finds no free block, by the larger of its current size and the
//   request (rt/tlsf.ts growMemory): it doubles. This is why tables sized for 65,536 connections at
//   init (35 MiB) cost another 35 MiB the first time a 256 KiB ring did not fit;
//   with tables that grow with the connections, doubling costs at most about what is in use.

// TLSF refuses single blocks above 1 GiB minus its header (rt/common.ts BLOCK_MAXSIZE).
const MAX_BLOCK: usize = (1 << 30) - 64;
const WASM32_MAX_PAGES: i32 = 65536;

let bytesInUse: u64 = 0;
let blocksInUse: u32 = 0;
let byteLimit: u64 = u64.MAX_VALUE;

/** Caps the bytes the pool hands out (counted as requested); poolAlloc returns 0 beyond it. */
export function poolSetLimit(maxBytes: u64): void {
  byteLimit = maxBytes;
}

export function poolAlloc(size: usize): usize {
  let ptr = poolAllocUninit(size);
  if (ptr != 0) memory.fill(ptr, 0, size);
  return ptr;
}

/**
 * Whether the heap can hand out a block of `size` bytes without trapping, even if TLSF must grow
 * memory for all of it. For the few blocks outside the pool's accounting (the event buffer).
 */
export function heapCanAlloc(size: usize): bool {
  if (size > MAX_BLOCK) return false;
  // TLSF rounds large requests up to its size classes (under 1/16 more) and adds block headers.
  let worstCase = size + (size >>> 4) + 256;
  let pagesNeeded = <i32>((worstCase + 0xffff) >>> 16);
  return memory.size() + pagesNeeded <= WASM32_MAX_PAGES;
}

export function poolAllocUninit(size: usize): usize {
  if (bytesInUse + <u64>size > byteLimit || !heapCanAlloc(size)) return 0;
  let ptr = heap.alloc(size);
  bytesInUse += size;
  blocksInUse++;
  return ptr;
}

export function poolFree(ptr: usize, size: usize): void {
  if (ptr == 0) return;
  if (DEBUG) assert(blocksInUse > 0 && bytesInUse >= <u64>size, "pool: free without a matching alloc");
  heap.free(ptr);
  bytesInUse -= size;
  blocksInUse--;
}

/**
 * Counts a block its owner keeps for reuse (a cache of freed blocks of one size, as tcb.ts keeps) as
 * given back: cached blocks are not in use, and the leak tests see them as freed.
 */
export function poolForget(size: usize): void {
  if (DEBUG) assert(blocksInUse > 0 && bytesInUse >= <u64>size, "pool: forget without a matching alloc");
  bytesInUse -= size;
  blocksInUse--;
}

/** Gives the heap a cached block back (poolForget already counted it as freed). */
export function poolFreeForgotten(ptr: usize): void {
  heap.free(ptr);
}

/** Counts a cached block taken again as handed out; false (nothing counted) past the byte limit. */
export function poolReclaim(size: usize): bool {
  if (bytesInUse + <u64>size > byteLimit) return false;
  bytesInUse += size;
  blocksInUse++;
  return true;
}

export function poolBytesInUse(): u64 {
  return bytesInUse;
}

export function poolBlocksInUse(): u32 {
  return blocksInUse;
}
