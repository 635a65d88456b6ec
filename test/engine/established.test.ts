// ESTABLISHED: data both ways, delayed ACK, Nagle, out-of-order data with SACK, window scaling,
// retransmission with backoff, fast retransmit, zero window and persist, keepalive, PAWS.
import { describe, expect, it } from "vitest";
import { Script, established, scaledActiveOpen, synSent, TEMPL, SYN, ACK, RST, FIN, PSH, REMOTE_SEQ } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";

const text = (n: number, c = "x") => c.repeat(n);

describe("ESTABLISHED: receiving", () => {
  it("delays the ACK of one segment (at most DELAYED_ACK_MS), READABLE once", async () => {
    const s = await established();
    s.send({ flags: ACK | PSH, seq: s.r(1), ack: s.l(1), payload: "hello" });
    s.recvNothing();
    expect(s.events()).toEqual([{ type: "readable", id: s.id }]);
    expect(s.advanceToDeadline()).toBe(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(6), window: 65530 });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("hello");
  });
  it("ACKs at once every second full-sized segment (RFC 9293 3.8.6.3)", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: text(1460) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1461), ack: s.l(1), payload: text(1460) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2921), window: 65535 - 2920 });
  });
  it("reading opens the window and sends an update only past the SWS threshold (RFC 9293 3.8.6.2.2)", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: text(1000) });
    s.send({ flags: ACK, seq: s.r(1001), ack: s.l(1), payload: text(1000) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2001), window: 63535 });
    s.engine.recv(s.id, s.now, 1000);
    s.recvNothing(); // 1000 < MSS: no update
    s.engine.recv(s.id, s.now);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2001), window: 65535 });
  });
  it("out-of-order data: immediate duplicate ACK; the hole filled: immediate ACK of everything", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(101), ack: s.l(1), payload: text(100, "b") });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 65535 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: text(100, "a") });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(201), window: 65335 });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe(text(100, "a") + text(100, "b"));
  });
  it("drops text beyond the window and keeps what fits", async () => {
    const s = await established({ recvBuffer: 4096 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: text(1000) });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1001), window: 3096 });
    s.send({ flags: ACK, seq: s.r(1001), ack: s.l(1), payload: text(4000) });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4097), window: 0 });
    // Zero window: only SEG.SEQ = RCV.NXT with its ACK is acceptable, the text is not taken.
    s.send({ flags: ACK, seq: s.r(4097), ack: s.l(1), payload: "z" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4097), window: 0 });
    expect(s.engine.status(s.id).recvQueued).toBe(4096);
  });
});

describe("ESTABLISHED: bounds", () => {
  it("out-of-order data is held in at most 32 ranges; beyond, segments are dropped (SegmentSmack)", async () => {
    const s = await established();
    for (let i = 0; i < 40; i++) s.send({ flags: ACK, seq: s.r(2 + i * 4), ack: s.l(1), payload: "h" });
    expect(s.engine.counters().oooDropped).toBe(8);
    expect(s.engine.status(s.id).oooBytes).toBe(32);
  });
  it("the user timeout ends a connection whose data stays unacknowledged (RFC 9293 3.8.3)", async () => {
    const s = await established({}, { userTimeoutMs: 1500 });
    s.engine.send(s.id, new TextEncoder().encode("lost"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "lost" });
    while (s.state() !== "CLOSED") {
      s.advanceToDeadline();
      takeOutput(s.engine, s.now);
    }
    expect(s.now).toBe(1500);
    expect(s.events()).toEqual([
      { type: "timedOut", id: s.id, error: "ETIMEDOUT" },
      { type: "closed", id: s.id },
    ]);
  });
});

describe("ESTABLISHED: out-of-order data with SACK blocks (RFC 2018)", () => {
  it("reports the held ranges, most recent first, until the hole is filled", async () => {
    const s = await Script.create({ sack: true });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, sackPermitted: true });
    const synAck = s.next();
    s.iss = synAck.seq;
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460, sackPermitted: true });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    s.send({ flags: ACK, seq: s.r(201), ack: s.l(1), payload: text(100) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), sack: [[s.r(201), s.r(301)]] });
    s.send({ flags: ACK, seq: s.r(501), ack: s.l(1), payload: text(100) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), sack: [[s.r(501), s.r(601)], [s.r(201), s.r(301)]] });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: text(200) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(301), window: 65535 - 300, sack: [[s.r(501), s.r(601)]] });
    s.send({ flags: ACK, seq: s.r(301), ack: s.l(1), payload: text(200) });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(601), window: 65535 - 600 });
    expect(s.engine.recv(s.id, s.now)).toHaveLength(600);
  });
});

