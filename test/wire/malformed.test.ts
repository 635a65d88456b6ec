// The malformed corpus: every way the headers can lie, each refused with its exact reason by the
// debug build (whose bounds assertions trap on any read outside the validated bytes), the release
// build and the plain-TypeScript reference parser alike. Hangs would time the test out.
import { beforeAll, describe, expect, it } from "vitest";
import { loadWire, type Wire } from "../../src/index.js";
import type { ReasonName } from "../../src/core/reasons.js";
import { buildPacket, hex, R, refParse, V6_SRC, type BuildSpec } from "../fixtures/wire-reference.js";

let debug: Wire;
let release: Wire;
beforeAll(async () => {
  debug = await loadWire({ flavor: "debug" });
  release = await loadWire({ flavor: "simd" });
});

function outcome(w: Wire, bytes: Uint8Array, verify: boolean): ReasonName | string {
  const r = w.parsePacket(bytes, { verifyChecksums: verify });
  return "error" in r ? r.error : "OK";
}

function expectReason(bytes: Uint8Array, reason: ReasonName, verify = true): void {
  expect(outcome(debug, bytes, verify)).toBe(reason);
  expect(outcome(release, bytes, verify)).toBe(reason);
  expect(refParse(bytes, verify).reason).toBe(R[reason]);
}

// A packet with every option kind and a payload, IPv4 and IPv6.
const OPTIONS = hex("020405b4 0402080a 11111111 22222222 01030307 0101050a 00000010 00000020");
const FULL: BuildSpec = { options: OPTIONS, payload: Uint8Array.from({ length: 37 }, (_, i) => i), flags: 0x018 };

function withOptions(options: Uint8Array, spec: BuildSpec = {}): Uint8Array {
  return buildPacket({ ...spec, options, dataOffset: 5 + Math.ceil(options.length / 4) });
}

/** Options padded with zero bytes to whole words (zero is EOL, which stops the walk). */
function opts(s: string): Uint8Array {
  const b = hex(s);
  const out = new Uint8Array((b.length + 3) & ~3);
  out.set(b);
  return out;
}

describe("truncation", () => {
  for (const v6 of [false, true]) {
    const family = v6 ? "IPv6" : "IPv4";
    it(`${family}: a buffer cut at every length is refused until it is whole`, () => {
      const full = buildPacket({ ...FULL, v6 });
      expectReason(full, "OK");
      for (let len = 0; len < full.length; len++) {
        const cut = full.slice(0, len);
        const ipMin = v6 ? 40 : 20;
        const reason: ReasonName = len < ipMin ? "TRUNCATED" : v6 ? "IPV6_PAYLOAD_LENGTH" : "IPV4_TOTAL_LENGTH";
        expectReason(cut, reason);
      }
    });

    it(`${family}: lengths rewritten to every shorter size are refused by the first check they fail`, () => {
      const full = buildPacket({ ...FULL, v6 });
      const ip = v6 ? 40 : 20;
      const tcpHeader = 20 + OPTIONS.length;
      for (let len = v6 ? 40 : 0; len < full.length; len++) {
        const b = full.slice(0, Math.max(len, ip));
        const dv = new DataView(b.buffer);
        if (v6) dv.setUint16(4, len - 40);
        else dv.setUint16(2, len);
        let reason: ReasonName;
        if (!v6 && len < ip) reason = "IPV4_TOTAL_LENGTH";
        else if (len < ip + 20) reason = "TRUNCATED";
        else if (len < ip + tcpHeader) reason = "TCP_DATA_OFFSET";
        else reason = "OK";
        // Checksums are not re-computed here: structure only.
        expectReason(b, reason, false);
      }
    });
  }
});

