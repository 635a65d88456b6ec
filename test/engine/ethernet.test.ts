// Packet scripts for an Ethernet interface of the core (assembly/engine/frames.ts, resolve.ts,
// ndisc.ts, neighbour.ts) on a virtual clock: frames in, frames out, nothing else. Golden frames are
// scapy's (test/fixtures/edge-frames.ts); the stack is 02:00:00:00:00:01 / 10.0.2.2 / fe80::1 /
// 2001:db8::1, the guest 52:54:00:12:34:56 / 10.0.2.15 / fe80::5054:ff:fe12:3456.
import { describe, expect, it } from "vitest";
import { EDGE_FRAMES } from "../fixtures/edge-frames.js";
import { hex, toHex } from "../fixtures/wire-reference.js";
import { FUZZ, mutate } from "../fixtures/edge-fuzz.js";
import { Prng } from "../../src/core/prng.js";
import {
  EthernetEngine, GUEST_MAC, STACK_MAC, arpFrame, etherType, icmp6Type, macOf, type FrameOut,
} from "../fixtures/ethernet-engine.js";

const GUEST_IP = "10.0.2.15";
const BROADCAST = "ff:ff:ff:ff:ff:ff";

/** An engine whose attach-time frames (announcement, DAD probes) are drained, at t = 0. */
async function ready(options: Parameters<typeof EthernetEngine.create>[0] = {}): Promise<EthernetEngine> {
  const e = await EthernetEngine.create(options);
  e.output();
  return e;
}

const arpOut = (out: FrameOut[]) => out.filter((o) => etherType(o.frame) === 0x0806).map((o) => o.frame);
const ipv4Out = (out: FrameOut[]) => out.filter((o) => etherType(o.frame) === 0x0800).map((o) => o.frame);

