// The host's 128-bit secret (drawn from crypto.getRandomValues) and the keys derived from it, one per
// use, so that no output of one keyed function tells a peer anything about another's (RFC 6528
// section 3 for the ISN's F, RFC 7323 5.4: "the same function with a different secret key").
//
// Contract
// - secretSet computes every key at once: nothing keyed needs to be set up after it, in any order.
//   Until it is called every key is derived from zero, which is predictable. It is called once, at
//   engine start, before any table holds an entry (the tables cache bucket hashes under tableKey).
// - A derived key is SipHash-2-4 of an 8-byte label under the secret: the secret itself serves only
//   the ISN function (isn.ts) and, with a fixed tweak, the SYN cookie hash (syncookie.ts).
import { sipHash24 } from "./siphash";

let secretK0: u64 = 0;
let secretK1: u64 = 0;
let ts0: u64 = 0;
let ts1: u64 = 0;
let table0: u64 = 0;
let table1: u64 = 0;

const keyLabel = memory.data(8, 8);
const HIGH_BIT: u64 = <u64>1 << 56;
/** Labels: "tsoffset", "table" as little-endian bytes. */
const TS_LABEL: u64 = 0x74657366666f7374;
const TABLE_LABEL: u64 = 0x656c626174;
/** "cookies!": cookie hashes never equal ISN offsets. */
const COOKIE_TWEAK: u64 = 0x636f6f6b69657321;

export function secretSet(k0: u64, k1: u64): void {
  secretK0 = k0;
  secretK1 = k1;
  ts0 = deriveKey(TS_LABEL);
  ts1 = deriveKey(TS_LABEL ^ HIGH_BIT);
  table0 = deriveKey(TABLE_LABEL);
  table1 = deriveKey(TABLE_LABEL | HIGH_BIT);
}

/** The PRF of a label under the secret. */
function deriveKey(label: u64): u64 {
  store<u64>(keyLabel, label);
  return sipHash24(secretK0, secretK1, keyLabel, 8);
}

/** The ISN function's key (RFC 6528 section 3, "secretkey"). */
@inline export function isnKey0(): u64 { return secretK0; }
@inline export function isnKey1(): u64 { return secretK1; }
/** The timestamp offset function's key (RFC 7323 5.4). */
@inline export function tsKey0(): u64 { return ts0; }
@inline export function tsKey1(): u64 { return ts1; }
/** The SYN cookie hash's key (RFC 4987 3.6). */
@inline export function cookieKey0(): u64 { return secretK0 ^ COOKIE_TWEAK; }
@inline export function cookieKey1(): u64 { return secretK1; }
/** The bucket hash of the connection and listener tables, the listener counts and the TIME-WAIT index (table.ts, timewait.ts). */
@inline export function tableKey0(): u64 { return table0; }
@inline export function tableKey1(): u64 { return table1; }
