// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update), RFC 768 / RFC 9293
// 3.1 (IPv4 pseudo-header) and RFC 8200 8.1 (IPv6 pseudo-header).
//
// Contract: `ptr` and `len` describe bytes the caller owns inside linear memory; any length (0
// included) and any alignment. Nothing here validates a packet: callers check lengths at their own
// boundary, once, and then ask for a sum.
//
// Byte order: RFC 1071 2(B) shows the sum is byte-order independent up to a final swap. The wide
// loops therefore add little-endian loads as they come and swap the folded 16-bit result once; the
// words are paired from `ptr`, so an odd start address changes nothing. Every sum returned here is
// folded to 0..0xffff and is 0 only when every added word (and `initial`) was 0, exactly like the
// 16-bit loop of the plain-TypeScript reference.

// Below this many bytes the v128 set-up and lane reductions cost more than they save: measured on the
// release build, the scalar path wins up to 104 bytes, the two tie at 112 and SIMD wins from 120 on.
const SIMD_THRESHOLD: usize = 112;

// The shortest and the longest IPv4 or TCP header (5 and 15 words).
const MIN_HEADER_BYTES: usize = 20;
const MAX_HEADER_BYTES: usize = 60;

// Inner SIMD iterations (64 bytes each) between widenings of the i32 lanes into an i64: each lane moves
// by at most 2^16 per iteration, so 4096 iterations stay within +-2^28.
const SIMD_BLOCK_ITERATIONS: usize = 4096;

/** Folds a u64 ones'-complement accumulator to 16 bits with end-around carries. */
@inline export function fold64(x: u64): u32 {
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

@inline export function swap16(x: u32): u32 {
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

// The v128 path adds words as signed i16 with pmaddwd-style dot products (i32x4.dot_i16x8_s against
// ones), which lowers to one instruction where the unsigned widening add (extadd_pairwise) takes three.
// Flipping each word's top bit first maps w to w - 32768, so the sum of the dot products is the true
// sum minus 32768 per word; that bias is added back up front, which keeps the i64 total non-negative.

/** Widens the four signed i32 lanes of acc to i64 and adds them. */
@inline export function laneSumSigned(acc: v128): i64 {
  const wide = i64x2.add(i64x2.extend_low_i32x4_s(acc), i64x2.extend_high_i32x4_s(acc));
  return i64x2.extract_lane(wide, 0) + i64x2.extract_lane(wide, 1);
}

/**
 * v128 path of onesSum. In the scalar build (no SIMD feature) this is the scalar path, so every
 * build exports the same names; the loader's runtime probe decides which build runs.
 */
export function onesSumSimd(ptr: usize, len: usize, initial: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    const flip = i16x8.splat(-32768);
    const ones = i16x8.splat(1);
    let total: i64 = <i64>(len >> 4) * (8 * 32768);
    while (len >= 64) {
      let iterations = len >> 6;
      if (iterations > SIMD_BLOCK_ITERATIONS) iterations = SIMD_BLOCK_ITERATIONS;
      const blockEnd = ptr + (iterations << 6);
      len -= iterations << 6;
      // Four independent accumulators keep the adds from waiting on each other.
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      do {
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.xor(v128.load(ptr), flip), ones));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.xor(v128.load(ptr, 16), flip), ones));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.xor(v128.load(ptr, 32), flip), ones));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.xor(v128.load(ptr, 48), flip), ones));
        ptr += 64;
      } while (ptr < blockEnd);
      // Each lane is within +-2^28 here, so the four accumulators add in 32 bits.
      total += laneSumSigned(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)));
    }
    let acc = i32x4.splat(0);
    while (len >= 16) {
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.xor(v128.load(ptr), flip), ones));
      ptr += 16;
      len -= 16;
    }
    total += laneSumSigned(acc);
    // Fewer than 16 bytes remain, starting an even number of bytes after the original ptr.
    return finishSum(fold64(<u64>total + sumLittleEndianScalar(ptr, len)), initial);
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
  // Headers are whole 32-bit words, five at least (IPv4 IHL, TCP data offset; at most 60 bytes), and
  // every packet in and out sums one or two (and an empty payload): the five words straight, any
  // options word by word, without the wide loop's set-up and tails.
  if (len <= MAX_HEADER_BYTES && (len & 3) == 0) {
    let s: u64 = 0;
    const end = ptr + len;
    if (len >= MIN_HEADER_BYTES) {
      s = <u64>load<u32>(ptr) + <u64>load<u32>(ptr, 4) + <u64>load<u32>(ptr, 8) +
        <u64>load<u32>(ptr, 12) + <u64>load<u32>(ptr, 16);
      ptr += MIN_HEADER_BYTES;
    }
    while (ptr < end) {
      s += <u64>load<u32>(ptr);
      ptr += 4;
    }
    return finishSum(fold64(s), initial);
  }
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
