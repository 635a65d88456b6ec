// The engine's boundary: batches of packets in, records out, ICMP echo, malformed-packet counters,
// trace events, IPv6, stale ids, ports, WRITABLE, and the memory of an idle connection.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { Script, established, listening, ACK, SYN, PSH, FIN, RST, REMOTE_SEQ, TEMPL } from "../fixtures/engine-script.js";
import { takeOutput, takeEvents } from "../fixtures/engine-io.js";

describe("packets in, packets out", () => {
  it("answers an ICMP echo request with an echo reply", async () => {
    const s = await Script.create();
    const icmp = new Uint8Array(12);
    icmp.set([8, 0, 0, 0, 0x12, 0x34, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    const sum = s.wire.checksum(icmp);
    icmp[2] = sum >> 8;
    icmp[3] = sum & 0xff;
    const ip = new Uint8Array(20 + icmp.length);
    ip.set([0x45, 0, 0, ip.length, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]);
    const ipSum = s.wire.checksum(ip.subarray(0, 20));
    ip[10] = ipSum >> 8;
    ip[11] = ipSum & 0xff;
    ip.set(icmp, 20);
    s.sendRaw(ip);
    const [reply] = takeOutput(s.engine, s.now);
    expect(reply).toBeDefined();
    expect(Array.from(reply!.subarray(12, 20))).toEqual([10, 0, 0, 1, 10, 0, 0, 2]);
    expect(reply![20]).toBe(0); // echo reply
    expect(Array.from(reply!.subarray(24))).toEqual([0x12, 0x34, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    expect(s.engine.counters().icmpEchoReplies).toBe(1);
  });
  it("drops malformed packets and counts them by reason", async () => {
    const s = await listening();
    s.sendRaw(new Uint8Array([0x45, 0, 0]));
    const good = s.wire.encodePacket({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
    const bad = good.slice();
    bad[bad.length - 1]! ^= 0xff; // the urgent pointer's low byte: the TCP checksum no longer verifies
    s.sendRaw(bad);
    s.recvNothing();
    const c = s.engine.counters();
    expect(c.dropsByReason[1]).toBe(1); // TRUNCATED
    expect(c.dropsByReason[13]).toBe(1); // TCP_CHECKSUM
    expect(c.packetsIn).toBe(2);
    expect(c.segmentsIn).toBe(0);
  });
  it("takes many packets per input call and returns many per output call", async () => {
    const s = await Script.create();
    s.engine.listen({ port: 80, backlog: 64 });
    const syns = Array.from({ length: 50 }, (_, i) =>
      s.wire.encodePacket({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: 2000 + i, dstPort: 80, seq: i * 1000, flags: SYN, options: { mss: 1460 } }));
    s.engine.input(syns, s.now);
    const out = takeOutput(s.engine, s.now);
    expect(out).toHaveLength(50);
    expect(out.map((p) => (s.wire.parsePacket(p) as { dstPort: number }).dstPort)).toEqual(syns.map((_, i) => 2000 + i));
  });
  it("refuses an RX record whose length runs past the RX region, and stops there", async () => {
    const s = await listening();
    const x = s.engine.raw;
    const rx = x.engineRxPtr() >>> 0;
    s.engine.memory.dv.setUint32(rx, x.engineRxCapacity(), true);
    expect(x.engineInput(3, s.now)).toBe(0);
    expect(s.engine.counters().rxRecordInvalid).toBe(1);
    expect(s.engine.counters().packetsIn).toBe(0);
  });
  it("drops a LAND SYN (source equals destination)", async () => {
    const s = await listening();
    s.sendRaw(s.wire.encodePacket({ src: "10.0.0.1", dst: "10.0.0.1", srcPort: 80, dstPort: 80, seq: 1, flags: SYN }));
    s.recvNothing();
    expect(s.engine.counters().dropsByReason[14]).toBe(1);
  });
});

describe("events", () => {
  it("traces each segment in and out when TRACE is on, and every state transition", async () => {
    const s = await Script.create({ trace: true });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    const synAck = s.next();
    const ev = s.events(true);
    const listener = s.listener;
    const child = (ev.find((e) => e.type === "state" && e.to === "SYN-RECEIVED") as { id: number }).id;
    expect(ev).toEqual([
      { type: "state", id: listener, from: "CLOSED", to: "LISTEN" },
      { type: "segment", id: listener, direction: "in", flags: SYN, seq: REMOTE_SEQ, ack: 0, window: 65535, length: 0, options: { mss: 1460 } },
      { type: "state", id: child, from: "LISTEN", to: "SYN-RECEIVED" },
      { type: "segment", id: child, direction: "out", flags: SYN | ACK, seq: synAck.seq, ack: REMOTE_SEQ + 1, window: 65535, length: 0, options: { mss: 1460 } },
    ]);
  });
  it("a segment trace carries the options' values: window scale, timestamps, SACK blocks", async () => {
    const s = await Script.create({ trace: true, timestamps: true, sack: true, windowScaling: true });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, wscale: 4, sackPermitted: true, timestamps: { value: 5, echo: 0 } });
    const synAck = s.next();
    s.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: synAck.seq + 1, timestamps: { value: 6, echo: synAck.timestamps!.value } });
    s.send({ flags: ACK, seq: REMOTE_SEQ + 11, ack: synAck.seq + 1, payload: "x", timestamps: { value: 7, echo: 0 } });
    const ack = s.next();
    const segments = s.events(true).filter((e) => e.type === "segment");
    expect(segments[0]).toMatchObject({ direction: "in", options: { mss: 1460, wscale: 4, sackPermitted: true, timestamps: { value: 5, echo: 0 } } });
    expect(segments.at(-1)).toMatchObject({ direction: "out", seq: ack.seq, options: { timestamps: ack.timestamps!, sack: [[REMOTE_SEQ + 11, REMOTE_SEQ + 12]] } });
  });
  it("WRITABLE follows a full send ring once the peer acknowledges data", async () => {
    const s = await established({}, { sendBuffer: 4096, noDelay: true });
    expect(s.engine.send(s.id, new Uint8Array(5000), s.now)).toBe(4096);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), payload: "\0".repeat(1460) });
    s.recv({ flags: ACK, seq: s.l(1461), ack: s.r(1), payload: "\0".repeat(1460) });
    s.recv({ flags: ACK | PSH, seq: s.l(2921), ack: s.r(1), payload: "\0".repeat(1176) });
    s.events();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1461) });
    expect(s.events()).toEqual([{ type: "writable", id: s.id }]);
  });
  it("PEER_FIN after the data, and reading continues until the ring is empty", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH | FIN, seq: s.r(1), ack: s.l(1), payload: "last" });
    expect(s.events()).toEqual([{ type: "readable", id: s.id }, { type: "peerFin", id: s.id }]);
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("last");
  });
});

