// Packet scripts for UDP in the engine (assembly/engine/udp.ts, udpsockets.ts): the port table
// (address-specific and wildcard binds, v4 and v6, EADDRINUSE, ephemeral ports, its bound), the
// receive path into the receive region (most specific socket, connected sockets, broadcast and
// multicast), the checksum rules (RFC 768 zero on IPv4, RFC 8200 8.1 mandatory on IPv6), ICMP port
// unreachable for closed ports (RFC 1122 4.1.3.1) and its token bucket, port unreachable errors about
// our datagrams (udpError), and the send path into the output. A virtual clock: `now` is a number.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { UDP_RECORD, UDP_RECV_HEADER } from "../../src/core/boundary.js";
import { formatIpv4, formatIpv6, parseAddress } from "../../src/core/address.js";
import type { EngineConfig } from "../../src/core/settings.js";
import { takeEvents, takeOutput } from "../fixtures/engine-io.js";
import { portUnreachable, readPacket, text, udpPacket } from "../fixtures/udp-packets.js";

const US = "10.0.0.1";
const PEER = "10.0.0.2";
const US6 = "fd00::1";
const PEER6 = "fd00::2";

async function engine(config: EngineConfig = {}): Promise<Engine> {
  return Engine.create({ flavor: "debug", secret: new Uint8Array(32).fill(9), config });
}

function bytesOf(a: string): Uint8Array {
  return parseAddress(a)!.bytes;
}

function bind(e: Engine, address: string | undefined, port: number, opts: { version?: 4 | 6; reuse?: boolean } = {}): number {
  const a = address === undefined ? undefined : parseAddress(address)!;
  return e.udpBind(a?.version ?? opts.version ?? 4, a?.bytes, port, opts.reuse ?? false);
}

interface Received {
  socketId: number;
  version: number;
  flags: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  data: string;
}

function received(e: Engine): Received[] {
  const out: Received[] = [];
  e.udpReceive((socketId, bytes, at, len) => {
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const version = bytes[at + UDP_RECORD.ipVersion]!;
    const fmt = (o: number) => version === 4 ? formatIpv4(bytes.subarray(at + o, at + o + 4)) : formatIpv6(bytes.subarray(at + o, at + o + 16));
    out.push({
      socketId, version, flags: bytes[at + UDP_RECORD.flags]!,
      src: fmt(UDP_RECORD.srcAddress), srcPort: dv.getUint16(at + UDP_RECORD.srcPort, true),
      dst: fmt(UDP_RECORD.dstAddress), dstPort: dv.getUint16(at + UDP_RECORD.dstPort, true),
      data: new TextDecoder().decode(bytes.subarray(at + UDP_RECV_HEADER, at + UDP_RECV_HEADER + len)),
    });
  });
  return out;
}

