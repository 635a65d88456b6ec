// RFC 9293 3.10.7.1 - 3.10.7.3: CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED; the three-way handshake,
// simultaneous open, refusal and the connect timeout.
import { describe, expect, it } from "vitest";
import { Script, listening, synReceived, synSent, established, TEMPL, SYN, ACK, RST, FIN, PSH, REMOTE_SEQ, LOCAL, REMOTE, LOCAL_PORT,
  REMOTE_PORT } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";

describe("CLOSED (no connection, RFC 9293 3.10.7.1)", () => {
  it("answers a SYN to a closed port with RST,ACK <SEQ=0><ACK=SEG.SEQ+SEG.LEN>", async () => {
    const s = await Script.create();
    s.send({ flags: SYN, seq: REMOTE_SEQ, ack: 0 });
    s.recv({ flags: RST | ACK, seq: 0, ack: s.r(1), window: 0 });
    expect(s.engine.counters().noConnection).toBe(1);
  });
  it("answers an ACK with RST <SEQ=SEG.ACK>", async () => {
    const s = await Script.create();
    s.send({ flags: ACK, seq: REMOTE_SEQ, ack: 555, payload: "abc" });
    s.recv({ flags: RST, seq: 555, ack: 0, window: 0 });
  });
  it("ignores a RST", async () => {
    const s = await Script.create();
    s.send({ flags: RST, seq: REMOTE_SEQ });
    s.recvNothing();
  });
});

describe("LISTEN (RFC 9293 3.10.7.2)", () => {
  it("SYN: SYN,ACK <SEQ=ISS><ACK=RCV.NXT>, then SYN-RECEIVED", async () => {
    const s = await synReceived();
    expect(s.transitions()).toEqual(["CLOSED>LISTEN", "LISTEN>SYN-RECEIVED"]);
  });
  it("ignores a RST and resets an ACK", async () => {
    const s = await listening();
    s.send({ flags: RST, seq: REMOTE_SEQ });
    s.recvNothing();
    s.send({ flags: ACK, seq: REMOTE_SEQ, ack: 1234 });
    s.recv({ flags: RST, seq: 1234, ack: 0, window: 0 });
  });
  it("drops a segment with neither SYN, ACK nor RST", async () => {
    const s = await listening();
    s.send({ flags: FIN, seq: REMOTE_SEQ });
    s.recvNothing();
  });
  it("caps half-open connections per listener (RFC 4987 3.2), SYN cookies off", async () => {
    const s = await Script.create({ maxHalfOpenPerListener: 2, synCookies: false });
    s.listener = s.engine.listen({ port: 80 });
    for (let i = 0; i < 3; i++) {
      s.engine.input([s.wire.encodePacket({ src: `10.0.1.${i + 1}`, dst: "10.0.0.1", srcPort: 1000, dstPort: 80, seq: 1, flags: SYN })], s.now);
    }
    expect(takeOutput(s.engine, s.now)).toHaveLength(2);
    expect(s.engine.counters().synDroppedHalfOpen).toBe(1);
  });
  it("past the cap, a SYN cookie; its ACK creates the connection with the cookie's MSS (RFC 4987 3.6)", async () => {
    const s = await Script.create({ maxHalfOpenPerListener: 1 });
    s.listener = s.engine.listen({ port: 80 });
    // A first peer takes the one half-open place.
    s.engine.input([s.wire.encodePacket({ src: "10.0.0.9", dst: "10.0.0.1", srcPort: 7, dstPort: 80, seq: 1, flags: SYN })], s.now);
    takeOutput(s.engine, s.now);
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1400, wscale: 7, sackPermitted: true });
    const synAck = s.next();
    s.iss = synAck.seq;
    // Only the MSS can be carried: 1300 is the largest cookie MSS not above the peer's 1400.
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), window: 65535, mss: 1460 });
    expect(s.engine.liveConnections()).toBe(2);
    s.advance(5000);
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "cookie" });
    expect(s.events()).toEqual([
      { type: "accepted", id: s.id, listener: s.listener },
      { type: "readable", id: s.id },
    ]);
    const st = s.engine.status(s.id);
    expect({ state: st.state, sendMss: st.sendMss, sndShift: st.sndShift, rcvShift: st.rcvShift }).toEqual({ state: "ESTABLISHED", sendMss: 1300, sndShift: 0, rcvShift: 0 });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("cookie");
    expect(s.engine.counters()).toMatchObject({ synCookiesSent: 1, synCookiesAccepted: 1 });
  });
  it("an ACK with a forged or expired cookie is answered with RST", async () => {
    const s = await Script.create({ maxHalfOpenPerListener: 0 });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    s.iss = s.next().seq;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: RST, seq: s.l(2), ack: 0, window: 0 });
    s.advance(130_000); // two 64-second periods later
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    s.recv({ flags: RST, seq: s.l(1), ack: 0, window: 0 });
    expect(s.engine.liveConnections()).toBe(1);
  });
  it("CLOSE on a listener: CLOSED, and SYNs are then refused", async () => {
    const s = await listening();
    s.engine.close(s.listener, s.now);
    s.send({ flags: SYN, seq: REMOTE_SEQ });
    s.recv({ flags: RST | ACK, seq: 0, ack: s.r(1), window: 0 });
  });
});