describe("IP header", () => {
  it("refuses versions other than 4 and 6", () => {
    for (let version = 0; version < 16; version++) {
      if (version === 4 || version === 6) continue;
      const b = buildPacket();
      b[0] = (version << 4) | 5;
      expectReason(b, "BAD_IP_VERSION", false);
      const v6 = buildPacket({ v6: true });
      v6[0] = (version << 4) | (v6[0]! & 0xf);
      expectReason(v6, "BAD_IP_VERSION", false);
    }
    expectReason(Uint8Array.of(0x45), "TRUNCATED");
    expectReason(Uint8Array.of(0x60), "TRUNCATED");
    expectReason(Uint8Array.of(0x15), "BAD_IP_VERSION");
  });

  it("refuses IPv4 IHL below 5", () => {
    for (let ihl = 0; ihl < 5; ihl++) {
      const b = buildPacket();
      b[0] = 0x40 | ihl;
      expectReason(b, "IPV4_IHL", false);
    }
  });

  it("refuses an IPv4 header longer than its total length or a total length beyond the buffer", () => {
    const b = buildPacket();
    b[0] = 0x4f; // 60-byte header in a 40-byte packet
    expectReason(b, "IPV4_TOTAL_LENGTH", false);
    for (const total of [0, 19, 41, 0xffff]) {
      const c = buildPacket();
      new DataView(c.buffer).setUint16(2, total);
      expectReason(c, "IPV4_TOTAL_LENGTH", false);
    }
  });

  it("skips IPv4 options", () => {
    const b = buildPacket({ ipv4Options: hex("01010100 94040000"), payload: Uint8Array.of(1, 2, 3) });
    expectReason(b, "OK");
    const p = release.parsePacket(b);
    expect(p).toMatchObject({ ipHeaderLength: 28, payloadOffset: 48, payloadLength: 3 });
  });

  it("refuses a wrong IPv4 header checksum, unless checksums are not verified", () => {
    const b = buildPacket({ badIpChecksum: true });
    expectReason(b, "IPV4_HEADER_CHECKSUM");
    expectReason(b, "OK", false);
  });

  it("refuses IPv4 fragments: MF set or a non-zero offset", () => {
    for (const word of [0x2000, 0x0001, 0x1fff, 0x6000, 0x2001]) {
      expectReason(buildPacket({ fragmentWord: word }), "IP_FRAGMENT");
    }
    expectReason(buildPacket({ fragmentWord: 0x0000 }), "OK");
    expectReason(buildPacket({ fragmentWord: 0x4000 }), "OK");
  });

  it("refuses non-TCP protocols as NOT_TCP", () => {
    expectReason(buildPacket({ ipProto: 17, payload: new Uint8Array(8) }), "NOT_TCP");
    expectReason(buildPacket({ ipProto: 1, payload: new Uint8Array(8) }), "NOT_TCP");
    expectReason(buildPacket({ v6: true, ipProto: 58, payload: new Uint8Array(8) }), "NOT_TCP");
  });

  it("refuses an IPv6 payload length beyond the buffer, and tolerates padding after it", () => {
    const b = buildPacket({ v6: true });
    new DataView(b.buffer).setUint16(4, 21);
    expectReason(b, "IPV6_PAYLOAD_LENGTH");
    new DataView(b.buffer).setUint16(4, 10);
    expectReason(b, "TRUNCATED", false);
    const padded = new Uint8Array(b.length + 8);
    padded.set(buildPacket({ v6: true }));
    expectReason(padded, "OK");
  });
});

