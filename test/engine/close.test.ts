// Closing (RFC 9293 3.10.4 and 3.10.7.4 eighth check): FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING,
// LAST-ACK, TIME-WAIT; half-close; FIN on data; ABORT; release and memory.
import { describe, expect, it } from "vitest";
import { Script, established, finWait1, finWait2, closeWait, lastAck, closing, timeWait, synSent, TEMPL, ACK, FIN, PSH, RST, SYN,
  REMOTE_SEQ } from "../fixtures/engine-script.js";
import { takeOutput, takeEvents } from "../fixtures/engine-io.js";

describe("ESTABLISHED -> FIN-WAIT-1 (CLOSE)", () => {
  it("a FIN follows queued data, on the same segment (FIN piggybacked on data)", async () => {
    const s = await established();
    s.engine.send(s.id, new TextEncoder().encode("bye"), s.now);
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | PSH | ACK, seq: s.l(1), ack: s.r(1), payload: "bye" });
    expect(s.transitions()).toEqual(["ESTABLISHED>FIN-WAIT-1"]);
  });
  it("SEND after CLOSE is refused with EPIPE", async () => {
    const s = await finWait1();
    expect(() => s.engine.send(s.id, new Uint8Array(1), s.now)).toThrow(/EPIPE/);
  });
  it("the FIN is retransmitted on RTO", async () => {
    const s = await finWait1();
    s.advanceToDeadline();
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
  });
});

describe("FIN-WAIT-1", () => {
  it("ACK of our FIN: FIN-WAIT-2", async () => {
    await finWait2();
  });
  it("FIN without the ACK of ours: CLOSING (simultaneous close)", async () => {
    await closing();
  });
  it("FIN with the ACK of ours: the ACK first (fifth check), then the FIN (eighth): TIME-WAIT", async () => {
    const s = await finWait1();
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
    expect(s.transitions()).toEqual(["FIN-WAIT-1>FIN-WAIT-2", "FIN-WAIT-2>TIME-WAIT"]);
  });
  it("keeps receiving data after our FIN (half-close)", async () => {
    const s = await finWait1();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(2), payload: "more" });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("more");
    expect(s.transitions()).toEqual(["FIN-WAIT-1>FIN-WAIT-2"]);
  });
});

describe("FIN-WAIT-2", () => {
  it("data still arrives; the peer's FIN: TIME-WAIT", async () => {
    const s = await finWait2();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(2), payload: "late" });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("late");
    s.send({ flags: FIN | ACK, seq: s.r(5), ack: s.l(2) });
    // Receiver SWS avoidance: 4 bytes read do not move the right edge (RFC 9293 3.8.6.2.2).
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(6), window: 65530 });
    expect(s.transitions()).toEqual(["FIN-WAIT-2>TIME-WAIT"]);
  });
  it("a FIN ahead of missing data waits until the data arrives", async () => {
    const s = await finWait2();
    s.send({ flags: FIN | ACK, seq: s.r(3), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(1) });
    expect(s.state()).toBe("FIN-WAIT-2");
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2), payload: "ab" });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(4), window: 65532 });
    expect(s.transitions()).toEqual(["FIN-WAIT-2>TIME-WAIT"]);
  });
});

describe("TIME-WAIT", () => {
  it("lasts 2 MSL, then CLOSED; the host's handle then frees everything", async () => {
    const s = await timeWait();
    expect(s.advanceToDeadline()).toBe(60000);
    expect(s.transitions()).toEqual(["TIME-WAIT>CLOSED"]);
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
    s.engine.release(s.id, s.now);
    expect(s.engine.liveConnections()).toBe(1); // the listener
  });
  it("a retransmitted FIN is acknowledged and restarts the 2 MSL wait", async () => {
    const s = await timeWait();
    s.advance(10000);
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
    expect(s.engine.nextDeadline()).toBe(70000);
  });
  it("a newer SYN starts a new connection on the same 4-tuple (RFC 6191); an old one gets an ACK", async () => {
    const s = await timeWait();
    s.send({ flags: SYN, seq: s.r(0), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
    expect(s.state()).toBe("TIME-WAIT");
    s.send({ flags: SYN, seq: s.r(100000), mss: 1460 });
    const synAck = s.next();
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: synAck.seq, ack: s.r(100001), mss: 1460 });
    expect(s.transitions()).toEqual(["TIME-WAIT>CLOSED", "LISTEN>SYN-RECEIVED"]);
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
  });
  it("outlives the released handle in compact form, which frees itself at the end", async () => {
    const s = await timeWait();
    // The host's handle keeps the TCB (and its slot) until released; the 4-tuple waits without it.
    expect(s.engine.liveConnections()).toBe(2);
    expect(s.engine.timeWaitCount()).toBe(1);
    s.engine.release(s.id, s.now);
    expect(s.engine.liveConnections()).toBe(1);
    expect(() => s.engine.state(s.id)).toThrow(/EBADF/);
    expect(s.advanceToDeadline()).toBe(60000);
    expect(s.engine.timeWaitCount()).toBe(0);
    // The trace still ends the connection: TIME-WAIT -> CLOSED under the released id.
    expect(s.transitions()).toEqual(["TIME-WAIT>CLOSED"]);
    expect(s.events()).toEqual([]);
  });
});

