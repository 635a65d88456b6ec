// IPv4 header view (RFC 791 3.1).
//
// Contract: the accessors read at fixed offsets from `p` and check nothing. validateIpv4 is the
// boundary: it checks version, IHL >= 5, IHL * 4 <= total length <= the buffer (bytes after the
// total length are link-layer padding and ignored), the header checksum when asked, and refuses
// fragments. Only after it returns Reason.OK may the accessors (and the TCP view at the returned
// header length) be used on untrusted bytes. Fragments pass validation (isFragment tells them
// apart) so the caller can record the header fields before refusing them. Emit (writeIpv4) trusts
// its input: it writes a 20-byte header without options.
import { Reason } from "./reason";
import { onesSum, finishChecksum } from "./checksum";

export const VER_IHL: usize = 0;
export const TOS: usize = 1;
export const TOTAL_LENGTH: usize = 2;
export const IDENT: usize = 4;
export const FLAGS_FRAGMENT: usize = 6;
export const TTL: usize = 8;
export const PROTOCOL: usize = 9;
export const HEADER_CHECKSUM: usize = 10;
export const SRC_ADDR: usize = 12;
export const DST_ADDR: usize = 16;

/** A header without options. */
export const MIN_HEADER_LEN: u32 = 20;

export const FLAG_DF: u32 = 0x4000;
export const FLAG_MF: u32 = 0x2000;
export const FRAGMENT_OFFSET_MASK: u32 = 0x1fff;

@inline export function version(p: usize): u32 { return <u32>load<u8>(p + VER_IHL) >> 4; }
@inline export function headerLen(p: usize): u32 { return (<u32>load<u8>(p + VER_IHL) & 0xf) << 2; }
@inline export function tos(p: usize): u32 { return <u32>load<u8>(p + TOS); }
@inline export function totalLength(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + TOTAL_LENGTH)); }
@inline export function ident(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + IDENT)); }
@inline export function flagsFragment(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p + FLAGS_FRAGMENT)); }
@inline export function dontFragment(p: usize): bool { return (flagsFragment(p) & FLAG_DF) != 0; }
@inline export function isFragment(p: usize): bool { return (flagsFragment(p) & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0; }
@inline export function ttl(p: usize): u32 { return <u32>load<u8>(p + TTL); }
@inline export function protocol(p: usize): u32 { return <u32>load<u8>(p + PROTOCOL); }
@inline export function srcAddr(p: usize): u32 { return load<u32>(p + SRC_ADDR); }
@inline export function dstAddr(p: usize): u32 { return load<u32>(p + DST_ADDR); }

/**
 * Validates an untrusted IPv4 header of a `len`-byte buffer (RFC 791 3.1; RFC 1122 3.2.1.1-3.2.1.2).
 * Returns Reason.OK or why not.
 */
export function validateIpv4(p: usize, len: u32, verifyChecksum: bool): Reason {
  if (len < MIN_HEADER_LEN) return Reason.TRUNCATED;
  if (version(p) != 4) return Reason.BAD_IP_VERSION;
  const hlen = headerLen(p);
  if (hlen < MIN_HEADER_LEN) return Reason.IPV4_IHL;
  const total = totalLength(p);
  if (total < hlen || total > len) return Reason.IPV4_TOTAL_LENGTH;
  if (verifyChecksum && onesSum(p, hlen, 0) != 0xffff) return Reason.IPV4_HEADER_CHECKSUM;
  return Reason.OK;
}

/** Writes a 20-byte header with a zero checksum; `totalLen` counts the header and everything after it. */
@inline export function writeIpv4(
  p: usize, tosByte: u32, totalLen: u32, identification: u32, df: bool, ttlValue: u32, proto: u32,
  src: u32, dst: u32,
): void {
  store<u16>(p + VER_IHL, bswap<u16>(<u16>(0x4500 | (tosByte & 0xff))));
  store<u16>(p + TOTAL_LENGTH, bswap<u16>(<u16>totalLen));
  store<u16>(p + IDENT, bswap<u16>(<u16>identification));
  store<u16>(p + FLAGS_FRAGMENT, bswap<u16>(<u16>(df ? FLAG_DF : 0)));
  store<u16>(p + TTL, bswap<u16>(<u16>(((ttlValue & 0xff) << 8) | (proto & 0xff))));
  store<u16>(p + HEADER_CHECKSUM, 0);
  store<u32>(p + SRC_ADDR, src);
  store<u32>(p + DST_ADDR, dst);
}

/** Fills in the header checksum of a header this side wrote (IHL trusted). */
@inline export function fillIpv4Checksum(p: usize): void {
  const hlen = headerLen(p);
  store<u16>(p + HEADER_CHECKSUM, 0);
  store<u16>(p + HEADER_CHECKSUM, bswap<u16>(finishChecksum(onesSum(p, hlen, 0))));
}