describe("ESTABLISHED: sending", () => {
  it("sends data at once with PSH, and nothing more once it is acknowledged", async () => {
    const s = await established();
    s.engine.send(s.id, new TextEncoder().encode("abc"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "abc" });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(4) });
    s.recvNothing();
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });
  it("Nagle holds small segments while data is unacknowledged (RFC 9293 3.7.4)", async () => {
    const s = await established();
    const enc = new TextEncoder();
    s.engine.send(s.id, enc.encode("a"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "a" });
    s.engine.send(s.id, enc.encode("b"), s.now);
    s.engine.send(s.id, enc.encode("c"), s.now);
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
    s.recv({ flags: ACK | PSH, seq: s.l(2), ack: s.r(1), payload: "bc" });
  });
  it("Nagle with Minshall's change: a write's short tail goes out behind its full segments; the next short one waits for the tail's ACK (RFC 9293 3.7.4)", async () => {
    const s = await established();
    s.engine.send(s.id, new Uint8Array(3 * 1460 + 100).fill(97), s.now);
    for (let i = 0; i < 3; i++) s.recv({ flags: ACK, seq: s.l(1 + i * 1460), ack: s.r(1), payload: "a".repeat(1460) });
    // Plain Nagle held these 100 bytes until all 4380 before them were acknowledged: behind a receiver
    // that delays the ACK of the odd third segment, DELAYED_ACK_MS of stall at the end of the write.
    s.recv({ flags: ACK | PSH, seq: s.l(1 + 3 * 1460), ack: s.r(1), payload: "a".repeat(100) });
    s.engine.send(s.id, new TextEncoder().encode("b"), s.now);
    s.recvNothing();
    // The full segments acknowledged, the short one not yet: still one short segment in flight.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 3 * 1460) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 3 * 1460 + 100) });
    s.recv({ flags: ACK | PSH, seq: s.l(1 + 3 * 1460 + 100), ack: s.r(1), payload: "b" });
  });
  it("with NO_DELAY every write goes out", async () => {
    const s = await established({}, { noDelay: true });
    const enc = new TextEncoder();
    s.engine.send(s.id, enc.encode("a"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "a" });
    s.engine.send(s.id, enc.encode("b"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(2), ack: s.r(1), payload: "b" });
  });
  it("sender SWS avoidance: a small usable window waits for the override timeout (RFC 9293 3.8.6.2.1)", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 100 });
    s.engine.send(s.id, new Uint8Array(1000).fill(69), s.now);
    s.recvNothing();
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), payload: "E".repeat(100) });
    // The peer opens a window worth sending at once: the rest goes.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(101), window: 65535 });
    s.recv({ flags: ACK | PSH, seq: s.l(101), ack: s.r(1), payload: "E".repeat(900) });
  });
  it("segments to the peer's MSS and sends the initial window (RFC 6928)", async () => {
    const s = await established();
    s.engine.send(s.id, new Uint8Array(20000).fill(65), s.now);
    for (let i = 0; i < 10; i++) {
      s.recv({ flags: ACK | (i === 9 ? 0 : 0), seq: s.l(1 + i * 1460), ack: s.r(1), payload: "A".repeat(1460) });
    }
    s.recvNothing();
  });
  it("retransmits on RTO with exponential backoff, then gives up with ETIMEDOUT (RFC 6298 5)", async () => {
    const s = await established({ dataRetries: 3 });
    s.engine.send(s.id, new TextEncoder().encode("abc"), s.now);
    const seg = { flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "abc" };
    s.recv(seg);
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      gaps.push(s.advanceToDeadline());
      s.recv(seg);
    }
    gaps.push(s.advanceToDeadline());
    s.recvNothing();
    // The handshake measured an RTT of 0 on the virtual clock, so RTO = RTO_MIN (RFC 6298 2.4), doubling.
    expect(gaps).toEqual([200, 400, 800, 1600]);
    expect(s.events()).toEqual([
      { type: "timedOut", id: s.id, error: "ETIMEDOUT" },
      { type: "closed", id: s.id },
    ]);
  });
  it("an ACK after a retransmission stops the timer and resets the backoff", async () => {
    const s = await established();
    s.engine.send(s.id, new TextEncoder().encode("abc"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "abc" });
    s.advanceToDeadline();
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "abc" });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(4) });
    expect(s.engine.nextDeadline()).toBe(Infinity);
    expect(s.engine.status(s.id).retransmits).toBe(1);
  });
  it("after a timeout moved SND.NXT back, a pure ACK carries SND.MAX (not an old sequence number)", async () => {
    const s = await established();
    s.engine.send(s.id, new Uint8Array(3 * 1460).fill(67), s.now);
    for (let i = 0; i < 3; i++) s.recv({ flags: ACK | (i === 2 ? PSH : 0), seq: s.l(1 + i * 1460), ack: s.r(1), payload: "C".repeat(1460) });
    s.advanceToDeadline();
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), payload: "C".repeat(1460) });
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "ahead" });
    s.recv({ flags: ACK, seq: s.l(1 + 3 * 1460), ack: s.r(1) });
  });
  it("fast retransmit on the third duplicate ACK, NewReno recovery (RFC 5681 3.2, RFC 6582)", async () => {
    const s = await established();
    s.engine.send(s.id, new Uint8Array(5 * 1460).fill(66), s.now);
    for (let i = 0; i < 5; i++) s.recv({ flags: ACK | (i === 4 ? PSH : 0), seq: s.l(1 + i * 1460), ack: s.r(1), payload: "B".repeat(1460) });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1461) });
    s.recvNothing();
    for (let i = 0; i < 3; i++) s.send({ flags: ACK, seq: s.r(1), ack: s.l(1461) });
    s.recv({ flags: ACK, seq: s.l(1461), ack: s.r(1), payload: "B".repeat(1460) });
    // Partial ACK: the next hole goes out at once (RFC 6582 3.2 step 5).
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(2921) });
    s.recv({ flags: ACK, seq: s.l(2921), ack: s.r(1), payload: "B".repeat(1460) });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(7301) });
    s.recvNothing();
    expect(s.engine.counters().fastRetransmits).toBe(1);
  });
});

