// Zeroing and copying of small fixed-size blocks (a parsed segment, an event record, a hash bucket, a
// flow key) with inline stores. V8 runs memory.fill and memory.copy as a call out of WebAssembly into
// the runtime's memset / memcpy, whose fixed cost is several times that of the few stores these sizes
// take, and the per-packet and per-connection paths make such calls a dozen times a connection.
//
// Contract: `bytes` is a multiple of 4 known at the call (the callers pass constants or bucket sizes);
// the blocks lie inside linear memory; a copy's source and destination do not overlap. Anything
// larger or of another length goes to memory.fill / memory.copy.

/** Zeroes `bytes` (a multiple of 4) at `p`. */
// @ts-ignore: decorator
@inline export function zeroSmall(p: usize, bytes: usize): void {
  if (DEBUG) assert((bytes & 3) == 0, "small: not a multiple of 4 bytes");
  const end = p + bytes;
  if (ASC_FEATURE_SIMD) {
    const zero = i64x2.splat(0);
    while (p + 16 <= end) {
      v128.store(p, zero);
      p += 16;
    }
  }
  while (p + 8 <= end) {
    store<u64>(p, 0);
    p += 8;
  }
  if (p < end) store<u32>(p, 0);
}

/** Copies `bytes` (a multiple of 4) from `src` to `dst`; the two do not overlap. */
// @ts-ignore: decorator
@inline export function copySmall(dst: usize, src: usize, bytes: usize): void {
  if (DEBUG) assert((bytes & 3) == 0, "small: not a multiple of 4 bytes");
  if (DEBUG) assert(dst + bytes <= src || src + bytes <= dst, "small: overlapping copy");
  const end = src + bytes;
  if (ASC_FEATURE_SIMD) {
    while (src + 16 <= end) {
      v128.store(dst, v128.load(src));
      src += 16;
      dst += 16;
    }
  }
  while (src + 8 <= end) {
    store<u64>(dst, load<u64>(src));
    src += 8;
    dst += 8;
  }
  if (src < end) store<u32>(dst, load<u32>(src));
}
