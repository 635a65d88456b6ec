// Plain-TypeScript reference for the wire layer: a packet builder that can write any field (valid or
// not) with correct checksums, and a parser written independently of assembly/wire/ from the RFCs,
// applying the same checks in the same order. Tests compare the WASM parser with it reason by reason
// and field by field; bench/parse.bench.ts uses it as the baseline.
import { onesSumRef, pseudoHeaderSumV4Ref, pseudoHeaderSumV6Ref } from "./reference/checksum.js";
import { REASON_NAMES, type ReasonName } from "../src/core/reasons.js";

export const R = Object.fromEntries(REASON_NAMES.map((n, i) => [n, i])) as Record<ReasonName, number>;

export interface BuildSpec {
  v6?: boolean;
  src?: Uint8Array;
  dst?: Uint8Array;
  tos?: number;
  ttl?: number;
  ipId?: number;
  /** The raw IPv4 flags + fragment offset word (default DF: 0x4000). */
  fragmentWord?: number;
  flowLabel?: number;
  /** IPv4 options, a multiple of 4 bytes. */
  ipv4Options?: Uint8Array;
  /** Final protocol / next header (default 6). */
  ipProto?: number;
  /** Raw IPv6 extension headers in order: `type` is announced by the previous header, byte 0 of
   *  `bytes` is rewritten to the next one; the length byte is left as given. */
  ext?: Array<{ type: number; bytes: Uint8Array }>;
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgent?: number;
  /** Raw option bytes; padded with EOL to a multiple of 4 unless dataOffset is given. */
  options?: Uint8Array;
  /** Data offset in 32-bit words, written as given (default from the options). */
  dataOffset?: number;
  payload?: Uint8Array;
  /** Leave a wrong IPv4 header / TCP checksum (the correct one + 1). */
  badIpChecksum?: boolean;
  badTcpChecksum?: boolean;
}

export const V4_SRC = Uint8Array.of(192, 0, 2, 1);
export const V4_DST = Uint8Array.of(198, 51, 100, 7);
export const V6_SRC = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
export const V6_DST = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 2]);

/** Builds an IP+TCP (or other protocol) packet from raw fields, lengths and checksums filled in. */
export function buildPacket(spec: BuildSpec = {}): Uint8Array {
  const v6 = spec.v6 ?? false;
  const src = spec.src ?? (v6 ? V6_SRC : V4_SRC);
  const dst = spec.dst ?? (v6 ? V6_DST : V4_DST);
  const proto = spec.ipProto ?? 6;
  let opts = spec.options ?? new Uint8Array(0);
  if (spec.dataOffset === undefined && opts.length % 4 !== 0) {
    const padded = new Uint8Array((opts.length + 3) & ~3);
    padded.set(opts);
    opts = padded;
  }
  const payload = spec.payload ?? new Uint8Array(0);
  const upper = proto === 6 ? 20 + opts.length + payload.length : payload.length;
  const ipOpts = v6 ? new Uint8Array(0) : spec.ipv4Options ?? new Uint8Array(0);
  const extLen = v6 ? (spec.ext ?? []).reduce((n, e) => n + e.bytes.length, 0) : 0;
  const ipHeader = v6 ? 40 + extLen : 20 + ipOpts.length;
  const b = new Uint8Array(ipHeader + upper);
  const dv = new DataView(b.buffer);
  if (v6) {
    dv.setUint32(0, (0x6 << 28) | ((spec.tos ?? 0) << 20) | (spec.flowLabel ?? 0));
    dv.setUint16(4, extLen + upper);
    const ext = spec.ext ?? [];
    b[6] = ext.length ? ext[0]!.type : proto;
    b[7] = spec.ttl ?? 64;
    b.set(src, 8);
    b.set(dst, 24);
    let at = 40;
    ext.forEach((e, i) => {
      b.set(e.bytes, at);
      b[at] = i + 1 < ext.length ? ext[i + 1]!.type : proto;
      at += e.bytes.length;
    });
  } else {
    b[0] = 0x40 | (ipHeader >> 2);
    b[1] = spec.tos ?? 0;
    dv.setUint16(2, b.length);
    dv.setUint16(4, spec.ipId ?? 0);
    dv.setUint16(6, spec.fragmentWord ?? 0x4000);
    b[8] = spec.ttl ?? 64;
    b[9] = proto;
    b.set(src, 12);
    b.set(dst, 16);
    b.set(ipOpts, 20);
    dv.setUint16(10, (~onesSumRef(b.subarray(0, ipHeader)) + (spec.badIpChecksum ? 1 : 0)) & 0xffff);
  }
  const t = ipHeader;
  if (proto !== 6) {
    b.set(payload, t);
    return b;
  }
  dv.setUint16(t, spec.srcPort ?? 40000);
  dv.setUint16(t + 2, spec.dstPort ?? 80);
  dv.setUint32(t + 4, spec.seq ?? 1000);
  dv.setUint32(t + 8, spec.ack ?? 0);
  dv.setUint16(t + 12, (((spec.dataOffset ?? 5 + opts.length / 4) & 0xf) << 12) | (spec.flags ?? 0x010));
  dv.setUint16(t + 14, spec.window ?? 65535);
  dv.setUint16(t + 18, spec.urgent ?? 0);
  b.set(opts, t + 20);
  b.set(payload, t + 20 + opts.length);
  const segLen = b.length - t;
  const pseudo = v6 ? pseudoHeaderSumV6Ref(src, dst, 6, segLen) : pseudoHeaderSumV4Ref(src, dst, 6, segLen);
  dv.setUint16(t + 16, (~onesSumRef(b.subarray(t), pseudo) + (spec.badTcpChecksum ? 1 : 0)) & 0xffff);
  return b;
}