describe("ESTABLISHED: RACK loss detection and SACK recovery (RFC 8985 6, RFC 6675)", () => {
  /**
   * SACK negotiated; the handshake's round trip takes `rttMs` (SRTT = rttMs, RFC 6298 2.2). Pacing is
   * off: these scripts time each segment's loss from a window sent all at once (pacing.test.ts has
   * the paced window).
   */
  async function sackEstablished(rttMs = 10) {
    const s = await Script.create({ sack: true, pacing: false });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, sackPermitted: true });
    s.iss = s.next().seq;
    s.now += rttMs;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    s.events();
    return s;
  }
  /** Sends `n` full segments at the present time and reads them off the wire. */
  function sendSegments(s: Script, n: number, queued = n, fill = "D") {
    s.engine.send(s.id, new Uint8Array(queued * 1460).fill(fill.charCodeAt(0)), s.now);
    for (let i = 0; i < n; i++) s.recv({ flags: ACK | (i === queued - 1 ? PSH : 0), seq: s.l(1 + i * 1460), ack: s.r(1), payload: fill.repeat(1460) });
  }
  /**
   * Three segments sent with SRTT 0 (the handshake's sample on the virtual clock) and nothing back:
   * at the PTO floor (10 ms) the tail loss probe resends the last one, read off the wire here.
   */
  async function probedTail() {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 3, 3, "H");
    expect(s.advanceToDeadline()).toBe(10);
    s.recv({ flags: ACK | PSH, seq: seg(2), ack: s.r(1), payload: "H".repeat(1460) });
    return { s, seg };
  }
  it("a segment is marked lost once the reordering window has passed after a later one was delivered, not before", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    // One round trip later segment 1 is SACKed, segment 0 missing. RACK.min_RTT = 10 ms, no
    // reordering seen and less than DupThresh SACKed: RACK.reo_wnd = min_RTT / 4 = 2.5 ms.
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]] });
    s.recvNothing();
    expect(s.engine.status(s.id).reoWndMs).toBe(2.5);
    // Segment 0 was sent with 1: lost at 10 + RACK.rtt (10) + 2.5 ms = 22.5 ms, the reordering timer.
    s.advance(2.4);
    s.recvNothing();
    expect(s.engine.nextDeadline()).toBe(22.5);
    s.advance(0.1);
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "D".repeat(1460) });
    // Fast recovery: ssthresh = FlightSize / 2, cwnd = ssthresh (RFC 6675 5 step 4.2, no inflation).
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 3 * 1460, ssthresh: 3 * 1460 });
    expect(s.engine.counters().fastRetransmits).toBe(1);
  });
  it("with no reordering seen, DupThresh segments SACKed mark the hole lost at once (RFC 8985 6.2 step 4)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(3)]] });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(4)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "D".repeat(1460) });
  });
  it("a late original delivered below the highest SACKed shows reordering, no D-SACK needed: DupThresh no longer zeroes the window (RFC 8985 6.2 steps 3, 4)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]] });
    // Segment 0, never retransmitted, arrives after segment 1: RACK.reordering_seen.
    s.advance(1);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(2) });
    // DupThresh segments SACKed above the next hole: with reordering seen the window stays
    // min_RTT / 4 = 2.5 ms (without, it would be 0 and segment 2 go out at once, as above).
    s.send({ flags: ACK, seq: s.r(1), ack: seg(2), sack: [[seg(3), seg(6)]] });
    s.recvNothing();
    expect(s.engine.status(s.id).reoWndMs).toBe(2.5);
    // Segment 2 was sent at 10 ms: lost at 10 + RACK.rtt (11) + 2.5 = 23.5 ms. Its ACK comes at 22.
    expect(s.engine.nextDeadline()).toBe(23.5);
    s.advance(1);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6) });
    s.recvNothing();
    expect(s.engine.counters()).toMatchObject({ retransmits: 0, cwndReductions: 0 });
  });
  it("retransmits only the holes the SACK blocks leave, the first at once whatever pipe says", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    // Segments 0 and 2 are lost: the peer SACKs 1, then 3, 4, 5.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]] });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(3), seg(4)], [seg(1), seg(2)]] });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(3), seg(6)], [seg(1), seg(2)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "D".repeat(1460) });
    s.recv({ flags: ACK, seq: seg(2), ack: s.r(1), payload: "D".repeat(1460) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6) });
    s.recvNothing();
    expect(s.engine.status(s.id).retransmits).toBe(2);
  });
  it("an ACK with new SACK information is a DupAck even when the window grows (RFC 6675 2; Linux grows it on every ACK)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 5, 5, "E");
    s.advance(10);
    // Segment 0 is lost; each ACK SACKs one more segment and advertises a larger window.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]], window: 60000 + 1024 });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(3)]], window: 60000 + 2 * 1024 });
    s.recvNothing();
    expect(s.engine.status(s.id).dupAcks).toBe(2);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(4)]], window: 60000 + 3 * 1024 });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "E".repeat(1460) });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(5)]], window: 60000 + 4 * 1024 });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(5), window: 65535 });
    s.recvNothing();
    expect(s.engine.status(s.id).retransmits).toBe(1);
    expect(s.engine.counters().fastRetransmits).toBe(1);
  });
  it("an ACK that repeats known SACK information is no DupAck, whatever its window (RFC 6675 2)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 5, 5, "E");
    s.advance(10);
    for (let i = 0; i < 4; i++) s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]], window: 60000 + i });
    s.recvNothing();
    expect(s.engine.status(s.id).dupAcks).toBe(1);
  });
  it("Limited Transmit: each of the first two DupAcks sends one new segment beyond cwnd (RFC 3042, RFC 6675 5 (3))", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    // The initial window (RFC 6928: 14600 bytes) takes ten of thirteen segments.
    sendSegments(s, 10, 13, "G");
    s.recvNothing();
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]] });
    s.recv({ flags: ACK, seq: seg(10), ack: s.r(1), payload: "G".repeat(1460) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(3)]] });
    s.recv({ flags: ACK, seq: seg(11), ack: s.r(1), payload: "G".repeat(1460) });
    s.recvNothing();
    // DupThresh SACKed: segment 0 is lost, recovery takes over (pipe, RFC 6675 5 (C)).
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(4)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "G".repeat(1460) });
    // ssthresh from the FlightSize before Limited Transmit (RFC 5681 3.2 step 2): ten segments;
    // cwnd = ssthresh (RFC 6675 5 step 4.2).
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600 / 2, ssthresh: 14600 / 2 });
  });
  it("a lost retransmission is marked lost once data sent after it is SACKed (RFC 8985 6.2)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 10, 20, "I");
    s.advance(10);
    // Segment 0 is lost; 1 to 3 SACKed in one ACK: recovery, cwnd = ssthresh = 5 segments.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(4)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "I".repeat(1460) });
    s.recvNothing();
    // The retransmission is lost too. 4 to 9 (sent before it) arrive: pipe has room for new data.
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(10)]] });
    for (let i = 10; i < 14; i++) s.recv({ flags: ACK, seq: seg(i), ack: s.r(1), payload: "I".repeat(1460) });
    s.recvNothing();
    // Segment 10, sent after the retransmission, is SACKed a round trip later: the retransmission
    // (no reordering seen, reo_wnd 0 in recovery) is lost and goes again at once.
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(11)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "I".repeat(1460) });
    expect(s.engine.status(s.id).retransmits).toBe(2);
  });
  it("a cumulative ACK that also SACKs new data counts as a DupAck (RFC 6675 2, 5)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6, 6, "E");
    s.advance(10);
    // Segments 0 and 2 arrive, 1 is lost: segment 0 is acknowledged, 2 SACKed, in one ACK.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(1), sack: [[seg(2), seg(3)]] });
    s.recvNothing();
    expect(s.engine.status(s.id).dupAcks).toBe(1);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(1), sack: [[seg(2), seg(4)]], window: 1000 });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(1), sack: [[seg(2), seg(5)]], window: 2000 });
    s.recv({ flags: ACK, seq: seg(1), ack: s.r(1), payload: "E".repeat(1460) });
  });
  it("a fast retransmission a D-SACK shows was not needed is undone: cwnd and ssthresh come back, the window grows (RFC 3708, RFC 8985 6.2 step 4)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(2)]] });
    s.advance(2.5);
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "D".repeat(1460) });
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 3 * 1460, ssthresh: 3 * 1460 });
    // The retransmission fills the hole; then the original arrives late and the peer reports it as
    // a duplicate (RFC 2883 4.1.1: a first block below the cumulative ACK).
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6) });
    s.advance(0.5);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6), sack: [[seg(0), seg(1)]] });
    s.recvNothing();
    // Every retransmission of the episode was a duplicate: the reduction is taken back, and the path
    // reorders: RACK.reo_wnd = 2 (one D-SACK round) * min_RTT / 4.
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600, ssthresh: 4294967295, reoWndMs: 5 });
    expect(s.engine.counters().spuriousRecoveries).toBe(1);
  });
  it("a recovery whose loss mark the late original lifts before anything went out again is undone at once (RFC 3708, no D-SACK to wait for)", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    // Two ACKs in one batch, before the engine's output runs: the first SACKs DupThresh segments
    // above segment 0 (no reordering seen: marked lost, fast recovery, cwnd and ssthresh cut), the
    // second acknowledges segment 0 itself, the original, late.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(1), seg(4)]] });
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 3 * 1460, ssthresh: 3 * 1460 });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6) });
    s.recvNothing();
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600, ssthresh: 4294967295 });
    expect(s.engine.counters()).toMatchObject({ retransmits: 0, cwndReductions: 1, spuriousRecoveries: 1 });
  });
  it("a recovery is not undone while one of its retransmissions has no D-SACK", async () => {
    const s = await sackEstablished();
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6);
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(0), sack: [[seg(3), seg(6)], [seg(1), seg(2)]] });
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "D".repeat(1460) });
    s.recv({ flags: ACK, seq: seg(2), ack: s.r(1), payload: "D".repeat(1460) });
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6) });
    // Segment 0 was only late; segment 2 was lost: one D-SACK, and it comes twice (a duplicated ACK).
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6), sack: [[seg(0), seg(1)]] });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(6), sack: [[seg(0), seg(1)]] });
    expect(s.engine.status(s.id)).toMatchObject({ ssthresh: 3 * 1460 });
    expect(s.engine.counters().spuriousRecoveries).toBe(0);
  });
  it("tail loss probe with nothing new to send: after 2 SRTT (at least 10 ms) the last segment again, then the RTO (RFC 8985 7)", async () => {
    const { s, seg } = await probedTail();
    s.recvNothing();
    expect(s.engine.counters()).toMatchObject({ tailLossProbes: 1, retransmits: 1 });
    // Behind the probe the RTO (RTO_MIN) runs; a single probe per episode.
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "H".repeat(1460) });
  });
  it("tail loss probe with data not yet sent: one new segment, past a full cwnd, and no retransmission (RFC 8985 7.3)", async () => {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    // cwnd (10 segments) is full, two more wait.
    sendSegments(s, 10, 12, "N");
    s.recvNothing();
    expect(s.advanceToDeadline()).toBe(10);
    s.recv({ flags: ACK, seq: seg(10), ack: s.r(1), payload: "N".repeat(1460) });
    s.recvNothing();
    expect(s.engine.status(s.id)).toMatchObject({ sndNxt: seg(11), cwnd: 14600, retransmits: 0 });
    expect(s.engine.counters()).toMatchObject({ tailLossProbes: 1, retransmits: 0 });
    // The probe armed the RTO, not another PTO: one probe per episode.
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK, seq: seg(0), ack: s.r(1), payload: "N".repeat(1460) });
  });
  it("tail loss probe with new data but no room in the peer's window: the last segment again (RFC 8985 7.3)", async () => {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 3 * 1460 });
    s.engine.send(s.id, new Uint8Array(5 * 1460).fill(87), s.now);
    for (let i = 0; i < 3; i++) s.recv({ flags: ACK, seq: seg(i), ack: s.r(1), payload: "W".repeat(1460) });
    s.recvNothing();
    expect(s.advanceToDeadline()).toBe(10);
    s.recv({ flags: ACK, seq: seg(2), ack: s.r(1), payload: "W".repeat(1460) });
    s.recvNothing();
    expect(s.engine.counters()).toMatchObject({ tailLossProbes: 1, retransmits: 1 });
  });
  it("a tail loss probe of new data ends its episode with the ACK that covers it: cwnd stays, the next tail is probed again (RFC 8985 7.4)", async () => {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 10, 12, "N");
    expect(s.advanceToDeadline()).toBe(10);
    s.recv({ flags: ACK, seq: seg(10), ack: s.r(1), payload: "N".repeat(1460) });
    // Everything arrived, the probe with it; no D-SACK is needed to tell that nothing was lost.
    s.send({ flags: ACK, seq: s.r(1), ack: seg(11) });
    s.recv({ flags: ACK | PSH, seq: seg(11), ack: s.r(1), payload: "N".repeat(1460) });
    expect(s.engine.status(s.id)).toMatchObject({ ssthresh: 4294967295 });
    expect(s.engine.status(s.id).cwnd).toBeGreaterThanOrEqual(14600);
    expect(s.engine.counters().cwndReductions).toBe(0);
    // A new tail, three segments: the episode is over, so its PTO comes before the RTO and probes it.
    s.engine.send(s.id, new Uint8Array(2 * 1460).fill(80), s.now);
    s.recv({ flags: ACK, seq: seg(12), ack: s.r(1), payload: "P".repeat(1460) });
    s.recv({ flags: ACK | PSH, seq: seg(13), ack: s.r(1), payload: "P".repeat(1460) });
    expect(s.advanceToDeadline()).toBeLessThan(200);
    s.recv({ flags: ACK | PSH, seq: seg(13), ack: s.r(1), payload: "P".repeat(1460) });
    expect(s.engine.counters()).toMatchObject({ tailLossProbes: 2, retransmits: 1 });
    expect(s.engine.status(s.id).timeouts).toBe(0);
  });
  it("an ACK that advances SND.UNA starts the PTO over from its arrival (RFC 8985 7.2)", async () => {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 6, 6, "R");
    s.advance(8);
    s.send({ flags: ACK, seq: s.r(1), ack: seg(2) });
    s.recvNothing();
    // SRTT from the 8 ms sample is 1 ms: the 10 ms floor, counted from the ACK, not from the send.
    expect(s.advanceToDeadline()).toBe(10);
    s.recv({ flags: ACK | PSH, seq: seg(5), ack: s.r(1), payload: "R".repeat(1460) });
    expect(s.engine.counters().tailLossProbes).toBe(1);
  });
  it("tail loss probe of a lone segment: its PTO (2 SRTT + WCDelAckT) is later than the RTO, so it probes at the RTO's time instead of timing out (RFC 8985 7.2)", async () => {
    const s = await sackEstablished(0);
    const seg = (i: number) => s.l(1 + i * 1460);
    sendSegments(s, 1, 1, "L");
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK | PSH, seq: seg(0), ack: s.r(1), payload: "L".repeat(1460) });
    s.recvNothing();
    // A probe, not a timeout: cwnd is not collapsed to the loss window (RFC 5681 3.1).
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600, timeouts: 0 });
    expect(s.engine.counters()).toMatchObject({ tailLossProbes: 1, retransmits: 1 });
    // Behind the probe the RTO.
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK | PSH, seq: seg(0), ack: s.r(1), payload: "L".repeat(1460) });
    expect(s.engine.status(s.id)).toMatchObject({ timeouts: 1, cwnd: 1460 });
  });
  it("tail loss probe answered with a D-SACK: only ACKs were lost, cwnd stays (RFC 8985 7.4.1, RFC 2883)", async () => {
    const { s, seg } = await probedTail();
    s.send({ flags: ACK, seq: s.r(1), ack: seg(3), sack: [[seg(2), seg(3)]] });
    s.recvNothing();
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600, sndUna: seg(3) });
  });
  it("tail loss probe that repaired the last segment: cwnd and ssthresh drop as for one loss (RFC 8985 7.4.2)", async () => {
    const { s, seg } = await probedTail();
    // No D-SACK: the probe was the first copy of segment 2 to arrive. An ACK reaching exactly the
    // probe's end decides nothing yet: the original's late ACK looks the same (RFC 8985 7.4.2).
    s.send({ flags: ACK, seq: s.r(1), ack: seg(3) });
    s.recvNothing();
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600 });
    // No D-SACK followed, and the next ACK goes beyond the probe: it repaired a loss.
    s.engine.send(s.id, new Uint8Array(1460).fill(74), s.now);
    s.recv({ flags: ACK | PSH, seq: seg(3), ack: s.r(1), payload: "J".repeat(1460) });
    s.send({ flags: ACK, seq: s.r(1), ack: seg(4) });
    // ssthresh = max(FlightSize / 2, 2 * SMSS) (RFC 5681 eq. 4).
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 2920, ssthresh: 2920 });
    expect(s.engine.counters().cwndReductions).toBe(1);
  });
  for (const answer of ["a D-SACK", "a pure duplicate ACK"]) {
    it(`tail loss probe that was not needed, the original's ACK late and then ${answer}: cwnd stays (RFC 8985 7.4.2)`, async () => {
      const { s, seg } = await probedTail();
      s.send({ flags: ACK, seq: s.r(1), ack: seg(3) });
      s.send({ flags: ACK, seq: s.r(1), ack: seg(3), ...(answer === "a D-SACK" ? { sack: [[seg(2), seg(3)]] as [number, number][] } : {}) });
      s.recvNothing();
      s.engine.send(s.id, new Uint8Array(1460).fill(74), s.now);
      s.recv({ flags: ACK | PSH, seq: seg(3), ack: s.r(1), payload: "J".repeat(1460) });
      s.send({ flags: ACK, seq: s.r(1), ack: seg(4) });
      expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14600 });
      expect(s.engine.counters().cwndReductions).toBe(0);
    });
  }
});

