// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update), RFC 768 / RFC 9293
// 3.1 (IPv4 pseudo-header) and RFC 8200 8.1 (IPv6 pseudo-header).
//
// Contract: `ptr` and `len` describe bytes the caller owns inside linear memory; any length (0
// included) and any alignment. Nothing here validates a packet: callers check lengths at their own
// boundary (STYLE.md rule 2) and then ask for a sum.
//
// Byte order: RFC 1071 2(B) shows the sum is byte-order independent up to a final swap. The wide
// loops therefore add little-endian loads as they come and swap the folded 16-bit result once; the
// words are paired from `ptr`, so an odd start address changes nothing. Every sum returned here is
// folded to 0..0xffff and is 0 only when every added word (and `initial`) was 0, exactly like the
// 16-bit loop of the plain-TypeScript reference.

// Below this many bytes the v128 set-up and lane reduction cost more than they save (bench/checksum).
const SIMD_THRESHOLD: usize = 128;

// Inner SIMD iterations (64 bytes each) between widenings of the u32 lanes into a u64: each lane gains
// at most 2 * 0xffff per iteration, so 4096 iterations stay far below 2^32.
const SIMD_BLOCK_ITERATIONS: usize = 4096;

/** Folds a u64 ones'-complement accumulator to 16 bits with end-around carries. */
@inline function fold64(x: u64): u32 {
  let s = (x >> 32) + (x & 0xffffffff);
  s = (s >> 16) + (s & 0xffff);
  s = (s >> 16) + (s & 0xffff);
  s = (s >> 16) + (s & 0xffff);
  return <u32>s;
}

@inline function fold32(x: u32): u32 {
  let s = (x >>> 16) + (x & 0xffff);
  return (s >>> 16) + (s & 0xffff);
}

@inline function swap16(x: u32): u32 {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * Unfolded sum of the little-endian 16-bit words at ptr (a trailing odd byte as the low byte of a last
 * word), as 32-bit halves added into u64 accumulators: no carry is lost below 2^31 loop iterations.
 */
function sumLittleEndianScalar(ptr: usize, len: usize): u64 {
  let a0: u64 = 0;
  let a1: u64 = 0;
  let a2: u64 = 0;
  let a3: u64 = 0;
  const end32 = ptr + (len & ~<usize>31);
  while (ptr < end32) {
    const v0 = load<u64>(ptr);
    const v1 = load<u64>(ptr, 8);
    const v2 = load<u64>(ptr, 16);
    const v3 = load<u64>(ptr, 24);
    a0 += (v0 & 0xffffffff) + (v0 >> 32);
    a1 += (v1 & 0xffffffff) + (v1 >> 32);
    a2 += (v2 & 0xffffffff) + (v2 >> 32);
    a3 += (v3 & 0xffffffff) + (v3 >> 32);
    ptr += 32;
  }
  len &= 31;
  while (len >= 8) {
    const v = load<u64>(ptr);
    a0 += (v & 0xffffffff) + (v >> 32);
    ptr += 8;
    len -= 8;
  }
  if (len >= 4) {
    a1 += <u64>load<u32>(ptr);
    ptr += 4;
    len -= 4;
  }
  if (len >= 2) {
    a2 += <u64>load<u16>(ptr);
    ptr += 2;
    len -= 2;
  }
  if (len) a3 += <u64>load<u8>(ptr);
  return (a0 + a1) + (a2 + a3);
}

/** Adds a little-endian folded sum to `initial` in network order; result folded. */
@inline function finishSum(littleEndianFolded: u32, initial: u32): u32 {
  return fold32(swap16(littleEndianFolded) + fold32(initial));
}

/** Scalar path of onesSum: 64-bit accumulation of unaligned wide loads. */
export function onesSumScalar(ptr: usize, len: usize, initial: u32): u32 {
  return finishSum(fold64(sumLittleEndianScalar(ptr, len)), initial);
}

/**
 * v128 path of onesSum. In the scalar build (no SIMD feature) this is the scalar path, so every
 * build exports the same names; the loader's runtime probe decides which build runs.
 */
export function onesSumSimd(ptr: usize, len: usize, initial: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    let total: u64 = 0;
    while (len >= 64) {
      let iterations = len >> 6;
      if (iterations > SIMD_BLOCK_ITERATIONS) iterations = SIMD_BLOCK_ITERATIONS;
      const blockEnd = ptr + (iterations << 6);
      len -= iterations << 6;
      // Four independent accumulators: each extadd widens 8 u16 words to 4 u32 pair sums.
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      do {
        a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_u(v128.load(ptr)));
        a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_u(v128.load(ptr, 16)));
        a2 = i32x4.add(a2, i32x4.extadd_pairwise_i16x8_u(v128.load(ptr, 32)));
        a3 = i32x4.add(a3, i32x4.extadd_pairwise_i16x8_u(v128.load(ptr, 48)));
        ptr += 64;
      } while (ptr < blockEnd);
      // Each lane is below 2^30, so two can be added in 32 bits; the rest widens to u64.
      const s01 = i32x4.add(a0, a1);
      const s23 = i32x4.add(a2, a3);
      const wide = i64x2.add(
        i64x2.add(i64x2.extend_low_i32x4_u(s01), i64x2.extend_high_i32x4_u(s01)),
        i64x2.add(i64x2.extend_low_i32x4_u(s23), i64x2.extend_high_i32x4_u(s23)),
      );
      total += <u64>i64x2.extract_lane(wide, 0) + <u64>i64x2.extract_lane(wide, 1);
    }
    // Fewer than 64 bytes remain, starting an even number of bytes after the original ptr.
    total += sumLittleEndianScalar(ptr, len);
    return finishSum(fold64(total), initial);
  } else {
    return onesSumScalar(ptr, len, initial);
  }
}

