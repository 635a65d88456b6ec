// ACK throttling (RFC 5961 7; assembly/engine/ackrate.ts): a segment outside the window, a PAWS-stale
// one and one with an unacceptable ACK are each dropped and owed an ACK, but a flood of them gets at
// most the connection's allowance (config challengeAckLimit, default 10) per second, shared with
// challenge ACKs; the connection works on afterwards.
import { describe, expect, it } from "vitest";
import { Script, established, listening, synSent, ACK, PSH, RST, SYN, FIN, REMOTE_SEQ, type Seg, establishedWithOptions } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";

const FLOOD = 10_000;
const ALLOWANCE = 10;

/** Sends `FLOOD` segments one at a time, draining output after each; returns the segments sent back. */
function flood(s: Script, make: (i: number) => Partial<Seg>): number {
  let out = 0;
  for (let i = 0; i < FLOOD; i++) {
    s.send(make(i));
    out += takeOutput(s.engine, s.now).length;
  }
  return out;
}

/** ESTABLISHED with timestamps (the peer's TSval 1000). */
const establishedWithTimestamps = () => establishedWithOptions({ timestamps: true }, { tsVal: 1000 });

/** The connection still carries data both ways. */
function stillWorks(s: Script, ts?: { value: number; echo: number }): void {
  s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "hello", timestamps: ts ?? null });
  expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("hello");
  s.engine.send(s.id, new TextEncoder().encode("world"), s.now);
  const reply = s.next();
  expect(reply).toMatchObject({ flags: ACK | PSH, seq: s.l(1), ack: s.r(6), payload: "world" });
}

describe("RFC 5961 7 throttle on the ACKs of dropped segments", () => {
  it("10,000 segments outside the window: the allowance of ACKs per second, then the connection works", async () => {
    const s = await established();
    const outside = (i: number) => ({ flags: ACK, seq: s.r(1 + 100000 + i), ack: s.l(1), payload: "x" });
    expect(flood(s, outside)).toBe(ALLOWANCE);
    s.advance(1000);
    expect(flood(s, outside)).toBe(ALLOWANCE);
    expect(s.engine.counters()).toMatchObject({ outOfWindow: 2 * FLOOD, acksRateLimited: 2 * (FLOOD - ALLOWANCE) });
    stillWorks(s);
  });

  it("duplicates of data already received (a retransmission) are all acknowledged at once", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "hello" });
    expect(flood(s, () => ({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "hello" }))).toBe(FLOOD);
    expect(s.engine.counters().acksRateLimited).toBe(0);
  });

  it("10,000 PAWS-stale segments: the allowance of ACKs", async () => {
    const s = await establishedWithTimestamps();
    expect(flood(s, () => ({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "old", timestamps: { value: 999, echo: 0 } }))).toBe(ALLOWANCE);
    expect(s.engine.counters().pawsDropped).toBe(FLOOD);
    expect(s.engine.recv(s.id, s.now)).toHaveLength(0);
    stillWorks(s, { value: 1001, echo: 0 });
  });

  it("10,000 ACKs of data never sent (SEG.ACK > SND.NXT) or too old: dropped with their text, the allowance of ACKs", async () => {
    const s = await established();
    const bad = (i: number) => ({ flags: ACK | PSH, seq: s.r(1), ack: i % 2 ? s.l(1 + 5000 + i) : s.l(-200000), payload: "evil" });
    expect(flood(s, bad)).toBe(ALLOWANCE);
    expect(s.engine.counters().badAckDropped).toBe(FLOOD);
    expect(s.engine.recv(s.id, s.now)).toHaveLength(0);
    stillWorks(s);
  });

  it("every kind shares one budget with challenge ACKs", async () => {
    const s = await established();
    const kinds: Array<(i: number) => Partial<Seg>> = [
      (i) => ({ flags: ACK, seq: s.r(1 + 100000 + i), ack: s.l(1), payload: "x" }),
      () => ({ flags: ACK, seq: s.r(1), ack: s.l(1 + 5000), payload: "y" }),
      () => ({ flags: RST, seq: s.r(2), ack: 0 }),
      () => ({ flags: SYN, seq: s.r(1), ack: 0 }),
    ];
    expect(flood(s, (i) => kinds[i % kinds.length]!(i))).toBe(ALLOWANCE);
    stillWorks(s);
  });

  it("SYN-SENT: 10,000 unacceptable ACKs draw the allowance of RSTs; the real SYN,ACK still opens", async () => {
    const s = await synSent();
    expect(flood(s, (i) => ({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1000 + i), mss: 1460 }))).toBe(ALLOWANCE);
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1460 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    expect(s.state()).toBe("ESTABLISHED");
  });

  it("a connection in compact TIME-WAIT answers a flood with the allowance", async () => {
    const s = await established();
    s.engine.close(s.id, s.now);
    s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
    s.engine.release(s.id, s.now);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(flood(s, (i) => ({ flags: ACK, seq: s.r(2 + 100000 + i), ack: s.l(2), payload: "x" }))).toBe(ALLOWANCE);
    // The next second, the peer's retransmitted FIN is acknowledged again.
    s.advance(1000);
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: 65534 });
  });
});
