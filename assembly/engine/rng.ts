// A seeded PRNG for the core: xoshiro128** (Blackman and Vigna), 128 bits of state.
//
// Contract
// - The host seeds it from crypto.getRandomValues (rngSeed); the core never calls Math.random, so a
//   test that seeds it replays exactly. An all-zero seed (the one state xoshiro cannot leave) is
//   replaced by a fixed non-zero one.
// - Used for ephemeral ports (RFC 6056) and anything else that must be unpredictable to a peer but
//   is not a secret key; ISNs come from the keyed hash in isn.ts, not from here.
// - rngBelow(n) is uniform in [0, n) without modulo bias (Lemire's multiply-and-reject);
//   rngBelow(0) returns 0.

let s0: u32 = 0x9e3779b9;
let s1: u32 = 0x243f6a88;
let s2: u32 = 0xb7e15162;
let s3: u32 = 0x6a09e667;

export function rngSeed(a: u32, b: u32, c: u32, d: u32): void {
  if ((a | b | c | d) == 0) {
    a = 0x9e3779b9;
    b = 0x243f6a88;
    c = 0xb7e15162;
    d = 0x6a09e667;
  }
  s0 = a;
  s1 = b;
  s2 = c;
  s3 = d;
}

export function rngNext(): u32 {
  let result = rotl<u32>(s1 * 5, 7) * 9;
  let t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

export function rngBelow(n: u32): u32 {
  if (n == 0) return 0;
  let m = <u64>rngNext() * <u64>n;
  let low = <u32>m;
  if (low < n) {
    // 2^32 mod n: products whose low half falls below it would over-represent some outputs.
    let threshold: u32 = (<u32>0 - n) % n;
    while (low < threshold) {
      m = <u64>rngNext() * <u64>n;
      low = <u32>m;
    }
  }
  return <u32>(m >>> 32);
}