describe("ESTABLISHED: reporting duplicates with D-SACK (RFC 2883)", () => {
  async function sackPeer(config = {}) {
    const s = await Script.create({ sack: true, ...config });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, sackPermitted: true });
    s.iss = s.next().seq;
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    s.events();
    return s;
  }
  it("text wholly below RCV.NXT: the ACK reports it in its first SACK block (4.1.1)", async () => {
    const s = await sackPeer();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abcd" });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(5), window: 65531 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abcd" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(5), window: 65531, sack: [[s.r(1), s.r(5)]] });
    // Reported once.
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "ef" });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(7), window: 65529 });
  });
  it("the part of a segment before RCV.NXT (4.1.1), the new text taken", async () => {
    const s = await sackPeer();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abcd" });
    s.send({ flags: ACK, seq: s.r(3), ack: s.l(1), payload: "cdef" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(7), window: 65529, sack: [[s.r(3), s.r(5)]] });
  });
  it("text already held out of order: the D-SACK block first, then the block holding it (4.1.2)", async () => {
    const s = await sackPeer();
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "efgh" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), sack: [[s.r(5), s.r(9)]] });
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "efgh" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), sack: [[s.r(5), s.r(9)], [s.r(5), s.r(9)]] });
  });
  it("several duplicates at once: one ACK each", async () => {
    const s = await sackPeer();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "abcdefgh" });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(9), window: 65527 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "ab" });
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "efgh" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(9), window: 65527, sack: [[s.r(1), s.r(3)]] });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(9), window: 65527, sack: [[s.r(5), s.r(9)]] });
    s.recvNothing();
  });
  it("a late original PAWS refuses is reported too (4.1.1; RFC 7323 5.3 drops it)", async () => {
    const t = await Script.create({ sack: true, timestamps: true });
    t.listener = t.engine.listen({ port: 80 });
    t.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, sackPermitted: true, timestamps: { value: 1000, echo: 0 } });
    const synAck = t.next();
    t.iss = synAck.seq;
    const ours = synAck.timestamps!.value;
    t.send({ flags: ACK, seq: t.r(1), ack: t.l(1), timestamps: { value: 1001, echo: ours } });
    t.events();
    // The retransmission (TSval 1010) arrives before the original (TSval 1005): the original is
    // older than TS.Recent, so PAWS drops it, and the ACK still names the duplicate text.
    t.send({ flags: ACK, seq: t.r(1), ack: t.l(1), payload: "abcd", timestamps: { value: 1010, echo: ours } });
    t.advance(40);
    t.recv({ flags: ACK, seq: t.l(1), ack: t.r(5), window: 65531, timestamps: { value: (ours + 40) >>> 0, echo: 1010 } });
    t.send({ flags: ACK, seq: t.r(1), ack: t.l(1), payload: "abcd", timestamps: { value: 1005, echo: ours } });
    t.recv({ flags: ACK, seq: t.l(1), ack: t.r(5), window: 65531, timestamps: { value: (ours + 40) >>> 0, echo: 1010 }, sack: [[t.r(1), t.r(5)]] });
    expect(t.engine.counters().pawsDropped).toBe(1);
  });
});