describe("memory limit", () => {
  it("data that needs a ring past MEMORY_LIMIT ends the connection with ENOBUFS and a RST", async () => {
    const s = await established();
    expect(s.engine.raw.engineConfigSet(36, s.engine.memoryInUse() + 4096)).toBe(0);
    expect(() => s.engine.send(s.id, new Uint8Array(10), s.now)).toThrow(/ENOBUFS/);
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "data" });
    s.recv({ flags: RST, seq: s.l(1), ack: 0, window: 0 });
    expect(s.events()).toEqual([
      { type: "error", id: s.id, error: "ENOBUFS" },
      { type: "closed", id: s.id },
    ]);
  });
});

describe("the clock", () => {
  it("timer calls before a deadline, or twice, change nothing", async () => {
    const s = await established();
    s.engine.send(s.id, new TextEncoder().encode("x"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "x" });
    const deadline = s.engine.nextDeadline();
    for (const t of [0, 1, 50, deadline - 1]) {
      s.engine.timers(t);
      s.recvNothing();
    }
    expect(s.engine.nextDeadline()).toBe(deadline);
    s.now = deadline;
    s.engine.timers(deadline);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "x" });
    s.engine.timers(deadline);
    s.recvNothing();
  });
  it("a deadline handed out in ms fires when given back exactly (no truncation below it)", async () => {
    const s = await established();
    s.now = 16373.209; // 16413.209 ms * 1000 is 16413208.999... in f64
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "t" });
    expect(s.engine.nextDeadline()).toBe(16413.209);
    s.advanceToDeadline();
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });
});

