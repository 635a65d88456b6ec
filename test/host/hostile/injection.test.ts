// Blind injection (RFC 5961) and bad ACKs against an established connection of a real stack. An
// off-path attacker knows the 4-tuple but not the sequence numbers: its RSTs, SYNs and data must
// neither reset the connection nor get into the stream, and whatever the stack answers is bounded by
// the RFC 5961 section 7 throttle (challengeAckLimit per connection per second, default 10), whether
// the answer is a challenge ACK or the ACK RFC 9293 3.10.7.4 sends for an unacceptable segment.
// The clock is virtual: "a second" is exactly 1000 ms of it.
import { afterEach, describe, expect, it } from "vitest";
import type { Stack } from "../../../src/tcp/stack.js";
import { Hub, INJECTIONS, RawTcp, SERVER, burst as burstOf, bytes, hashingServer, settle, sha256, type Injection, type ServerSide } from "../../fixtures/hostile.js";

/** RFC 5961 7 default (assembly/engine/config.ts challengeAckLimit). */
const LIMIT = 10;
/** Forged segments per burst: a thousand within one virtual second. */
const BURST = 1000;

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

interface Established {
  server: Stack;
  sides: ServerSide[];
  raw: RawTcp;
  /** Bytes the raw peer has sent so far (kept to check the stream at the end). */
  sent: Uint8Array[];
}

/** BURST forged segments of `kind` against the raw peer's connection; returns the stack's answers. */
function burst(e: Established, kind: Injection): Promise<number> {
  return burstOf(e.raw, kind.make, BURST);
}

async function established(options: { timestamps?: boolean; wscale?: number } = {}): Promise<Established> {
  hub = await Hub.create();
  const server = await hub.stack(SERVER);
  const sides = hashingServer(server);
  const raw = new RawTcp(hub, { srcPort: 41000, timestamps: options.timestamps, wscale: options.wscale });
  await raw.open();
  const first = bytes(5000, 1);
  raw.sendData(first);
  await settle();
  raw.replies();
  expect(sides[0]!.bytes).toBe(first.length);
  return { server, sides, raw, sent: [first] };
}

/** The connection is still up and in sync: more data from the real peer arrives intact, then the end. */
async function stillDelivers(e: Established): Promise<void> {
  const { raw, sides, server } = e;
  expect(server.engine.liveConnections()).toBe(2);
  const more = bytes(20_000, 2);
  e.sent.push(more);
  raw.sendData(more);
  raw.send({ flags: { ack: true, fin: true } });
  raw.sndNxt = (raw.sndNxt + 1) >>> 0;
  await hub!.runUntil(() => sides[0]!.ended, "the stream after the injection");
  const all = Buffer.concat(e.sent);
  expect(sides[0]!.bytes).toBe(all.length);
  expect(sides[0]!.hash.digest("hex")).toBe(sha256(all));
  expect(sides[0]!.error).toBeUndefined();
}

describe("blind RST (RFC 5961 3)", () => {
  it("in-window RSTs that miss RCV.NXT are challenged, at most 10 per second, and never reset", async () => {
    const e = await established();
    const window = e.raw.peerWindow;
    expect(window).toBeGreaterThan(BURST);
    const first = await burst(e, INJECTIONS.rstInWindow);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(LIMIT);
    const c = e.server.counters();
    expect(c.challengeAcks + c.challengeAcksLimited).toBe(BURST);
    // The next second has its own budget.
    await hub!.advanceTo(hub!.clock.now + 1000);
    const second = await burst(e, INJECTIONS.rstInWindow);
    expect(second).toBeGreaterThanOrEqual(1);
    expect(second).toBeLessThanOrEqual(LIMIT);
    expect(e.server.counters().resetsReceived).toBe(0);
    await stillDelivers(e);
  });

  it("RSTs outside the window are dropped without an answer (window scaling on)", async () => {
    const e = await established(INJECTIONS.rstBeyondWindow);
    expect(e.raw.peerWindow).toBe(256 * 1024);
    const answers = await burst(e, INJECTIONS.rstBeyondWindow);
    expect(answers).toBe(0);
    await stillDelivers(e);
  });

  it("without window scaling the window is the 65,535 bytes advertised: RSTs beyond it are dropped without an answer", async () => {
    // RFC 7323 2.2 / RFC 9293 3.10.7.4: with no scale the window field caps RCV.WND at 65,535, and the
    // right edge the acceptability test uses is the one that field offered, not the 256 KiB ring, so a
    // RST the peer could not have sent in window is dropped without a challenge ACK.
    const e = await established();
    expect(e.raw.peerWindow).toBe(65535);
    const answers = await burst(e, INJECTIONS.rstBeyondUnscaledWindow);
    expect(answers).toBe(0);
    await stillDelivers(e);
  });

  it("an RST at exactly RCV.NXT still resets (RFC 5961 3.2)", async () => {
    const e = await established();
    e.raw.send({ flags: { rst: true }, ack: 0 });
    await settle();
    expect(e.sides[0]!.closed).toBe(true);
    expect((e.sides[0]!.error as { code?: string }).code).toBe("ECONNRESET");
    expect(e.server.engine.liveConnections()).toBe(1);
  });
});