describe("ESTABLISHED: zero window and persist (RFC 9293 3.8.6.1)", () => {
  it("probes with backoff, resumes when the window opens", async () => {
    const s = await established({ persistMinMs: 200 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 0 });
    s.engine.send(s.id, new TextEncoder().encode("data"), s.now);
    s.recvNothing();
    const probe = { flags: ACK, seq: s.l(0), ack: s.r(1) };
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      gaps.push(s.advanceToDeadline());
      s.recv(probe);
      s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 0 });
    }
    // Persist intervals start from RTO (RTO_MIN here: the handshake's RTT was 0) and double.
    expect(gaps).toEqual([200, 400, 800]);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 1000 });
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "data" });
  });
  it("gives up after PERSIST_TOTAL_MS (Sockstress, CVE-2008-4609)", async () => {
    const s = await established({ persistTotalMs: 10000 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 0 });
    s.engine.send(s.id, new TextEncoder().encode("data"), s.now);
    s.recvNothing();
    for (let i = 0; i < 10 && s.state() !== "CLOSED"; i++) {
      s.advanceToDeadline();
      takeOutput(s.engine, s.now);
      s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 0 });
    }
    expect(s.state()).toBe("CLOSED");
    expect(s.events().filter((e) => e.type === "timedOut")).toEqual([{ type: "timedOut", id: s.id, error: "ETIMEDOUT" }]);
  });
});