describe("IPv6 extension headers", () => {
  const destOpts = (extraWords = 0) => ({ type: 60, bytes: Uint8Array.from({ length: 8 + 8 * extraWords }, (_, i) => (i === 1 ? extraWords : i === 2 ? 1 : 0)) });
  const hopByHop = () => ({ type: 0, bytes: hex("00000104 00000000") });
  const routing = (segmentsLeft: number) => ({ type: 43, bytes: hex(`0000 00 ${segmentsLeft.toString(16).padStart(2, "0")} 00000000`) });
  const fragment = (word: number) => ({ type: 44, bytes: hex(`0000 ${word.toString(16).padStart(4, "0")} 12345678`) });

  it("skips hop-by-hop, routing (no segments left), destination options and atomic fragments", () => {
    const b = buildPacket({ v6: true, ext: [hopByHop(), destOpts(2), routing(0), fragment(0), destOpts()], payload: Uint8Array.of(7) });
    expectReason(b, "OK");
    expect(release.parsePacket(b)).toMatchObject({ ipHeaderLength: 40 + 8 + 24 + 8 + 8 + 8, payloadLength: 1 });
  });

  it("allows eight extension headers and refuses a ninth", () => {
    expectReason(buildPacket({ v6: true, ext: Array.from({ length: 8 }, () => destOpts()) }), "OK");
    expectReason(buildPacket({ v6: true, ext: Array.from({ length: 9 }, () => destOpts()) }), "IPV6_EXTENSION");
    expectReason(buildPacket({ v6: true, ext: Array.from({ length: 40 }, () => destOpts()) }), "IPV6_EXTENSION");
  });

  it("refuses hop-by-hop anywhere but first", () => {
    expectReason(buildPacket({ v6: true, ext: [destOpts(), hopByHop()] }), "IPV6_EXTENSION");
    expectReason(buildPacket({ v6: true, ext: [hopByHop(), hopByHop()] }), "IPV6_EXTENSION");
  });

  it("refuses an extension header that overruns the payload or is cut short", () => {
    const b = buildPacket({ v6: true, ext: [destOpts()] });
    b[41] = 3; // claims 32 bytes; 8 + 20 remain
    expectReason(b, "IPV6_EXTENSION");
    b[41] = 255;
    expectReason(b, "IPV6_EXTENSION");
    // The last header names another extension header where only 4 bytes remain.
    const c = buildPacket({ v6: true, ipProto: 60, payload: hex("06000000") });
    expectReason(c, "IPV6_EXTENSION");
    const d = buildPacket({ v6: true, ipProto: 0, payload: new Uint8Array(0) });
    expectReason(d, "IPV6_EXTENSION");
  });

  it("refuses a routing header with segments left: the packet is for another node", () => {
    expectReason(buildPacket({ v6: true, ext: [routing(1)] }), "IPV6_EXTENSION");
  });

  it("refuses real fragments and accepts atomic ones (RFC 6946)", () => {
    expectReason(buildPacket({ v6: true, ext: [fragment(0x0001)] }), "IP_FRAGMENT");
    expectReason(buildPacket({ v6: true, ext: [fragment(0x0008)] }), "IP_FRAGMENT");
    expectReason(buildPacket({ v6: true, ext: [fragment(0x0006)] }), "OK"); // reserved bits only
  });

  it("reports ESP, AH and no-next-header as NOT_TCP", () => {
    for (const proto of [50, 51, 59]) expectReason(buildPacket({ v6: true, ext: [destOpts()], ipProto: proto, payload: new Uint8Array(16) }), "NOT_TCP");
  });
});

describe("TCP header", () => {
  it("refuses a data offset below 5", () => {
    for (let off = 0; off < 5; off++) expectReason(buildPacket({ dataOffset: off }), "TCP_DATA_OFFSET");
  });

  it("refuses a data offset beyond the segment", () => {
    expectReason(buildPacket({ dataOffset: 6 }), "TCP_DATA_OFFSET");
    expectReason(buildPacket({ dataOffset: 15, payload: new Uint8Array(39) }), "TCP_DATA_OFFSET");
    expectReason(buildPacket({ dataOffset: 15, payload: new Uint8Array(40).fill(1) }), "OK"); // exactly fits: 40 NOPs
    expectReason(buildPacket({ v6: true, dataOffset: 8 }), "TCP_DATA_OFFSET");
  });

  it("refuses a segment shorter than 20 bytes", () => {
    const b = buildPacket({ ipProto: 6 });
    const short = b.slice(0, 30);
    new DataView(short.buffer).setUint16(2, 30);
    expectReason(short, "TRUNCATED", false);
  });

  it("refuses a wrong TCP checksum over IPv4 and IPv6, unless checksums are not verified", () => {
    for (const v6 of [false, true]) {
      const b = buildPacket({ v6, badTcpChecksum: true, options: OPTIONS, payload: new Uint8Array(11) });
      expectReason(b, "TCP_CHECKSUM");
      expectReason(b, "OK", false);
    }
  });

  it("refuses a SYN from an address and port to themselves (LAND), not other segments", () => {
    for (const v6 of [false, true]) {
      const addr = v6 ? V6_SRC : Uint8Array.of(10, 1, 1, 1);
      const same = { v6, src: addr, dst: addr, srcPort: 139, dstPort: 139 };
      expectReason(buildPacket({ ...same, flags: 0x002 }), "LAND");
      expectReason(buildPacket({ ...same, flags: 0x012 }), "LAND");
      expectReason(buildPacket({ ...same, flags: 0x010 }), "OK");
      expectReason(buildPacket({ ...same, flags: 0x002, dstPort: 140 }), "OK");
      expectReason(buildPacket({ v6, src: addr, srcPort: 139, dstPort: 139, flags: 0x002 }), "OK");
    }
  });
});

