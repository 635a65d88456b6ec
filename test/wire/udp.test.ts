// UDP over IPv4 and IPv6 (RFC 768, RFC 8200 8.1; assembly/wire/udp.ts) and the port unreachable
// errors about it (RFC 792, RFC 4443 3.1; assembly/wire/icmp.ts) through the testing build: scapy's
// datagrams parse, every refusal is reached, the writer produces scapy's bytes (and all ones for a
// computed zero checksum), and the errors quote as much as fits in 576 / 1280 bytes.
import { beforeAll, describe, expect, it } from "vitest";
import { EDGE_FRAMES as F } from "../fixtures/edge-frames.js";
import { E, fixV4Checksum, fixV6Checksum, hex, ip4, ip6, loadEdge, toHex, type Edge } from "../fixtures/edge-util.js";
import { FUZZ, FUZZ_INPUTS, fuzzEdge } from "../fixtures/edge-fuzz.js";
import { checksumRef } from "../fixtures/checksum-reference.js";

const IP_REFUSED = 0x100;
const QUERY_LEN = 30;
let t: Edge;
beforeAll(async () => {
  t = await loadEdge();
});

function parse(pkt: Uint8Array, verify = true): number {
  return t.p.tUdpParse(t.put(pkt), pkt.length, verify ? 1 : 0);
}

/** Redoes the IPv4 header checksum after a test changed the header. */
function fixIpHeader(pkt: Uint8Array): Uint8Array {
  pkt[10] = 0;
  pkt[11] = 0;
  const sum = checksumRef(pkt.subarray(0, 20));
  pkt[10] = sum >> 8;
  pkt[11] = sum & 0xff;
  return pkt;
}

describe("UDP: parse", () => {
  it("reads ports and data bounds over IPv4 and IPv6", () => {
    expect(parse(hex(F.udp4))).toBe(E.OK);
    expect(t.p.tUdpSrcPort()).toBe(40000);
    expect(t.p.tUdpDstPort()).toBe(53);
    expect(t.p.tUdpPayloadOffset()).toBe(28);
    expect(t.p.tUdpPayloadLen()).toBe(QUERY_LEN);
    expect(t.p.tUdpHasChecksum()).toBe(1);
    expect(parse(hex(F.udp6))).toBe(E.OK);
    expect(t.p.tUdpPayloadOffset()).toBe(48);
    expect(t.p.tUdpPayloadLen()).toBe(QUERY_LEN);
    expect(parse(hex(F.udp4Empty))).toBe(E.OK);
    expect(t.p.tUdpPayloadLen()).toBe(0);
  });

  it("accepts a zero checksum on IPv4 as none sent (RFC 768)", () => {
    expect(parse(hex(F.udp4NoChecksum))).toBe(E.OK);
    expect(t.p.tUdpHasChecksum()).toBe(0);
  });

  it("takes the datagram's own length when the IP payload is longer, and checks the checksum over it", () => {
    const pkt = hex(F.udp4);
    const padded = new Uint8Array(pkt.length + 5).fill(0x77);
    padded.set(pkt);
    padded[3] += 5;
    fixIpHeader(padded);
    expect(parse(padded)).toBe(E.OK);
    expect(t.p.tUdpPayloadLen()).toBe(QUERY_LEN);
  });

  it("finds UDP after IPv6 extension headers", () => {
    const pkt = hex(F.udp6);
    const withDest = new Uint8Array(pkt.length + 8);
    withDest.set(pkt.subarray(0, 40));
    withDest[6] = 60; // destination options, then UDP
    withDest.set(hex("1100010400000000"), 40);
    withDest.set(pkt.subarray(40), 48);
    withDest[5] += 8;
    expect(parse(withDest)).toBe(E.OK);
    expect(t.p.tUdpPayloadOffset()).toBe(56);
    expect(t.p.tUdpPayloadLen()).toBe(QUERY_LEN);
  });
});

