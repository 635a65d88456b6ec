// IPv6 neighbour discovery (RFC 4861; assembly/wire/ndp.ts) through the testing build: scapy's RS,
// RA, NS (address resolution and DAD) and NA parse to their fields, every validity check of RFC 4861
// 6.1.1, 6.1.2, 7.1.1 and 7.1.2 that the packet alone decides refuses what it must, and the NS, NA
// and RA writers produce scapy's bytes and round-trip through the parser.
import { beforeAll, describe, expect, it } from "vitest";
import { EDGE_FRAMES as F } from "../fixtures/edge-frames.js";
import { E, GUEST_MAC, STACK_MAC, fixV6Checksum, hex, ip6, ip6Bytes, loadEdge, mac, macText, toHex, type Edge } from "../fixtures/edge-util.js";
import { FUZZ, FUZZ_INPUTS, fuzzEdge } from "../fixtures/edge-fuzz.js";

const RS = 133, RA = 134, NS = 135, NA = 136;
let t: Edge;
beforeAll(async () => {
  t = await loadEdge();
});

function parse(pkt: Uint8Array): number {
  return t.p.tNdParse(t.put(pkt), pkt.length);
}

/** A copy of a fixture message with `edit` applied to its ICMPv6 message and the checksum redone. */
function edited(fixture: string, edit: (msg: Uint8Array, pkt: Uint8Array) => void): Uint8Array {
  const pkt = hex(fixture);
  edit(pkt.subarray(40), pkt);
  return fixV6Checksum(pkt, 58, 2);
}

function addrOf(a: bigint, b: bigint): string {
  return toHex(Uint8Array.from({ length: 16 }, (_, i) => Number(((i < 8 ? a : b) >> BigInt(8 * (i % 8))) & 0xffn)));
}

describe("neighbour discovery: parse", () => {
  it("reads a router solicitation with its source link-layer address", () => {
    expect(parse(hex(F.rs))).toBe(E.OK);
    expect(t.p.tNdType()).toBe(RS);
    expect(t.p.tNdHasSourceLinkAddr()).toBe(1);
    expect(macText(t.p.tNdSourceLinkAddr())).toBe(GUEST_MAC);
  });

  it("reads a router advertisement: router fields, MTU and prefix information", () => {
    expect(parse(hex(F.raFromGuest))).toBe(E.OK);
    expect(t.p.tNdType()).toBe(RA);
    expect(t.p.tNdCurHopLimit()).toBe(64);
    // M and O, and scapy's default router preference 01 (RFC 4191 2.2) in the same byte.
    expect(t.p.tNdFlags()).toBe(0xc8);
    expect(t.p.tNdRouterLifetime()).toBe(600);
    expect(t.p.tNdReachableTime()).toBe(30000);
    expect(t.p.tNdRetransTimer()).toBe(1000);
    expect(t.p.tNdMtu()).toBe(1400);
    expect(t.p.tNdPrefixCount()).toBe(1);
    expect(t.p.tNdPrefixLength()).toBe(64);
    expect(t.p.tNdPrefixFlags()).toBe(0xc0);
    expect(t.p.tNdValidLifetime()).toBe(86400);
    expect(t.p.tNdPreferredLifetime()).toBe(14400);
    expect(addrOf(t.p.tNdPrefixA(), t.p.tNdPrefixB())).toBe(toHex(ip6Bytes("2001:db8:1::")));
    expect(macText(t.p.tNdSourceLinkAddr())).toBe(GUEST_MAC);
    expect(t.p.tNdOptionsOffset()).toBe(40 + 16);
    expect(t.p.tNdOptionsLen()).toBe(8 + 8 + 32);
  });

  it("counts every prefix and describes the first", () => {
    const pkt = hex(F.raFromGuest);
    const prefix = pkt.subarray(pkt.length - 32);
    const second = prefix.slice();
    second[2] = 48;
    const both = new Uint8Array(pkt.length + 32);
    both.set(pkt);
    both.set(second, pkt.length);
    both[5] += 32;
    fixV6Checksum(both, 58, 2);
    expect(parse(both)).toBe(E.OK);
    expect(t.p.tNdPrefixCount()).toBe(2);
    expect(t.p.tNdPrefixLength()).toBe(64);
  });

  it("reads an address-resolution NS and a DAD probe (from ::, no link-layer option)", () => {
    expect(parse(hex(F.nsResolve))).toBe(E.OK);
    expect(t.p.tNdType()).toBe(NS);
    expect(addrOf(t.p.tNdTargetA(), t.p.tNdTargetB())).toBe(toHex(ip6Bytes("fe80::1")));
    expect(macText(t.p.tNdSourceLinkAddr())).toBe(GUEST_MAC);
    expect(parse(hex(F.nsDad))).toBe(E.OK);
    expect(t.p.tNdHasSourceLinkAddr()).toBe(0);
    expect(addrOf(t.p.tNdTargetA(), t.p.tNdTargetB())).toBe(toHex(ip6Bytes("fe80::5054:ff:fe12:3456")));
  });

  it("reads solicited and unsolicited NAs with their flags and target link-layer address", () => {
    expect(parse(hex(F.naSolicited))).toBe(E.OK);
    expect(t.p.tNdType()).toBe(NA);
    expect(t.p.tNdFlags()).toBe(0x60);
    expect(t.p.tNdHasTargetLinkAddr()).toBe(1);
    expect(macText(t.p.tNdTargetLinkAddr())).toBe(GUEST_MAC);
    expect(parse(hex(F.naUnsolicited))).toBe(E.OK);
    expect(t.p.tNdFlags()).toBe(0xa0);
  });

  it("skips unknown options and options the message type does not use", () => {
    const pkt = hex(F.nsResolve);
    // A target link-layer option (meaningless in an NS) and an unknown type 200 of 16 bytes.
    const extra = hex("0201aabbccddeeff c8020000000000000000000000000000".replace(/ /g, ""));
    const grown = new Uint8Array(pkt.length + extra.length);
    grown.set(pkt);
    grown.set(extra, pkt.length);
    grown[5] += extra.length;
    fixV6Checksum(grown, 58, 2);
    expect(parse(grown)).toBe(E.OK);
    expect(t.p.tNdHasTargetLinkAddr()).toBe(0);
    expect(macText(t.p.tNdSourceLinkAddr())).toBe(GUEST_MAC);
  });
});

