// ARP for IPv4 over Ethernet (RFC 826, RFC 5227 shapes; assembly/wire/arp.ts) through the testing
// build: scapy's request, reply, probe and announcement parse to their fields, each refusal is
// reached, and the writers produce scapy's bytes and round-trip through the parser.
import { beforeAll, describe, expect, it } from "vitest";
import { EDGE_FRAMES as F } from "../fixtures/edge-frames.js";
import { E, GUEST_MAC, STACK_MAC, hex, ip4, loadEdge, mac, macText, toHex, type Edge } from "../fixtures/edge-util.js";
import { FUZZ, FUZZ_INPUTS, fuzzEdge } from "../fixtures/edge-fuzz.js";

let t: Edge;
beforeAll(async () => {
  t = await loadEdge();
});

/** The ARP packet of a scapy frame (after the 14-byte Ethernet header). */
function arpOf(frame: string): Uint8Array {
  return hex(frame).subarray(14);
}

function parse(bytes: Uint8Array): number {
  return t.p.tArpParse(t.put(bytes), bytes.length);
}

describe("ARP: parse", () => {
  it("reads a broadcast request, ignoring the frame padding after its 28 bytes", () => {
    const a = arpOf(F.arpRequest);
    expect(a.length).toBe(46);
    expect(parse(a)).toBe(E.OK);
    expect(t.p.tArpOperation()).toBe(1);
    expect(macText(t.p.tArpSenderMac())).toBe(GUEST_MAC);
    expect(t.p.tArpSenderIp()).toBe(ip4("10.0.2.15"));
    expect(t.p.tArpTargetIp()).toBe(ip4("10.0.2.2"));
    expect(macText(t.p.tArpTargetMac())).toBe("00:00:00:00:00:00");
    expect(t.p.tArpProbe()).toBe(0);
    expect(t.p.tArpAnnouncement()).toBe(0);
  });

  it("reads a reply", () => {
    expect(parse(arpOf(F.arpReply))).toBe(E.OK);
    expect(t.p.tArpOperation()).toBe(2);
    expect(macText(t.p.tArpSenderMac())).toBe(STACK_MAC);
    expect(macText(t.p.tArpTargetMac())).toBe(GUEST_MAC);
    expect(t.p.tArpTargetIp()).toBe(ip4("10.0.2.15"));
  });

  it("tells RFC 5227 probes (sender 0.0.0.0) and announcements (sender = target) apart", () => {
    expect(parse(arpOf(F.arpProbe))).toBe(E.OK);
    expect(t.p.tArpProbe()).toBe(1);
    expect(t.p.tArpAnnouncement()).toBe(0);
    expect(parse(arpOf(F.arpAnnouncement))).toBe(E.OK);
    expect(t.p.tArpProbe()).toBe(0);
    expect(t.p.tArpAnnouncement()).toBe(1);
  });
});

describe("ARP: refusals", () => {
  it("ARP_TRUNCATED below 28 bytes, at every length", () => {
    const a = arpOf(F.arpReply);
    for (let n = 0; n < 28; n++) expect(parse(a.subarray(0, n)), `${n} bytes`).toBe(E.ARP_TRUNCATED);
    expect(parse(a.subarray(0, 28))).toBe(E.OK);
  });

  it("ARP_FORMAT for another hardware type, protocol type or address length", () => {
    for (const [at, value] of [[1, 6], [0, 1], [2, 0x86], [3, 0xdd], [4, 8], [5, 16]] as const) {
      const a = arpOf(F.arpReply).slice();
      a[at] = value;
      expect(parse(a), `byte ${at} = ${value}`).toBe(E.ARP_FORMAT);
    }
  });

  it("ARP_OPERATION for anything but request and reply (RARP 3 and 4, InARP 8, 0)", () => {
    for (const op of [0, 3, 4, 8, 0x0101]) {
      const a = arpOf(F.arpRequest).slice();
      a[6] = op >> 8;
      a[7] = op & 0xff;
      expect(parse(a), `op ${op}`).toBe(E.ARP_OPERATION);
    }
  });

  it("ARP_SENDER for a group sender MAC or a multicast / broadcast sender IP", () => {
    const group = arpOf(F.arpRequest).slice();
    group[8] |= 1;
    expect(parse(group)).toBe(E.ARP_SENDER);
    for (const ip of [[224, 0, 0, 1], [239, 1, 2, 3], [255, 255, 255, 255], [240, 0, 0, 1]]) {
      const a = arpOf(F.arpRequest).slice();
      a.set(ip, 14);
      expect(parse(a), ip.join(".")).toBe(E.ARP_SENDER);
    }
  });
});

describe("ARP: emit", () => {
  const own = mac(STACK_MAC);
  const guest = mac(GUEST_MAC);

  it("writes scapy's request probe, reply and announcement", () => {
    expect(t.p.tArpReply(t.out, own, ip4("10.0.2.2"), guest, ip4("10.0.2.15"))).toBe(28);
    expect(toHex(t.read(t.out, 28))).toBe(toHex(arpOf(F.arpReply)));
    expect(t.p.tArpAnnounce(t.out, own, ip4("10.0.2.2"))).toBe(28);
    expect(toHex(t.read(t.out, 28))).toBe(toHex(arpOf(F.arpAnnouncement)));
    expect(t.p.tArpProbeWrite(t.out, guest, ip4("10.0.2.15"))).toBe(28);
    expect(toHex(t.read(t.out, 28))).toBe(toHex(arpOf(F.arpProbe)));
    expect(t.p.tArpRequest(t.out, guest, ip4("10.0.2.15"), ip4("10.0.2.2"))).toBe(28);
    expect(toHex(t.read(t.out, 28))).toBe(toHex(arpOf(F.arpRequest).subarray(0, 28)));
  });

  it("round-trips a whole frame: Ethernet header, request, padding, then parse", () => {
    const n = t.p.tEthWrite(t.out, mac("ff:ff:ff:ff:ff:ff"), own, 0x0806);
    const len = t.p.tEthPad(t.out, n + t.p.tArpRequest(t.out + n, own, ip4("10.0.2.2"), ip4("10.0.2.15")));
    expect(len).toBe(60);
    expect(t.p.tFrameParse(t.out, len, guest)).toBe(E.OK);
    expect(t.p.tArpOperation()).toBe(1);
    expect(macText(t.p.tArpSenderMac())).toBe(STACK_MAC);
    expect(t.p.tArpSenderIp()).toBe(ip4("10.0.2.2"));
    expect(t.p.tArpTargetIp()).toBe(ip4("10.0.2.15"));
  });
});

describe("fuzz", () => {
  it(`parses ${FUZZ_INPUTS.toLocaleString("en")} random and mutated ARP packets without a trap`, () => {
    const tally = fuzzEdge(t, FUZZ.ARP, [F.arpRequest, F.arpReply, F.arpProbe, F.arpAnnouncement].map((f) => arpOf(f)), FUZZ_INPUTS, 0xa4b);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_INPUTS);
    // The mutations reach acceptance and every refusal this parser has.
    for (const reason of [E.OK, E.ARP_TRUNCATED, E.ARP_FORMAT, E.ARP_OPERATION, E.ARP_SENDER]) expect(tally.get(reason) ?? 0, `EdgeReason ${reason}`).toBeGreaterThan(0);
  }, 60_000);
});