describe("UDP: refusals", () => {
  it("UDP_NOT_UDP for other protocols, and the IP layer's own refusals apart", () => {
    expect(parse(hex(F.rs))).toBe(E.UDP_NOT_UDP);
    expect(parse(hex(F.udp4).subarray(0, 19))).toBe(IP_REFUSED | 1);
  });

  it("UDP_TRUNCATED when the IP payload is shorter than the 8-byte header", () => {
    for (let n = 0; n < 8; n++) {
      const pkt = hex(F.udp4).slice(0, 20 + n);
      pkt[2] = 0;
      pkt[3] = 20 + n;
      expect(parse(fixIpHeader(pkt)), `${n} bytes`).toBe(E.UDP_TRUNCATED);
      const v6 = hex(F.udp6).slice(0, 40 + n);
      v6[4] = 0;
      v6[5] = n;
      expect(parse(v6), `v6 ${n} bytes`).toBe(E.UDP_TRUNCATED);
    }
  });

  it("UDP_LENGTH below 8 or beyond the IP payload", () => {
    for (const len of [0, 1, 7, 8 + QUERY_LEN + 1, 0xffff]) {
      const pkt = hex(F.udp4);
      pkt[24] = len >> 8;
      pkt[25] = len & 0xff;
      expect(parse(pkt), `length ${len}`).toBe(E.UDP_LENGTH);
      const v6 = hex(F.udp6);
      v6[44] = len >> 8;
      v6[45] = len & 0xff;
      expect(parse(v6), `v6 length ${len}`).toBe(E.UDP_LENGTH);
    }
  });

  it("UDP_CHECKSUM when a byte of the data or of the pseudo-header changes; not when asked not to verify", () => {
    const pkt = hex(F.udp4);
    pkt[pkt.length - 1] ^= 0x40;
    expect(parse(pkt)).toBe(E.UDP_CHECKSUM);
    expect(parse(pkt, false)).toBe(E.OK);
    const v6 = hex(F.udp6);
    v6[23] ^= 1; // source address
    expect(parse(v6)).toBe(E.UDP_CHECKSUM);
  });

  it("UDP_ZERO_CHECKSUM_V6: RFC 8200 8.1 forbids an absent checksum over IPv6, verified or not", () => {
    const v6 = hex(F.udp6);
    v6[46] = 0;
    v6[47] = 0;
    expect(parse(v6)).toBe(E.UDP_ZERO_CHECKSUM_V6);
    expect(parse(v6, false)).toBe(E.UDP_ZERO_CHECKSUM_V6);
  });
});

describe("UDP: emit", () => {
  const query = hex(F.udp4).subarray(28);
  const [s4] = [BigInt(ip4("10.0.2.2"))];
  const [g4] = [BigInt(ip4("10.0.2.15"))];
  const s6 = ip6("2001:db8::1");
  const g6 = ip6("2001:db8::15");

  function emit(v: 4 | 6, payload: Uint8Array): Uint8Array {
    const [src, dst] = v === 4 ? [[s4, 0n], [g4, 0n]] : [s6, g6];
    const h = t.p.tUdpEmitHeaders(t.out, v, src[0], src[1], dst[0], dst[1], 53, 40000, payload.length, 64);
    t.put(payload, t.out + h);
    t.p.tUdpFinish(t.out, h + payload.length);
    return t.read(t.out, h + payload.length);
  }

  it("writes scapy's datagrams over IPv4 and IPv6", () => {
    expect(toHex(emit(4, query))).toBe(F.buildUdp4);
    expect(toHex(emit(6, query))).toBe(F.buildUdp6);
  });

  it("sends a computed zero checksum as 0xffff (RFC 768), which the parser accepts", () => {
    for (const v of [4, 6] as const) {
      const hl = v === 4 ? 20 : 40;
      // Data whose 16-bit word cancels the rest of the sum, so the checksum computes to zero.
      const first = emit(v, new Uint8Array(2));
      const cancel = Uint8Array.of(first[hl + 6]!, first[hl + 7]!);
      const out = emit(v, cancel);
      expect(toHex(out.subarray(hl + 6, hl + 8)), `IPv${v}`).toBe("ffff");
      expect(t.p.tUdpParse(t.out, out.length, 1)).toBe(E.OK);
      expect(t.p.tUdpHasChecksum()).toBe(1);
    }
  });

  it("round-trips: emit, parse, same ports and data", () => {
    const data = Uint8Array.from({ length: 1001 }, (_, i) => (i * 7) & 0xff);
    for (const v of [4, 6] as const) {
      const out = emit(v, data);
      expect(t.p.tUdpParse(t.out, out.length, 1)).toBe(E.OK);
      expect(t.p.tUdpSrcPort()).toBe(53);
      expect(t.p.tUdpDstPort()).toBe(40000);
      expect(toHex(t.read(t.out + t.p.tUdpPayloadOffset(), t.p.tUdpPayloadLen()))).toBe(toHex(data));
    }
  });
});

