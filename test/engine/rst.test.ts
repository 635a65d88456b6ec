// RST in every state (RFC 9293 3.10.7.4 second check) and the RFC 5961 defences: exact-match reset,
// challenge ACKs for in-window RSTs and for SYNs, rate-limited per connection, and the ACK
// acceptability range; RFC 1337 (no RST in TIME-WAIT).
import { describe, expect, it } from "vitest";
import { established, finWait1, finWait2, closeWait, lastAck, closing, timeWait, ACK, RST, SYN, PSH, REMOTE_SEQ } from "../fixtures/engine-script.js";
import type { Script } from "../fixtures/engine-script.js";

const resetBy = (s: Script) => [
  { type: "reset", id: s.id, error: "ECONNRESET" },
  { type: "closed", id: s.id },
];

describe("RST with SEG.SEQ = RCV.NXT", () => {
  for (const [name, fixture, rcvNxt] of [
    ["ESTABLISHED", established, 1],
    ["FIN-WAIT-1", finWait1, 1],
    ["FIN-WAIT-2", finWait2, 1],
    ["CLOSE-WAIT", closeWait, 2],
  ] as const) {
    it(`${name}: ECONNRESET, CLOSED`, async () => {
      const s = await fixture();
      s.events();
      s.transitions();
      s.send({ flags: RST, seq: s.r(rcvNxt) });
      s.recvNothing();
      expect(s.transitions()).toEqual([`${name}>CLOSED`]);
      expect(s.events()).toEqual(resetBy(s));
    });
  }
  for (const [name, fixture] of [["CLOSING", closing], ["LAST-ACK", lastAck]] as const) {
    it(`${name}: CLOSED (the user already closed)`, async () => {
      const s = await fixture();
      s.events();
      s.send({ flags: RST, seq: s.r(2) });
      expect(s.transitions()).toEqual([`${name}>CLOSED`]);
      expect(s.events()).toEqual([{ type: "closed", id: s.id }]);
    });
  }
  it("TIME-WAIT: ignored (RFC 1337)", async () => {
    const s = await timeWait();
    s.send({ flags: RST, seq: s.r(2) });
    s.recvNothing();
    expect(s.state()).toBe("TIME-WAIT");
  });
  it("an RST,ACK resets too", async () => {
    const s = await established();
    s.send({ flags: RST | ACK, seq: s.r(1), ack: s.l(1) });
    expect(s.events()).toEqual(resetBy(s));
  });
});

describe("RFC 5961", () => {
  it("3.2: an in-window RST that is not exact gets a challenge ACK, and the connection stays", async () => {
    const s = await established();
    s.send({ flags: RST, seq: s.r(100) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.state()).toBe("ESTABLISHED");
    expect(s.engine.counters().challengeAcks).toBe(1);
  });
  it("3.2: an RST outside the window is dropped silently", async () => {
    const s = await established();
    s.send({ flags: RST, seq: s.r(1 + 70000) });
    s.send({ flags: RST, seq: s.r(0) });
    s.recvNothing();
    expect(s.state()).toBe("ESTABLISHED");
  });
  it("4.2: a SYN in a synchronized state gets a challenge ACK, never a reset", async () => {
    const s = await established();
    s.send({ flags: SYN, seq: s.r(500), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.state()).toBe("ESTABLISHED");
    const w = await finWait2();
    w.send({ flags: SYN, seq: w.r(1) });
    w.recv({ flags: ACK, seq: w.l(2), ack: w.r(1) });
    expect(w.state()).toBe("FIN-WAIT-2");
  });
  it("7: challenge ACKs are rate-limited per connection, and the budget refills each second", async () => {
    const s = await established({ challengeAckLimit: 3 });
    for (let i = 0; i < 5; i++) {
      s.send({ flags: RST, seq: s.r(10 + i) });
      if (i < 3) s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
      else s.recvNothing();
    }
    expect(s.engine.counters().challengeAcksLimited).toBe(2);
    s.advance(1000);
    s.send({ flags: RST, seq: s.r(20) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
  });
  it("5.2: an ACK beyond SND.NXT is answered with an ACK and its data dropped", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1000), payload: "blind" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.engine.status(s.id).recvQueued).toBe(0);
  });
  it("5.2: an ACK below SND.UNA - MAX.SND.WND is answered with an ACK and its data dropped", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1 - 70000), payload: "blind" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.engine.counters().badAckDropped).toBe(1);
  });
  it("5.2: an old ACK within MAX.SND.WND is acceptable and its data delivered", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1 - 1000), payload: "fine" });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("fine");
  });
});

describe("unacceptable segments (RFC 9293 3.10.7.4 first check)", () => {
  it("an old duplicate is answered with an ACK <SEQ=SND.NXT><ACK=RCV.NXT>", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abc" });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abc" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4), window: 65532 });
    expect(s.engine.status(s.id).recvQueued).toBe(3);
  });
  it("a segment without ACK is dropped", async () => {
    const s = await established();
    s.send({ flags: PSH, seq: s.r(1), ack: 0, payload: "abc" });
    s.recvNothing();
    expect(s.engine.status(s.id).recvQueued).toBe(0);
  });
  it("a segment on another 4-tuple is refused with RST", async () => {
    const s = await established();
    s.localPort = 81;
    s.send({ flags: ACK, seq: REMOTE_SEQ, ack: 77 });
    s.recv({ flags: RST, seq: 77, ack: 0, window: 0 });
  });
});