describe("Ethernet interface: frames in", () => {
  it("answers an ARP request for its address with scapy's reply, padded to 60 bytes, and learns the sender (RFC 826)", async () => {
    const e = await ready();
    e.input(EDGE_FRAMES.arpRequest);
    const out = e.output();
    expect(out).toHaveLength(1);
    expect(out[0]!.ifIndex).toBe(0);
    expect(toHex(out[0]!.frame)).toBe(EDGE_FRAMES.arpReply + "00".repeat(60 - EDGE_FRAMES.arpReply.length / 2));
    expect(e.engine.neighbours().entries).toBe(1);
    expect(e.engine.counters().arpRepliesSent).toBe(1);
  });

  it("does not answer ARP for other addresses, nor learn from it when it has no entry (RFC 826 merge rule)", async () => {
    const e = await ready();
    e.input(arpFrame(1, GUEST_MAC, GUEST_IP, "00:00:00:00:00:00", "10.0.2.77"));
    expect(e.output()).toHaveLength(0);
    expect(e.engine.neighbours().entries).toBe(0);
    expect(e.engine.counters().arpNotForUs).toBe(1);
  });

  it("drops VLAN-tagged frames and frames for other stations or groups, and counts each kind", async () => {
    const e = await ready();
    e.input(EDGE_FRAMES.vlan, EDGE_FRAMES.qinq, EDGE_FRAMES.stp, EDGE_FRAMES.ipv4Multicast);
    const other = hex(EDGE_FRAMES.ethIpv4Udp);
    other.set([0x02, 0, 0, 0, 0, 0x99], 0);
    e.input(other, new Uint8Array(10));
    expect(e.output()).toHaveLength(0);
    const c = e.engine.counters();
    expect(c.framesIn).toBe(6);
    expect(c.framesVlanDropped).toBe(2);
    // The multicast group we are not in and the other station's unicast address; spanning tree's
    // 802.3 length field and the 10-byte runt are refused by the parser.
    expect(c.framesNotForUs).toBe(2);
    expect(c.framesDropped).toBe(2);
  });

  it("answers a neighbour solicitation for fe80::1 with scapy's advertisement once DAD is done (RFC 4861 7.2.4)", async () => {
    const e = await ready({ router: true });
    // RFC 4862 5.4: one probe, RetransTimer (1 s) later the address is preferred, so the NA overrides.
    e.advanceTo(1500);
    e.input(EDGE_FRAMES.nsResolveFrame);
    const na = e.output().filter((o) => icmp6Type(o.frame) === 136);
    expect(na).toHaveLength(1);
    expect(macOf(na[0]!.frame, 0)).toBe(GUEST_MAC);
    expect(toHex(na[0]!.frame.subarray(14))).toBe(EDGE_FRAMES.buildNa);
  });

  it("sends an optimistic address's advertisement without the override flag (RFC 4429 3.3)", async () => {
    const e = await ready();
    e.input(EDGE_FRAMES.nsResolveFrame);
    const na = e.output().filter((o) => icmp6Type(o.frame) === 136)[0]!.frame;
    expect(na[14 + 40 + 4]! & 0xe0).toBe(0x40);
  });

  it("finds a duplicate when another node probes or advertises an address it is verifying (RFC 4862 5.4.3, 5.4.4)", async () => {
    const e = await ready({ addresses: ["10.0.2.2/24", "fe80::5054:ff:fe12:3456/64"] });
    e.input(EDGE_FRAMES.nsDadFrame);
    expect(e.output().filter((o) => icmp6Type(o.frame) === 136)).toHaveLength(0);
    expect(e.engine.counters().dadDuplicates).toBe(1);
    expect(e.events()).toContainEqual({ type: "addressConflict", id: 0, ifIndex: 0, address: "fe80::5054:ff:fe12:3456" });
    // No longer ours: a solicitation for it goes unanswered.
    e.input(EDGE_FRAMES.nsResolveFrame.replace("fe8000000000000000000000000000010101", "fe80000000000000505400fffe1234560101"));
    expect(e.output().filter((o) => icmp6Type(o.frame) === 136)).toHaveLength(0);
  });

  it("as a router, answers a router solicitation with prefixes, MTU and lifetime, at most once per 3 s (RFC 4861 6.2.6)", async () => {
    const e = await ready({ router: true });
    e.advanceTo(5000);
    e.input(EDGE_FRAMES.rsFrame);
    const ra = e.output().filter((o) => icmp6Type(o.frame) === 134).map((o) => o.frame);
    expect(ra).toHaveLength(1);
    const m = ra[0]!.subarray(14 + 40);
    expect(macOf(ra[0]!, 0)).toBe("33:33:00:00:00:01");
    expect(ra[0]![14 + 7]).toBe(255);
    expect((m[6]! << 8) | m[7]!).toBe(1800);
    // Options: source link-layer address, MTU 1500, then 2001:db8::/64 on-link and autonomous.
    expect(toHex(m.subarray(16, 24))).toBe("0101" + STACK_MAC.replaceAll(":", ""));
    expect(toHex(m.subarray(24, 32))).toBe("05010000000005dc");
    expect(toHex(m.subarray(32, 36))).toBe("030440c0");
    expect(toHex(m.subarray(48, 64))).toBe("20010db8000000000000000000000000");
    expect(m.length).toBe(64);
    // A second solicitation at once: no second RA until 3 s after the first.
    e.input(EDGE_FRAMES.rsFrame);
    expect(e.output().filter((o) => icmp6Type(o.frame) === 134)).toHaveLength(0);
    const later = e.advanceTo(8100).filter((o) => icmp6Type(o.frame) === 134);
    expect(later).toHaveLength(1);
  });

  it("as a router, advertises unsolicited: at attach, twice more 16 s apart, then every 200 to 600 s (RFC 4861 6.2.4)", async () => {
    const e = await EthernetEngine.create({ router: true });
    const times: number[] = [];
    const take = (out: FrameOut[]) => {
      for (const o of out) if (icmp6Type(o.frame) === 134) times.push(e.now);
    };
    take(e.output());
    while (e.now < 2_000_000) take(e.advanceTo(Math.min(e.engine.nextDeadline(), 2_000_000)));
    expect(times.slice(0, 3)).toEqual([0, 16_000, 32_000]);
    const gaps = times.slice(3).map((t, i) => t - times[i + 2]!);
    expect(gaps.length).toBeGreaterThan(2);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(200_000);
      expect(g).toBeLessThanOrEqual(600_000);
    }
  });

  it("sends no router advertisement unless it is a router", async () => {
    const e = await ready();
    e.input(EDGE_FRAMES.rsFrame);
    expect(e.advanceTo(60_000).filter((o) => icmp6Type(o.frame) === 134)).toHaveLength(0);
  });
});

