// IPv6 header view (RFC 8200 3) and the extension-header walk (RFC 8200 4).
//
// Contract: the accessors read at fixed offsets from `p` and check nothing. validateIpv6 is the
// boundary for the fixed header: 40 bytes present, version 6, 40 + payload length <= the buffer
// (bytes past it are link padding and ignored). skipExtensionHeaders then walks hop-by-hop, routing,
// destination-options and fragment headers by their own length fields, never past the payload and
// never more than MAX_EXTENSION_HEADERS of them; only the offset it returns may be trusted as the
// start of the upper-layer header. Emit (writeIpv6) trusts its input and writes no extension headers.
import { Reason } from "./reason";

export const VER_TC_FLOW: usize = 0;
export const PAYLOAD_LENGTH: usize = 4;
export const NEXT_HEADER: usize = 6;
export const HOP_LIMIT: usize = 7;
export const SRC_ADDR: usize = 8;
export const DST_ADDR: usize = 24;

export const HEADER_LEN: u32 = 40;

// Next-header values walked here (IANA protocol numbers).
export const NH_HOP_BY_HOP: u32 = 0;
export const NH_ROUTING: u32 = 43;
export const NH_FRAGMENT: u32 = 44;
export const NH_DEST_OPTIONS: u32 = 60;

// Offsets inside an extension header.
export const EXT_NEXT_HEADER: usize = 0;
export const EXT_LENGTH: usize = 1;
export const ROUTING_SEGMENTS_LEFT: usize = 3;
export const FRAGMENT_OFFSET_FLAGS: usize = 2;
export const FRAGMENT_HEADER_LEN: u32 = 8;

/** More than this many extension headers is refused (RFC 8200 4.1 recommends one of each at most). */
export const MAX_EXTENSION_HEADERS: u32 = 8;

@inline export function verTcFlow(p: usize): u32 { return bswap<u32>(load<u32>(p + VER_TC_FLOW)); }
@inline export function version(p: usize): u32 { return <u32>load<u8>(p + VER_TC_FLOW) >> 4; }
@inline export function trafficClass(p: usize): u32 { return (verTcFlow(p) >> 20) & 0xff; }
@inline export function flowLabel(p: usize): u32 { return verTcFlow(p) & 0xfffff; }
@inline export function payloadLength(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + PAYLOAD_LENGTH)); }
@inline export function nextHeader(p: usize): u32 { return <u32>load<u8>(p + NEXT_HEADER); }
@inline export function hopLimit(p: usize): u32 { return <u32>load<u8>(p + HOP_LIMIT); }
@inline export function srcAddrHigh(p: usize): u64 { return load<u64>(p + SRC_ADDR); }
@inline export function srcAddrLow(p: usize): u64 { return load<u64>(p + SRC_ADDR + 8); }
@inline export function dstAddrHigh(p: usize): u64 { return load<u64>(p + DST_ADDR); }
@inline export function dstAddrLow(p: usize): u64 { return load<u64>(p + DST_ADDR + 8); }

/** Validates the fixed header of an untrusted `len`-byte buffer. */
export function validateIpv6(p: usize, len: u32): Reason {
  if (len < HEADER_LEN) return Reason.TRUNCATED;
  if (version(p) != 6) return Reason.BAD_IP_VERSION;
  if (HEADER_LEN + payloadLength(p) > len) return Reason.IPV6_PAYLOAD_LENGTH;
  return Reason.OK;
}

/**
 * Walks the extension headers of a validated packet whose IP payload ends at `p + end`. On success
 * returns the offset of the upper-layer header in the low 16 bits and its protocol number in bits
 * 16..23; on refusal returns a Reason with bit 31 set. Every read is at an offset already checked
 * against `end`, and each header advances the offset by at least 8 bytes.
 */
export function skipExtensionHeaders(p: usize, end: u32): u32 {
  let nh = nextHeader(p);
  let off: u32 = HEADER_LEN;
  for (let count: u32 = 0; count <= MAX_EXTENSION_HEADERS; count++) {
    if (nh != NH_HOP_BY_HOP && nh != NH_ROUTING && nh != NH_DEST_OPTIONS && nh != NH_FRAGMENT) {
      return off | (nh << 16);
    }
    if (count == MAX_EXTENSION_HEADERS) break;
    // RFC 8200 4.3: hop-by-hop options only immediately after the IPv6 header.
    if (nh == NH_HOP_BY_HOP && count != 0) return refusal(Reason.IPV6_EXTENSION);
    if (off + 8 > end) return refusal(Reason.IPV6_EXTENSION);
    const h = p + off;
    let extLen: u32;
    if (nh == NH_FRAGMENT) {
      // RFC 6946: an atomic fragment (offset 0, M clear) is processed as a whole packet.
      if ((<u32>bswap<u16>(load<u16>(h + FRAGMENT_OFFSET_FLAGS)) & 0xfff9) != 0) {
        return refusal(Reason.IP_FRAGMENT);
      }
      extLen = FRAGMENT_HEADER_LEN;
    } else {
      extLen = (<u32>load<u8>(h + EXT_LENGTH) + 1) << 3;
      if (off + extLen > end) return refusal(Reason.IPV6_EXTENSION);
      // RFC 8200 4.4: segments left > 0 means this node is not the final destination; an end host
      // does not forward, so the packet is not for it.
      if (nh == NH_ROUTING && load<u8>(h + ROUTING_SEGMENTS_LEFT) != 0) return refusal(Reason.IPV6_EXTENSION);
    }
    nh = <u32>load<u8>(h + EXT_NEXT_HEADER);
    off += extLen;
  }
  return refusal(Reason.IPV6_EXTENSION);
}

@inline function refusal(reason: Reason): u32 {
  return 0x80000000 | <u32>reason;
}

/** Writes a 40-byte header; `payloadLen` counts everything after it. */
@inline export function writeIpv6(
  p: usize, trafficClassByte: u32, flow: u32, payloadLen: u32, next: u32, hops: u32,
  srcHigh: u64, srcLow: u64, dstHigh: u64, dstLow: u64,
): void {
  store<u32>(p + VER_TC_FLOW, bswap<u32>(0x60000000 | ((trafficClassByte & 0xff) << 20) | (flow & 0xfffff)));
  store<u16>(p + PAYLOAD_LENGTH, bswap<u16>(<u16>payloadLen));
  store<u16>(p + NEXT_HEADER, bswap<u16>(<u16>(((next & 0xff) << 8) | (hops & 0xff))));
  store<u64>(p + SRC_ADDR, srcHigh);
  store<u64>(p + SRC_ADDR + 8, srcLow);
  store<u64>(p + DST_ADDR, dstHigh);
  store<u64>(p + DST_ADDR + 8, dstLow);
}