describe("ESTABLISHED: keepalive (RFC 1122 4.2.3.6)", () => {
  it("probes an idle connection with SEG.SEQ = SND.NXT - 1; an answer resets it", async () => {
    const s = await established({}, { keepalive: true, keepaliveIdleMs: 10000, keepaliveIntervalMs: 1000, keepaliveCount: 3 });
    expect(s.advanceToDeadline()).toBe(10000);
    s.recv({ flags: ACK, seq: s.l(0), ack: s.r(1) });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
    expect(s.advanceToDeadline()).toBe(1000);
    s.recvNothing();
    expect(s.advanceToDeadline()).toBe(9000);
    s.recv({ flags: ACK, seq: s.l(0), ack: s.r(1) });
  });
  it("ends with ETIMEDOUT after KEEPALIVE_COUNT unanswered probes", async () => {
    const s = await established({}, { keepalive: true, keepaliveIdleMs: 10000, keepaliveIntervalMs: 1000, keepaliveCount: 3 });
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      gaps.push(s.advanceToDeadline());
      s.recv({ flags: ACK, seq: s.l(0), ack: s.r(1) });
    }
    gaps.push(s.advanceToDeadline());
    expect(gaps).toEqual([10000, 1000, 1000, 1000]);
    expect(s.events()).toEqual([
      { type: "timedOut", id: s.id, error: "ETIMEDOUT" },
      { type: "closed", id: s.id },
    ]);
  });
  it("turned on later, probes after the idle time given with it, in either option order", async () => {
    for (const options of [{ keepalive: true, keepaliveIdleMs: 200 }, { keepaliveIdleMs: 200, keepalive: true }]) {
      const s = await established();
      s.engine.setOptions(s.id, options);
      expect(s.advanceToDeadline()).toBe(200);
      s.recv({ flags: ACK, seq: s.l(0), ack: s.r(1) });
    }
  });
  it("a new idle time moves the armed timer, counted from the last arrival", async () => {
    const s = await established({}, { keepalive: true, keepaliveIdleMs: 10000, keepaliveIntervalMs: 1000, keepaliveCount: 3 });
    s.advance(3000);
    s.engine.setOptions(s.id, { keepaliveIdleMs: 5000 });
    expect(s.advanceToDeadline()).toBe(2000);
    s.recv({ flags: ACK, seq: s.l(0), ack: s.r(1) });
  });
});