describe("LISTEN --SEND--> SYN-SENT (RFC 9293 3.10.2: the remote socket given, passive turns active)", () => {
  it("connect on a listening handle: ISS chosen, SYN from the listener's port, SND.UNA = ISS, SND.NXT = ISS+1", async () => {
    const s = await listening();
    expect(s.transitions()).toEqual(["CLOSED>LISTEN"]);
    s.id = s.engine.connect({ handle: s.listener, local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT }, s.now);
    expect(s.id).toBe(s.listener);
    const syn = s.next();
    s.iss = syn.seq;
    expect(syn).toEqual({ ...TEMPL, flags: SYN, seq: s.iss, ack: 0, window: 65535, mss: 1460 });
    expect(s.transitions()).toEqual(["LISTEN>SYN-SENT"]);
    expect(s.engine.status(s.id)).toMatchObject({ iss: s.iss, sndUna: s.iss, sndNxt: s.l(1), localPort: LOCAL_PORT, localAddress: LOCAL });
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.transitions()).toEqual(["SYN-SENT>ESTABLISHED"]);
    expect(s.events()).toEqual([{ type: "connected", id: s.id }]);
    // The listener entry is gone: a SYN from anyone else to the port is refused as for a closed port.
    s.engine.input([s.wire.encodePacket({ src: "10.0.0.3", dst: LOCAL, srcPort: 1000, dstPort: LOCAL_PORT, seq: 5, flags: SYN })], s.now);
    const out = takeOutput(s.engine, s.now).map((p) => s.wire.parsePacket(p));
    expect(out).toMatchObject([{ src: LOCAL, dst: "10.0.0.3", srcPort: LOCAL_PORT, dstPort: 1000, flagBits: RST | ACK, seq: 0, ack: 6 }]);
  });
  it("a listener bound to an address keeps it; another address or port is EINVAL and it goes on listening", async () => {
    const s = await Script.create();
    s.listener = s.engine.listen({ port: LOCAL_PORT, address: LOCAL });
    const to = { handle: s.listener, remote: REMOTE, remotePort: REMOTE_PORT };
    expect(() => s.engine.connect({ ...to, local: "10.0.0.9" }, s.now)).toThrow(/EINVAL/);
    expect(() => s.engine.connect({ ...to, local: LOCAL, localPort: 81 }, s.now)).toThrow(/EINVAL/);
    expect(s.engine.state(s.listener)).toBe("LISTEN");
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    const synAck = s.next();
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: synAck.seq, ack: s.r(1), window: 65535, mss: 1460 });
    // The same peer's 4-tuple is taken by that half-open connection: EADDRINUSE, still listening.
    expect(() => s.engine.connect({ ...to, local: LOCAL }, s.now)).toThrow(/EADDRINUSE/);
    expect(s.engine.state(s.listener)).toBe("LISTEN");
    // Zero for the local address means the listener's own.
    s.id = s.engine.connect({ ...to, remotePort: REMOTE_PORT + 1, local: "0.0.0.0", localPort: LOCAL_PORT }, s.now);
    expect(s.engine.status(s.id)).toMatchObject({ state: "SYN-SENT", localAddress: LOCAL, localPort: LOCAL_PORT, remotePort: REMOTE_PORT + 1 });
  });
  it("connect on a handle already connected is EISCONN", async () => {
    const s = await established();
    expect(() => s.engine.connect({ handle: s.id, local: LOCAL, remote: REMOTE, remotePort: 1 }, s.now)).toThrow(/EISCONN/);
    expect(s.state()).toBe("ESTABLISHED");
  });
});

