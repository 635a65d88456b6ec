// Initial sequence numbers, RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a timer ticking every 4 microseconds, F a keyed pseudorandom function. F is
// SipHash-2-4 (siphash.ts) keyed with the host's secret (secret.ts); a peer that sees its own ISNs
// learns nothing about another 4-tuple's (RFC 6528 section 4, the attack of RFC 6528 section 1).
//
// Contract
// - isnFor serialises the key exactly as flowKeyBytes writes it (40 bytes), so the same 4-tuple always
//   maps to the same offset for a given secret.
// - tsOffsetFor is the timestamp clock's offset (RFC 7323 5.4: "the same function with a different
//   secret key"): F keyed with a key derived from the secret, never the secret itself. Being a function
//   of the 4-tuple, it is the same for every incarnation of a connection, so a new incarnation's TSvals
//   continue the old one's clock and never go back (a peer still in TIME-WAIT, or PAWS, would drop
//   them), while a peer learns nothing about another 4-tuple's offset.
import { FlowKey, flowKeyBytes, FLOW_KEY_BYTES } from "../wire/flowkey";
import { sipHash24 } from "./siphash";
import { isnKey0, isnKey1, tsKey0, tsKey1 } from "./secret";

// The serialised 4-tuple; static so no allocation per SYN.
const flowScratch = memory.data(FLOW_KEY_BYTES, 8);

export function isnFor(key: FlowKey, nowUs: i64): u32 {
  flowKeyBytes(key, flowScratch);
  let f = <u32>sipHash24(isnKey0(), isnKey1(), flowScratch, FLOW_KEY_BYTES);
  // M: the 4-microsecond clock of RFC 6528 section 3, wrapping modulo 2^32 (about every 4.77 hours).
  let m = <u32>(nowUs >> 2);
  return m + f;
}

/** The timestamp clock's offset for this 4-tuple (RFC 7323 5.4). */
export function tsOffsetFor(key: FlowKey): u32 {
  flowKeyBytes(key, flowScratch);
  return <u32>sipHash24(tsKey0(), tsKey1(), flowScratch, FLOW_KEY_BYTES);
}
