// Initial sequence numbers, RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
// secretkey), M a timer ticking every 4 microseconds, F a keyed pseudorandom function. F is
// SipHash-2-4 (siphash.ts) keyed with the host's secret (secret.ts); a peer that sees its own ISNs
// learns nothing about another 4-tuple's (RFC 6528 section 4, the attack of RFC 6528 section 1).
//
// Contract
// - isnFor hashes the key's flowHashInput (wire/flowkey.ts: an IPv4 4-tuple's 16 meaningful bytes,
//   packed one-to-one; an IPv6 one's 40), so the same 4-tuple always maps to the same offset for a
//   given secret.
// - tsOffsetFor is the timestamp clock's offset (RFC 7323 5.4: "the same function with a different
//   secret key"): F keyed with a key derived from the secret, never the secret itself. Being a function
//   of the 4-tuple, it is the same for every incarnation of a connection, so a new incarnation's TSvals
//   continue the old one's clock and never go back (a peer still in TIME-WAIT, or PAWS, would drop
//   them), while a peer learns nothing about another 4-tuple's offset.
import { FlowKey, flowKeyBytes, flowHashInput, FLOW_KEY_BYTES, FLOW_HASH_INPUT_BYTES } from "../wire/flowkey";
import { sipHash24 } from "./siphash";
import { isnKey0, isnKey1, tsKey0, tsKey1 } from "./secret";

// The serialised 4-tuple and the hashes' input; static so no allocation per SYN.
const flowScratch = memory.data(FLOW_KEY_BYTES, 8);
const hashInput = memory.data(<i32>FLOW_HASH_INPUT_BYTES, 8);

/** Serialises `key` into hashInput; returns the input's length. */
function stageKey(key: FlowKey): u32 {
  flowKeyBytes(key, flowScratch);
  return flowHashInput(flowScratch, hashInput);
}

export function isnFor(key: FlowKey, nowUs: i64): u32 {
  let f = <u32>sipHash24(isnKey0(), isnKey1(), hashInput, stageKey(key));
  // M: the 4-microsecond clock of RFC 6528 section 3, wrapping modulo 2^32 (about every 4.77 hours).
  let m = <u32>(nowUs >> 2);
  return m + f;
}

/** The timestamp clock's offset for this 4-tuple (RFC 7323 5.4). */
export function tsOffsetFor(key: FlowKey): u32 {
  return <u32>sipHash24(tsKey0(), tsKey1(), hashInput, stageKey(key));
}