describe("LISTEN bounds", () => {
  it("clamps the peer's MSS from below at 48 (CVE-2019-11477/11478)", async () => {
    const s = await listening();
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 8 });
    const synAck = s.next();
    s.send({ flags: ACK, seq: s.r(1), ack: synAck.seq + 1 });
    expect(s.engine.status(s.id).sendMss).toBe(48);
  });
  it("MAX_CONNECTIONS bounds connections: past it, SYNs are dropped and connCreate is ENOBUFS", async () => {
    const s = await Script.create({ maxConnections: 2 });
    s.listener = s.engine.listen({ port: 80 });
    for (let i = 0; i < 2; i++) {
      s.engine.input([s.wire.encodePacket({ src: `10.0.2.${i + 1}`, dst: "10.0.0.1", srcPort: 1000, dstPort: 80, seq: 1, flags: SYN })], s.now);
    }
    expect(takeOutput(s.engine, s.now)).toHaveLength(1);
    expect(s.engine.counters().synDroppedNoSlot).toBe(1);
    expect(() => s.engine.create()).toThrow(/ENOBUFS/);
  });
});

describe("SYN-RECEIVED (RFC 9293 3.10.7.4)", () => {
  it("the ACK of our SYN completes the handshake: ESTABLISHED and ACCEPTED", async () => {
    const s = await synReceived();
    s.transitions();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    expect(s.transitions()).toEqual(["SYN-RECEIVED>ESTABLISHED"]);
    expect(s.events()).toEqual([{ type: "accepted", id: s.id, listener: s.listener }]);
    expect(s.state()).toBe("ESTABLISHED");
    s.recvNothing();
  });
  it("an unacceptable ACK gets RST <SEQ=SEG.ACK>", async () => {
    const s = await synReceived();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(100) });
    s.recv({ flags: RST, seq: s.l(100), ack: 0, window: 0 });
  });
  it("a RST returns to LISTEN: the half-open connection is gone, the listener stays", async () => {
    const s = await synReceived();
    s.send({ flags: RST, seq: s.r(1) });
    expect(s.engine.liveConnections()).toBe(1);
    s.send({ flags: SYN, seq: REMOTE_SEQ + 5000 });
    expect(s.next().flags).toBe(SYN | ACK);
  });
  it("a retransmitted SYN gets the SYN,ACK again", async () => {
    const s = await synReceived();
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
  });
  it("retransmits the SYN,ACK with backoff, then forgets the half-open connection", async () => {
    const s = await synReceived({ synRetries: 2 });
    expect(s.advanceToDeadline()).toBe(1000);
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    expect(s.advanceToDeadline()).toBe(2000);
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    expect(s.advanceToDeadline()).toBe(4000);
    s.recvNothing();
    expect(s.engine.liveConnections()).toBe(1);
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });
  it("data with the handshake's ACK is delivered", async () => {
    const s = await synReceived();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "hello" });
    expect(s.engine.recv(s.id, s.now)).toEqual(new TextEncoder().encode("hello"));
  });
});