describe("the port table", () => {
  it("overlapping binds on one port are EADDRINUSE; distinct addresses, versions and shared ports are not", async () => {
    const e = await engine();
    const wild = bind(e, undefined, 53);
    expect(() => bind(e, US, 53)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
    expect(() => bind(e, undefined, 53)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
    // Another IP version has its own ports.
    const wild6 = bind(e, undefined, 53, { version: 6 });
    expect(wild6).not.toBe(wild);
    e.udpClose(wild);
    // Two specific addresses do not overlap; a wildcard then overlaps both.
    bind(e, US, 53);
    bind(e, "10.0.0.3", 53);
    expect(() => bind(e, undefined, 53)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
    // Sockets that all ask to share a port may (SO_REUSEADDR); one that does not ask may not join.
    const a = bind(e, undefined, 67, { reuse: true });
    const b = bind(e, undefined, 67, { reuse: true });
    expect(a).not.toBe(b);
    expect(() => bind(e, undefined, 67)).toThrow(expect.objectContaining({ code: "EADDRINUSE" }));
    expect(e.udpLiveSockets()).toBe(5);
  });

  it("port 0 takes distinct random ports in the ephemeral range; close frees a port and stales its id", async () => {
    const e = await engine({ ephemeralLow: 50000, ephemeralHigh: 50003 });
    const ids = [0, 1, 2, 3].map(() => bind(e, undefined, 0));
    const ports = ids.map((id) => e.udpLocalPort(id));
    expect([...ports].sort()).toEqual([50000, 50001, 50002, 50003]);
    expect(() => bind(e, undefined, 0)).toThrow(expect.objectContaining({ code: "EADDRNOTAVAIL" }));
    e.udpClose(ids[0]!);
    expect(() => e.udpLocalPort(ids[0]!)).toThrow(expect.objectContaining({ code: "EBADF" }));
    expect(() => e.udpClose(ids[0]!)).toThrow(expect.objectContaining({ code: "EBADF" }));
    const again = bind(e, undefined, 0);
    expect(e.udpLocalPort(again)).toBe(ports[0]);
    expect(again).not.toBe(ids[0]);
  });

  it("is bounded by udpSockets: one more bind is ENOBUFS", async () => {
    const e = await engine({ udpSockets: 3 });
    for (const port of [1, 2, 3]) bind(e, undefined, port);
    expect(() => bind(e, undefined, 4)).toThrow(expect.objectContaining({ code: "ENOBUFS" }));
  });
});

describe("receive", () => {
  it("delivers to the most specific socket: connected to the source, then bound to the address, then the wildcard", async () => {
    const e = await engine();
    const wild = bind(e, undefined, 5000, { reuse: true });
    const specific = bind(e, US, 5000, { reuse: true });
    const connected = bind(e, US, 5000, { reuse: true });
    e.udpConnect(connected, bytesOf(PEER), 7000);
    e.input([
      udpPacket({ src: PEER, dst: US, srcPort: 7000, dstPort: 5000, payload: "to connected" }),
      udpPacket({ src: PEER, dst: US, srcPort: 7001, dstPort: 5000, payload: "to specific" }),
      udpPacket({ src: PEER, dst: "10.0.0.9", srcPort: 7001, dstPort: 5000, payload: "to wildcard" }),
    ], 0);
    expect(received(e)).toEqual([
      { socketId: connected, version: 4, flags: 0, src: PEER, srcPort: 7000, dst: US, dstPort: 5000, data: "to connected" },
      { socketId: specific, version: 4, flags: 0, src: PEER, srcPort: 7001, dst: US, dstPort: 5000, data: "to specific" },
      { socketId: wild, version: 4, flags: 0, src: PEER, srcPort: 7001, dst: "10.0.0.9", dstPort: 5000, data: "to wildcard" },
    ]);
    expect(received(e)).toEqual([]);
    // Disconnected, the socket is a specific one again (the first such in its bucket wins the tie).
    e.udpConnect(connected, undefined, 0);
    e.input([udpPacket({ src: PEER, dst: US, srcPort: 7000, dstPort: 5000, payload: "x" })], 0);
    expect(received(e).map((r) => r.socketId)).toEqual([connected]);
  });

  it("a connected socket takes nothing from other peers: they meet a closed port", async () => {
    const e = await engine();
    const s = bind(e, US, 5000);
    e.udpConnect(s, bytesOf(PEER), 7000);
    e.input([udpPacket({ src: "10.0.0.3", dst: US, srcPort: 7000, dstPort: 5000, payload: "stranger" })], 0);
    expect(received(e)).toEqual([]);
    expect(e.udpCounters()).toMatchObject({ udpNoPort: 1, udpUnreachableSent: 1 });
  });

  it("IPv6 datagrams reach IPv6 sockets only", async () => {
    const e = await engine();
    bind(e, undefined, 5000);
    const s6 = bind(e, US6, 5000);
    e.input([udpPacket({ src: PEER6, dst: US6, srcPort: 7000, dstPort: 5000, payload: "six" })], 0);
    expect(received(e)).toEqual([{ socketId: s6, version: 6, flags: 0, src: PEER6, srcPort: 7000, dst: US6, dstPort: 5000, data: "six" }]);
  });

  it("a broadcast or multicast datagram goes to every socket on the port that takes it, flagged, and a closed one is never answered", async () => {
    const e = await engine();
    const a = bind(e, undefined, 67, { reuse: true });
    const b = bind(e, undefined, 67, { reuse: true });
    bind(e, US, 67, { reuse: true }); // bound to a unicast address: not for a broadcast
    e.input([udpPacket({ src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: "discover" })], 0);
    const got = received(e);
    expect(got.map((r) => [r.socketId, r.flags])).toEqual(expect.arrayContaining([[a, 1], [b, 1]]));
    expect(got).toHaveLength(2);
    e.input([
      udpPacket({ src: PEER, dst: "255.255.255.255", srcPort: 68, dstPort: 99, payload: "nobody" }),
      udpPacket({ src: PEER, dst: "224.0.0.251", srcPort: 5353, dstPort: 5353, payload: "mdns" }),
      udpPacket({ src: PEER6, dst: "ff02::fb", srcPort: 5353, dstPort: 5353, payload: "mdns6" }),
    ], 0);
    expect(received(e)).toEqual([]);
    expect(takeOutput(e, 0)).toEqual([]);
    expect(e.udpCounters()).toMatchObject({ udpNoPort: 3, udpUnreachableSuppressed: 3, udpUnreachableSent: 0 });
  });

  it("a full receive region drops and counts; draining makes room again", async () => {
    const e = await engine({ udpRxRegion: 65536 + 4096 });
    // Engine.input moves the region's records out between its engine calls, so only a fan-out fills
    // one call's region: a broadcast to 8 sockets sharing the port.
    const ids = Array.from({ length: 8 }, () => bind(e, undefined, 67, { reuse: true }));
    const big = new Uint8Array(1200);
    const sent = 20;
    e.input(Array.from({ length: sent }, () => udpPacket({ src: PEER, dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: big })), 0);
    const c = e.udpCounters();
    expect(c.udpReceiveRegionFull).toBeGreaterThan(0);
    expect(c.udpDelivered + c.udpReceiveRegionFull).toBe(8 * sent);
    expect(received(e)).toHaveLength(c.udpDelivered);
    e.input([udpPacket({ src: PEER, dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: "after" })], 0);
    expect(received(e).map((r) => r.socketId).sort()).toEqual([...ids].sort());
  });

  it("one input larger than the receive region is taken whole: Engine.input moves the records out between engine calls", async () => {
    const e = await engine({ udpRxRegion: 65536 + 4096 });
    bind(e, undefined, 5000);
    const n = 300;
    e.input(Array.from({ length: n }, (_, i) => udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 5000, payload: new Uint8Array(1200).fill(i) })), 0);
    expect(e.udpCounters()).toMatchObject({ udpDelivered: n, udpReceiveRegionFull: 0 });
    expect(received(e)).toHaveLength(n);
  });
});

describe("checksums", () => {
  it("IPv4: a zero checksum means none was sent (RFC 768); a wrong one is dropped and counted", async () => {
    const e = await engine();
    bind(e, undefined, 5000);
    e.input([
      udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 5000, payload: "none", checksum: "zero" }),
      udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 5000, payload: "bad", checksum: "bad" }),
    ], 0);
    expect(received(e).map((r) => r.data)).toEqual(["none"]);
    expect(e.udpCounters()).toMatchObject({ udpDatagramsIn: 2, udpDelivered: 1, udpBadChecksum: 1 });
  });

  it("IPv6: the checksum is mandatory (RFC 8200 8.1): zero and wrong ones are dropped, each counted by reason", async () => {
    const e = await engine();
    bind(e, undefined, 5000, { version: 6 });
    e.input([
      udpPacket({ src: PEER6, dst: US6, srcPort: 1, dstPort: 5000, payload: "none", checksum: "zero" }),
      udpPacket({ src: PEER6, dst: US6, srcPort: 1, dstPort: 5000, payload: "bad", checksum: "bad" }),
      udpPacket({ src: PEER6, dst: US6, srcPort: 1, dstPort: 5000, payload: "good" }),
    ], 0);
    expect(received(e).map((r) => r.data)).toEqual(["good"]);
    expect(e.udpCounters()).toMatchObject({ udpBadZeroChecksumV6: 1, udpBadChecksum: 1, udpDelivered: 1 });
    // Neither is answered with an error: they were refused, not sent to a closed port.
    expect(takeOutput(e, 0)).toEqual([]);
  });

  it("truncated headers and impossible lengths are counted by reason", async () => {
    const e = await engine();
    bind(e, undefined, 5000);
    const good = udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 5000, payload: "abcd", checksum: "zero" });
    const long = good.slice();
    new DataView(long.buffer).setUint16(24, 200); // UDP length beyond the IP payload
    const short = good.slice();
    new DataView(short.buffer).setUint16(24, 7); // below the header
    // An IP packet with 4 bytes of UDP.
    const trunc = good.slice(0, 24);
    trunc[3] = 24;
    trunc[10] = 0;
    trunc[11] = 0;
    const { checksumRef } = await import("../fixtures/checksum-reference.js");
    new DataView(trunc.buffer).setUint16(10, checksumRef(trunc.subarray(0, 20)));
    e.input([long, short, trunc], 0);
    expect(received(e)).toEqual([]);
    expect(e.udpCounters()).toMatchObject({ udpBadLength: 2, udpBadTruncated: 1, udpDelivered: 0, udpNoPort: 0 });
  });
});

