// Send and receive buffer auto-sizing (assembly/engine/autosize.ts): rings start at sendBuffer /
// recvBuffer and grow, to powers of two, up to sendBufferMax / recvBufferMax within bufferBudget.
// The receive ring grows per round trip to twice what the reader consumed in one (dynamic
// right-sizing), the send ring to twice the lesser of cwnd and the peer's window; a size set on the
// connection keeps it fixed; the advertised right edge never moves left (RFC 9293 3.8.6).
import { describe, expect, it } from "vitest";
import type { EngineConfig, ConnectionOptions } from "../../src/core/settings.js";
import { listening, establishedWithOptions, Script, SYN, ACK, REMOTE_SEQ } from "../fixtures/engine-script.js";
import { takeOutput } from "../fixtures/engine-io.js";
import { Pair } from "../fixtures/pair.js";
import { loadPrimitives, u8 } from "../fixtures/prim-harness.js";
import { Engine } from "../../src/core/engine.js";

/** The peer's round trip on the virtual clock. */
const RTT_MS = 10;
const MSS = 1460;
const KiB = 1024;

/**
 * A passive connection whose peer offered window scale 7; returns the script and the shift our
 * SYN,ACK offered.
 */
async function accepted(config: EngineConfig, options: ConnectionOptions = {}): Promise<{ s: Script; shift: number }> {
  const s = await listening({ windowScaling: true, pacing: false, ...config }, options);
  s.send({ flags: SYN, seq: REMOTE_SEQ, mss: MSS, wscale: 7 });
  const synAck = s.next();
  s.iss = synAck.seq;
  expect(synAck).toMatchObject({ flags: SYN | ACK, window: 65535 });
  s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 65535 });
  s.id = s.events().find((e) => e.type === "accepted")!.id;
  return { s, shift: synAck.wscale! };
}

/** The right edge the engine holds the peer to, relative to the peer's ISS: RCV.NXT + RCV.WND. */
function heldEdge(s: Script): number {
  const st = s.engine.status(s.id);
  return (st.rcvNxt + st.rcvWnd - REMOTE_SEQ) >>> 0;
}

/**
 * A sender that, once per round trip, sends in full-sized segments up to the right edge the engine's
 * ACKs told it, while the reader takes `readPerRound` bytes (Infinity: all it has) at the end of each
 * round. Returns the receive buffer after each round; checks after every segment and read that the
 * edge the engine holds never moves left.
 */
function receiveRounds(s: Script, shift: number, rounds: number, readPerRound: number): number[] {
  let next = 1;
  let told = 65535 + 1;
  let held = heldEdge(s);
  const sizes: number[] = [];
  const listen = () => {
    for (const p of takeOutput(s.engine, s.now)) {
      const seg = s.wire.parsePacket(p);
      if ("error" in seg) throw new Error(seg.error);
      const edge = ((seg.ack - REMOTE_SEQ) >>> 0) + seg.window * 2 ** shift;
      if (edge > told) told = edge;
    }
    const now = heldEdge(s);
    expect(now).toBeGreaterThanOrEqual(held);
    held = now;
  };
  for (let round = 0; round < rounds; round++) {
    s.advance(RTT_MS);
    listen();
    while (next < told) {
      const n = Math.min(MSS, told - next);
      s.send({ flags: ACK, seq: s.r(next), ack: s.l(1), window: 65535, payload: "y".repeat(n) });
      next += n;
      listen();
    }
    let want = readPerRound;
    while (want > 0) {
      const got = s.engine.recv(s.id, s.now, want).length;
      if (got === 0) break;
      want -= got;
      listen();
    }
    sizes.push(s.engine.status(s.id).recvBuffer);
  }
  return sizes;
}

