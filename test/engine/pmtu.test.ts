// Packet scripts for the link MTU and Path MTU Discovery (assembly/engine/pmtu.ts): the MSS a
// connection advertises from the MTU of its link (engineInput's and connConnectMs's linkMtu), and ICMP
// fragmentation needed (RFC 1191) / ICMPv6 packet too big (RFC 8201) errors, believed only after RFC
// 5927's checks, lowering what it sends and sending the lost data again at once at the new size.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { loadWire, type PacketFields, type ParsedPacket, parseIpv4, parseIpv6 } from "../../src/core/wire.js";
import { ACK, LOCAL, LOCAL_PORT, REMOTE, REMOTE_PORT, REMOTE_SEQ, SCRIPT_CONFIG, SYN, Script, established, synSent } from "../fixtures/engine-script.js";
import { tooBigError } from "../fixtures/icmp-too-big.js";
import { takeOutput, takeEvents } from "../fixtures/engine-io.js";

const ROUTER4 = parseIpv4("10.0.0.254")!;
const ROUTER6 = parseIpv6("fd00::fe")!;
const NO_OPTIONS = { mss: null, wscale: null, sackPermitted: false, timestamps: null, sack: [] };

/** ESTABLISHED with three full segments (3 x 1460) in flight; returns them. */
async function threeInFlight(): Promise<{ s: Script; sent: Array<{ seq: number; len: number }> }> {
  const s = await established();
  s.engine.send(s.id, new Uint8Array(3 * 1460).fill(0x61), s.now);
  const sent = [s.next(), s.next(), s.next()].map((g) => ({ seq: g.seq, len: g.payload.length }));
  expect(sent).toEqual([{ seq: s.l(1), len: 1460 }, { seq: s.l(1461), len: 1460 }, { seq: s.l(2921), len: 1460 }]);
  s.recvNothing();
  return { s, sent };
}

/** The packet the engine sent with sequence number `seq` (the part an ICMP error quotes), rebuilt. */
function ourSegment(s: Script, seq: number, overrides: Partial<PacketFields> = {}): Uint8Array {
  return s.wire.encodePacket({
    src: LOCAL, dst: REMOTE, srcPort: s.localPort, dstPort: REMOTE_PORT, seq, ack: s.r(1), flags: ACK,
    payload: new Uint8Array(1460), ...overrides,
  });
}

function counters(s: Script) {
  const c = s.engine.counters();
  return { icmpTooBig: c.icmpTooBig, icmpTooBigIgnored: c.icmpTooBigIgnored, icmpEchoReplies: c.icmpEchoReplies, notTcpDropped: c.notTcpDropped };
}

describe("MSS from the link MTU", () => {
  it("a passive connection advertises the MSS of the link its SYN came in on (engineInput's linkMtu)", async () => {
    for (const [mtu, mss] of [[576, 536], [9000, 8960], [65535, 65495], [0, 1460]] as const) {
      const s = await Script.create();
      s.engine.listen({ port: LOCAL_PORT, backlog: 16 });
      const syn = s.wire.encodePacket({ src: REMOTE, dst: LOCAL, srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq: REMOTE_SEQ, flags: SYN, options: { mss: 65495 } });
      s.engine.input([syn], s.now, mtu);
      const synAck = s.next();
      expect(synAck.flags).toBe(SYN | ACK);
      expect(synAck.mss).toBe(mss);
    }
  });

  it("an active open advertises the MSS of the link its route uses (connConnectMs's linkMtu) and sends with the smaller of both", async () => {
    const s = await Script.create();
    s.localPort = 40000;
    s.id = s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40000, linkMtu: 1280 }, s.now);
    const syn = s.recv({ flags: SYN, seq: s.engine.status(s.id).iss, ack: 0, window: 65535, mss: 1240 });
    s.iss = syn.seq;
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 9000 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.engine.status(s.id)).toMatchObject({ localMss: 1240, peerMss: 9000, sendMss: 1240 });
    s.engine.send(s.id, new Uint8Array(2480), s.now);
    expect([s.next(), s.next()].map((g) => g.payload.length)).toEqual([1240, 1240]);
  });

  it("an IPv6 connection counts at least IPv6's 1280 (RFC 8200 5), and without a link MTU the config mtu applies", async () => {
    const s = await Script.create({ mtu: 9000 });
    s.localPort = 40000;
    const v6 = s.engine.connect({ local: "fd00::1", remote: "fd00::2", remotePort: REMOTE_PORT, localPort: 40000, linkMtu: 600 }, s.now);
    const v4 = s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40001 }, s.now);
    expect(s.engine.status(v6).localMss).toBe(1220);
    expect(s.engine.status(v4).localMss).toBe(8960);
  });
});

