// The wire layer through its public helpers (src/core/wire.ts): byte-exact emit of hand-written
// Linux-shaped segments, encode -> parse round trips for any valid header and options (fast-check,
// IPv4 and IPv6), agreement with the plain-TypeScript reference parser, input validation, address
// text forms, the checksum helper, and seq.ts's modulo-2^32 comparisons.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadWire, formatIpv6, parseIpv4, parseIpv6, type PacketFields, type ParsedPacket, type Wire } from "../../src/index.js";
import { loadEngine } from "../../src/core/loader.js";
import { TcpwasmError, isArgumentError } from "../../src/core/errors.js";
import { REASON_NAMES } from "../../src/core/reasons.js";
import { loadPrimitives, type Prim } from "../fixtures/prim-harness.js";
import { buildPacket, hex, refParse, toHex } from "../fixtures/wire-reference.js";
import { checksumRef } from "../fixtures/checksum-reference.js";

let wire: Wire;
let wireDebug: Wire;
beforeAll(async () => {
  wire = await loadWire();
  wireDebug = await loadWire({ flavor: "debug" });
});

function parsed(bytes: Uint8Array, w: Wire = wire): ParsedPacket {
  const r = w.parsePacket(bytes);
  if ("error" in r) throw new Error(`refused: ${r.error}`);
  return r;
}

function invalid(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TcpwasmError);
    expect(isArgumentError(e)).toBe(true);
    return;
  }
  throw new Error("expected an argument error (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE)");
}

// Hand-written from RFC 791 / 8200 / 9293 layouts, options in the order Linux's tcp_options_write
// uses; one field per group. Checksums computed once and checked below against the reference.
const GOLDEN: Array<{ name: string; hex: string; fields: PacketFields }> = [
  {
    name: "IPv4 SYN: MSS, SACK-permitted fused with timestamps, NOP window scale",
    hex: `45 00 003c 1c46 4000 40 06 323a c0000201 c6336407
          9c40 0050 45edbe4d 00000000 a002 faf0 dcf5 0000
          020405b4 0402080a 0c8bd686 00000000 01030307`,
    fields: {
      src: "192.0.2.1", dst: "198.51.100.7", ipId: 0x1c46, srcPort: 40000, dstPort: 80, seq: 0x45edbe4d,
      flags: { syn: true }, window: 64240,
      options: { mss: 1460, sackPermitted: true, timestamps: { value: 0x0c8bd686, echo: 0 }, wscale: 7 },
    },
  },
  {
    name: "IPv4 SYN without timestamps: MSS, NOP NOP SACK-permitted, NOP window scale",
    hex: `45 00 0034 1c47 4000 40 06 3241 c0000201 c6336407
          9c41 0050 01020304 00000000 8002 faf0 e74c 0000
          020405b4 01010402 01030307`,
    fields: {
      src: "192.0.2.1", dst: "198.51.100.7", ipId: 0x1c47, srcPort: 40001, dstPort: 80, seq: 0x01020304,
      flags: 0x002, window: 64240, options: { mss: 1460, sackPermitted: true, wscale: 7 },
    },
  },
  {
    name: "IPv4 ACK: NOP NOP timestamps, NOP NOP two SACK blocks",
    hex: `45 00 0048 1c48 4000 40 06 322c c0000201 c6336407
          0050 9c40 10000000 45edbe4e d010 01f5 54a6 0000
          0101080a 00001000 0c8bd686
          01010512 45edc000 45edc5b4 45edcb68 45edd10c`,
    fields: {
      src: "192.0.2.1", dst: "198.51.100.7", ipId: 0x1c48, srcPort: 80, dstPort: 40000, seq: 0x10000000,
      ack: 0x45edbe4e, flags: { ack: true }, window: 501,
      options: {
        timestamps: { value: 0x1000, echo: 0x0c8bd686 },
        sack: [[0x45edc000, 0x45edc5b4], [0x45edcb68, 0x45edd10c]],
      },
    },
  },
  {
    name: "IPv6 SYN+ACK without SACK: MSS, NOP NOP timestamps, NOP window scale; flow label",
    hex: `6 00 08797 0028 06 40 20010db8000000000000000000000001 20010db80001000000000000abcd0002
          01bb c350 fffffff0 24e608a9 a012 fd20 78eb 0000
          020405a0 0101080a 5c2e4e8d 59eed67c 0103030a`,
    fields: {
      src: "2001:db8::1", dst: "2001:db8:1::abcd:2", flowLabel: 0x8797, srcPort: 443, dstPort: 50000,
      seq: 0xfffffff0, ack: 0x24e608a9, flags: { syn: true, ack: true }, window: 64800,
      options: { mss: 1440, timestamps: { value: 0x5c2e4e8d, echo: 0x59eed67c }, wscale: 10 },
    },
  },
  {
    name: "IPv4 RST+ACK to a closed port: no options, window 0",
    hex: `45 00 0028 0000 4000 40 06 4e94 c0000201 c6336407
          0009 c353 00000000 12345679 5014 0000 978a 0000`,
    fields: {
      src: "192.0.2.1", dst: "198.51.100.7", srcPort: 9, dstPort: 50003, ack: 0x12345679,
      flags: { rst: true, ack: true }, window: 0,
    },
  },
];