describe("CLOSE-WAIT and LAST-ACK", () => {
  it("CLOSE-WAIT: we may still send; CLOSE sends FIN: LAST-ACK; its ACK: CLOSED", async () => {
    const s = await closeWait();
    s.engine.send(s.id, new TextEncoder().encode("reply"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(2), payload: "reply", window: 65534 });
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(6) });
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | ACK, seq: s.l(6), ack: s.r(2), window: 65534 });
    expect(s.transitions()).toEqual(["CLOSE-WAIT>LAST-ACK"]);
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(7) });
    expect(s.transitions()).toEqual(["LAST-ACK>CLOSED"]);
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
  });
  it("LAST-ACK retransmits the FIN on RTO", async () => {
    const s = await lastAck();
    s.advanceToDeadline();
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(2) });
    expect(s.state()).toBe("CLOSED");
  });
  it("the ACK of our FIN comes after the RTO resent it: CLOSED, and the peer's TIME-WAIT ACK of the resent FIN draws RST <SEQ=SEG.ACK>", async () => {
    // An HTTP client without keep-alive: it dialled, the server closed first and waits in TIME-WAIT,
    // where a retransmitted FIN is acknowledged again (RFC 9293 3.10.7.4 eighth check). That second ACK
    // finds no connection here: RFC 9293 3.10.7.1 answers it with a reset, which TIME-WAIT ignores
    // (RFC 1337). On a loaded host an ACK held up longer than the RTO makes exactly this exchange,
    // with nothing lost and no live connection reset.
    const s = await synSent();
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 65535 });
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(1) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    s.engine.release(s.id, s.now); // the host closes and lets go (the Node face's destroy)
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    expect(s.transitions()).toEqual(["SYN-SENT>ESTABLISHED", "ESTABLISHED>CLOSE-WAIT", "CLOSE-WAIT>LAST-ACK"]);
    s.advanceToDeadline();
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(2) }); // the ACK of the first FIN, late
    expect(s.transitions()).toEqual(["LAST-ACK>CLOSED"]);
    expect(s.engine.liveConnections()).toBe(0);
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(2) }); // TIME-WAIT's ACK of the resent FIN
    s.recv({ flags: RST, seq: s.l(2), ack: 0, window: 0 });
    expect(s.engine.counters()).toMatchObject({ noConnection: 1, resetsSent: 1, resetsReceived: 0 });
  });
});

describe("CLOSING", () => {
  it("the ACK of our FIN: TIME-WAIT", async () => {
    const s = await closing();
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(2) });
    expect(s.transitions()).toEqual(["CLOSING>TIME-WAIT"]);
  });
});