describe("ICMP fragmentation needed (RFC 1191), with RFC 5927's checks", () => {
  it("in window: the send MSS drops and everything in flight goes again at once at the new size, cwnd kept", async () => {
    const { s } = await threeInFlight();
    const before = s.engine.status(s.id);
    s.sendRaw(tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 1280, router: ROUTER4 }));
    const again = [s.next(), s.next(), s.next(), s.next()].map((g) => ({ seq: g.seq, len: g.payload.length }));
    expect(again).toEqual([
      { seq: s.l(1), len: 1240 }, { seq: s.l(1241), len: 1240 }, { seq: s.l(2481), len: 1240 }, { seq: s.l(3721), len: 660 },
    ]);
    s.recvNothing();
    const after = s.engine.status(s.id);
    expect(after).toMatchObject({ sendMss: 1240, localMss: 1460, peerMss: 1460, cwnd: before.cwnd, ssthresh: before.ssthresh });
    expect(after.sndNxt).toBe(s.l(4381));
    expect(counters(s)).toEqual({ icmpTooBig: 1, icmpTooBigIgnored: 0, icmpEchoReplies: 0, notTcpDropped: 0 });
    // The peer acknowledges the copies; new data goes out at the new size too.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(4381) });
    s.engine.send(s.id, new Uint8Array(2480), s.now);
    expect([s.next(), s.next()].map((g) => g.payload.length)).toEqual([1240, 1240]);
  });

  it("quoting a later segment in flight works too, and a report never raises the MSS again", async () => {
    const { s } = await threeInFlight();
    s.sendRaw(tooBigError({ packet: ourSegment(s, s.l(2921)), mtu: 1000, router: ROUTER4 }));
    expect(s.engine.status(s.id).sendMss).toBe(960);
    while (takeOutput(s.engine, s.now).length > 0);
    s.sendRaw(tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 1400, router: ROUTER4 }));
    s.recvNothing();
    expect(s.engine.status(s.id).sendMss).toBe(960);
    expect(counters(s)).toMatchObject({ icmpTooBig: 1, icmpTooBigIgnored: 1 });
  });

  it("552 (Linux's min_pmtu) is believed, 551 is not", async () => {
    const { s } = await threeInFlight();
    s.sendRaw(tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 551, router: ROUTER4 }));
    s.recvNothing();
    expect(s.engine.status(s.id).sendMss).toBe(1460);
    s.sendRaw(tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 552, router: ROUTER4 }));
    expect(s.engine.status(s.id).sendMss).toBe(512);
    expect(s.next()).toMatchObject({ seq: s.l(1) });
    expect(counters(s)).toMatchObject({ icmpTooBig: 1, icmpTooBigIgnored: 1 });
  });

  const ignored: Array<[string, (s: Script) => Uint8Array]> = [
    ["quoting a sequence number below SND.UNA", (s) => tooBigError({ packet: ourSegment(s, s.l(0)), mtu: 1280, router: ROUTER4 })],
    ["quoting SND.MAX (nothing sent there yet)", (s) => tooBigError({ packet: ourSegment(s, s.l(4381)), mtu: 1280, router: ROUTER4 })],
    ["quoting a sequence number far outside the window", (s) => tooBigError({ packet: ourSegment(s, s.l(0x40000000)), mtu: 1280, router: ROUTER4 })],
    ["for a connection that does not exist (another port)", (s) => tooBigError({ packet: ourSegment(s, s.l(1), { dstPort: REMOTE_PORT + 1 }), mtu: 1280, router: ROUTER4 })],
    ["quoting a packet sent from another address", (s) => tooBigError({ packet: ourSegment(s, s.l(1), { src: "10.0.0.9" }), mtu: 1280, router: ROUTER4 })],
    ["reporting an MTU below 552", (s) => tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 68, router: ROUTER4 })],
    ["reporting the MTU in use", (s) => tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 1500, router: ROUTER4 })],
    ["reporting a larger MTU", (s) => tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 9000, router: ROUTER4 })],
    ["with a bad ICMP checksum", (s) => tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 1280, router: ROUTER4, badChecksum: true })],
    ["quoting fewer than 8 bytes of TCP", (s) => tooBigError({ packet: ourSegment(s, s.l(1)), mtu: 1280, router: ROUTER4, quote: 27 })],
  ];
  for (const [what, make] of ignored) {
    it(`ignored and counted: ${what}`, async () => {
      const { s } = await threeInFlight();
      const before = s.engine.status(s.id);
      s.sendRaw(make(s));
      s.recvNothing();
      const after = s.engine.status(s.id);
      expect(after).toMatchObject({ sendMss: 1460, sndNxt: before.sndNxt, cwnd: before.cwnd, retransmits: 0 });
      expect(counters(s)).toEqual({ icmpTooBig: 0, icmpTooBigIgnored: 1, icmpEchoReplies: 0, notTcpDropped: 0 });
      // The connection goes on as before: the next ACK moves it along at the old size.
      s.send({ flags: ACK, seq: s.r(1), ack: s.l(4381) });
      s.recvNothing();
    });
  }

  it("in SYN-SENT the MSS drops for what follows, with nothing to send again", async () => {
    const s = await synSent();
    const syn = ourSegment(s, s.iss, { flags: SYN, payload: new Uint8Array(0), ack: 0 });
    s.sendRaw(tooBigError({ packet: syn, mtu: 1280, router: ROUTER4 }));
    s.recvNothing();
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.engine.status(s.id).sendMss).toBe(1240);
    expect(counters(s)).toMatchObject({ icmpTooBig: 1, icmpTooBigIgnored: 0 });
  });
});