describe("SYN-SENT (RFC 9293 3.10.7.3)", () => {
  it("SYN,ACK: ESTABLISHED, ACK <SEQ=SND.NXT><ACK=RCV.NXT>, CONNECTED", async () => {
    const s = await synSent();
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1400 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.transitions()).toEqual(["SYN-SENT>ESTABLISHED"]);
    expect(s.events()).toEqual([{ type: "connected", id: s.id }]);
    expect(s.engine.status(s.id).sendMss).toBe(1400);
  });
  it("an ACK outside (ISS, SND.NXT] gets RST <SEQ=SEG.ACK>", async () => {
    const s = await synSent();
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(5) });
    s.recv({ flags: RST, seq: s.l(5), ack: 0, window: 0 });
    expect(s.state()).toBe("SYN-SENT");
  });
  it("RST with an acceptable ACK: ECONNREFUSED", async () => {
    const s = await synSent();
    s.send({ flags: RST | ACK, seq: 0, ack: s.l(1) });
    expect(s.transitions()).toEqual(["SYN-SENT>CLOSED"]);
    expect(s.events()).toEqual([
      { type: "reset", id: s.id, error: "ECONNREFUSED" },
      { type: "closed", id: s.id },
    ]);
  });
  it("RST without ACK is ignored (RFC 5961 3.2)", async () => {
    const s = await synSent();
    s.send({ flags: RST, seq: REMOTE_SEQ });
    expect(s.state()).toBe("SYN-SENT");
  });
  it("simultaneous open: SYN in SYN-SENT gives SYN-RECEIVED and a SYN,ACK; its ACK establishes", async () => {
    const s = await synSent();
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    s.recv({ flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    expect(s.transitions()).toEqual(["SYN-SENT>SYN-RECEIVED"]);
    // The peer, in SYN-RECEIVED too, answers with its own SYN,ACK, which acknowledges our SYN.
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.transitions()).toEqual(["SYN-RECEIVED>ESTABLISHED"]);
    expect(s.events()).toEqual([{ type: "connected", id: s.id }]);
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "x" });
    expect(s.engine.recv(s.id, s.now)).toEqual(new Uint8Array([120]));
  });
  it("connect timeout: SYN retries with exponential backoff, then ETIMEDOUT", async () => {
    const s = await synSent({ synRetries: 3 });
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      gaps.push(s.advanceToDeadline());
      s.recv({ flags: SYN, seq: s.iss, ack: 0, mss: 1460 });
    }
    gaps.push(s.advanceToDeadline());
    expect(gaps).toEqual([1000, 2000, 4000, 8000]);
    s.recvNothing();
    expect(s.events()).toEqual([
      { type: "timedOut", id: s.id, error: "ETIMEDOUT" },
      { type: "closed", id: s.id },
    ]);
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });
  it("data written in SYN-SENT is queued and sent once ESTABLISHED (RFC 9293 3.10.2)", async () => {
    const s = await synSent();
    s.engine.send(s.id, new TextEncoder().encode("early"), s.now);
    s.recvNothing();
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "early" });
  });
  it("offers and negotiates every option: MSS, window scale, SACK-permitted, timestamps", async () => {
    const s = await Script.create({ windowScaling: true, timestamps: true, sack: true, recvBuffer: 1 << 20 });
    s.localPort = 40001;
    s.id = s.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 49500, localPort: 40001 }, s.now);
    const syn = s.next();
    s.iss = syn.seq;
    const ts = syn.timestamps!.value;
    expect(syn).toEqual({
      ...TEMPL, flags: SYN, seq: s.iss, ack: 0, window: 65535, mss: 1460, wscale: 5, sackPermitted: true,
      timestamps: { value: ts, echo: 0 },
    });
    s.advance(25);
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1200, wscale: 2, sackPermitted: true, timestamps: { value: 777, echo: ts } });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: (1 << 20) >> 5, timestamps: { value: ts + 25, echo: 777 } });
    const st = s.engine.status(s.id);
    // SMSS: the peer's 1200 less the 12 bytes of the timestamp option in every segment (RFC 6691 2).
    expect({ sndShift: st.sndShift, rcvShift: st.rcvShift, sendMss: st.sendMss, srttMs: st.srttMs }).toEqual({ sndShift: 2, rcvShift: 5, sendMss: 1188, srttMs: 25 });
  });
  it("after a SYN timeout without an RTT sample, data starts at RTO 3 s (RFC 6298 5.7)", async () => {
    const s = await synSent();
    s.advanceToDeadline();
    s.recv({ flags: SYN, seq: s.iss, ack: 0, mss: 1460 });
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.engine.status(s.id).rtoMs).toBe(3000);
  });
  it("CLOSE in SYN-SENT: CLOSED without a segment", async () => {
    const s = await synSent();
    s.engine.close(s.id, s.now);
    expect(s.transitions()).toEqual(["SYN-SENT>CLOSED"]);
    s.recvNothing();
  });
});

describe("ESTABLISHED fixture", () => {
  it("is reached by the classic three-way handshake", async () => {
    const s = await established();
    expect(s.state()).toBe("ESTABLISHED");
    const st = s.engine.status(s.id);
    expect(st.sndUna).toBe(s.l(1));
    expect(st.rcvNxt).toBe(s.r(1));
    expect({ ...TEMPL }.window).toBe(65535);
  });
});