describe("CLOSE in SYN-RECEIVED (RFC 9293 3.10.4)", () => {
  /** Simultaneous open up to SYN-RECEIVED: the host holds the id of an active open there. */
  async function simultaneousSynReceived(config = {}): Promise<Script> {
    const s = await synSent(config);
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    expect(s.transitions()).toEqual(["SYN-SENT>SYN-RECEIVED"]);
    return s;
  }

  it("nothing sent or queued: the FIN goes now, <SEQ=ISS+1>, and FIN-WAIT-1", async () => {
    const s = await simultaneousSynReceived();
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.transitions()).toEqual(["SYN-RECEIVED>FIN-WAIT-1"]);
    expect(s.engine.status(s.id)).toMatchObject({ sndUna: s.l(0), sndNxt: s.l(2), sndMax: s.l(2) });
    // The peer's SYN,ACK acknowledges our SYN only: the FIN stays in flight.
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(1) });
    expect(s.engine.status(s.id)).toMatchObject({ state: "FIN-WAIT-1", sndUna: s.l(1), sndNxt: s.l(2) });
    // Its next ACK covers the FIN: FIN-WAIT-2; its FIN: TIME-WAIT. The open never reached ESTABLISHED.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
    s.recvNothing();
    expect(s.transitions()).toEqual(["FIN-WAIT-1>FIN-WAIT-2"]);
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
    expect(s.transitions()).toEqual(["FIN-WAIT-2>TIME-WAIT"]);
    expect(s.events()).toEqual([{ type: "peerFin", id: s.id }]);
  });

  it("one ACK of both SYN and FIN: straight to FIN-WAIT-2", async () => {
    const s = await simultaneousSynReceived();
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
    s.recvNothing();
    expect(s.transitions()).toEqual(["SYN-RECEIVED>FIN-WAIT-1", "FIN-WAIT-1>FIN-WAIT-2"]);
    expect(s.engine.status(s.id)).toMatchObject({ sndUna: s.l(2), sndNxt: s.l(2) });
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });

  it("on RTO the SYN,ACK goes again and the FIN after it; an ACK outside (SND.UNA, SND.MAX] gets RST", async () => {
    const s = await simultaneousSynReceived();
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.advanceToDeadline()).toBe(1000);
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.advanceToDeadline()).toBe(2000);
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(3) });
    s.recv({ flags: RST, seq: s.l(3), ack: 0, window: 0 });
    expect(s.state()).toBe("FIN-WAIT-1");
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
    expect(s.state()).toBe("FIN-WAIT-2");
  });

  it("data queued: the close waits for ESTABLISHED, then the FIN rides on the data", async () => {
    const s = await simultaneousSynReceived();
    s.engine.send(s.id, new TextEncoder().encode("early"), s.now);
    s.engine.close(s.id, s.now);
    s.recvNothing();
    expect(s.state()).toBe("SYN-RECEIVED");
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: FIN | PSH | ACK, seq: s.l(1), ack: s.r(1), payload: "early" });
    expect(s.transitions()).toEqual(["SYN-RECEIVED>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1"]);
  });
});

describe("ABORT (RFC 9293 3.10.5)", () => {
  it("sends RST <SEQ=SND.NXT>, flushes, CLOSED", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "unread" });
    s.events();
    s.engine.abort(s.id, s.now);
    s.recv({ flags: RST, seq: s.l(1), ack: 0, window: 0 });
    expect(s.transitions()).toEqual(["ESTABLISHED>CLOSED"]);
    expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
    expect(s.engine.recv(s.id, s.now)).toHaveLength(0);
  });
  it("releasing with unread data resets the connection (RFC 2525 2.17)", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "unread" });
    s.engine.release(s.id, s.now);
    s.recv({ flags: RST, seq: s.l(1), ack: 0, window: 0 });
    expect(s.engine.liveConnections()).toBe(1);
  });
});

describe("memory", () => {
  it("a thousand open/transfer/close cycles leave the pool where it started", async () => {
    const s = await established();
    s.engine.abort(s.id, s.now);
    s.engine.release(s.id, s.now);
    takeOutput(s.engine, s.now);
    const base = s.engine.memoryInUse();
    expect(s.engine.liveConnections()).toBe(1);
    const e = s.engine;
    const w = s.wire;
    const cycles = (isn: number) => {
      for (let i = 0; i < 1000; i++) {
        const port = 1024 + i;
        const seg = (flags: number, seq: number, ack: number, payload = "") =>
          w.encodePacket({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: port, dstPort: 80, seq, ack, flags, payload: new TextEncoder().encode(payload) });
        e.input([seg(0x002, isn, 0)], s.now);
        const synAck = w.parsePacket(takeOutput(e, s.now)[0]!) as { seq: number };
        e.input([seg(ACK | PSH, isn + 1, synAck.seq + 1, "ping")], s.now);
        const ev = takeEvents(e).find((x) => x.type === "accepted")!;
        e.recv(ev.id, s.now);
        e.send(ev.id, new TextEncoder().encode("pong"), s.now);
        e.close(ev.id, s.now);
        takeOutput(e, s.now);
        e.input([seg(FIN | ACK, isn + 5, synAck.seq + 6)], s.now);
        takeOutput(e, s.now);
        e.release(ev.id, s.now);
        takeEvents(e);
      }
    };
    cycles(1000);
    // The listener alone holds a slot: the 1000 connections wait out TIME-WAIT in compact records,
    // a fraction of a TCB each.
    expect(e.liveConnections()).toBe(1);
    expect(e.timeWaitCount()).toBe(1000);
    const kept = e.memoryInUse() - base;
    expect(kept / 1000).toBeLessThan(e.tcbSize() / 4);
    s.advance(60001);
    expect(e.liveConnections()).toBe(1);
    expect(e.timeWaitCount()).toBe(0);
    // The last record out gives the store back; the same again costs the same, and nothing leaks.
    expect(e.memoryInUse()).toBe(base);
    cycles(1000);
    expect(e.timeWaitCount()).toBe(1000);
    expect(e.memoryInUse() - base).toBe(kept);
    s.advance(60001);
    expect(e.liveConnections()).toBe(1);
    expect(e.memoryInUse()).toBe(base);
  });
});
