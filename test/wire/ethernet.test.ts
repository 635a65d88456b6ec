// Ethernet II framing (assembly/wire/ethernet.ts) through the testing build: frames built by scapy
// (test/fixtures/edge-frames.ts) parse to their fields, every refusal is reached, destinations are
// classified, and the header writer round-trips through the parser.
import { beforeAll, describe, expect, it } from "vitest";
import { EDGE_FRAMES as F } from "../fixtures/edge-frames.js";
import { E, EDGE_REASON_COUNT, GUEST_MAC, STACK_MAC, hex, ip4, ip6, loadEdge, mac, macText, toHex, type Edge } from "../fixtures/edge-util.js";
import { FUZZ, FUZZ_INPUTS, fuzzEdge } from "../fixtures/edge-fuzz.js";

const D = { US: 0, BROADCAST: 1, MULTICAST_IPV4: 2, MULTICAST_IPV6: 3, MULTICAST_OTHER: 4, OTHER: 5 };
const OWN = mac(STACK_MAC);

let t: Edge;
beforeAll(async () => {
  t = await loadEdge();
});

function parse(bytes: Uint8Array, own = OWN): number {
  return t.p.tEthParse(t.put(bytes), bytes.length, own);
}

describe("Ethernet II: parse", () => {
  it("reads addresses, EtherType and payload bounds of a unicast frame to us", () => {
    const f = hex(F.ethIpv4Udp);
    expect(parse(f)).toBe(E.OK);
    expect(macText(t.p.tEthDst())).toBe(STACK_MAC);
    expect(macText(t.p.tEthSrc())).toBe(GUEST_MAC);
    expect(t.p.tEthType()).toBe(0x0800);
    expect(t.p.tEthDestination()).toBe(D.US);
    expect(t.p.tEthPayloadOffset()).toBe(14);
    expect(t.p.tEthPayloadLen()).toBe(f.length - 14);
  });

  it("keeps the padding of a minimum-size frame in the payload for the next layer to bound", () => {
    const f = hex(F.arpRequest);
    expect(f.length).toBe(60);
    expect(parse(f)).toBe(E.OK);
    expect(t.p.tEthType()).toBe(0x0806);
    expect(t.p.tEthDestination()).toBe(D.BROADCAST);
    expect(t.p.tEthPayloadLen()).toBe(46);
  });

  it("classifies IPv4 and IPv6 multicast, other group addresses and unicast to others", () => {
    expect(parse(hex(F.ipv4Multicast))).toBe(E.OK);
    expect(t.p.tEthDestination()).toBe(D.MULTICAST_IPV4);
    expect(parse(hex(F.nsResolveFrame))).toBe(E.OK);
    expect(t.p.tEthDestination()).toBe(D.MULTICAST_IPV6);
    expect(t.p.tEthType()).toBe(0x86dd);
    expect(parse(hex(F.ethIpv4Udp), mac("02:00:00:00:00:02"))).toBe(E.OK);
    expect(t.p.tEthDestination()).toBe(D.OTHER);
    // 01:00:5e with the 24th bit set is outside the IPv4 mapping (RFC 1112 6.4).
    expect(t.p.tEthClassify(mac("01:00:5e:80:00:01"), OWN)).toBe(D.MULTICAST_OTHER);
    expect(t.p.tEthClassify(mac("01:80:c2:00:00:0e"), OWN)).toBe(D.MULTICAST_OTHER);
    expect(t.p.tEthClassify(mac("ff:ff:ff:ff:ff:ff"), OWN)).toBe(D.BROADCAST);
  });

  it("maps multicast groups to their MAC addresses (RFC 1112 6.4, RFC 2464 7)", () => {
    expect(macText(t.p.tIpv4MulticastMac(ip4("224.0.0.251")))).toBe("01:00:5e:00:00:fb");
    expect(macText(t.p.tIpv4MulticastMac(ip4("239.255.129.7")))).toBe("01:00:5e:7f:81:07");
    expect(macText(t.p.tIpv6MulticastMac(ip6("ff02::1:ff12:3456")[1]))).toBe("33:33:ff:12:34:56");
  });
});