describe("receive buffer: dynamic right-sizing", () => {
  it("a reader that takes everything each round trip: the ring doubles as the window fills, up to the maximum; the edge never moves left", async () => {
    const { s, shift } = await accepted({ recvBuffer: 64 * KiB, recvBufferMax: 512 * KiB });
    // The scale is chosen for the largest ring, 512 KiB (RFC 7323 2.3), not the 64 KiB one.
    expect(shift).toBe(4);
    const sizes = receiveRounds(s, shift, 14, Infinity);
    expect(sizes[0]).toBe(64 * KiB);
    expect(sizes.at(-1)).toBe(512 * KiB);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(new Set(sizes)).toEqual(new Set([64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB]));
    expect(s.engine.counters()).toMatchObject({ recvBufferGrown: 3, bufferGrowthRefused: 0 });
    // The grown ring is offered: the window reaches past what the first ring could hold.
    expect(s.engine.status(s.id).rcvWnd).toBeGreaterThan(256 * KiB);
  });

  it("a sender held to its path's rate, not the window, earns no larger ring: the timestamp echoes show the round trip is shorter than the ring's time to fill", async () => {
    // One 1448-octet segment a millisecond (a bottleneck's rate, 11.6 Mbit/s) over a 2 ms round
    // trip, 400 ms long: about 3 KiB per round trip, under a twentieth of the 64 KiB ring, which
    // takes 45 ms to fill. Each segment echoes the newest TSval the peer had heard by then: that of
    // our latest ACK sent at least 1 ms (the way back) before.
    const s = await establishedWithOptions(
      { timestamps: true, windowScaling: true, pacing: false, recvBuffer: 64 * KiB, recvBufferMax: 512 * KiB },
      { wscale: 7, tsVal: 1 },
    );
    const heard: Array<{ at: number; tsVal: number }> = [];
    const listen = () => {
      for (const p of takeOutput(s.engine, s.now)) {
        const seg = s.wire.parsePacket(p);
        if ("error" in seg) throw new Error(seg.error);
        heard.push({ at: s.now, tsVal: seg.options.timestamps!.value });
      }
    };
    let next = 1;
    for (let ms = 0; ms < 400; ms++) {
      s.advance(1);
      listen();
      // Before any ACK of ours came back the peer has none to echo yet (0: no sample).
      const echo = heard.filter((h) => h.at <= s.now - 1).at(-1)?.tsVal ?? 0;
      s.send({ flags: ACK, seq: s.r(next), ack: s.l(1), window: 65535, payload: "y".repeat(1448), timestamps: { value: 2 + ms, echo } });
      next += 1448;
      expect(s.engine.recv(s.id, s.now, Infinity).length).toBe(1448);
      listen();
    }
    expect(s.engine.status(s.id).rcvNxt).toBe(s.r(next));
    expect(s.engine.status(s.id).recvBuffer).toBe(64 * KiB);
    expect(s.engine.counters().recvBufferGrown).toBe(0);
  });

  it("a reader that takes less than the window each round trip keeps the first ring", async () => {
    const { s, shift } = await accepted({ recvBuffer: 64 * KiB, recvBufferMax: 512 * KiB });
    const sizes = receiveRounds(s, shift, 14, 16 * KiB);
    expect(new Set(sizes)).toEqual(new Set([64 * KiB]));
    expect(s.engine.counters()).toMatchObject({ recvBufferGrown: 0, bufferGrowthRefused: 0 });
  });

  it("a receive buffer set on the connection keeps its size and chooses the scale (as SO_RCVBUF)", async () => {
    const { s, shift } = await accepted({ recvBuffer: 64 * KiB, recvBufferMax: 512 * KiB }, { recvBuffer: 64 * KiB });
    // 65,536 bytes need a shift of 1 to fit in the 16-bit field.
    expect(shift).toBe(1);
    const sizes = receiveRounds(s, shift, 14, Infinity);
    expect(new Set(sizes)).toEqual(new Set([64 * KiB]));
    expect(s.engine.counters()).toMatchObject({ recvBufferGrown: 0, bufferGrowthRefused: 0 });
  });

  it("past the budget the ring keeps its size, and each refusal is counted", async () => {
    // One 64 KiB ring is held; growing it to 128 KiB would hold 128 KiB, past a budget of 100,000.
    const { s, shift } = await accepted({ recvBuffer: 64 * KiB, recvBufferMax: 512 * KiB, bufferBudget: 100_000 });
    const sizes = receiveRounds(s, shift, 14, Infinity);
    expect(new Set(sizes)).toEqual(new Set([64 * KiB]));
    const c = s.engine.counters();
    expect(c.recvBufferGrown).toBe(0);
    expect(c.bufferGrowthRefused).toBeGreaterThanOrEqual(3);
  });
});

/**
 * The host writes as much as the send ring takes at the start of each round trip, and the peer,
 * offering a large window, acknowledges every segment one round trip later. Returns, per round,
 * the send buffer, cwnd and the bytes in flight after the host wrote.
 */
function sendRounds(s: Script, rounds: number): Array<{ buffer: number; cwnd: number; flight: number }> {
  const chunk = new Uint8Array(64 * KiB).fill(0x61);
  const out: Array<{ buffer: number; cwnd: number; flight: number }> = [];
  let sent: Array<{ seq: number; len: number }> = [];
  for (let round = 0; round < rounds; round++) {
    s.advance(RTT_MS);
    for (const seg of sent) s.send({ flags: ACK, seq: s.r(1), ack: (seg.seq + seg.len) >>> 0, window: 65535 });
    while (s.engine.send(s.id, chunk, s.now) > 0);
    sent = [];
    for (const p of takeOutput(s.engine, s.now)) {
      const seg = s.wire.parsePacket(p);
      if ("error" in seg) throw new Error(seg.error);
      if (seg.payloadLength > 0) sent.push({ seq: seg.seq, len: seg.payloadLength });
    }
    const st = s.engine.status(s.id);
    out.push({ buffer: st.sendBuffer, cwnd: st.cwnd, flight: (st.sndNxt - st.sndUna) >>> 0 });
  }
  return out;
}

