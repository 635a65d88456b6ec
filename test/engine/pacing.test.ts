// Pacing (assembly/engine/pacing.ts): a window's data spread over the round trip at twice cwnd per
// SRTT in slow start, in bursts of at most the allowance (2 ms at the rate, 2 segments at least), the
// next departure in the engine's one deadline, none before an RTT sample, off by configuration, and
// never holding up the retransmission timer.
//
// The numbers of every script: MSS 1460 (the peer's SYN), the initial window 14,600 octets (RFC 6928,
// ten segments), the handshake timed at RTT ms (RFC 6298 2.2: SRTT = RTT). In slow start the rate is
// 2 * 14,600 octets per SRTT, one 1460-octet segment every SRTT / 20.
import { describe, expect, it } from "vitest";
import type { ConnectionOptions, EngineConfig } from "../../src/core/settings.js";
import { Script, synReceived, ACK, PSH } from "../fixtures/engine-script.js";

const MSS = 1460;

/** ESTABLISHED (passive open) with the handshake's round trip, the first RTT sample, `rttMs` long. */
async function establishedAfter(rttMs: number, config: EngineConfig = {}, options: ConnectionOptions = {}): Promise<Script> {
  const s = await synReceived(config, options);
  s.now += rttMs;
  s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
  expect(s.events().map((e) => e.type)).toEqual(["accepted"]);
  expect(s.engine.status(s.id).srttMs).toBe(rttMs);
  return s;
}

/** The data segment at offset `k` segments into the stream (all full-sized). */
function seg(s: Script, k: number, last = false) {
  return { flags: last ? ACK | PSH : ACK, seq: s.l(1 + k * MSS), ack: s.r(1), payload: "p".repeat(MSS) };
}

/** How many segments the engine sends now. */
function burst(s: Script): number {
  let n = 0;
  for (;;) {
    try {
      s.next();
    } catch {
      return n;
    }
    n++;
  }
}

/** Queues `segments` full segments and lets the clock run to each pacing deadline until all left. */
function sendAllPaced(s: Script, segments: number): void {
  s.engine.send(s.id, new Uint8Array(segments * MSS).fill(0x70), s.now);
  let sent = burst(s);
  while (sent < segments) {
    s.advanceToDeadline();
    sent += burst(s);
  }
}

describe("a paced window", () => {
  it("after a quiet spell the allowance goes at once (2 ms = 4 segments, and the one that reaches it), then one segment per SRTT / 20", async () => {
    // SRTT 10 ms: one segment every 0.5 ms.
    const s = await establishedAfter(10);
    expect(s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now)).toBe(10 * MSS);
    for (let k = 0; k < 5; k++) s.recv(seg(s, k));
    s.recvNothing();
    // The next departure is the engine's deadline (before the 1 s RTO): 10.5 ms.
    expect(s.engine.nextDeadline()).toBe(10.5);
    for (let k = 5; k < 10; k++) {
      expect(s.advanceToDeadline()).toBe(0.5);
      s.recv(seg(s, k, k === 9));
      s.recvNothing();
    }
    // The window is full: what is left to wake for is the retransmission timeout, RTO = SRTT + 4 * RTTVAR
    // = 30 ms, at least the 200 ms minimum, from the first segment (RFC 6298 5.1).
    expect(s.engine.nextDeadline()).toBe(10 + 200);
  });

  it("a wake-up that comes late sends what the rate allowed since the last departure: a 1 ms timer does not cap the rate", async () => {
    const s = await establishedAfter(10);
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    expect(burst(s)).toBe(5);
    expect(s.engine.nextDeadline()).toBe(10.5);
    // The host's timer fires 2.2 ms later instead of 0.5: departures were due at 10.5, 11, 11.5 and 12.
    s.advance(2.2);
    expect(burst(s)).toBe(4);
    expect(s.engine.nextDeadline()).toBe(12.5);
  });

  it("at a slow rate a burst still holds at least two segments", async () => {
    // SRTT 100 ms: one segment every 5 ms; the allowance is two segments (10 ms), not 2 ms.
    const s = await establishedAfter(100);
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    expect(burst(s)).toBe(3);
    expect(s.advanceToDeadline()).toBe(5);
    expect(burst(s)).toBe(1);
  });
});