describe("Ethernet II: refusals", () => {
  it("refuses frames shorter than the header as ETH_TRUNCATED, at every length", () => {
    const f = hex(F.ethIpv4Udp);
    for (let n = 0; n < 14; n++) expect(parse(f.subarray(0, n)), `${n} bytes`).toBe(E.ETH_TRUNCATED);
    expect(parse(f.subarray(0, 14))).toBe(E.OK);
    expect(t.p.tEthPayloadLen()).toBe(0);
  });

  it("detects 802.1Q and 802.1ad tags with their VLAN id, and a tag cut short", () => {
    expect(parse(hex(F.vlan))).toBe(E.ETH_VLAN);
    expect(t.p.tEthType()).toBe(0x8100);
    expect(t.p.tEthVlanId()).toBe(42);
    expect(parse(hex(F.qinq))).toBe(E.ETH_VLAN);
    expect(t.p.tEthType()).toBe(0x88a8);
    expect(t.p.tEthVlanId()).toBe(100);
    const legacy = hex(F.vlan);
    legacy[12] = 0x91;
    legacy[13] = 0x00;
    expect(parse(legacy)).toBe(E.ETH_VLAN);
    expect(parse(hex(F.vlan).subarray(0, 17))).toBe(E.ETH_TRUNCATED);
    expect(t.p.tEthType()).toBe(0x8100);
  });

  it("refuses IEEE 802.3 length frames (LLC) as ETH_NOT_ETHERNET_II; 0x0600 is the first EtherType", () => {
    expect(parse(hex(F.stp))).toBe(E.ETH_NOT_ETHERNET_II);
    expect(t.p.tEthDestination()).toBe(D.MULTICAST_OTHER);
    const f = hex(F.ethIpv4Udp);
    f[12] = 0x05; f[13] = 0xff;
    expect(parse(f)).toBe(E.ETH_NOT_ETHERNET_II);
    f[13] = 0xdc; // 1500, the largest length
    expect(parse(f)).toBe(E.ETH_NOT_ETHERNET_II);
    f[12] = 0x06; f[13] = 0x00;
    expect(parse(f)).toBe(E.OK);
  });

  it("refuses a group source address as ETH_GROUP_SOURCE", () => {
    const f = hex(F.ethIpv4Udp);
    f[6] |= 1;
    expect(parse(f)).toBe(E.ETH_GROUP_SOURCE);
    f.fill(0xff, 6, 12);
    expect(parse(f)).toBe(E.ETH_GROUP_SOURCE);
  });
});

describe("Ethernet II: emit", () => {
  it("writes the header scapy writes, and the parser reads back what was written", () => {
    const f = hex(F.arpReply);
    const n = t.p.tEthWrite(t.out, mac(GUEST_MAC), OWN, 0x0806);
    expect(n).toBe(14);
    expect(toHex(t.read(t.out, 14))).toBe(toHex(f.subarray(0, 14)));
    t.put(f.subarray(14), t.out + 14);
    expect(t.p.tEthParse(t.out, f.length, mac(GUEST_MAC))).toBe(E.OK);
    expect(t.p.tEthDestination()).toBe(D.US);
    expect(macText(t.p.tEthSrc())).toBe(STACK_MAC);
  });

  it("pads a short frame with zeros to 60 bytes and leaves longer ones alone", () => {
    t.put(new Uint8Array(80).fill(0xee), t.out);
    t.p.tEthWrite(t.out, mac(GUEST_MAC), OWN, 0x0806);
    expect(t.p.tEthPad(t.out, 42)).toBe(60);
    expect(Array.from(t.read(t.out + 42, 20))).toEqual([...new Array(18).fill(0), 0xee, 0xee]);
    expect(t.p.tEthPad(t.out, 61)).toBe(61);
  });
});

describe("fuzz", () => {
  it(`parses ${FUZZ_INPUTS.toLocaleString("en")} random and mutated Ethernet frames through the whole receive path (Ethernet, ARP or IP, ND or UDP, the port unreachable error) without a trap`, () => {
    const tally = fuzzEdge(t, FUZZ.FRAME, [F.ethIpv4Udp, F.arpRequest, F.arpReply, F.vlan, F.qinq, F.stp, F.ipv4Multicast, F.rsFrame, F.nsResolveFrame, F.nsDadFrame, F.naSolicitedFrame, F.naUnsolicitedFrame, F.raFromGuestFrame].map(hex), FUZZ_INPUTS, 0xe7e4);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_INPUTS);
    // The mutations reach acceptance and every refusal this parser has.
    for (const reason of [E.OK, E.ETH_TRUNCATED, E.ETH_VLAN, E.ETH_NOT_ETHERNET_II, E.ETH_GROUP_SOURCE, E.ARP_TRUNCATED, E.ARP_FORMAT, E.ARP_OPERATION, E.ARP_SENDER]) expect(tally.get(reason) ?? 0, `EdgeReason ${reason}`).toBeGreaterThan(0);
  }, 60_000);
});

describe("EdgeReason numbering", () => {
  it("the tests' table of names covers every EdgeReason of assembly/wire/reason.ts", () => {
    expect(t.p.tEdgeReasonCount()).toBe(EDGE_REASON_COUNT);
    expect(Object.values(E)).toEqual(Array.from({ length: EDGE_REASON_COUNT }, (_, i) => i));
  });
});

describe("fuzz harness", () => {
  it("places each input at the end of linear memory, so a read one byte past it traps", () => {
    expect(t.p.tTailRead(100, 99)).toBeTypeOf("number");
    expect(() => t.p.tTailRead(100, 100)).toThrow(WebAssembly.RuntimeError);
    expect(() => t.p.tTailRead(0, 0)).toThrow(WebAssembly.RuntimeError);
  });
});