describe("ICMP and ICMPv6 port unreachable", () => {
  function unreachable(pkt: Uint8Array, cap = 4096): string {
    return toHex(t.read(t.out, t.p.tIcmpPortUnreachable(t.put(pkt), pkt.length, t.out, cap)));
  }

  it("writes scapy's errors, quoting the whole offending datagram", () => {
    expect(unreachable(hex(F.udp4))).toBe(F.portUnreachable4);
    expect(unreachable(hex(F.udp6))).toBe(F.portUnreachable6);
  });

  it("quotes as much as fits in 576 bytes (IPv4) and 1280 bytes (IPv6)", () => {
    expect(F.portUnreachable4Big.length / 2).toBe(576);
    expect(F.portUnreachable6Big.length / 2).toBe(1280);
    expect(unreachable(hex(F.udp4Big))).toBe(F.portUnreachable4Big);
    expect(unreachable(hex(F.udp6Big))).toBe(F.portUnreachable6Big);
  });

  it("can write the error over the offending packet (outPtr = inPtr)", () => {
    const pkt = hex(F.udp6Big);
    const n = t.p.tIcmpPortUnreachable(t.put(pkt), pkt.length, t.at, 4096);
    expect(toHex(t.read(t.at, n))).toBe(F.portUnreachable6Big);
  });

  it("sends nothing about multicast destinations, unanswerable sources or ICMP errors, or past outCap", () => {
    // 224.0.0.251 (mDNS): the frame's IP packet.
    expect(unreachable(hex(F.ipv4Multicast).subarray(14))).toBe("");
    const zeroSrc = hex(F.udp4);
    zeroSrc.fill(0, 12, 16);
    expect(unreachable(fixV4Checksum(fixIpHeader(zeroSrc), 17, 6))).toBe("");
    const mcastSrc = hex(F.udp6);
    mcastSrc[8] = 0xff;
    expect(unreachable(fixV6Checksum(mcastSrc, 17, 6))).toBe("");
    const toGroup = hex(F.udp6);
    toGroup[24] = 0xff;
    expect(unreachable(fixV6Checksum(toGroup, 17, 6))).toBe("");
    // An error about an error: the port unreachable messages themselves.
    expect(unreachable(hex(F.portUnreachable4))).toBe("");
    expect(unreachable(hex(F.portUnreachable6))).toBe("");
    // An informational ICMPv6 message (an echo request) may be answered with an error; an error never.
    const echo = hex(F.udp6);
    echo[6] = 58;
    echo[40] = 128;
    echo[41] = 0;
    expect(unreachable(fixV6Checksum(echo, 58, 2)).length).toBeGreaterThan(0);
    expect(unreachable(hex(F.udp4), F.portUnreachable4.length / 2 - 1)).toBe("");
    expect(unreachable(hex(F.udp4), F.portUnreachable4.length / 2)).toBe(F.portUnreachable4);
  });

  it("takes any destination unreachable code (here ICMP protocol unreachable, 2)", () => {
    const pkt = hex(F.udp4);
    const n = t.p.tIcmpDestUnreachable(t.put(pkt), pkt.length, 2, t.out, 4096);
    const out = t.read(t.out, n);
    expect(out[20]).toBe(3);
    expect(out[21]).toBe(2);
    expect(checksumRef(out.subarray(20))).toBe(0);
  });
});

describe("fuzz", () => {
  it(`parses ${FUZZ_INPUTS.toLocaleString("en")} random and mutated IP packets carrying UDP (and the port unreachable error for each accepted one) without a trap`, () => {
    const tally = fuzzEdge(t, FUZZ.UDP, [F.udp4, F.udp4NoChecksum, F.udp6, F.udp4Empty, F.udp4Big, F.udp6Big].map(hex), FUZZ_INPUTS, 0xd9);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_INPUTS);
    // The mutations reach acceptance and every refusal this parser has.
    for (const reason of [E.OK, E.UDP_TRUNCATED, E.UDP_LENGTH, E.UDP_CHECKSUM, E.UDP_ZERO_CHECKSUM_V6, E.UDP_NOT_UDP]) expect(tally.get(reason) ?? 0, `EdgeReason ${reason}`).toBeGreaterThan(0);
  }, 60_000);
});