describe("handles and ports", () => {
  it("a stale id is refused with EBADF, never reaching the slot's next connection", async () => {
    const s = await Script.create();
    const a = s.engine.create();
    s.engine.release(a, s.now);
    const b = s.engine.create();
    expect(b).not.toBe(a);
    expect(() => s.engine.state(a)).toThrow(/EBADF/);
    expect(() => s.engine.close(a, s.now)).toThrow(/EBADF/);
    expect(s.engine.state(b)).toBe("CLOSED");
  });
  it("listening twice on a port is EADDRINUSE; an OPEN twice is EISCONN", async () => {
    const s = await listening();
    expect(() => s.engine.listen({ port: 80 })).toThrow(/EADDRINUSE/);
    const id = s.engine.create();
    s.engine.raw.connListen(id, 4, 81, 0);
    expect(s.engine.raw.connListen(id, 4, 82, 0)).toBe(-11);
  });
  it("connect picks a random ephemeral port in range; an explicit 4-tuple in use is EADDRINUSE", async () => {
    const s = await Script.create({ ephemeralLow: 50000, ephemeralHigh: 50100 });
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const id = s.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, s.now);
      ports.add(s.engine.status(id).localPort);
    }
    expect(ports.size).toBe(5);
    for (const p of ports) expect(p >= 50000 && p <= 50100).toBe(true);
    s.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80, localPort: 40000 }, s.now);
    expect(() => s.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80, localPort: 40000 }, s.now)).toThrow(/EADDRINUSE/);
  });
  it("an idle established connection costs at most 2 KiB of pool memory", async () => {
    const s = await listening();
    const before = s.engine.memoryInUse();
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    const synAck = s.next();
    s.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: synAck.seq + 1 });
    expect(s.state()).toBe("ESTABLISHED");
    const cost = s.engine.memoryInUse() - before;
    expect(s.engine.tcbSize()).toBeLessThanOrEqual(2048);
    expect(cost).toBeLessThanOrEqual(2048);
  });
});

describe("IPv6", () => {
  it("handshake, data and close over IPv6", async () => {
    const e = await Engine.create({ flavor: "debug", secret: new Uint8Array(32).fill(3) });
    const s = await Script.create();
    const w = s.wire;
    const l = e.listen({ port: 443, ipVersion: 6 });
    const seg = (flags: number, seq: number, ack: number, payload = "", mss: number | null = null) =>
      w.encodePacket({ src: "fd00::2", dst: "fd00::1", srcPort: 5555, dstPort: 443, seq, ack, flags, payload: new TextEncoder().encode(payload), options: { mss } });
    e.input([seg(SYN, 100, 0, "", 1440)], 0);
    const synAck = w.parsePacket(takeOutput(e, 0)[0]!) as { src: string; dst: string; seq: number; ack: number; options: { mss: number } };
    expect({ src: synAck.src, dst: synAck.dst, ack: synAck.ack, mss: synAck.options.mss }).toEqual({ src: "fd00::1", dst: "fd00::2", ack: 101, mss: 1440 });
    e.input([seg(ACK | PSH, 101, synAck.seq + 1, "v6")], 0);
    const accepted = takeEvents(e).find((x) => x.type === "accepted") as { id: number; listener: number };
    expect(accepted.listener).toBe(l);
    expect(e.status(accepted.id).remoteAddress).toBe("fd00::2");
    expect(new TextDecoder().decode(e.recv(accepted.id, 0))).toBe("v6");
    expect({ ...TEMPL }.flags).toBe(ACK);
  });
});