describe("Ethernet interface: resolution and the neighbour cache", () => {
  it("holds a SYN while ARP resolves, then sends it to the answering MAC", async () => {
    const e = await ready();
    e.connect(GUEST_IP);
    const first = e.output();
    expect(ipv4Out(first)).toHaveLength(0);
    const req = arpOut(first);
    expect(req).toHaveLength(1);
    expect(macOf(req[0]!, 0)).toBe(BROADCAST);
    expect(req[0]!.subarray(38, 42).join(".")).toBe(GUEST_IP);
    e.input(arpFrame(2, GUEST_MAC, GUEST_IP, STACK_MAC, "10.0.2.2"));
    const syn = ipv4Out(e.output());
    expect(syn).toHaveLength(1);
    expect(macOf(syn[0]!, 0)).toBe(GUEST_MAC);
    expect(macOf(syn[0]!, 6)).toBe(STACK_MAC);
    expect(syn[0]![14 + 33]! & 0x02).toBe(0x02);
    expect(e.engine.counters().neighbourPending).toBe(1);
  });

  it("keeps at most 3 packets per unresolved neighbour, dropping the oldest", async () => {
    const e = await ready();
    for (let port = 1; port <= 5; port++) e.connect(GUEST_IP, port);
    e.output();
    expect(e.engine.counters().neighbourPendingDropped).toBe(2);
    e.input(arpFrame(2, GUEST_MAC, GUEST_IP, STACK_MAC, "10.0.2.2"));
    const syns = ipv4Out(e.output());
    expect(syns.map((f) => (f[14 + 22]! << 8) | f[14 + 23]!)).toEqual([3, 4, 5]);
  });

  it("retries ARP once a second, gives up after 3 requests and ends the SYN-SENT connection with EHOSTUNREACH", async () => {
    const e = await ready();
    const id = e.connect("10.0.2.99");
    const sent = [...arpOut(e.output())];
    const times = [0];
    while (e.engine.counters().neighbourFailed === 0 && e.now < 10_000) {
      const t = e.engine.nextDeadline();
      const out = e.advanceTo(Math.min(t, 10_000));
      for (const f of arpOut(out)) {
        sent.push(f);
        times.push(e.now);
      }
    }
    expect(sent).toHaveLength(3);
    expect(times).toEqual([0, 1000, 2000]);
    expect(e.now).toBe(3000);
    expect(e.events()).toContainEqual({ type: "error", id, error: "EHOSTUNREACH" });
    expect(e.engine.counters().neighbourPendingDropped).toBeGreaterThan(0);
    expect(e.engine.neighbours().entries).toBe(0);
  });

  it("goes REACHABLE -> STALE -> DELAY -> PROBE: unicast requests to the cached MAC, then forgets it (RFC 4861 7.3.3)", async () => {
    const e = await ready();
    e.connect(GUEST_IP);
    e.output();
    e.input(arpFrame(2, GUEST_MAC, GUEST_IP, STACK_MAC, "10.0.2.2"));
    e.output();
    // Past ReachableTime (at most 1.5 x 30 s): STALE. The SYN's retransmission uses it and starts DELAY;
    // 5 s later the first unicast probe goes to the cached address.
    const out = e.advanceTo(80_000);
    const probes = arpOut(out).filter((f) => macOf(f, 0) === GUEST_MAC);
    expect(probes).toHaveLength(3);
    expect(probes.every((f) => f[21] === 1 && f.subarray(38, 42).join(".") === GUEST_IP)).toBe(true);
    // While probing, packets still go to the cached address (PROBE uses it, RFC 4861 7.3.3).
    expect(ipv4Out(out).every((f) => macOf(f, 0) === GUEST_MAC)).toBe(true);
    // MAX_UNICAST_SOLICIT unanswered: the entry goes, and the connection still in SYN-SENT with it.
    expect(e.engine.counters().neighbourFailed).toBe(1);
    expect(e.engine.neighbours().entries).toBe(0);
    expect(e.events().some((ev) => ev.type === "error" && ev.error === "EHOSTUNREACH")).toBe(true);
  });

  it("sends off-link destinations to the gateway's MAC", async () => {
    const e = await ready({ gateways: ["10.0.2.1"] });
    e.connect("192.0.2.80");
    const req = arpOut(e.output());
    expect(req[0]!.subarray(38, 42).join(".")).toBe("10.0.2.1");
    e.input(arpFrame(2, "52:54:00:00:00:01", "10.0.2.1", STACK_MAC, "10.0.2.2"));
    const syn = ipv4Out(e.output())[0]!;
    expect(macOf(syn, 0)).toBe("52:54:00:00:00:01");
    expect(syn.subarray(14 + 16, 14 + 20).join(".")).toBe("192.0.2.80");
  });

  it("solicits from an optimistic link-local address without the source link-layer option (RFC 4429 3.3)", async () => {
    const e = await ready();
    e.connect("fe80::5054:ff:fe12:3456");
    const ns = e.output().filter((o) => icmp6Type(o.frame) === 135).map((o) => o.frame);
    expect(ns).toHaveLength(1);
    // Only the 24-byte message: no option after the target.
    expect(ns[0]!.length).toBe(14 + 40 + 24);
    // Once DAD is done the retransmission carries it (RFC 4861 7.2.2).
    const again = e.advanceTo(1000).filter((o) => icmp6Type(o.frame) === 135 && o.frame[14 + 40 + 8] === 0xfe).map((o) => o.frame);
    expect(again.at(-1)!.length).toBe(14 + 40 + 32);
  });

  it("resolves IPv6 next hops with a neighbour solicitation to the solicited-node group", async () => {
    const e = await ready();
    e.advanceTo(1500);
    e.connect("fe80::5054:ff:fe12:3456");
    const ns = e.output().filter((o) => icmp6Type(o.frame) === 135).map((o) => o.frame);
    expect(ns).toHaveLength(1);
    expect(macOf(ns[0]!, 0)).toBe("33:33:ff:12:34:56");
    e.input(EDGE_FRAMES.naSolicitedFrame);
    const syn = e.output().filter((o) => etherType(o.frame) === 0x86dd && o.frame[14 + 6] === 6).map((o) => o.frame);
    expect(syn).toHaveLength(1);
    expect(macOf(syn[0]!, 0)).toBe(GUEST_MAC);
  });

  it("stays bounded under a flood of 1,000,000 ARP requests from random MACs and still serves a real neighbour", async () => {
    const e = await ready({ config: { neighbourEntries: 1024 } });
    const batch: Uint8Array[] = [];
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const template = arpFrame(1, "02:00:00:00:00:02", "10.0.2.3", "00:00:00:00:00:00", "10.0.2.2");
    for (let i = 0; i < 1_000_000; i++) {
      const f = template.slice();
      const r = rnd();
      // A random unicast MAC and a random sender in 10.0.0.0/8.
      f[6] = f[22] = (r & 0xfc) | 0x02;
      f[7] = f[23] = r >>> 8;
      f[8] = f[24] = r >>> 16;
      f[9] = f[25] = r >>> 24;
      f[29] = r >>> 8;
      f[30] = r >>> 16;
      f[31] = (r >>> 24) | 1;
      batch.push(f);
      if (batch.length === 4096) {
        e.input(...batch);
        e.output();
        batch.length = 0;
      }
    }
    e.input(...batch);
    e.output();
    const n = e.engine.neighbours();
    expect(n.entries).toBe(1024);
    expect(n.capacity).toBe(1024);
    expect(n.bytesPerEntry).toBeLessThanOrEqual(64);
    // A real neighbour is still answered, and our own resolution still works.
    e.input(EDGE_FRAMES.arpRequest);
    expect(toHex(e.output()[0]!.frame.subarray(0, 42))).toBe(EDGE_FRAMES.arpReply);
    e.connect("10.0.2.200");
    expect(arpOut(e.output()).some((f) => f.subarray(38, 42).join(".") === "10.0.2.200")).toBe(true);
  });

  it("takes 200,000 mutated frames (scapy's ARP, NDP and IP frames to us) without a trap, each counted once", async () => {
    const e = await ready({ router: true });
    const seeds = [
      EDGE_FRAMES.arpRequest, EDGE_FRAMES.arpProbe, EDGE_FRAMES.ethIpv4Udp, EDGE_FRAMES.nsResolveFrame, EDGE_FRAMES.nsDadFrame,
      EDGE_FRAMES.naSolicitedFrame, EDGE_FRAMES.naUnsolicitedFrame, EDGE_FRAMES.rsFrame, EDGE_FRAMES.raFromGuestFrame, EDGE_FRAMES.vlan,
    ].map((f) => hex(f));
    const rng = new Prng(2026);
    const work = new Uint8Array(4096);
    const total = 200_000;
    for (let done = 0; done < total; done += 2000) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < 2000; i++) {
        const f = mutate(rng, FUZZ.FRAME, seeds[rng.nextInt(seeds.length)]!, work);
        batch.push(f.length === 0 ? new Uint8Array(1) : f.slice());
      }
      e.input(...batch);
      e.output();
      e.now += 10;
      e.engine.timers(e.now);
    }
    const c = e.engine.counters();
    expect(c.framesIn).toBe(total);
    expect(e.engine.neighbours().entries).toBeLessThanOrEqual(e.engine.neighbours().capacity);
  });
});