describe("emit is byte-exact for Linux-shaped segments", () => {
  for (const g of GOLDEN) {
    it(g.name, () => {
      const bytes = hex(g.hex);
      // The hand-written checksums are right: the reference sums the headers to zero.
      const ip = bytes[0]! >> 4 === 4 ? 20 : 40;
      if (ip === 20) expect(checksumRef(bytes.subarray(0, 20))).toBe(0);
      expect(refParse(bytes).reason).toBe(0);
      expect(toHex(wire.encodePacket(g.fields))).toBe(toHex(bytes));
      // parse -> encode reproduces the bytes, in the debug build too.
      for (const w of [wire, wireDebug]) expect(toHex(w.encodePacket(parsed(bytes, w)))).toBe(toHex(bytes));
    });
  }

  it("decodes every field of the SACK segment", () => {
    const p = parsed(hex(GOLDEN[2]!.hex));
    expect(p).toMatchObject({
      ipVersion: 4, src: "192.0.2.1", dst: "198.51.100.7", srcPort: 80, dstPort: 40000, seq: 0x10000000,
      ack: 0x45edbe4e, flagBits: 0x010, window: 501, urgent: 0, ttl: 64, ipId: 0x1c48, dontFragment: true,
      tos: 0, flowLabel: 0, ipHeaderLength: 20, tcpHeaderLength: 52, payloadOffset: 72, payloadLength: 0,
      options: {
        mss: null, wscale: null, sackPermitted: false, timestamps: { value: 0x1000, echo: 0x0c8bd686 },
        sack: [[0x45edc000, 0x45edc5b4], [0x45edcb68, 0x45edd10c]],
      },
    });
    expect(p.flags).toEqual({ fin: false, syn: false, rst: false, psh: false, ack: true, urg: false, ece: false, cwr: false, ae: false });
  });

  it("hands back the payload as a view into the caller's bytes", () => {
    const bytes = buildPacket({ payload: Uint8Array.of(1, 2, 3, 4, 5), flags: 0x018 });
    const p = parsed(bytes);
    expect(p.payloadOffset).toBe(40);
    expect(Array.from(p.payload)).toEqual([1, 2, 3, 4, 5]);
    expect(p.payload.buffer).toBe(bytes.buffer);
  });

  it("ignores link padding after the IPv4 total length", () => {
    const bytes = buildPacket({ payload: Uint8Array.of(9, 9) });
    const padded = new Uint8Array(bytes.length + 6);
    padded.set(bytes);
    padded.fill(0xee, bytes.length);
    expect(parsed(padded).payloadLength).toBe(2);
  });

  it("keeps only the SACK blocks that fit in 40 option bytes when the core emits", async () => {
    // Emit trusts its Segment (the engine built it) but never writes a data offset beyond 15 words.
    const e = await loadEngine({ flavor: "debug" });
    const x = e.exports as unknown as Record<string, (...a: number[]) => number>;
    const sp = x.scratchPtr!();
    // Parse a header with four SACK blocks, then add timestamps: 12 + 4 + 32 > 40 option bytes.
    const fourBlocks = buildPacket({ options: hex("01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008") });
    e.views.u8.set(fourBlocks, sp);
    expect(x.wireParse!(sp, fourBlocks.length, 1)).toBe(0);
    const seg = x.wireSegment!();
    const layout = new Uint16Array(e.exports.memory.buffer, x.wireSegmentLayout!(), 32);
    e.views.u8[seg + layout[21]!] = 1; // hasTimestamps
    expect(x.headersLen!(seg)).toBe(20 + 20 + 12 + 4 + 3 * 8);
    const out = sp + 4096;
    const n = x.emitHeaders!(out, seg, 0);
    x.finishChecksums!(out, n);
    const p = parsed(e.views.u8.slice(out, out + n));
    expect(p.options.sack).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(p.tcpHeaderLength).toBe(60);
  });
});