describe("port unreachable", () => {
  it("answers a closed port with ICMP port unreachable quoting the datagram (RFC 1122 4.1.3.1, RFC 792)", async () => {
    const e = await engine();
    const dgram = udpPacket({ src: PEER, dst: US, srcPort: 7000, dstPort: 9, payload: "anyone?" });
    e.input([dgram], 0);
    const [err] = takeOutput(e, 0).map(readPacket);
    expect(err).toMatchObject({ version: 4, proto: 1, src: US, dst: PEER, icmpType: 3, icmpCode: 3 });
    expect(err!.quoted).toEqual(dgram);
  });

  it("answers over IPv6 with ICMPv6 destination unreachable, code 4 (RFC 4443 3.1)", async () => {
    const e = await engine();
    const dgram = udpPacket({ src: PEER6, dst: US6, srcPort: 7000, dstPort: 9, payload: "anyone?" });
    e.input([dgram], 0);
    const [err] = takeOutput(e, 0).map(readPacket);
    expect(err).toMatchObject({ version: 6, proto: 58, src: US6, dst: PEER6, icmpType: 1, icmpCode: 4 });
    expect(err!.quoted).toEqual(dgram);
  });

  it("is rate limited by a token bucket: a burst, then the configured rate (RFC 4443 2.4 (f))", async () => {
    const e = await engine({ udpUnreachableRate: 10, udpUnreachableBurst: 3 });
    const probe = (n: number, now: number) => {
      e.input(Array.from({ length: n }, (_, i) => udpPacket({ src: PEER, dst: US, srcPort: 1000 + i, dstPort: 9 })), now);
      return takeOutput(e, now).length;
    };
    expect(probe(10, 0)).toBe(3);
    expect(probe(10, 50)).toBe(0); // half a token
    expect(probe(10, 100)).toBe(1); // 100 ms at 10/s: one
    expect(probe(10, 10_000)).toBe(3); // a long pause refills only the burst
    expect(e.udpCounters()).toMatchObject({ udpNoPort: 40, udpUnreachableSent: 7, udpUnreachableRateLimited: 33 });
    const off = await engine({ udpUnreachableRate: 0 });
    off.input([udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 9 })], 0);
    expect(takeOutput(off, 0)).toEqual([]);
  });

  it("reports an error about a connected socket's datagram to it (udpError ECONNREFUSED); others are ignored", async () => {
    const e = await engine();
    const s = bind(e, undefined, 5000);
    e.udpConnect(s, bytesOf(PEER), 53);
    // Bound but not connected: errors about what it sent are not reported (as Linux).
    bind(e, undefined, 5001);
    const ours = udpPacket({ src: US, dst: PEER, srcPort: 5000, dstPort: 53, payload: "q" });
    const fromUnconnected = udpPacket({ src: US, dst: PEER, srcPort: 5001, dstPort: 53, payload: "q" });
    const otherPeer = udpPacket({ src: US, dst: "10.0.0.3", srcPort: 5000, dstPort: 53, payload: "q" });
    e.input([portUnreachable(PEER, US, ours), portUnreachable(PEER, US, fromUnconnected), portUnreachable("10.0.0.3", US, otherPeer)], 0);
    expect(takeEvents(e)).toEqual([{ type: "udpError", id: s, error: "ECONNREFUSED" }]);
    expect(e.udpCounters()).toMatchObject({ udpIcmpUnreachableIn: 1, udpIcmpUnreachableIgnored: 2 });
    // An error is never answered with an error (RFC 1122 3.2.2).
    expect(takeOutput(e, 0)).toEqual([]);
    // Over IPv6 too, and a corrupted one is ignored.
    const s6 = bind(e, undefined, 5000, { version: 6 });
    e.udpConnect(s6, bytesOf(PEER6), 53);
    const ours6 = udpPacket({ src: US6, dst: PEER6, srcPort: 5000, dstPort: 53, payload: "q" });
    const bad = portUnreachable(PEER6, US6, ours6);
    bad[bad.length - 1]! ^= 1;
    e.input([bad, portUnreachable(PEER6, US6, ours6)], 0);
    expect(takeEvents(e)).toEqual([{ type: "udpError", id: s6, error: "ECONNREFUSED" }]);
  });
});

