// Copy and checksum in one pass: RFC 1071 4.1 observes that the Internet checksum can be folded into
// a copy (the sum only reads each byte once, and a copy has to read it anyway), so a segment's
// payload is summed while it moves between a connection's ring and a packet, instead of being read
// a second time by onesSum.
//
// Contract: as onesSum (checksum.ts): `src` and `dst` are `len` bytes the caller owns inside linear
// memory, any length and alignment; the ranges must not overlap. The sum is exactly onesSum(src, len,
// initial) (a folded 0..0xffff, 0 only when every word and `initial` are 0): the differential tests
// in test/wire/copysum.test.ts hold the two together on every length and alignment.
import { onesSum, onesSumScalar, fold64, swap16, laneSumSigned } from "./checksum";

// Below this many bytes a plain copy and a separate sum beat the vector set-up (in cache both are a
// few nanoseconds); the same threshold as the SIMD sum's.
const SIMD_THRESHOLD: usize = 112;

// 64-byte iterations between widenings of the i32 lanes: each lane moves by at most 2^16 per
// iteration, so 4096 of them stay within +-2^28.
const BLOCK_ITERATIONS: usize = 4096;

/** Folds a sum of two folded 16-bit sums (ones' complement addition). */
@inline export function addSums(a: u32, b: u32): u32 {
  const s = a + b;
  return (s >>> 16) + (s & 0xffff);
}

/**
 * Copies `len` bytes from `src` to `dst` and returns onesSum(src, len, initial): the RFC 1071 sum of
 * the bytes as big-endian 16-bit words plus `initial`, folded.
 */
export function copyAndSum(dst: usize, src: usize, len: usize, initial: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    if (len >= SIMD_THRESHOLD) return copyAndSumSimd(dst, src, len, initial);
  }
  memory.copy(dst, src, len);
  return onesSum(dst, len, initial);
}

/**
 * The v128 path: each 16-byte load is stored to `dst` and added as eight signed 16-bit words with
 * dot products (the same bias trick as checksum.ts onesSumSimd: each word's top bit flipped maps it to
 * w - 32768, and 32768 per word is added back up front). The lanes hold little-endian words; one byte
 * swap of the folded result gives the network-order sum. The last bytes (under 16) go through a plain
 * copy and the scalar sum; they start an even number of bytes in, so their sum adds as it is.
 */
function copyAndSumSimd(dst: usize, src: usize, len: usize, initial: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    const flip = i16x8.splat(-32768);
    const ones = i16x8.splat(1);
    let total: i64 = <i64>(len >> 4) * (8 * 32768);
    while (len >= 64) {
      let iterations = len >> 6;
      if (iterations > BLOCK_ITERATIONS) iterations = BLOCK_ITERATIONS;
      const blockEnd = src + (iterations << 6);
      len -= iterations << 6;
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      do {
        const v0 = v128.load(src);
        const v1 = v128.load(src, 16);
        const v2 = v128.load(src, 32);
        const v3 = v128.load(src, 48);
        v128.store(dst, v0);
        v128.store(dst, v1, 16);
        v128.store(dst, v2, 32);
        v128.store(dst, v3, 48);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.xor(v0, flip), ones));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.xor(v1, flip), ones));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.xor(v2, flip), ones));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.xor(v3, flip), ones));
        src += 64;
        dst += 64;
      } while (src < blockEnd);
      total += laneSumSigned(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)));
    }
    let acc = i32x4.splat(0);
    while (len >= 16) {
      const v = v128.load(src);
      v128.store(dst, v);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.xor(v, flip), ones));
      src += 16;
      dst += 16;
      len -= 16;
    }
    total += laneSumSigned(acc);
    memory.copy(dst, src, len);
    const head = swap16(fold64(<u64>total));
    return addSums(head, onesSumScalar(src, len, initial));
  } else {
    memory.copy(dst, src, len);
    return onesSum(dst, len, initial);
  }
}
