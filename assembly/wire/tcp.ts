// TCP header view (RFC 9293 3.1) and options (RFC 9293 3.2; RFC 7323 window scale and timestamps;
// RFC 2018 SACK; RFC 6691 MSS).
//
// Contract: the accessors read at fixed offsets from `p` and check nothing. The caller (packet.ts)
// checks that 20 bytes are present and that 20 <= data offset * 4 <= the segment length before any
// accessor runs; parseOptions then reads only inside [p + 20, p + data offset * 4): every option
// needs a length >= 2 that ends inside the header, known kinds need their exact length, and since
// each iteration advances at least one byte through at most 40 option bytes, the loop runs at most 40
// times. Emit (writeOptions) trusts the Segment it is given.
import { Reason } from "./reason";
import { Segment } from "./segment";

export const SRC_PORT: usize = 0;
export const DST_PORT: usize = 2;
export const SEQ_NUM: usize = 4;
export const ACK_NUM: usize = 8;
export const OFFSET_FLAGS: usize = 12;
export const WINDOW: usize = 14;
export const CHECKSUM: usize = 16;
export const URGENT: usize = 18;

export const MIN_HEADER_LEN: u32 = 20;
export const MAX_HEADER_LEN: u32 = 60;
export const MAX_OPTIONS_LEN: u32 = 40;

// Flags: the low 9 bits of the data-offset/flags word. AE is RFC 9768 (AccECN), formerly NS.
export const FLG_FIN: u16 = 0x001;
export const FLG_SYN: u16 = 0x002;
export const FLG_RST: u16 = 0x004;
export const FLG_PSH: u16 = 0x008;
export const FLG_ACK: u16 = 0x010;
export const FLG_URG: u16 = 0x020;
export const FLG_ECE: u16 = 0x040;
export const FLG_CWR: u16 = 0x080;
export const FLG_AE: u16 = 0x100;
export const FLAGS_MASK: u16 = 0x1ff;

// Option kinds and their fixed lengths.
export const OPT_EOL: u32 = 0;
export const OPT_NOP: u32 = 1;
export const OPT_MSS: u32 = 2;
export const OPT_WS: u32 = 3;
export const OPT_SACK_PERM: u32 = 4;
export const OPT_SACK: u32 = 5;
export const OPT_TS: u32 = 8;
export const OPTLEN_MSS: u32 = 4;
export const OPTLEN_WS: u32 = 3;
export const OPTLEN_SACK_PERM: u32 = 2;
export const OPTLEN_TS: u32 = 10;
export const OPTLEN_SACK_BLOCK: u32 = 8;
export const MAX_SACK_BLOCKS: u32 = 4;

/** RFC 7323 2.3: a shift above 14 is used as 14. */
export const MAX_WSCALE: i8 = 14;

@inline export function srcPort(p: usize): u16 { return bswap<u16>(load<u16>(p + SRC_PORT)); }
@inline export function dstPort(p: usize): u16 { return bswap<u16>(load<u16>(p + DST_PORT)); }
@inline export function seqNum(p: usize): u32 { return bswap<u32>(load<u32>(p + SEQ_NUM)); }
@inline export function ackNum(p: usize): u32 { return bswap<u32>(load<u32>(p + ACK_NUM)); }
@inline export function headerLen(p: usize): u32 { return (<u32>load<u8>(p + OFFSET_FLAGS) >> 4) << 2; }
@inline export function flags(p: usize): u16 { return bswap<u16>(load<u16>(p + OFFSET_FLAGS)) & FLAGS_MASK; }
@inline export function window(p: usize): u16 { return bswap<u16>(load<u16>(p + WINDOW)); }
@inline export function checksum(p: usize): u16 { return bswap<u16>(load<u16>(p + CHECKSUM)); }
@inline export function urgent(p: usize): u16 { return bswap<u16>(load<u16>(p + URGENT)); }

@inline function be16(p: usize): u16 { return bswap<u16>(load<u16>(p)); }
@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/**
 * Parses the options of a header whose length (data offset * 4) is `hlen`, already checked to lie
 * in 20..60 and inside the segment, into `seg` (whose option fields the caller reset).
 */