describe("send", () => {
  it("builds IP and UDP headers with a checksum that verifies, from the socket's port, over IPv4 and IPv6", async () => {
    const e = await engine();
    const s = bind(e, undefined, 4000);
    const s6 = bind(e, undefined, 4000, { version: 6 });
    expect(e.udpQueue(s, 4, bytesOf(US), bytesOf(PEER), 53, text("hello"))).toBe(true);
    expect(e.udpQueue(s6, 6, bytesOf(US6), bytesOf(PEER6), 53, text(""))).toBe(true);
    expect(e.udpFlush(() => {})).toBe(2);
    const out = takeOutput(e, 0).map(readPacket);
    expect(out).toEqual([
      { version: 4, proto: 17, src: US, dst: PEER, ttl: 64, srcPort: 4000, dstPort: 53, payload: text("hello"), checksumOk: true },
      { version: 6, proto: 17, src: US6, dst: PEER6, ttl: 64, srcPort: 4000, dstPort: 53, payload: new Uint8Array(0), checksumOk: true },
    ]);
    expect(e.udpCounters().udpDatagramsOut).toBe(2);
  });

  it("records queued before linear memory grows and after it go out intact (the send path's view of memory is renewed)", async () => {
    const e = await engine();
    const s = bind(e, undefined, 4000);
    e.udpQueue(s, 4, bytesOf(US), bytesOf(PEER), 53, text("before"));
    const bytes = () => e.memory.memory.buffer.byteLength;
    const start = bytes();
    // Connections with large rings until the heap has to grow.
    for (let port = 1; bytes() === start && port < 5000; port++) {
      e.connect({ local: US, remote: PEER, remotePort: port, localPort: 40000 + port }, 0, { sendBuffer: 1 << 20, recvBuffer: 1 << 20 });
    }
    expect(bytes()).toBeGreaterThan(start);
    e.udpQueue(s, 4, bytesOf(US), bytesOf(PEER), 53, text("after"));
    e.udpFlush(() => {});
    const udp = takeOutput(e, 0).map(readPacket).filter((p) => p.proto === 17);
    expect(udp.map((p) => [new TextDecoder().decode(p.payload), p.checksumOk])).toEqual([["before", true], ["after", true]]);
  });

  it("drops and counts records for a closed socket or of the wrong IP version; the rest of the batch goes", async () => {
    const e = await engine();
    const s = bind(e, undefined, 4000);
    const gone = bind(e, undefined, 4001);
    e.udpClose(gone);
    e.udpQueue(gone, 4, bytesOf(US), bytesOf(PEER), 53, text("x"));
    e.udpQueue(s, 6, bytesOf(US6), bytesOf(PEER6), 53, text("x"));
    e.udpQueue(s, 4, bytesOf(US), bytesOf(PEER), 53, text("x"));
    e.udpFlush(() => {});
    expect(takeOutput(e, 0).map(readPacket).map((p) => p.srcPort)).toEqual([4000]);
    expect(e.udpCounters()).toMatchObject({ udpSendInvalid: 2, udpDatagramsOut: 1 });
  });

  it("a batch larger than the output queue goes in several engine calls, the output drained between them, in order", async () => {
    const e = await engine({ controlQueue: 8192 });
    const s = bind(e, undefined, 4000);
    const sent: number[] = [];
    let drains = 0;
    for (let i = 0; i < 100; i++) {
      const payload = new Uint8Array(400).fill(i);
      expect(e.udpQueue(s, 4, bytesOf(US), bytesOf(PEER), 53, payload)).toBe(true);
    }
    e.udpFlush(() => {
      drains++;
      for (const p of takeOutput(e, 0)) sent.push(readPacket(p).payload[0]!);
    });
    for (const p of takeOutput(e, 0)) sent.push(readPacket(p).payload[0]!);
    expect(sent).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(drains).toBeGreaterThan(3);
  });
});