describe("TCP options", () => {
  it("refuses option lengths 0 and 1, for known and unknown kinds", () => {
    for (const kind of [2, 3, 4, 5, 8, 30, 254]) {
      expectReason(withOptions(opts(`${kind.toString(16).padStart(2, "0")}00`)), "TCP_OPTION_LENGTH");
      expectReason(withOptions(opts(`${kind.toString(16).padStart(2, "0")}01`)), "TCP_OPTION_LENGTH");
    }
  });

  it("refuses options that run past the header", () => {
    expectReason(withOptions(hex("01010102")), "TCP_OPTION_OVERRUN"); // kind in the last byte, no length
    expectReason(withOptions(hex("01 01 08 0a 00 00 00 00")), "TCP_OPTION_OVERRUN"); // TS needs 10, 6 remain
    expectReason(withOptions(hex("1e 05 00 00")), "TCP_OPTION_OVERRUN"); // unknown kind, length 5 in 4 bytes
    const fiveBlocks = new Uint8Array(40);
    fiveBlocks.set([5, 42]); // five SACK blocks need 42 bytes, more than a header has
    expectReason(withOptions(fiveBlocks), "TCP_OPTION_OVERRUN");
    const forty = new Uint8Array(40).fill(1);
    forty[36] = 0x1e;
    forty[37] = 5;
    expectReason(withOptions(forty), "TCP_OPTION_OVERRUN");
  });

  it("refuses wrong lengths for known kinds", () => {
    const cases = [
      "0203 0500", "0205 05b4 00000000", // MSS is 4
      "0302 0000", "0304 0700", // WS is 3
      "0403 0000", // SACK-permitted is 2
      "0808 00000000 0000", "080c 00000000 00000000 0000", // TS is 10
      "0502 0000", "0509 00000000 00000000 00", "050b 00000000 00000000 000000", // SACK is 2 + 8n
    ];
    for (const c of cases) expectReason(withOptions(opts(c)), "TCP_OPTION_LENGTH");
  });

  it("accepts 40 NOPs, stops at EOL, skips unknown kinds by length", () => {
    expectReason(withOptions(new Uint8Array(40).fill(1)), "OK");
    const eol = withOptions(hex("00 ff ff ff 02 00 00 00"));
    expectReason(eol, "OK");
    const unknown = withOptions(hex("1e 06 aabbccdd 020405b4 0000"));
    expectReason(unknown, "OK");
    expect(release.parsePacket(unknown)).toMatchObject({ options: { mss: 1460 } });
  });

  it("clamps a window scale above 14 to 14 (RFC 7323 2.3)", () => {
    const b = withOptions(opts("01 03 03 0f"));
    expect(release.parsePacket(b)).toMatchObject({ options: { wscale: 14 } });
    expect(release.parsePacket(withOptions(opts("01 03 03 ff")))).toMatchObject({ options: { wscale: 14 } });
  });
});