describe("neighbour discovery: refusals", () => {
  it("ND_NOT_ND for echo and other ICMPv6 types, and for packets that are not ICMPv6", () => {
    for (const type of [1, 2, 128, 129, 137, 143]) {
      expect(parse(edited(F.nsResolve, (m) => { m[0] = type; })), `type ${type}`).toBe(E.ND_NOT_ND);
    }
    expect(parse(hex(F.udp6))).toBe(E.ND_NOT_ND);
    expect(parse(hex(F.udp4))).toBe(E.ND_NOT_ND);
  });

  it("ND_HOP_LIMIT when the hop limit is not 255 (the message may have been forwarded)", () => {
    for (const f of [F.rs, F.raFromGuest, F.nsResolve, F.naSolicited]) {
      const pkt = hex(f);
      pkt[7] = 254;
      expect(parse(pkt)).toBe(E.ND_HOP_LIMIT);
    }
  });

  it("ND_CHECKSUM when the ICMPv6 checksum fails, including one bit of the pseudo-header", () => {
    const pkt = hex(F.naSolicited);
    pkt[pkt.length - 1] ^= 1;
    expect(parse(pkt)).toBe(E.ND_CHECKSUM);
    const moved = hex(F.naSolicited);
    moved[39] ^= 0x10; // destination address
    expect(parse(moved)).toBe(E.ND_CHECKSUM);
  });

  it("ND_CODE for a non-zero code", () => {
    expect(parse(edited(F.nsResolve, (m) => { m[1] = 1; }))).toBe(E.ND_CODE);
    expect(parse(edited(F.rs, (m) => { m[1] = 255; }))).toBe(E.ND_CODE);
  });

  it("ND_TRUNCATED below each message's fixed length, checksum intact", () => {
    for (const [f, fixed] of [[F.rs, 8], [F.raFromGuest, 16], [F.nsDad, 24], [F.naSolicited, 24]] as const) {
      for (let n = 4; n < fixed; n++) {
        const pkt = hex(f).slice(0, 40 + n);
        pkt[4] = 0;
        pkt[5] = n;
        fixV6Checksum(pkt, 58, 2);
        expect(parse(pkt), `${n} bytes`).toBe(E.ND_TRUNCATED);
      }
    }
    const tiny = hex(F.rs).slice(0, 43);
    tiny[5] = 3;
    expect(parse(tiny)).toBe(E.ND_TRUNCATED);
  });

  it("ND_TARGET for a multicast target in NS and NA", () => {
    expect(parse(edited(F.nsResolve, (m) => { m[8] = 0xff; }))).toBe(E.ND_TARGET);
    expect(parse(edited(F.naSolicited, (m) => { m.set(ip6Bytes("ff02::1"), 8); }))).toBe(E.ND_TARGET);
  });

  it("ND_OPTION for a zero length, an option past the end, a half option header, and wrong known lengths", () => {
    expect(parse(edited(F.nsResolve, (m) => { m[25] = 0; }))).toBe(E.ND_OPTION);
    expect(parse(edited(F.nsResolve, (m) => { m[25] = 2; }))).toBe(E.ND_OPTION);
    expect(parse(edited(F.raFromGuest, (m) => { m[17] = 9; }))).toBe(E.ND_OPTION);
    // Options of 8 bytes with the second one cut to a single byte.
    const pkt = hex(F.rs);
    const odd = new Uint8Array(pkt.length + 1);
    odd.set(pkt);
    odd[pkt.length] = 1;
    odd[5] += 1;
    fixV6Checksum(odd, 58, 2);
    expect(parse(odd)).toBe(E.ND_OPTION);
    // A prefix option of 3 units, an MTU option of 2: malformed known options.
    const ra = hex(F.raFromGuest);
    const mtuAt = 16 + 8;
    const prefixAt = 16 + 16;
    expect(parse(edited(F.raFromGuest, (m) => { m[prefixAt + 1] = 3; }))).toBe(E.ND_OPTION);
    const wideMtu = new Uint8Array(ra.length + 8);
    wideMtu.set(ra.subarray(0, 40 + mtuAt));
    wideMtu.set(ra.subarray(40 + mtuAt, 40 + mtuAt + 8), 40 + mtuAt);
    wideMtu.set(ra.subarray(40 + mtuAt + 8), 40 + mtuAt + 16);
    wideMtu[40 + mtuAt + 1] = 2;
    wideMtu[5] += 8;
    fixV6Checksum(wideMtu, 58, 2);
    expect(parse(wideMtu)).toBe(E.ND_OPTION);
    expect(parse(edited(F.nsResolve, (m) => { m[25] = 2; m[24] = 1; }))).toBe(E.ND_OPTION);
  });

  it("ND_ADDRESS: RA not from link-local, RS and NS from :: with a link-layer option, DAD not to a solicited-node group, solicited NA to multicast", () => {
    expect(parse(edited(F.raFromGuest, (_, pkt) => { pkt.set(ip6Bytes("2001:db8::15"), 8); }))).toBe(E.ND_ADDRESS);
    expect(parse(edited(F.rs, (_, pkt) => { pkt.fill(0, 8, 24); }))).toBe(E.ND_ADDRESS);
    expect(parse(edited(F.nsResolve, (_, pkt) => { pkt.fill(0, 8, 24); }))).toBe(E.ND_ADDRESS);
    expect(parse(edited(F.nsDad, (_, pkt) => { pkt.set(ip6Bytes("ff02::1"), 24); }))).toBe(E.ND_ADDRESS);
    expect(parse(edited(F.nsDad, (_, pkt) => { pkt.set(ip6Bytes("fe80::1"), 24); }))).toBe(E.ND_ADDRESS);
    expect(parse(edited(F.naUnsolicited, (m) => { m[4] = 0x60; }))).toBe(E.ND_ADDRESS);
    // The same solicited NA to a unicast address is fine, and an RS from :: without the option too.
    expect(parse(edited(F.naSolicited, (m) => { m[4] = 0x60; }))).toBe(E.OK);
    const bareRs = hex(F.rs).slice(0, 48);
    bareRs[5] = 8;
    bareRs.fill(0, 8, 24);
    expect(parse(fixV6Checksum(bareRs, 58, 2))).toBe(E.OK);
  });

  it("reports the IP layer's refusal apart (IP_REFUSED | Reason) when parsePacket refuses first", () => {
    expect(parse(hex(F.nsResolve).subarray(0, 30))).toBe(0x100 | 1);
  });
});