describe("fuzz: the UDP receive path", () => {
  it("1,000,000 mutated datagrams and ICMP errors to bound, connected and shared sockets: zero traps, memory unchanged", async () => {
    const { Prng } = await import("../../src/core/prng.js");
    const { checksumRef, onesSumRef, pseudoHeaderSumV4Ref, pseudoHeaderSumV6Ref, finishChecksumRef } = await import("../fixtures/checksum-reference.js");
    const e = await engine({ udpUnreachableRate: 1000, udpUnreachableBurst: 100 });
    bind(e, undefined, 53);
    bind(e, US, 54);
    const c = bind(e, undefined, 55);
    e.udpConnect(c, bytesOf(PEER), 53);
    bind(e, undefined, 67, { reuse: true });
    bind(e, undefined, 67, { reuse: true });
    bind(e, undefined, 53, { version: 6 });
    const c6 = bind(e, US6, 55);
    e.udpConnect(c6, bytesOf(PEER6), 53);
    const seeds = [
      udpPacket({ src: PEER, dst: US, srcPort: 53, dstPort: 55, payload: "a query of some length" }),
      udpPacket({ src: PEER, dst: US, srcPort: 1, dstPort: 54, payload: "", checksum: "zero" }),
      udpPacket({ src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: new Uint8Array(300) }),
      udpPacket({ src: PEER6, dst: US6, srcPort: 53, dstPort: 55, payload: "six" }),
      udpPacket({ src: PEER, dst: US, srcPort: 9, dstPort: 9999, payload: "closed" }),
      portUnreachable(PEER, US, udpPacket({ src: US, dst: PEER, srcPort: 55, dstPort: 53, payload: "q" })),
      portUnreachable(PEER6, US6, udpPacket({ src: US6, dst: PEER6, srcPort: 55, dstPort: 53, payload: "q" })),
    ];
    const rng = new Prng(0x5eed);
    const r = (n: number) => rng.nextU32() % n;
    /** Redoes the IPv4 header checksum and the UDP or ICMP checksum, so the mutation reaches past them. */
    const fix = (p: Uint8Array) => {
      const v = p[0]! >> 4;
      const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
      if (v === 4 && p.length >= 20) {
        dv.setUint16(10, 0);
        dv.setUint16(10, checksumRef(p.subarray(0, 20)));
        if (p[9] === 17 && p.length >= 28) {
          dv.setUint16(26, 0);
          dv.setUint16(26, checksumRef(p.subarray(20), pseudoHeaderSumV4Ref(p.subarray(12, 16), p.subarray(16, 20), 17, p.length - 20)) || 0xffff);
        } else if (p[9] === 1 && p.length >= 24) {
          dv.setUint16(22, 0);
          dv.setUint16(22, checksumRef(p.subarray(20)));
        }
      } else if (v === 6 && p.length >= 48) {
        const at = p[6] === 17 ? 46 : 42;
        dv.setUint16(at, 0);
        const sum = finishChecksumRef(onesSumRef(p.subarray(40), pseudoHeaderSumV6Ref(p.subarray(8, 24), p.subarray(24, 40), p[6]!, p.length - 40)));
        dv.setUint16(at, sum || 0xffff);
      }
    };
    const before = e.memoryInUse();
    const total = 1_000_000;
    const batch: Uint8Array[] = [];
    let received = 0;
    for (let i = 0; i < total; i++) {
      const seed = seeds[r(seeds.length)]!;
      let p: Uint8Array;
      const cut = r(8);
      if (cut === 0) p = seed.slice(0, r(seed.length) + 1);
      else if (cut === 1) {
        p = new Uint8Array(seed.length + 1 + r(64));
        p.set(seed);
      } else p = seed.slice();
      for (let k = r(4) + 1; k > 0; k--) p[r(p.length)] = rng.nextU32() & 0xff;
      if (r(3) !== 0) fix(p);
      batch.push(p);
      if (batch.length === 2000) {
        e.input(batch, i / 1000);
        batch.length = 0;
        takeOutput(e, i / 1000);
        takeEvents(e);
        received += e.udpReceive(() => {});
      }
    }
    e.input(batch, total / 1000);
    takeOutput(e, total / 1000);
    received += e.udpReceive(() => {});
    const counters = e.udpCounters();
    expect(counters.udpDelivered).toBe(received);
    expect(counters.udpDatagramsIn).toBeLessThanOrEqual(total);
    expect(counters.udpDelivered).toBeGreaterThan(total / 10);
    expect(counters.udpBadChecksum + counters.udpBadLength + counters.udpBadTruncated).toBeGreaterThan(total / 10);
    expect(counters.udpIcmpUnreachableIn).toBeGreaterThan(0);
    expect(e.memoryInUse()).toBe(before);
  }, 300_000);
});
