// SYN cookies (RFC 4987 3.6): past a listener's half-open cap, the SYN,ACK's ISS encodes what the
// connection needs, so no state is kept until the peer's ACK proves it received that SYN,ACK.
//
// ISS = slot (5 bits) | hash (24 bits) | MSS index (3 bits), where slot counts 64-second periods and
// hash is SipHash-2-4 under the host's secret (a key derived from the ISN key) over the 4-tuple, the
// full period number, the peer's ISN and the MSS index. An ACK validates if SEG.ACK - 1 carries the
// hash for the current or the previous period. Only the MSS survives: window scaling, SACK and
// timestamps are not offered in a cookie SYN,ACK, so the connection runs without them.
import { FlowKey, flowKeyBytes, FLOW_KEY_BYTES } from "../wire/flowkey";
import { sipHash24 } from "./siphash";
import { cookieKey0, cookieKey1 } from "./secret";

const PERIOD_US: i64 = 64_000_000;
const SLOT_BITS: u32 = 5;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

/** MSS values a cookie can carry (Linux's table, RFC 9293 3.7.1 default first). */
const MSS_TABLE: StaticArray<u32> = [536, 1220, 1300, 1440, 1460, 4312, 8960, 65495];

const scratch = memory.data(FLOW_KEY_BYTES + 12, 8);

function cookieHash(key: FlowKey, period: u32, peerIsn: u32, mssIndex: u32): u32 {
  flowKeyBytes(key, scratch);
  store<u32>(scratch + FLOW_KEY_BYTES, period);
  store<u32>(scratch + FLOW_KEY_BYTES + 4, peerIsn);
  store<u32>(scratch + FLOW_KEY_BYTES + 8, mssIndex);
  return <u32>sipHash24(cookieKey0(), cookieKey1(), scratch, FLOW_KEY_BYTES + 12) & 0xffffff;
}

/** The largest table MSS not above the peer's (the smallest entry when the peer's is smaller still). */
function mssIndexFor(peerMss: u32): u32 {
  let i: u32 = 0;
  while (i + 1 < <u32>MSS_TABLE.length && MSS_TABLE[i + 1] <= peerMss) i++;
  return i;
}

/** The ISS of a cookie SYN,ACK answering a SYN with sequence number `peerIsn` and MSS `peerMss`. */
export function cookieMake(key: FlowKey, peerIsn: u32, peerMss: u32, nowUs: i64): u32 {
  const period = <u32>(nowUs / PERIOD_US);
  const idx = mssIndexFor(peerMss);
  return ((period & SLOT_MASK) << 27) | (cookieHash(key, period, peerIsn, idx) << 3) | idx;
}

/**
 * Checks the ACK of a cookie SYN,ACK: `iss` = SEG.ACK - 1, `peerIsn` = SEG.SEQ - 1. Returns the MSS the
 * cookie carries, or 0 when it is not ours or older than one period.
 */
export function cookieCheck(key: FlowKey, iss: u32, peerIsn: u32, nowUs: i64): u32 {
  const now = <u32>(nowUs / PERIOD_US);
  const slot = iss >>> 27;
  const idx = iss & 7;
  for (let back: u32 = 0; back < 2; back++) {
    if (now < back) break;
    const period = now - back;
    if ((period & SLOT_MASK) != slot) continue;
    if (((iss >>> 3) & 0xffffff) == cookieHash(key, period, peerIsn, idx)) return MSS_TABLE[idx];
  }
  return 0;
}