export interface RefSegment {
  ipVersion: number;
  ipProto: number;
  ttl: number;
  tos: number;
  ipId: number;
  dontFragment: boolean;
  flowLabel: number;
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flagBits: number;
  window: number;
  urgent: number;
  mss: number | null;
  wscale: number | null;
  sackPermitted: boolean;
  timestamps: { value: number; echo: number } | null;
  sack: Array<[number, number]>;
  ipHeaderLength: number;
  tcpHeaderLength: number;
  payloadOffset: number;
  payloadLength: number;
}

export interface RefResult {
  reason: number;
  seg: RefSegment | null;
}

function refuse(reason: ReasonName): RefResult {
  return { reason: R[reason], seg: null };
}

/** Parses like assembly/wire/packet.ts: RFC 791, RFC 8200, RFC 9293 3.1-3.2, RFC 7323, RFC 2018. */
export function refParse(b: Uint8Array, verify = true): RefResult {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length === 0) return refuse("TRUNCATED");
  const version = b[0]! >> 4;
  const seg = { sack: [] as Array<[number, number]> } as RefSegment;
  let ipEnd: number;
  let t: number;
  let pseudo = 0;
  if (version === 4) {
    if (b.length < 20) return refuse("TRUNCATED");
    const ihl = (b[0]! & 0xf) * 4;
    if (ihl < 20) return refuse("IPV4_IHL");
    const total = dv.getUint16(2);
    if (total < ihl || total > b.length) return refuse("IPV4_TOTAL_LENGTH");
    if (verify && onesSumRef(b.subarray(0, ihl)) !== 0xffff) return refuse("IPV4_HEADER_CHECKSUM");
    const frag = dv.getUint16(6);
    if (frag & 0x3fff) return refuse("IP_FRAGMENT");
    if (b[9] !== 6) return refuse("NOT_TCP");
    Object.assign(seg, {
      ipVersion: 4, ipProto: 6, ttl: b[8], tos: b[1], ipId: dv.getUint16(4), dontFragment: (frag & 0x4000) !== 0,
      flowLabel: 0, src: b.slice(12, 16), dst: b.slice(16, 20), ipHeaderLength: ihl,
    });
    ipEnd = total;
    t = ihl;
    if (verify) pseudo = pseudoHeaderSumV4Ref(seg.src, seg.dst, 6, ipEnd - t);
  } else if (version === 6) {
    if (b.length < 40) return refuse("TRUNCATED");
    ipEnd = 40 + dv.getUint16(4);
    if (ipEnd > b.length) return refuse("IPV6_PAYLOAD_LENGTH");
    let nh = b[6]!;
    let off = 40;
    let count = 0;
    while (nh === 0 || nh === 43 || nh === 60 || nh === 44) {
      if (count === 8) return refuse("IPV6_EXTENSION");
      if (nh === 0 && count !== 0) return refuse("IPV6_EXTENSION");
      if (off + 8 > ipEnd) return refuse("IPV6_EXTENSION");
      let len: number;
      if (nh === 44) {
        const w = dv.getUint16(off + 2);
        if ((w >> 3) !== 0 || (w & 1) !== 0) return refuse("IP_FRAGMENT");
        len = 8;
      } else {
        len = (b[off + 1]! + 1) * 8;
        if (off + len > ipEnd) return refuse("IPV6_EXTENSION");
        if (nh === 43 && b[off + 3] !== 0) return refuse("IPV6_EXTENSION");
      }
      nh = b[off]!;
      off += len;
      count++;
    }
    if (nh !== 6) return refuse("NOT_TCP");
    Object.assign(seg, {
      ipVersion: 6, ipProto: 6, ttl: b[7], tos: (dv.getUint32(0) >>> 20) & 0xff, ipId: 0, dontFragment: false,
      flowLabel: dv.getUint32(0) & 0xfffff, src: b.slice(8, 24), dst: b.slice(24, 40), ipHeaderLength: off,
    });
    t = off;
    if (verify) pseudo = pseudoHeaderSumV6Ref(seg.src, seg.dst, 6, ipEnd - t);
  } else {
    return refuse("BAD_IP_VERSION");
  }
  const segLen = ipEnd - t;
  if (segLen < 20) return refuse("TRUNCATED");
  const hlen = (b[t + 12]! >> 4) * 4;
  if (hlen < 20 || hlen > segLen) return refuse("TCP_DATA_OFFSET");
  if (verify && onesSumRef(b.subarray(t, ipEnd), pseudo) !== 0xffff) return refuse("TCP_CHECKSUM");
  Object.assign(seg, {
    srcPort: dv.getUint16(t), dstPort: dv.getUint16(t + 2), seq: dv.getUint32(t + 4), ack: dv.getUint32(t + 8),
    flagBits: dv.getUint16(t + 12) & 0x1ff, window: dv.getUint16(t + 14), urgent: dv.getUint16(t + 18),
    mss: null, wscale: null, sackPermitted: false, timestamps: null,
    tcpHeaderLength: hlen, payloadOffset: t + hlen, payloadLength: segLen - hlen,
  });
  const end = t + hlen;
  for (let at = t + 20; at < end; ) {
    const kind = b[at]!;
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    if (at + 1 >= end) return refuse("TCP_OPTION_OVERRUN");
    const len = b[at + 1]!;
    if (len < 2) return refuse("TCP_OPTION_LENGTH");
    if (at + len > end) return refuse("TCP_OPTION_OVERRUN");
    const fixed: Record<number, number> = { 2: 4, 3: 3, 4: 2, 8: 10 };
    if (fixed[kind] !== undefined && len !== fixed[kind]) return refuse("TCP_OPTION_LENGTH");
    if (kind === 2) seg.mss = dv.getUint16(at + 2) || null;
    else if (kind === 3) seg.wscale = Math.min(b[at + 2]!, 14);
    else if (kind === 4) seg.sackPermitted = true;
    else if (kind === 8) seg.timestamps = { value: dv.getUint32(at + 2), echo: dv.getUint32(at + 6) };
    else if (kind === 5) {
      if ((len - 2) % 8 !== 0 || len < 10 || len > 34) return refuse("TCP_OPTION_LENGTH");
      seg.sack = [];
      for (let i = at + 2; i < at + len; i += 8) seg.sack.push([dv.getUint32(i), dv.getUint32(i + 4)]);
    }
    at += len;
  }
  const sameAddr = seg.src.every((x, i) => x === seg.dst[i]);
  if ((seg.flagBits & 0x002) !== 0 && sameAddr && seg.srcPort === seg.dstPort) return { reason: R.LAND, seg };
  return { reason: 0, seg };
}

/** Bytes from a hex string with optional whitespace. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
