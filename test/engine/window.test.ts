// The window we advertise and the right edge we hold the peer to: RCV.NXT + RCV.WND of the
// acceptability test (RFC 9293 3.10.7.4) is exactly what a window field told the peer, with or
// without scaling (RFC 7323 2), and an edge once offered is never taken back (RFC 9293 3.8.6,
// RFC 7323 2.4).
import { describe, expect, it } from "vitest";
import { Script, established, scaledActiveOpen, TEMPL, SYN, ACK, RST, REMOTE_SEQ } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";

const text = (n: number, c = "x") => c.repeat(n);

describe("without window scaling the window is the 65,535 bytes the field says", () => {
  it("a 256 KiB ring: the edge is RCV.NXT + 65,535, a segment beyond it is not acceptable (dropped, ACK sent)", async () => {
    // The fixture checks the SYN,ACK: window 65,535, no scale (RFC 7323 2.2).
    const s = await established({ recvBuffer: 262144 });
    expect(s.engine.status(s.id).rcvWnd).toBe(65535);
    // RFC 9293 3.10.7.4: SEG.SEQ = RCV.NXT + RCV.WND is outside; the reply is an ACK, the text is dropped.
    s.send({ flags: ACK, seq: s.r(1 + 65535), ack: s.l(1), payload: text(100) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 65535 });
    expect(s.engine.counters().outOfWindow).toBe(1);
    expect(s.engine.status(s.id)).toMatchObject({ oooBytes: 0, recvQueued: 0 });
    // A segment across the edge is acceptable; only the part inside the window is kept.
    s.send({ flags: ACK, seq: s.r(1 + 65000), ack: s.l(1), payload: text(1000) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 65535 });
    expect(s.engine.status(s.id).oooBytes).toBe(535);
    // An RST at the edge is outside the window: dropped without a challenge ACK (RFC 5961 3.2).
    s.send({ flags: RST, seq: s.r(1 + 65535) });
    s.recvNothing();
    expect(s.state()).toBe("ESTABLISHED");
  });

  it("a SYN cookie offers the receive buffer, not the larger ring: the connection holds the peer to that edge", async () => {
    // recvBuffer 3000 gets a 4096-byte ring; the cookie SYN,ACK said 3000.
    const s = await Script.create({ maxHalfOpenPerListener: 1, recvBuffer: 3000 });
    s.listener = s.engine.listen({ port: 80 });
    // A first peer takes the one half-open place, so the script's SYN is answered with a cookie.
    s.engine.input([s.wire.encodePacket({ src: "10.0.0.9", dst: "10.0.0.1", srcPort: 7, dstPort: 80, seq: 1, flags: SYN })], s.now);
    takeOutput(s.engine, s.now);
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    const synAck = s.next();
    s.iss = synAck.seq;
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), window: 3000, mss: 1460 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    expect(s.engine.counters().synCookiesAccepted).toBe(1);
    expect(s.engine.status(s.id).rcvWnd).toBe(3000);
    s.send({ flags: ACK, seq: s.r(1 + 3000), ack: s.l(1), payload: text(10) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 3000 });
    expect(s.engine.counters().outOfWindow).toBe(1);
    expect(s.engine.status(s.id).oooBytes).toBe(0);
  });
});

describe("with window scaling the edge is RCV.NXT + (field << shift)", () => {
  it("free space that is not a multiple of 2^shift: the edge moves to what the field can say, not to the free space", async () => {
    const s = await scaledActiveOpen();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 1024, payload: text(2000) });
    s.send({ flags: ACK, seq: s.r(2001), ack: s.l(1), window: 1024, payload: "z" });
    s.advance(40);
    // The edge stays where the handshake put it, RCV.NXT + 262,143; the field rounds down.
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2002), window: (262144 - 2001) >> 3 });
    // Reading 2000 of the 2001 bytes frees 262,143 bytes, not a multiple of 8: the edge moves by
    // more than the SWS threshold (RFC 9293 3.8.6.2.2) to RCV.NXT + (32,767 << 3).
    expect(s.engine.recv(s.id, s.now, 2000)).toHaveLength(2000);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2002), window: 32767 });
    expect(s.engine.status(s.id).rcvWnd).toBe(32767 << 3);
    // One octet beyond that edge is outside the window (RFC 9293 3.10.7.4): an RST there is dropped
    // without an answer, data draws an ACK and is not taken.
    const edge = 2002 + (32767 << 3);
    s.send({ flags: RST, seq: s.r(edge) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(edge), ack: s.l(1), window: 1024, payload: text(7) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2002), window: 32767 });
    expect(s.engine.counters().outOfWindow).toBe(2);
    expect(s.engine.status(s.id).oooBytes).toBe(0);
  });
});

describe("an edge once advertised is never retracted (RFC 9293 3.8.6, RFC 7323 2.4)", () => {
  it("after rounding down the field, the edge it no longer shows is still honoured", async () => {
    const s = await scaledActiveOpen();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 1024, payload: text(2001) });
    s.advance(40);
    // Handshake edge: 1 + 262,144. The field now says (260,143 >> 3) << 3 = 260,136 past RCV.NXT
    // (2002), that is 262,138, 7 octets short of that edge: the apparent retraction of RFC 7323 2.4.
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2002), window: (262144 - 2001) >> 3 });
    expect(s.engine.status(s.id).rcvWnd).toBe(262144 - 2001);
    // "MUST honor, as in-window, any segment that would have been in-window for any ACK sent".
    s.send({ flags: ACK, seq: s.r(2002 + 260136), ack: s.l(1), window: 1024, payload: text(7) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2002), window: (262144 - 2001) >> 3 });
    expect(s.engine.counters().outOfWindow).toBe(0);
    expect(s.engine.status(s.id).oooBytes).toBe(7);
  });

  it("data on a SYN,ACK is inside the window our SYN offered", async () => {
    const s = await Script.create();
    s.localPort = 40000;
    s.id = s.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 49500, localPort: 40000 }, s.now);
    const syn = s.next();
    s.iss = syn.seq;
    expect(syn).toEqual({ ...TEMPL, flags: SYN, seq: s.iss, ack: 0, window: 65535, mss: 1460 });
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), window: 65535, mss: 1460, payload: "hello" });
    // The SYN offered RCV.NXT + 65,535; five octets later the window is 65,530 (the edge moves by
    // less than the SWS threshold).
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(6), window: 65530 });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("hello");
  });
});