// Arbitraries for any valid header and options the public encoder accepts.
const u32 = fc.nat({ max: 0xffffffff });
const u16 = fc.nat({ max: 0xffff });
const v4Addr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join("."));
const v6Addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));
const optionsArb = fc
  .record({
    mss: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: null }),
    wscale: fc.option(fc.integer({ min: 0, max: 14 }), { nil: null }),
    sackPermitted: fc.boolean(),
    timestamps: fc.option(fc.record({ value: u32, echo: u32 }), { nil: null }),
    sack: fc.array(fc.tuple(u32, u32), { maxLength: 4 }),
  })
  .filter((o) => {
    const n = (o.mss ? 4 : 0) + (o.timestamps ? 12 : o.sackPermitted ? 4 : 0) + (o.wscale !== null ? 4 : 0);
    return n + (o.sack.length ? 4 + 8 * o.sack.length : 0) <= 40;
  });
const fieldsArb = fc.boolean().chain((v6) =>
  fc.record({
    src: v6 ? v6Addr : v4Addr,
    dst: v6 ? v6Addr : v4Addr,
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags: fc.nat({ max: 0x1ff }),
    window: u16,
    urgent: u16,
    options: optionsArb,
    ttl: fc.nat(255),
    tos: fc.nat(255),
    ipId: v6 ? fc.constant(0) : u16,
    dontFragment: v6 ? fc.constant(false) : fc.boolean(),
    flowLabel: v6 ? fc.nat({ max: 0xfffff }) : fc.constant(0),
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
);

describe("encode -> parse round trip (fast-check)", () => {
  it("returns every field it was given, and the reference parser agrees", () => {
    fc.assert(
      fc.property(fieldsArb, (f) => {
        const bytes = wire.encodePacket(f);
        const r = wire.parsePacket(bytes);
        const ref = refParse(bytes);
        // A SYN from an address+port to itself is LAND, refused by both.
        const land = (f.flags & 2) !== 0 && f.src === f.dst && f.srcPort === f.dstPort;
        if (land) {
          expect(r).toEqual({ error: "LAND" });
          expect(ref.reason).toBe(REASON_NAMES.indexOf("LAND"));
          return;
        }
        if ("error" in r) throw new Error(r.error);
        const { payload, options, flags, ...rest } = f;
        expect(r).toMatchObject(rest);
        expect(r.flagBits).toBe(flags);
        expect(r.ipVersion).toBe(f.src.includes(":") ? 6 : 4);
        expect(r.options).toEqual(options);
        expect(Array.from(r.payload)).toEqual(Array.from(payload));
        expect(ref.reason).toBe(0);
        expect(ref.seg!.payloadOffset).toBe(r.payloadOffset);
        expect(ref.seg!.tcpHeaderLength).toBe(r.tcpHeaderLength);
        // And back: encoding the parse gives the same bytes.
        expect(toHex(wire.encodePacket(r))).toBe(toHex(bytes));
      }),
      { numRuns: 2000, seed: 0x2a },
    );
  });

  it("parses the reference builder's packets with options in any order exactly as the reference does", () => {
    const opt = fc.oneof(
      fc.constant([1]),
      u16.map((m) => [2, 4, m >> 8, m & 0xff]),
      fc.nat(255).map((s) => [3, 3, s]),
      fc.constant([4, 2]),
      fc.tuple(u32, u32).map(([a, b]) => [8, 10, ...be32(a), ...be32(b)]),
      fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }).map((bl) => [5, 2 + 8 * bl.length, ...bl.flatMap(([l, r]) => [...be32(l), ...be32(r)])]),
      fc.tuple(fc.integer({ min: 9, max: 253 }), fc.uint8Array({ maxLength: 8 })).map(([k, d]) => [k, 2 + d.length, ...d]),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(opt, { maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (v6, opts, payload) => {
        const flat = opts.flat();
        if (flat.length > 40) return;
        const bytes = buildPacket({ v6, options: Uint8Array.from(flat), payload });
        const ref = refParse(bytes);
        const r = wire.parsePacket(bytes);
        expect(ref.reason).toBe(0);
        if ("error" in r) throw new Error(r.error);
        expect(r.options.mss).toBe(ref.seg!.mss);
        expect(r.options.wscale).toBe(ref.seg!.wscale);
        expect(r.options.sackPermitted).toBe(ref.seg!.sackPermitted);
        expect(r.options.timestamps).toEqual(ref.seg!.timestamps);
        expect(r.options.sack).toEqual(ref.seg!.sack);
        expect(r.payloadLength).toBe(payload.length);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

function be32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

describe("encodePacket validates its input", () => {
  const base: PacketFields = { src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2 };
  it("refuses bad addresses and mixed families", () => {
    for (const src of ["10.0.0", "10.0.0.256", "010.0.0.1", "1::2::3", "12345::1", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "", "::g"]) {
      invalid(() => wire.encodePacket({ ...base, src }));
    }
    invalid(() => wire.encodePacket({ ...base, dst: "2001:db8::1" }));
    invalid(() => wire.encodePacket({ ...base, src: 42 as unknown as string }));
  });
  it("refuses out-of-range and non-integer numbers", () => {
    invalid(() => wire.encodePacket({ ...base, srcPort: 65536 }));
    invalid(() => wire.encodePacket({ ...base, dstPort: -1 }));
    invalid(() => wire.encodePacket({ ...base, seq: 2 ** 32 }));
    invalid(() => wire.encodePacket({ ...base, ack: 1.5 }));
    invalid(() => wire.encodePacket({ ...base, window: 70000 }));
    invalid(() => wire.encodePacket({ ...base, ttl: 256 }));
    invalid(() => wire.encodePacket({ ...base, flags: 0x200 }));
    invalid(() => wire.encodePacket({ ...base, flags: { syn: true, bogus: true } as never }));
    invalid(() => wire.encodePacket({ ...base, options: { mss: 0 } }));
    invalid(() => wire.encodePacket({ ...base, options: { wscale: 15 } }));
    invalid(() => wire.encodePacket({ ...base, options: { timestamps: { value: -1, echo: 0 } } }));
    invalid(() => wire.encodePacket({ ...base, options: { sack: [[1, 2, 3] as never] } }));
    invalid(() => wire.encodePacket({ ...base, flowLabel: 1 }));
    invalid(() => wire.encodePacket({ ...base, src: "::1", dst: "::2", ipId: 5 }));
  });
  it("refuses options that do not fit 40 bytes and payloads that do not fit one packet", () => {
    const sack: Array<[number, number]> = [[1, 2], [3, 4], [5, 6], [7, 8]];
    invalid(() => wire.encodePacket({ ...base, options: { timestamps: { value: 1, echo: 2 }, sack } }));
    invalid(() => wire.encodePacket({ ...base, options: { sack: [...sack, [9, 10]] } }));
    invalid(() => wire.encodePacket({ ...base, payload: new Uint8Array(65536 - 40) }));
    expect(wire.encodePacket({ ...base, payload: new Uint8Array(65535 - 40) }).length).toBe(65535);
  });
  it("refuses a packet larger than the scratch region with a clear error", () => {
    expect(() => wire.parsePacket(new Uint8Array(2 << 20))).toThrow(/scratch region/);
  });
});

describe("address text forms", () => {
  const cases: Array<[string, string]> = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed (RFC 5952 4.2.2)
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run (4.2.3)
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs (4.2.3)
    ["2001:DB8::ABCD", "2001:db8::abcd"], // lowercase (4.3)
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"], // IPv4-mapped, mixed notation (5)
    ["::ffff:c000:201", "::ffff:192.0.2.1"],
    ["fe80::", "fe80::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ];
  for (const [input, text] of cases) {
    it(`${input} -> ${text}`, () => {
      const b = parseIpv6(input);
      expect(b).not.toBeNull();
      expect(formatIpv6(b!)).toBe(text);
    });
  }
  it("parses dotted quads strictly", () => {
    expect(Array.from(parseIpv4("0.255.10.1")!)).toEqual([0, 255, 10, 1]);
    expect(Array.from(parseIpv4("255.255.255.255")!)).toEqual([255, 255, 255, 255]);
    for (const bad of [
      "1.2.3", "1.2.3.4.5", "1.2.3.04", "1.2.3.-1", "1.2.3.256", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", ".1.2.3",
      "1.2.3.", "00.1.2.3", "1.2.3.1000", "1.2.3.0255", "", "1.2.3.4/24",
    ]) expect(parseIpv4(bad)).toBeNull();
  });
  it("reads dotted quads as the grammar does, on any text of digits and dots", () => {
    // The grammar as a regular expression: 0-255 in decimal, no leading zeros, four parts.
    const part = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
    const grammar = new RegExp(`^${part}\\.${part}\\.${part}\\.${part}$`);
    const text = fc.array(fc.constantFrom("0", "1", "2", "5", "9", ".", "x"), { maxLength: 18 }).map((cs) => cs.join(""));
    fc.assert(fc.property(text, (t) => {
      const got = parseIpv4(t);
      const m = grammar.exec(t);
      expect(got === null ? null : Array.from(got)).toEqual(m ? m.slice(1, 5).map(Number) : null);
    }), { seed: 4, numRuns: 20000 });
  });
  it("formats what it parses for any 16 bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      expect(Array.from(parseIpv6(formatIpv6(b))!)).toEqual(Array.from(b));
    }), { seed: 3 });
  });
});

describe("checksum helper", () => {
  it("is the complemented RFC 1071 sum, 0 over bytes holding their own checksum", () => {
    const data = Uint8Array.of(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7);
    expect(wire.checksum(data)).toBe(0xb861);
    data[10] = 0xb8;
    data[11] = 0x61;
    expect(wire.checksum(data)).toBe(0);
    expect(wire.checksum(new Uint8Array(0))).toBe(0xffff);
    expect(wire.checksum(Uint8Array.of(0xab))).toBe(~0xab00 & 0xffff);
  });
  it("matches the reference on random bytes and initial sums, odd lengths and offsets", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat({ max: 7 }), u32, (b, off, init) => {
      const view = b.subarray(Math.min(off, b.length));
      expect(wire.checksum(view, init)).toBe(checksumRef(view, init));
    }), { numRuns: 300, seed: 11 });
  });
  it("carries the sum across chunks of buffers larger than the scratch region", () => {
    const big = new Uint8Array((2 << 20) + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    expect(wire.checksum(big, 0x1234)).toBe(checksumRef(big, 0x1234));
  });
  it("continues a previous result when given ~c & 0xffff", () => {
    const a = Uint8Array.of(1, 2, 3, 4);
    const b = Uint8Array.of(5, 6, 7);
    const c = wire.checksum(a);
    expect(wire.checksum(b, ~c & 0xffff)).toBe(checksumRef(Uint8Array.of(1, 2, 3, 4, 5, 6, 7)));
  });
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TcpwasmError);
    return (e as TcpwasmError).code;
  }
  throw new Error("expected a TcpwasmError");
}

describe("wire buffers: bytes in linear memory, read without a copy", () => {
  it("checksum of a buffer and of any subarray of it matches the reference", () => {
    const buf = wire.buffer(4000);
    expect(buf.length).toBe(4000);
    expect(buf.every((x) => x === 0)).toBe(true);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat({ max: 999 }), u32, (b, off, init) => {
      buf.set(b, off);
      const view = buf.subarray(off, off + b.length);
      expect(wire.checksum(view, init)).toBe(checksumRef(b, init));
    }), { numRuns: 300, seed: 12 });
    wire.free(buf);
  });
  it("parsePacket reads a packet in a buffer where it lies; the payload is a view of the buffer", () => {
    const packet = wire.encodePacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2, payload: Uint8Array.of(7, 8, 9) });
    const buf = wire.buffer(packet.length + 10);
    buf.set(packet, 10);
    const p = parsed(buf.subarray(10));
    expect(p).toEqual(parsed(packet));
    expect(p.payload.buffer).toBe(buf.buffer);
    buf[10 + p.payloadOffset] = 0x42;
    expect(p.payload[0]).toBe(0x42);
    wire.free(buf);
  });
  it("a view taken before memory grew throws ERR_WIRE_BUFFER_DETACHED; renew gives the same bytes", async () => {
    const w = await loadWire();
    const small = w.buffer(64);
    small.set([1, 2, 3, 4]);
    const packet = w.buffer(40);
    packet.set(wire.encodePacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2 }));
    const sum = w.checksum(small);
    const big = w.buffer(64 << 20); // more than the memory holds: it grows
    expect(small.length).toBe(0);
    expect(code(() => w.checksum(small))).toBe("ERR_WIRE_BUFFER_DETACHED");
    expect(code(() => w.parsePacket(packet))).toBe("ERR_WIRE_BUFFER_DETACHED");
    // Empty bytes that never were a wire buffer's are still just empty.
    expect(w.checksum(new Uint8Array(0))).toBe(0xffff);
    const again = w.renew(small);
    expect([...again.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect(w.checksum(again)).toBe(sum);
    expect(parsed(w.renew(packet), w).srcPort).toBe(1);
    w.free(small); // the detached view still names its buffer
    w.free(w.renew(packet));
    w.free(big);
  });
  it("a freed buffer's views throw ERR_WIRE_BUFFER_FREED, and it is freed only once", () => {
    const buf = wire.buffer(100);
    const part = buf.subarray(10, 20);
    wire.free(buf);
    expect(code(() => wire.checksum(buf))).toBe("ERR_WIRE_BUFFER_FREED");
    expect(code(() => wire.checksum(part))).toBe("ERR_WIRE_BUFFER_FREED");
    expect(code(() => wire.parsePacket(buf))).toBe("ERR_WIRE_BUFFER_FREED");
    expect(code(() => wire.free(buf))).toBe("ERR_WIRE_BUFFER_FREED");
    expect(code(() => wire.renew(buf))).toBe("ERR_WIRE_BUFFER_FREED");
  });
  it("free and renew take only views this Wire's buffer() or renew() returned", async () => {
    const other = await loadWire();
    const foreign = other.buffer(8);
    foreign.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const buf = wire.buffer(8);
    expect(code(() => wire.free(foreign))).toBe("ERR_WIRE_FOREIGN_BUFFER");
    expect(code(() => wire.free(new Uint8Array(8)))).toBe("ERR_WIRE_FOREIGN_BUFFER");
    expect(code(() => wire.free(buf.subarray(1)))).toBe("ERR_WIRE_FOREIGN_BUFFER");
    expect(code(() => wire.renew("x" as never))).toBe("ERR_WIRE_FOREIGN_BUFFER");
    // Another Wire's buffer is ordinary bytes here: copied, summed right.
    expect(wire.checksum(foreign)).toBe(checksumRef(foreign));
    wire.free(buf);
    other.free(foreign);
  });
  it("buffer() takes an integer length 0..2^28", () => {
    expect(code(() => wire.buffer(-1))).toBe("ERR_OUT_OF_RANGE");
    expect(code(() => wire.buffer(1.5))).toBe("ERR_OUT_OF_RANGE");
    expect(code(() => wire.buffer(2 ** 28 + 1))).toBe("ERR_OUT_OF_RANGE");
    expect(code(() => wire.buffer("8" as never))).toBe("ERR_INVALID_ARG_TYPE");
    const empty = wire.buffer(0);
    expect(empty.length).toBe(0);
    expect(wire.checksum(empty)).toBe(0xffff);
    wire.free(empty);
  });
});