describe("send buffer: grown with cwnd", () => {
  it("the sender is never held back by its ring while cwnd allows more, up to the maximum", async () => {
    const { s } = await accepted({ sendBuffer: 64 * KiB, sendBufferMax: 1024 * KiB });
    const rounds = sendRounds(s, 16);
    for (const r of rounds) {
      if (r.buffer < 1024 * KiB) expect(r.flight).toBeGreaterThan(r.cwnd - MSS);
    }
    expect(rounds[0].buffer).toBe(64 * KiB);
    expect(rounds.at(-1)!.buffer).toBe(1024 * KiB);
    expect(rounds.map((r) => r.buffer)).toEqual(rounds.map((r) => r.buffer).sort((a, b) => a - b));
    expect(s.engine.counters().sendBufferGrown).toBeGreaterThanOrEqual(3);
  });

  it("a send buffer set on the connection keeps its size (as SO_SNDBUF)", async () => {
    const { s } = await accepted({ sendBuffer: 64 * KiB, sendBufferMax: 1024 * KiB }, { sendBuffer: 64 * KiB });
    const rounds = sendRounds(s, 10);
    expect(new Set(rounds.map((r) => r.buffer))).toEqual(new Set([64 * KiB]));
    // cwnd outgrows the ring: the ring, not congestion control, limits what is in flight.
    expect(rounds.at(-1)!.cwnd).toBeGreaterThan(64 * KiB);
    expect(Math.max(...rounds.map((r) => r.flight))).toBeLessThanOrEqual(64 * KiB);
    expect(s.engine.counters().sendBufferGrown).toBe(0);
  });
});

describe("a bulk transfer across growth", () => {
  it("16 MiB over a 10 ms round trip arrive intact (SHA-256) while both rings grow", async () => {
    const pair = await Pair.create({
      flavor: "debug",
      seed: 3,
      config: { sendBuffer: 64 * KiB, recvBuffer: 64 * KiB },
      link: { delay: RTT_MS / 2 },
    });
    const result = pair.transfer(16 << 20, 0);
    expect(result.aToB.bytes).toBe(16 << 20);
    expect(result.aToB.firstMismatch).toBe(-1);
    expect(result.aToB.receivedSha256).toBe(result.aToB.sentSha256);
    expect(result.statusA.sendBuffer).toBeGreaterThan(64 * KiB);
    expect(result.statusB.recvBuffer).toBeGreaterThan(64 * KiB);
    expect(result.countersA.sendBufferGrown).toBeGreaterThanOrEqual(2);
    expect(result.countersB.recvBufferGrown).toBeGreaterThanOrEqual(2);
  });
});

describe("configuration", () => {
  it("the maximums and the budget are checked in the host, naming the key", async () => {
    for (const [key, value] of [["sendBufferMax", 1023], ["recvBufferMax", 2 ** 30 + 1], ["bufferBudget", 2 ** 32]] as const) {
      await expect(Engine.create({ flavor: "debug", config: { [key]: value } })).rejects.toMatchObject({
        code: "ERR_OUT_OF_RANGE",
        message: expect.stringContaining(`config.${key}`),
      });
    }
    const e = await Engine.create({ flavor: "debug", config: { sendBufferMax: 1024, recvBufferMax: 2 ** 30, bufferBudget: 0 } });
    expect(e.liveConnections()).toBe(0);
  });
});

describe("ringGrow", () => {
  it("moves a wrapped ring's bytes, out-of-order ones past its length included, to the same offsets; the old storage is freed", async () => {
    const p = await loadPrimitives();
    const mem = () => u8(p);
    const r = p.tRingNew();
    p.tRingSetCapacity(r, 64);
    expect(p.tRingEnsure(r)).toBe(1);
    expect(p.tRingBytesHeld()).toBe(64);
    const scratch = p.tPoolAlloc(64);
    // Start at 40: 30 readable bytes wrap round the end, 10 more held 5 past them (out of order).
    p.tRingCommit(r, 40);
    p.tRingConsume(r, 40);
    for (let i = 0; i < 30; i++) mem()[scratch + i] = i + 1;
    p.tRingCopyIn(r, 0, scratch, 30);
    p.tRingCommit(r, 30);
    for (let i = 0; i < 10; i++) mem()[scratch + i] = 101 + i;
    p.tRingCopyIn(r, 35, scratch, 10);
    const pool = p.tPoolBytesInUse();
    expect(p.tRingGrow(r, 256)).toBe(1);
    expect(p.tRingCap(r)).toBe(256);
    expect(p.tRingLen(r)).toBe(30);
    expect(p.tPoolBytesInUse()).toBe(pool - 64 + 256);
    expect(p.tRingBytesHeld()).toBe(256);
    p.tRingCopyOut(r, 0, scratch, 30);
    expect([...mem().subarray(scratch, scratch + 30)]).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    p.tRingCopyOut(r, 35, scratch, 10);
    expect([...mem().subarray(scratch, scratch + 10)]).toEqual(Array.from({ length: 10 }, (_, i) => 101 + i));
    // Without memory it keeps what it has.
    p.tPoolSetLimit(p.tPoolBytesInUse() + 100);
    expect(p.tRingGrow(r, 1024)).toBe(0);
    expect(p.tRingCap(r)).toBe(256);
    p.tPoolSetLimit(-1);
    p.tRingDelete(r);
    p.tPoolFree(scratch, 64);
    expect(p.tRingBytesHeld()).toBe(0);
  });
});