describe("ESTABLISHED: window scaling across 64 KiB (RFC 7323 2)", () => {
  it("negotiates shifts both ways and uses windows beyond 65535", async () => {
    // The SYN offers shift 3 (256 KiB ring), the peer 7; each side's windows are scaled after.
    const s = await scaledActiveOpen();
    expect(s.engine.status(s.id).sndWnd).toBe(1024 << 7);
    // 70,000 bytes in flight from the peer: beyond 64 KiB, inside our scaled window.
    for (let off = 0; off < 70080; off += 1460) s.send({ flags: ACK, seq: s.r(1 + off), ack: s.l(1), window: 1024, payload: "q".repeat(1460) });
    const st = s.engine.status(s.id);
    expect(st.rcvNxt).toBe(s.r(1 + 70080));
    expect(st.recvQueued).toBe(70080);
  });
  it("without the peer's option neither side scales", async () => {
    const s = await Script.create({ windowScaling: true, recvBuffer: 262144 });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    const synAck = s.next();
    s.iss = synAck.seq;
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "a" });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
  });
});

describe("ESTABLISHED: quick ACKs at the start of a connection", () => {
  it("the first QUICK_ACKS in-order segments are acknowledged at once, then the delayed ACK applies (RFC 1122 4.2.3.2)", async () => {
    const s = await established({ quickAcks: 2 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "a" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2), window: 65534 });
    s.send({ flags: ACK, seq: s.r(2), ack: s.l(1), payload: "bb" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4), window: 65532 });
    // The phase is over: a lone segment waits for the delayed-ACK timer.
    s.send({ flags: ACK, seq: s.r(4), ack: s.l(1), payload: "c" });
    s.recvNothing();
    expect(s.advanceToDeadline()).toBe(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(5), window: 65531 });
  });
  it("an out-of-order segment does not use up the phase (it is acknowledged at once anyway)", async () => {
    const s = await established({ quickAcks: 2 });
    s.send({ flags: ACK, seq: s.r(3), ack: s.l(1), payload: "c" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), window: 65535 });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "ab" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4), window: 65532 });
    s.send({ flags: ACK, seq: s.r(4), ack: s.l(1), payload: "d" });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(5), window: 65531 });
    s.send({ flags: ACK, seq: s.r(5), ack: s.l(1), payload: "e" });
    s.recvNothing();
  });
});