describe("seq.ts: comparisons modulo 2^32", () => {
  let p: Prim;
  beforeAll(async () => {
    p = await loadPrimitives();
  });
  // The host passes u32 values as i32 bit patterns.
  const lt = (a: number, b: number) => p.seqLt(a | 0, b | 0) === 1;
  it("wraps around zero", () => {
    expect(lt(0xffffffff, 0)).toBe(true);
    expect(lt(0, 0xffffffff)).toBe(false);
    expect(p.seqGt(0x00000010, 0xfffffff0 | 0)).toBe(1);
    expect(p.seqLe(5, 5)).toBe(1);
    expect(p.seqGe(5, 5)).toBe(1);
    expect(p.seqLt(5, 5)).toBe(0);
    expect(lt(0x7fffffff, 0x80000000)).toBe(true);
    expect(lt(0x80000000, 0x7fffffff)).toBe(false);
    expect(p.seqMax(0xfffffff0 | 0, 0x10) >>> 0).toBe(0x10);
    expect(p.seqMin(0xfffffff0 | 0, 0x10) >>> 0).toBe(0xfffffff0);
  });
  it("seqInRange is the half-open window lo <= x < hi across the wrap", () => {
    const inRange = (x: number, lo: number, hi: number) => p.seqInRange(x | 0, lo | 0, hi | 0) === 1;
    expect(inRange(0xfffffff0, 0xfffffff0, 0x10)).toBe(true);
    expect(inRange(0x0f, 0xfffffff0, 0x10)).toBe(true);
    expect(inRange(0x10, 0xfffffff0, 0x10)).toBe(false);
    expect(inRange(0xffffffef, 0xfffffff0, 0x10)).toBe(false);
    expect(inRange(7, 7, 7)).toBe(false);
  });
  it("agrees with the distance model for any pair less than 2^31 apart", () => {
    fc.assert(fc.property(u32, fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (a, d) => {
      const b = (a + d) >>> 0; // b is d after a
      expect(lt(a, b)).toBe(d > 0);
      expect(p.seqGt(b | 0, a | 0) === 1).toBe(d > 0);
      expect(p.seqLe(a | 0, b | 0) === 1).toBe(d >= 0);
      expect(p.seqGe(a | 0, b | 0) === 1).toBe(d <= 0);
      expect(p.seqMax(a | 0, b | 0) >>> 0).toBe(d > 0 ? b : a);
    }), { numRuns: 5000, seed: 5 });
  });
});