describe("ICMPv6 packet too big (RFC 8201)", () => {
  const L6 = "fd00::1";
  const R6 = "fd00::2";

  /** An IPv6 ESTABLISHED connection (passive) with 3 x 1440 in flight. */
  async function v6InFlight() {
    const engine = await Engine.create({ flavor: "debug", secret: new Uint8Array(32).fill(7), config: SCRIPT_CONFIG });
    const wire = await loadWire({ flavor: "debug" });
    engine.listen({ port: LOCAL_PORT, ipVersion: 6, backlog: 16 });
    const peer = (f: Partial<PacketFields>) =>
      wire.encodePacket({ src: R6, dst: L6, srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, ...f, options: { ...NO_OPTIONS, ...f.options } });
    const out = () => takeOutput(engine, 0).map((p) => wire.parsePacket(p) as ParsedPacket);
    engine.input([peer({ flags: SYN, seq: REMOTE_SEQ, options: { mss: 1440 } })], 0);
    const [synAck] = out();
    const iss = synAck!.seq;
    engine.input([peer({ flags: ACK, seq: REMOTE_SEQ + 1, ack: iss + 1 })], 0);
    const accepted = takeEvents(engine).find((e) => e.type === "accepted")!;
    engine.send(accepted.id, new Uint8Array(3 * 1440), 0);
    const sent = out();
    expect(sent.map((p) => p.payloadLength)).toEqual([1440, 1440, 1440]);
    const ours = (seq: number) =>
      wire.encodePacket({ src: L6, dst: R6, srcPort: LOCAL_PORT, dstPort: REMOTE_PORT, seq, ack: REMOTE_SEQ + 1, flags: ACK, payload: new Uint8Array(1440) });
    return { engine, id: accepted.id, iss, out, ours };
  }

  it("in window: segments of 1280 - 60 bytes go out at once", async () => {
    const c = await v6InFlight();
    c.engine.input([tooBigError({ packet: c.ours(c.iss + 1441), mtu: 1280, router: ROUTER6 })], 0);
    const again = c.out();
    expect(again.map((p) => [p.seq - c.iss, p.payloadLength])).toEqual([[1, 1220], [1221, 1220], [2441, 1220], [3661, 660]]);
    expect(again.every((p) => 40 + 20 + p.payloadLength <= 1280)).toBe(true);
    expect(c.engine.status(c.id).sendMss).toBe(1220);
    expect(c.engine.counters()).toMatchObject({ icmpTooBig: 1, icmpTooBigIgnored: 0 });
  });

  it("below IPv6's minimum of 1280 the report is discarded (RFC 8201 4), as is one quoting data not in flight", async () => {
    const c = await v6InFlight();
    c.engine.input([tooBigError({ packet: c.ours(c.iss + 1), mtu: 1279, router: ROUTER6 })], 0);
    c.engine.input([tooBigError({ packet: c.ours(c.iss + 1 + 3 * 1440), mtu: 1280, router: ROUTER6 })], 0);
    c.engine.input([tooBigError({ packet: c.ours(c.iss + 1), mtu: 1280, router: ROUTER6, badChecksum: true })], 0);
    expect(c.out()).toEqual([]);
    expect(c.engine.status(c.id).sendMss).toBe(1440);
    expect(c.engine.counters()).toMatchObject({ icmpTooBig: 0, icmpTooBigIgnored: 3 });
  });
});