describe("blind SYN (RFC 5961 4)", () => {
  it("SYNs with any sequence number on an established connection are challenged, at most 10 per second, never reset", async () => {
    const e = await established();
    const answers = await burst(e, INJECTIONS.synAnySeq);
    expect(answers).toBeGreaterThanOrEqual(1);
    expect(answers).toBeLessThanOrEqual(LIMIT);
    const c = e.server.counters();
    expect(c.resetsSent + c.resetsReceived).toBe(0);
    await stillDelivers(e);
  });
});

describe("blind data and bad ACKs (RFC 5961 5, RFC 9293 3.10.7.4)", () => {
  it("data whose ACK is older than SND.UNA - MAX.SND.WND is dropped, and the ACKs it draws are throttled", async () => {
    const e = await established();
    const before = e.sides[0]!.bytes;
    const answers = await burst(e, INJECTIONS.oldAck);
    expect(e.sides[0]!.bytes).toBe(before);
    expect(answers).toBeLessThanOrEqual(LIMIT);
    await stillDelivers(e);
  });

  it("data that acknowledges bytes never sent is dropped, and the ACKs it draws are throttled", async () => {
    const e = await established();
    const before = e.sides[0]!.bytes;
    const answers = await burst(e, INJECTIONS.unsentAck);
    expect(e.sides[0]!.bytes).toBe(before);
    expect(answers).toBeLessThanOrEqual(LIMIT);
    await stillDelivers(e);
  });

  it("an old but acceptable duplicate ACK (within MAX.SND.WND) still carries its data in (RFC 5961 5.2)", async () => {
    const e = await established();
    const data = bytes(700, 70);
    e.sent.push(data);
    // ACK one byte below SND.UNA: inside [SND.UNA - MAX.SND.WND, SND.NXT].
    e.raw.send({ ack: (e.raw.rcvNxt - 1) >>> 0, payload: data });
    e.raw.sndNxt = (e.raw.sndNxt + data.length) >>> 0;
    await settle();
    expect(e.sides[0]!.bytes).toBe(5000 + data.length);
    await stillDelivers(e);
  });

  it("segments outside the receive window draw ACKs, throttled", async () => {
    const e = await established(INJECTIONS.outOfWindowData);
    const answers = await burst(e, INJECTIONS.outOfWindowData);
    expect(answers).toBeGreaterThanOrEqual(1);
    expect(answers).toBeLessThanOrEqual(LIMIT);
    await stillDelivers(e);
  });

  it("PAWS-stale segments (RFC 7323 5) are dropped and the ACKs they draw are throttled", async () => {
    const e = await established(INJECTIONS.pawsStale);
    const before = e.sides[0]!.bytes;
    const answers = await burst(e, INJECTIONS.pawsStale);
    expect(e.sides[0]!.bytes).toBe(before);
    expect(e.server.counters().pawsDropped).toBe(BURST);
    expect(answers).toBeLessThanOrEqual(LIMIT);
    e.raw.tick();
    await stillDelivers(e);
  });
});