describe("the rate follows the window", () => {
  it("in congestion avoidance (cwnd at least ssthresh / 2) the rate is 1.2 times cwnd per SRTT", async () => {
    const s = await establishedAfter(10);
    sendAllPaced(s, 10);
    // Nothing is acknowledged: the timeout at 210 ms sends SND.UNA again; ssthresh = FlightSize / 2 =
    // 7300, cwnd = 1 SMSS (RFC 5681 3.1).
    s.advanceToDeadline();
    expect(s.now).toBe(210);
    s.recv(seg(s, 0));
    // The peer had everything: slow start takes cwnd to 3 SMSS (RFC 3465, L = 2), not below
    // ssthresh / 2, so the ratio is 1.2. SRTT is still the handshake's 10 ms (Karn: no sample).
    s.now = 220;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 10 * MSS) });
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 3 * MSS, ssthresh: 5 * MSS, srttMs: 10 });
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    // 10 ms / (1.2 * 4380) per octet: a segment every 2.778 ms, an allowance of two (5.556 ms); the
    // window lets three go now, departures counted from 220 - 5.556 ms.
    expect(burst(s)).toBe(3);
    // One acknowledged opens the window by one segment; its departure is 220 - 5.556 + 3 * 2.778.
    s.now = 221;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 11 * MSS) });
    s.recvNothing();
    expect(s.engine.nextDeadline()).toBeCloseTo(222.778, 3);
    s.advanceToDeadline();
    expect(burst(s)).toBe(1);
  });
});

describe("what pacing leaves alone", () => {
  it("no RTT sample yet (the SYN,ACK was retransmitted, Karn's rule): the whole initial window goes at once", async () => {
    const s = await synReceived();
    s.advance(1000);
    s.recv({ flags: 0x012, seq: s.iss, ack: s.r(1), window: 65535, mss: MSS });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    expect(s.engine.status(s.id).srttMs).toBe(0);
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    for (let k = 0; k < 10; k++) s.recv(seg(s, k, k === 9));
    s.recvNothing();
  });

  it("pacing off for the engine (config pacing false): the whole window at once", async () => {
    const s = await establishedAfter(10, { pacing: false });
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    expect(burst(s)).toBe(10);
  });

  it("pacing off for one connection (ConnectionOptions pacing false on its listener)", async () => {
    const s = await establishedAfter(10, {}, { pacing: false });
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    expect(burst(s)).toBe(10);
  });

  it("turning pacing off while segments wait releases them at once; on again, they are paced", async () => {
    const s = await establishedAfter(10);
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x70), s.now);
    expect(burst(s)).toBe(5);
    s.engine.setOptions(s.id, { pacing: false });
    expect(burst(s)).toBe(5);
    s.now += 10;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 10 * MSS) });
    s.engine.setOptions(s.id, { pacing: true });
    s.engine.send(s.id, new Uint8Array(20 * MSS).fill(0x70), s.now);
    const n = burst(s);
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThan(12);
  });

  it("the retransmission timer keeps its time: an unanswered paced window times out at RTO and resends SND.UNA", async () => {
    const s = await establishedAfter(10);
    sendAllPaced(s, 10);
    expect(s.now).toBe(12.5);
    s.recvNothing();
    s.advanceToDeadline();
    expect(s.now).toBe(210);
    s.recv(seg(s, 0));
  });

  it("no stall: a paced transfer the peer acknowledges segment by segment always has a deadline ahead and completes", async () => {
    const s = await establishedAfter(10);
    const total = 200 * MSS;
    let queued = s.engine.send(s.id, new Uint8Array(total).fill(0x70), s.now);
    let acked = 0;
    let steps = 0;
    while (acked < total) {
      expect(steps++).toBeLessThan(10_000);
      // Each segment arrives 5 ms after it left, and is acknowledged at once.
      const out: number[] = [];
      for (;;) {
        try {
          const g = s.next();
          out.push(g.seq + g.payload.length);
        } catch {
          break;
        }
      }
      for (const end of out) {
        acked = Math.max(acked, (end - s.l(1)) >>> 0);
      }
      if (out.length) {
        s.now += 5;
        s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + acked) });
        if (queued < total) queued += s.engine.send(s.id, new Uint8Array(total - queued).fill(0x70), s.now);
        continue;
      }
      const d = s.engine.nextDeadline();
      // Never a deadline already due after output: the host would spin on it.
      expect(d).toBeGreaterThan(s.now);
      s.advanceToDeadline();
    }
    expect(s.engine.status(s.id).retransmits).toBe(0);
  });
});
