// The plain-TypeScript Internet checksum: the oracle the WASM paths are tested against and the
// baseline the benchmark compares with. Written for obviousness, one 16-bit word at a time, with
// the integer total folded once at the end (RFC 1071 section 4.1's loop).

/** Folds a non-negative integer below 2^53 to 16 bits with end-around carries. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * RFC 1071 ones'-complement sum of big-endian 16-bit words (an odd last byte padded with a zero low
 * byte) plus `initial` (any u32), folded to 0..0xffff.
 */
export function onesSumRef(bytes: Uint8Array, initial = 0): number {
  let sum = initial >>> 0;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return fold(sum);
}

/** The header field for a folded sum. */
export function finishChecksumRef(sum: number): number {
  return ~sum & 0xffff;
}

/** The checksum field of `bytes` after `initial` (a pseudo-header sum, say). */
export function checksumRef(bytes: Uint8Array, initial = 0): number {
  return finishChecksumRef(onesSumRef(bytes, initial));
}

/** The IPv4 pseudo-header (RFC 9293 3.1) laid out as bytes. */
export function pseudoHeaderV4Bytes(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set(src.subarray(0, 4), 0);
  b.set(dst.subarray(0, 4), 4);
  b[9] = protocol;
  b[10] = length >>> 8;
  b[11] = length;
  return b;
}

/** The IPv6 pseudo-header (RFC 8200 8.1) laid out as bytes. */
export function pseudoHeaderV6Bytes(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): Uint8Array {
  const b = new Uint8Array(40);
  b.set(src.subarray(0, 16), 0);
  b.set(dst.subarray(0, 16), 16);
  new DataView(b.buffer).setUint32(32, length >>> 0);
  b[39] = nextHeader;
  return b;
}

export function pseudoHeaderSumV4Ref(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  return onesSumRef(pseudoHeaderV4Bytes(src, dst, protocol, length));
}

export function pseudoHeaderSumV6Ref(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  return onesSumRef(pseudoHeaderV6Bytes(src, dst, nextHeader, length));
}

/**
 * The incremental update done the slow way: write the new big-endian 16-bit word at `offset` into a
 * copy of `bytes` and recompute the checksum from scratch.
 */
export function recomputeAfterWrite16(bytes: Uint8Array, offset: number, newWord: number, initial = 0): number {
  const copy = bytes.slice();
  copy[offset] = newWord >>> 8;
  copy[offset + 1] = newWord;
  return checksumRef(copy, initial);
}

/** As recomputeAfterWrite16 for a big-endian 32-bit value. */
export function recomputeAfterWrite32(bytes: Uint8Array, offset: number, newValue: number, initial = 0): number {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, newValue >>> 0);
  return checksumRef(copy, initial);
}