export function parseOptions(p: usize, hlen: u32, seg: Segment): Reason {
  let at = p + MIN_HEADER_LEN;
  const end = p + hlen;
  let iterations: u32 = 0;
  while (at < end) {
    iterations++;
    if (DEBUG) assert(iterations <= MAX_OPTIONS_LEN && at >= p + MIN_HEADER_LEN);
    const kind = <u32>load<u8>(at);
    if (kind == OPT_EOL) break;
    if (kind == OPT_NOP) {
      at++;
      continue;
    }
    if (at + 1 >= end) return Reason.TCP_OPTION_OVERRUN;
    const optLen = <u32>load<u8>(at + 1);
    if (optLen < 2) return Reason.TCP_OPTION_LENGTH;
    if (at + optLen > end) return Reason.TCP_OPTION_OVERRUN;
    if (kind == OPT_MSS) {
      if (optLen != OPTLEN_MSS) return Reason.TCP_OPTION_LENGTH;
      seg.mss = be16(at + 2);
    } else if (kind == OPT_WS) {
      if (optLen != OPTLEN_WS) return Reason.TCP_OPTION_LENGTH;
      const shift = load<u8>(at + 2);
      seg.wscale = shift > <u8>MAX_WSCALE ? MAX_WSCALE : <i8>shift;
    } else if (kind == OPT_SACK_PERM) {
      if (optLen != OPTLEN_SACK_PERM) return Reason.TCP_OPTION_LENGTH;
      seg.sackPermitted = true;
    } else if (kind == OPT_TS) {
      if (optLen != OPTLEN_TS) return Reason.TCP_OPTION_LENGTH;
      seg.hasTimestamps = true;
      seg.tsVal = be32(at + 2);
      seg.tsEcr = be32(at + 6);
    } else if (kind == OPT_SACK) {
      const blocks = (optLen - 2) >> 3;
      if (blocks == 0 || blocks > MAX_SACK_BLOCKS || ((optLen - 2) & 7) != 0) return Reason.TCP_OPTION_LENGTH;
      seg.sackCount = <u8>blocks;
      const sacks = changetype<usize>(seg) + offsetof<Segment>("sackL0");
      for (let i: u32 = 0; i < blocks; i++) {
        store<u32>(sacks + (i << 3), be32(at + 2 + (i << 3)));
        store<u32>(sacks + (i << 3) + 4, be32(at + 6 + (i << 3)));
      }
    }
    // Unknown kinds are skipped by their length (RFC 9293 3.2, RFC 1122 4.2.2.5).
    at += optLen;
  }
  return Reason.OK;
}

/**
 * Length of the options writeOptions emits for `seg`, padded to 4 bytes. SACK blocks beyond what fits
 * in 40 option bytes are dropped (with timestamps at most 3 fit, as in Linux).
 */
export function optionsLen(seg: Segment): u32 {
  let n: u32 = 0;
  if (seg.mss != 0) n += 4;
  if (seg.hasTimestamps) n += 12;
  else if (seg.sackPermitted) n += 4;
  if (seg.wscale >= 0) n += 4;
  const blocks = sackBlocksThatFit(seg, n);
  if (blocks != 0) n += 4 + (blocks << 3);
  return n;
}

@inline function sackBlocksThatFit(seg: Segment, used: u32): u32 {
  let blocks = <u32>seg.sackCount;
  if (blocks > MAX_SACK_BLOCKS) blocks = MAX_SACK_BLOCKS;
  while (blocks != 0 && used + 4 + (blocks << 3) > MAX_OPTIONS_LEN) blocks--;
  return blocks;
}

@inline function put32(at: usize, v: u32): void { store<u32>(at, bswap<u32>(v)); }

/**
 * Writes the options of `seg` at `at` in Linux's order (tcp_options_write), so a Linux segment
 * re-emits byte-exact: MSS; then SACK-permitted fused with timestamps (04 02 08 0a) or NOP NOP
 * timestamps; SACK-permitted alone as NOP NOP 04 02; NOP window scale; NOP NOP SACK blocks.
 * Returns the bytes written (a multiple of 4).
 */
export function writeOptions(at: usize, seg: Segment): u32 {
  const start = at;
  if (seg.mss != 0) {
    put32(at, (OPT_MSS << 24) | (OPTLEN_MSS << 16) | <u32>seg.mss);
    at += 4;
  }
  if (seg.hasTimestamps) {
    const lead: u32 = seg.sackPermitted ? (OPT_SACK_PERM << 8) | OPTLEN_SACK_PERM : (OPT_NOP << 8) | OPT_NOP;
    put32(at, (lead << 16) | (OPT_TS << 8) | OPTLEN_TS);
    put32(at + 4, seg.tsVal);
    put32(at + 8, seg.tsEcr);
    at += 12;
  } else if (seg.sackPermitted) {
    put32(at, (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_SACK_PERM << 8) | OPTLEN_SACK_PERM);
    at += 4;
  }
  if (seg.wscale >= 0) {
    put32(at, (OPT_NOP << 24) | (OPT_WS << 16) | (OPTLEN_WS << 8) | <u32><u8>seg.wscale);
    at += 4;
  }
  const blocks = sackBlocksThatFit(seg, <u32>(at - start));
  if (blocks != 0) {
    put32(at, (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_SACK << 8) | (2 + (blocks << 3)));
    at += 4;
    const sacks = changetype<usize>(seg) + offsetof<Segment>("sackL0");
    for (let i: u32 = 0; i < blocks; i++) {
      put32(at, load<u32>(sacks + (i << 3)));
      put32(at + 4, load<u32>(sacks + (i << 3) + 4));
      at += 8;
    }
  }
  return <u32>(at - start);
}

/** SEG.LEN (RFC 9293 3.4): the payload plus one for SYN and one for FIN. */
@inline export function segLength(seg: Segment): u32 {
  return seg.payloadLen + ((seg.flags & FLG_SYN) != 0 ? 1 : 0) + ((seg.flags & FLG_FIN) != 0 ? 1 : 0);
}
