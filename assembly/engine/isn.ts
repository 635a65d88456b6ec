// Initial sequence numbers, RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a timer ticking every 4 microseconds, F a keyed pseudorandom function. F is
// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) keyed with the 128-bit
// secret the host draws from crypto.getRandomValues; a peer that sees its own ISNs learns nothing
// about another 4-tuple's (RFC 6528 section 4, the attack of RFC 6528 section 1).
//
// Contract
// - isnSetSecret must be called before the first connection, and before tableInit (table.ts derives
//   its hash key from this secret). Until then the key is all zero, which is predictable.
// - sipHash24 reads `len` bytes at `ptr` as the paper specifies (little-endian 64-bit words, which is
//   what WebAssembly's load<u64> gives) and is tested against the paper's vectors.
// - sipHash13 (1 compression round, 3 finalisation rounds) is the cheaper variant used for the
//   connection table's bucket hash, where the output never leaves the engine.
// - isnFor serialises the key exactly as flowKeyBytes writes it (40 bytes), so the same 4-tuple always
//   maps to the same offset for a given secret.
// - tsOffsetFor is the timestamp clock's offset (RFC 7323 5.4: "the same function with a different
//   secret key"): F keyed with a key derived from the secret, never the secret itself. Being a function
//   of the 4-tuple, it is the same for every incarnation of a connection, so a new incarnation's TSvals
//   continue the old one's clock and never go back (a peer still in TIME-WAIT, or PAWS, would drop
//   them), while a peer learns nothing about another 4-tuple's offset.
import { FlowKey } from "./table";

let secretK0: u64 = 0;
let secretK1: u64 = 0;
let tsKey0: u64 = 0;
let tsKey1: u64 = 0;

// 40 bytes of serialised 4-tuple (flowKeyBytes); static so no allocation per SYN.
export const FLOW_KEY_BYTES: u32 = 40;
const flowScratch = memory.data(FLOW_KEY_BYTES, 8);

const keyLabel = memory.data(8, 8);

export function isnSetSecret(k0: u64, k1: u64): void {
  secretK0 = k0;
  secretK1 = k1;
  tsKey0 = deriveKey(0x74657366666f7374); // "tsoffset"
  tsKey1 = deriveKey(0x74657366666f7374 ^ (<u64>1 << 56));
}

/** A key for another use of F: the PRF of a label under the secret (the secret itself never leaves). */
export function deriveKey(label: u64): u64 {
  store<u64>(keyLabel, label);
  return sipHash24(secretK0, secretK1, keyLabel, 8);
}

export function isnSecretK0(): u64 {
  return secretK0;
}

export function isnSecretK1(): u64 {
  return secretK1;
}

/** Writes the 4-tuple as 40 bytes at dst: local address (16), remote address (16), ports, version. */
export function flowKeyBytes(key: FlowKey, dst: usize): void {
  store<u64>(dst, key.localA);
  store<u64>(dst, key.localB, 8);
  store<u64>(dst, key.remoteA, 16);
  store<u64>(dst, key.remoteB, 24);
  store<u32>(dst, ((key.localPort & 0xffff) << 16) | (key.remotePort & 0xffff), 32);
  store<u32>(dst, key.ipVersion, 36);
}

// SipHash state: four 64-bit words, kept in globals so the rounds inline into straight-line code.
let v0: u64 = 0;
let v1: u64 = 0;
let v2: u64 = 0;
let v3: u64 = 0;

// @ts-ignore: decorator
@inline function sipRound(): void {
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
}

// @ts-ignore: decorator
@inline function sipHash(k0: u64, k1: u64, ptr: usize, len: usize, cRounds: i32, dRounds: i32): u64 {
  v0 = k0 ^ 0x736f6d6570736575;
  v1 = k1 ^ 0x646f72616e646f6d;
  v2 = k0 ^ 0x6c7967656e657261;
  v3 = k1 ^ 0x7465646279746573;
  let end = ptr + (len & ~<usize>7);
  let p = ptr;
  while (p < end) {
    let m = load<u64>(p);
    v3 ^= m;
    for (let i = 0; i < cRounds; i++) sipRound();
    v0 ^= m;
    p += 8;
  }
  // Last block: the remaining 0..7 bytes, little-endian, with len mod 256 in the top byte.
  let b: u64 = <u64>(len & 0xff) << 56;
  let rest = len & 7;
  for (let i: usize = 0; i < rest; i++) b |= <u64>load<u8>(p + i) << (<u64>i << 3);
  v3 ^= b;
  for (let i = 0; i < cRounds; i++) sipRound();
  v0 ^= b;
  v2 ^= 0xff;
  for (let i = 0; i < dRounds; i++) sipRound();
  return v0 ^ v1 ^ v2 ^ v3;
}

export function sipHash24(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  return sipHash(k0, k1, ptr, len, 2, 4);
}

export function sipHash13(k0: u64, k1: u64, ptr: usize, len: usize): u64 {
  return sipHash(k0, k1, ptr, len, 1, 3);
}

export function isnFor(key: FlowKey, nowUs: i64): u32 {
  flowKeyBytes(key, flowScratch);
  let f = <u32>sipHash24(secretK0, secretK1, flowScratch, FLOW_KEY_BYTES);
  // M: the 4-microsecond clock of RFC 6528 section 3, wrapping modulo 2^32 (about every 4.77 hours).
  let m = <u32>(nowUs >> 2);
  return m + f;
}

/** The timestamp clock's offset for this 4-tuple (RFC 7323 5.4). */
export function tsOffsetFor(key: FlowKey): u32 {
  flowKeyBytes(key, flowScratch);
  return <u32>sipHash24(tsKey0, tsKey1, flowScratch, FLOW_KEY_BYTES);
}