/**
 * RFC 1071 ones'-complement sum of `len` bytes at `ptr` as big-endian 16-bit words (an odd last byte
 * is the high byte of a zero-padded word), plus `initial` (any u32). Returns the folded sum,
 * 0..0xffff; pass it to finishChecksum for the header field, or as `initial` to chain buffers (each
 * chained buffer but the last must have an even length).
 */
export function onesSum(ptr: usize, len: usize, initial: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    if (len >= SIMD_THRESHOLD) return onesSumSimd(ptr, len, initial);
  }
  return onesSumScalar(ptr, len, initial);
}

/** The checksum field for a folded sum: its ones' complement. */
@inline export function finishChecksum(sum: u32): u16 {
  return <u16>(~sum & 0xffff);
}

/** Both 16-bit halves of a big-endian u32 at p, added. */
@inline function addressWords32(p: usize): u32 {
  const v = bswap<u32>(load<u32>(p));
  return (v >>> 16) + (v & 0xffff);
}

/**
 * Sum of the IPv4 pseudo-header (RFC 9293 3.1): source and destination addresses (4 bytes each, in
 * network order at src and dst), zero, protocol, and the TCP (or UDP) length. Folded; pass as
 * `initial` to onesSum over the segment.
 */
export function pseudoHeaderSumV4(src: usize, dst: usize, protocol: u32, length: u32): u32 {
  let s: u32 = addressWords32(src) + addressWords32(dst);
  s += (protocol & 0xff) + (length >>> 16) + (length & 0xffff);
  return fold32(s);
}

/**
 * Sum of the IPv6 pseudo-header (RFC 8200 8.1): source and destination addresses (16 bytes each, in
 * network order), the 32-bit upper-layer packet length, three zero bytes and the next header. Folded.
 */
export function pseudoHeaderSumV6(src: usize, dst: usize, nextHeader: u32, length: u32): u32 {
  let s: u32 = (nextHeader & 0xff) + (length >>> 16) + (length & 0xffff);
  for (let i: usize = 0; i < 16; i += 4) {
    s += addressWords32(src + i) + addressWords32(dst + i);
  }
  return fold32(s);
}

/**
 * RFC 1624 eqn. 3: the checksum field after one 16-bit word of the covered data changes from oldWord
 * to newWord, HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never produces the 0xffff (-0) that a full
 * recomputation cannot give for non-zero data.
 */
export function updateChecksum16(oldChecksum: u32, oldWord: u32, newWord: u32): u32 {
  const s: u32 = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold32(s) & 0xffff;
}

/** RFC 1624 eqn. 3 for a 32-bit field (an address, a sequence number): both halves at once. */
export function updateChecksum32(oldChecksum: u32, oldValue: u32, newValue: u32): u32 {
  let s: u32 = (~oldChecksum & 0xffff) + (~oldValue & 0xffff) + (~oldValue >>> 16);
  s += (newValue & 0xffff) + (newValue >>> 16);
  return ~fold32(s) & 0xffff;
}