describe("ESTABLISHED: timestamps and PAWS (RFC 7323)", () => {
  async function withTimestamps() {
    const s = await Script.create({ timestamps: true });
    s.listener = s.engine.listen({ port: 80 });
    s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, timestamps: { value: 1000, echo: 0 } });
    const synAck = s.next();
    s.iss = synAck.seq;
    const ts = synAck.timestamps!;
    expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), mss: 1460, timestamps: { value: ts.value, echo: 1000 } });
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), timestamps: { value: 1001, echo: ts.value } });
    s.events();
    return { s, ourTs: ts.value };
  }
  it("echoes TS.Recent and drops a segment with an older TSval, answering with an ACK", async () => {
    const { s, ourTs } = await withTimestamps();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "new", timestamps: { value: 1005, echo: ourTs } });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4), window: 65532, timestamps: { value: (ourTs + 40) >>> 0, echo: 1005 } });
    s.send({ flags: ACK, seq: s.r(4), ack: s.l(1), payload: "old", timestamps: { value: 1002, echo: ourTs } });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(4), window: 65532, timestamps: { value: (ourTs + 40) >>> 0, echo: 1005 } });
    expect(s.engine.counters().pawsDropped).toBe(1);
    expect(s.engine.status(s.id).recvQueued).toBe(3);
  });
  it("TS.Recent is not taken from a segment beyond Last.ACK.sent: a delayed ACK echoes the earliest (RFC 7323 4.3 A)", async () => {
    const { s, ourTs } = await withTimestamps();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "ab", timestamps: { value: 1005, echo: ourTs } });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(3), ack: s.l(1), payload: "cd", timestamps: { value: 1006, echo: ourTs } });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(5), window: 65531, timestamps: { value: ourTs, echo: 1005 } });
  });
  it("TS.Recent is not taken from an unacceptable segment", async () => {
    const { s, ourTs } = await withTimestamps();
    s.send({ flags: ACK, seq: s.r(900000), ack: s.l(1), payload: "far", timestamps: { value: 50000, echo: ourTs } });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), timestamps: { value: ourTs, echo: 1001 } });
  });
  it("measures RTT from the echoed timestamp", async () => {
    const { s, ourTs } = await withTimestamps();
    s.engine.send(s.id, new TextEncoder().encode("ping"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "ping", timestamps: { value: ourTs, echo: 1001 } });
    s.advance(30);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(5), timestamps: { value: 1010, echo: ourTs } });
    // RFC 6298 2.3 after the handshake's sample of 0: SRTT = 7/8 * 0 + 1/8 * 30.
    expect(s.engine.status(s.id).srttMs).toBe(3.75);
  });
  it("an ACK echoing a TSval older than an RTO retransmission gives no sample; the next fresh echo does (RFC 7323 4.1)", async () => {
    const { s, ourTs } = await withTimestamps();
    s.engine.send(s.id, new TextEncoder().encode("ping"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "ping", timestamps: { value: ourTs, echo: 1001 } });
    // The peer got it but its ACK was lost: RTO (200 ms, the minimum) sends it again and backs off.
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK | PSH, seq: s.l(1), ack: s.r(1), payload: "ping", timestamps: { value: (ourTs + 200) >>> 0, echo: 1001 } });
    expect(s.engine.status(s.id).rtoMs).toBe(400);
    // Its ACK for the duplicate echoes the original's TSval (RFC 7323 4.3: TS.Recent stays for a
    // segment outside the window). 205 ms is our timeout, not the path: SRTT and the backed-off RTO stay.
    s.advance(5);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(5), timestamps: { value: 1011, echo: ourTs } });
    expect(s.engine.status(s.id)).toMatchObject({ sndUna: s.l(5), srttMs: 0, rtoMs: 400 });
    s.engine.send(s.id, new TextEncoder().encode("pong"), s.now);
    s.recv({ flags: ACK | PSH, seq: s.l(5), ack: s.r(1), payload: "pong", timestamps: { value: (ourTs + 205) >>> 0, echo: 1011 } });
    s.advance(10);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(9), timestamps: { value: 1012, echo: (ourTs + 205) >>> 0 } });
    // A fresh echo is a sample again: SRTT = 7/8 * 0 + 1/8 * 10, and RTO is derived anew.
    expect(s.engine.status(s.id)).toMatchObject({ srttMs: 1.25, rtoMs: 200 });
  });
  it("a timeout whose first ACK echoes a TSval older than the retransmission was spurious: cwnd and ssthresh come back, no go-back (RFC 3522, RFC 4015)", async () => {
    const { s, ourTs } = await withTimestamps();
    s.engine.send(s.id, new Uint8Array(3 * 1448).fill(74), s.now);
    const ts = { value: ourTs, echo: 1001 };
    for (let i = 0; i < 3; i++) s.recv({ flags: ACK | (i === 2 ? PSH : 0), seq: s.l(1 + i * 1448), ack: s.r(1), payload: "J".repeat(1448), timestamps: ts });
    // The ACKs are late: RTO (200 ms) sends segment 0 again with cwnd = 1 SMSS (RFC 5681 3.1).
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), payload: "J".repeat(1448), timestamps: { value: (ourTs + 200) >>> 0, echo: 1001 } });
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 1448, ssthresh: 2896 });
    // The peer's ACK of segment 0, sent before our retransmission reached it, echoes the original.
    s.advance(1);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 1448), timestamps: { value: 1002, echo: ourTs } });
    // Undone: the window is back, and segments 1 and 2, still in flight, are not sent again.
    s.recvNothing();
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 14480, ssthresh: 4294967295, sndNxt: s.l(1 + 3 * 1448) });
    expect(s.engine.counters().spuriousTimeouts).toBe(1);
    // Were they lost after all, the next timeout sends them.
    expect(s.advanceToDeadline()).toBeGreaterThan(0);
    s.recv({ flags: ACK, seq: s.l(1 + 1448), ack: s.r(1), payload: "J".repeat(1448), timestamps: { value: (ourTs + 201 + 400) >>> 0, echo: 1002 } });
  });
  it("a timeout whose first ACK echoes the retransmission stands", async () => {
    const { s, ourTs } = await withTimestamps();
    s.engine.send(s.id, new Uint8Array(3 * 1448).fill(74), s.now);
    for (let i = 0; i < 3; i++) s.next();
    expect(s.advanceToDeadline()).toBe(200);
    s.next();
    s.advance(1);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 1448), timestamps: { value: 1002, echo: (ourTs + 200) >>> 0 } });
    // Go-back continues: segment 1 again, cwnd grown by what was acknowledged (RFC 3465).
    expect(s.next().seq).toBe(s.l(1 + 1448));
    expect(s.engine.status(s.id)).toMatchObject({ cwnd: 2896, ssthresh: 2896 });
    expect(s.engine.counters().spuriousTimeouts).toBe(0);
  });
  it("SMSS is the MSS less the timestamp option: after a timeout one 1448-byte segment, no runt (RFC 6691, RFC 7323 3)", async () => {
    const { s, ourTs } = await withTimestamps();
    expect(s.engine.status(s.id).sendMss).toBe(1448);
    s.engine.send(s.id, new Uint8Array(8 * 1460).fill(70), s.now);
    // The initial window, min(10 * 1448, max(2 * 1448, 14600)) = 14480 (RFC 6928), takes 8 full
    // segments and the last 96 bytes (no short segment was in flight: Nagle with Minshall's change).
    const ts = { value: ourTs, echo: 1001 };
    for (let i = 0; i < 8; i++) s.recv({ flags: ACK, seq: s.l(1 + i * 1448), ack: s.r(1), payload: "F".repeat(1448), timestamps: ts });
    s.recv({ flags: ACK | PSH, seq: s.l(1 + 8 * 1448), ack: s.r(1), payload: "F".repeat(96), timestamps: ts });
    s.recvNothing();
    expect(s.engine.status(s.id).cwnd).toBe(14480);
    // RTO: cwnd = 1 SMSS (RFC 5681 3.1), so exactly one full-sized segment goes out again.
    expect(s.advanceToDeadline()).toBe(200);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1), payload: "F".repeat(1448), timestamps: { value: (ourTs + 200) >>> 0, echo: 1001 } });
    s.recvNothing();
    // The ACK of it (ABC, RFC 3465: cwnd grows by the 1448 acknowledged) lets two full segments go.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 1448), timestamps: { value: 1002, echo: (ourTs + 200) >>> 0 } });
    const again = { value: (ourTs + 200) >>> 0, echo: 1002 };
    s.recv({ flags: ACK, seq: s.l(1 + 1448), ack: s.r(1), payload: "F".repeat(1448), timestamps: again });
    s.recv({ flags: ACK, seq: s.l(1 + 2 * 1448), ack: s.r(1), payload: "F".repeat(1448), timestamps: again });
    s.recvNothing();
  });
});