describe("neighbour discovery: emit", () => {
  const own = mac(STACK_MAC);
  const [llA, llB] = ip6("fe80::1");
  const [guestA, guestB] = ip6("fe80::5054:ff:fe12:3456");

  it("writes scapy's NS to the target's solicited-node group, and the DAD probe from ::", () => {
    expect(toHex(t.read(t.out, t.p.tNdWriteNs(t.out, llA, llB, guestA, guestB, own)))).toBe(F.buildNs);
    expect(toHex(t.read(t.out, t.p.tNdWriteNs(t.out, 0n, 0n, llA, llB, own)))).toBe(F.buildNsDad);
    expect(BigInt.asUintN(64, t.p.tSolicitedNodeLow(ip6("2001:db8::aa:bbcc:ddee")[1]))).toBe(ip6("ff02::1:ffcc:ddee")[1]);
  });

  it("writes scapy's NA and RA", () => {
    expect(toHex(t.read(t.out, t.p.tNdWriteNa(t.out, llA, llB, guestA, guestB, llA, llB, 0xe0, own)))).toBe(F.buildNa);
    t.p.tNdRaFields(64, 0, 1800, 0, 0, 1500);
    const [pA, pB] = ip6("2001:db8::");
    t.p.tNdRaPrefix(pA, pB, 64, 0xc0, 86400, 14400);
    const [allA, allB] = ip6("ff02::1");
    expect(toHex(t.read(t.out, t.p.tNdWriteRa(t.out, llA, llB, allA, allB, own)))).toBe(F.buildRa);
  });

  it("leaves the MTU and prefix options out when not asked for", () => {
    t.p.tNdRaFields(0, 0x80, 0, 0, 0, 0);
    const [allA, allB] = ip6("ff02::1");
    const n = t.p.tNdWriteRa(t.out, llA, llB, allA, allB, own);
    expect(n).toBe(40 + 16 + 8);
    expect(t.p.tNdParse(t.out, n)).toBe(E.OK);
    expect(t.p.tNdFlags()).toBe(0x80);
    expect(t.p.tNdMtu()).toBe(0);
    expect(t.p.tNdPrefixCount()).toBe(0);
  });

  it("round-trips each scapy message: parse, emit from the decoded message, same bytes", () => {
    for (const f of [F.rs, F.raFromGuest, F.nsResolve, F.nsDad, F.naSolicited, F.naUnsolicited]) {
      const pkt = hex(f);
      expect(parse(pkt)).toBe(E.OK);
      const src = ip6(addrText(pkt.subarray(8, 24)));
      const dst = ip6(addrText(pkt.subarray(24, 40)));
      const n = t.p.tNdEmitParsed(t.out, src[0], src[1], dst[0], dst[1]);
      expect(toHex(t.read(t.out, n))).toBe(f);
    }
  });
});

function addrText(b: Uint8Array): string {
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(":");
}

describe("fuzz", () => {
  it(`parses ${FUZZ_INPUTS.toLocaleString("en")} random and mutated IPv6 packets carrying neighbour discovery without a trap`, () => {
    const tally = fuzzEdge(t, FUZZ.ND, [F.rs, F.raFromGuest, F.nsResolve, F.nsDad, F.naSolicited, F.naUnsolicited, F.buildRa, F.buildNs, F.buildNa].map(hex), FUZZ_INPUTS, 0x4d1);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_INPUTS);
    // The mutations reach acceptance and every refusal this parser has.
    for (const reason of [E.OK, E.ND_NOT_ND, E.ND_TRUNCATED, E.ND_HOP_LIMIT, E.ND_CODE, E.ND_CHECKSUM, E.ND_TARGET, E.ND_OPTION, E.ND_ADDRESS]) expect(tally.get(reason) ?? 0, `EdgeReason ${reason}`).toBeGreaterThan(0);
  }, 60_000);
});
