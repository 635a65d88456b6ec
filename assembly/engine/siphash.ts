// SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): the keyed pseudorandom
// function behind the ISNs (isn.ts), the timestamp offsets, the SYN cookies and the hash tables'
// bucket hash, so that a peer choosing ports and addresses can neither predict nor aim them.
//
// Contract
// - Pure functions of (key, bytes): `len` bytes at `ptr` read as the paper specifies (little-endian
//   64-bit words, which is what WebAssembly's load<u64> gives); tested against the paper's vectors.
// - sipHash24 is the paper's SipHash-2-4; sipHash13 (1 compression round, 3 finalisation rounds) is
//   the cheaper variant for bucket hashes, whose output never leaves the engine.

// The state lives in four locals, one copy of the round per place it runs: WebAssembly globals are
// loads and stores to the instance's memory on every access in V8, and a round over globals cost
// several times a round over locals (connection churn hashes every 4-tuple a dozen times).

// @ts-ignore: decorator
@inline function sipHash(k0: u64, k1: u64, ptr: usize, len: usize, cRounds: i32, dRounds: i32): u64 {
  let v0 = k0 ^ 0x736f6d6570736575;
  let v1 = k1 ^ 0x646f72616e646f6d;
  let v2 = k0 ^ 0x6c7967656e657261;
  let v3 = k1 ^ 0x7465646279746573;
  let end = ptr + (len & ~<usize>7);
  let p = ptr;
  while (p < end) {
    let m = load<u64>(p);
    v3 ^= m;
    for (let i = 0; i < cRounds; i++) {
      v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
      v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
      v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
      v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    }
    v0 ^= m;
    p += 8;
  }
  // Last block: the remaining 0..7 bytes, little-endian, with len mod 256 in the top byte.
  let b: u64 = <u64>(len & 0xff) << 56;
  let rest = len & 7;
  for (let i: usize = 0; i < rest; i++) b |= <u64>load<u8>(p + i) << (<u64>i << 3);
  v3 ^= b;
  for (let i = 0; i < cRounds; i++) {
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  }
  v0 ^= b;
  v2 ^= 0xff;
  for (let i = 0; i < dRounds; i++) {
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  }
  return v0 ^ v1 ^ v2 ^ v3;
}

export function sipHash24(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  return sipHash(k0, k1, ptr, len, 2, 4);
}

export function sipHash13(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  return sipHash(k0, k1, ptr, len, 1, 3);
}
