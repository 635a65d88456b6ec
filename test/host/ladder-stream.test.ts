// The ladder as a stream (src/tools/ladder.ts LadderStream, ladder-match.ts, ladder-fold.ts): what it
// holds does not grow with the number of segments, losses are decided while the trace goes on, and a
// long run is drawn as its first and last arrows, the retransmissions and losses it kept, and fold
// lines that count the rest. Synthetic traces, no clock: nothing here depends on how long work takes.
import { describe, expect, it } from "vitest";
import { LadderStream, LaddersStream, renderLadder } from "../../src/tools/ladder.js";
import { LATE_ARRIVALS } from "../../src/tools/ladder-match.js";
import { NOTABLE_KEPT } from "../../src/tools/ladder-fold.js";
import { TcpFlag, type SegmentTrace, type TraceEvent } from "../../src/core/trace.js";

const { SYN, ACK, FIN, PSH } = TcpFlag;
const J = 1_000_000; // client ISN
const K = 3_000_000_000; // server ISN
const MSS = 1448;

interface BulkPlan {
  /** Data segments client to server. */
  segments: number;
  /** Every `lossEvery`-th data segment is lost once and sent again after the next ACK (0: none). */
  lossEvery?: number;
}

/**
 * A whole connection as a stack traces it, one event at a time: handshake, `segments` data segments
 * with an ACK every second one (arriving one segment later, so a few are always in flight), losses
 * repaired by a retransmission, and the four-way close.
 */
function* connection(plan: BulkPlan): Generator<TraceEvent> {
  let t = 0;
  const tick = () => (t += 0.01);
  const seg = (endpoint: string, direction: "in" | "out", flags: number, seq: number, ack: number, length = 0, extra: Partial<SegmentTrace> = {}): SegmentTrace =>
    ({ kind: "segment", time: tick(), endpoint, direction, flags, seq: seq >>> 0, ack: ack >>> 0, window: 65535, length, ...extra });
  const both = function* (from: string, flags: number, seq: number, ack: number, length = 0, extra: Partial<SegmentTrace> = {}) {
    yield seg(from, "out", flags, seq, ack, length, extra);
    yield seg(from === "client" ? "server" : "client", "in", flags, seq, ack, length);
  };
  const state = (endpoint: string, from: string, to: string) => ({ kind: "state", time: tick(), endpoint, from, to }) as TraceEvent;
  yield state("server", "CLOSED", "LISTEN");
  yield state("client", "CLOSED", "SYN-SENT");
  yield* both("client", SYN, J, 0);
  yield state("server", "LISTEN", "SYN-RECEIVED");
  yield* both("server", SYN | ACK, K, J + 1);
  yield state("client", "SYN-SENT", "ESTABLISHED");
  yield* both("client", ACK, J + 1, K + 1);
  yield state("server", "SYN-RECEIVED", "ESTABLISHED");
  let inFlight: SegmentTrace | undefined;
  let repair: number | undefined;
  for (let i = 0; i < plan.segments; i++) {
    const seq = J + 1 + i * MSS;
    const out = seg("client", "out", PSH | ACK, seq, K + 1, MSS);
    yield out;
    // The previous segment arrives after this one left: one segment in flight.
    if (inFlight) yield seg("server", "in", PSH | ACK, inFlight.seq, K + 1, MSS);
    const lost = plan.lossEvery !== undefined && plan.lossEvery > 0 && i % plan.lossEvery === plan.lossEvery - 1;
    inFlight = lost ? undefined : out;
    if (lost) repair = seq;
    if (i % 2 === 1) {
      yield* both("server", ACK, K + 1, seq + MSS);
      if (repair !== undefined) {
        yield* both("client", PSH | ACK, repair, K + 1, MSS, { retransmission: "repair" });
        repair = undefined;
      }
    }
  }
  if (inFlight) yield seg("server", "in", PSH | ACK, inFlight.seq, K + 1, MSS);
  const end = J + 1 + plan.segments * MSS;
  yield state("client", "ESTABLISHED", "FIN-WAIT-1");
  yield* both("client", FIN | ACK, end, K + 1);
  yield state("server", "ESTABLISHED", "CLOSE-WAIT");
  yield* both("server", ACK, K + 1, end + 1);
  yield state("client", "FIN-WAIT-1", "FIN-WAIT-2");
  yield state("server", "CLOSE-WAIT", "LAST-ACK");
  yield* both("server", FIN | ACK, K + 1, end + 1);
  yield state("client", "FIN-WAIT-2", "TIME-WAIT");
  yield* both("client", ACK, end + 1, K + 2);
  yield state("server", "LAST-ACK", "CLOSED");
  yield state("client", "TIME-WAIT", "CLOSED");
}

/** Streams the plan's trace through a ladder; the most it held at any point, and its text. */
function stream(plan: BulkPlan): { maxRetained: number; events: number; text: string } {
  const ladder = new LadderStream({ left: "client", right: "server", columns: 100, legend: true });
  let maxRetained = 0;
  let events = 0;
  for (const e of connection(plan)) {
    ladder.push(e);
    events++;
    maxRetained = Math.max(maxRetained, ladder.retained);
  }
  return { maxRetained, events, text: ladder.finish() };
}

describe("ladder stream", () => {
  it("holds no more for 200000 segments than for 20000, with and without losses", () => {
    for (const lossEvery of [0, 500]) {
      // 20000 segments lose more than the ladder keeps drawn: longer traces only add to the counts.
      const short = stream({ segments: 20_000, lossEvery });
      const long = stream({ segments: 200_000, lossEvery });
      expect(long.events).toBeGreaterThan(500_000);
      // Rows waiting for a fate or a run's end, and the lines drawn so far: a few hundred at most,
      // the same for a hundred times the segments.
      expect(long.maxRetained).toBeLessThan(300);
      expect(long.maxRetained).toBeLessThanOrEqual(short.maxRetained + 2);
      expect(long.text.split("\n").length).toBeLessThan(short.text.split("\n").length + 10);
    }
  });

  it("decides a loss once LATE_ARRIVALS later segments of its sender arrived, before the trace ends", () => {
    const ladder = new LadderStream({ left: "client", right: "server" });
    const out = (i: number): SegmentTrace => ({ kind: "segment", time: i, endpoint: "client", direction: "out", flags: ACK, seq: J + i * MSS, ack: K, window: 100, length: MSS });
    const arrive = (i: number): SegmentTrace => ({ ...out(i), time: i + 0.5, endpoint: "server", direction: "in" });
    ladder.push(out(0)); // never arrives
    let held = 0;
    for (let i = 1; i <= LATE_ARRIVALS; i++) {
      ladder.push(out(i));
      ladder.push(arrive(i));
      if (i === LATE_ARRIVALS - 1) held = ladder.retained;
    }
    // Everything waited behind segment 0 until the last arrival decided it; then the rows left.
    expect(held).toBeGreaterThanOrEqual(LATE_ARRIVALS - 1);
    expect(ladder.retained).toBeLessThan(20);
    const text = ladder.finish();
    expect(text.split("\n").find((l) => l.includes(" seq=0 "))).toMatch(/ x  \|$/);
    expect(text).toMatch(/segments folded/);
  });

  it("holds a bounded number of rows for a trace of one side only, and draws nothing as lost", () => {
    const ladder = new LadderStream({ left: "client", right: "server" });
    let maxRetained = 0;
    for (const e of connection({ segments: 100_000 })) {
      if (e.endpoint !== "client") continue;
      ladder.push(e);
      maxRetained = Math.max(maxRetained, ladder.retained);
    }
    expect(maxRetained).toBeLessThanOrEqual(LATE_ARRIVALS + 20);
    const text = ladder.finish();
    expect(text).not.toMatch(/ x  \|$/m);
    expect(text).toMatch(/\.\.\. \d+ segments folded, [\d.]+-[\d.]+ s: client -> server: \d+ data segments \(138\.\d MiB\) \.\.\./);
  });

  it("draws the first retransmissions and losses with the arrows before them, then only counts them", () => {
    const { text } = stream({ segments: 20_100, lossEvery: 500 });
    // Wrapped fold lines joined back (their continuations are indented past the time column).
    const lines = text.replace(/\n {11}(?=\S)/g, " ").split("\n");
    // 40 losses, each repaired, none among the last arrows: the first NOTABLE_KEPT of the 80 are drawn.
    const lost = lines.filter((l) => / x  \|$/.test(l));
    const repairs = lines.filter((l) => / RTX PSH,ACK /.test(l));
    expect(lost.length + repairs.length).toBe(NOTABLE_KEPT);
    expect(lost.length).toBe(NOTABLE_KEPT / 2);
    // The two arrows before a kept loss are drawn too, after the fold line that ends there.
    const firstLost = lines.findIndex((l) => / x  \|$/.test(l));
    expect(lines.slice(firstLost - 3, firstLost).map((l) => /\.\.\. \d+ segments folded|\|/.exec(l)?.[0])).toEqual([expect.stringMatching(/^\.\.\. \d+ segments folded$/), "|", "|"]);
    // Past the budget, fold lines count what they hide, per direction.
    const folds = lines.filter((l) => l.includes("segments folded"));
    const counted = (re: RegExp) => folds.reduce((n, l) => n + Number(re.exec(l)?.[1] ?? 0), 0);
    expect(counted(/client -> server: [^;]*?(\d+) lost/)).toBe(40 - NOTABLE_KEPT / 2);
    expect(counted(/client -> server: [^;]*?(\d+) sent again/)).toBe(40 - NOTABLE_KEPT / 2);
    // Every data segment is in a drawn arrow or a count: 20100 plus 40 repairs.
    const drawnData = lines.filter((l) => / len=1448 /.test(l)).length;
    expect(counted(/client -> server: (\d+) data segments/) + drawnData).toBe(20_140);
    expect(text.replace(/\n +/g, " ")).toMatch(/\.\.\. +a run of data segments and ACKs folded into one summary line: .* past the first 16, retransmissions \("sent again"\) and losses are only counted there/);
  });

  it("keeps the handshake, the close and every state change of a long run", () => {
    const { text } = stream({ segments: 100_000 });
    const arrows = text.split("\n").filter((l) => l.includes("|"));
    expect(arrows.slice(0, 3).map((l) => /(SYN,ACK|SYN|ACK) seq=\d+/.exec(l)![0])).toEqual(["SYN seq=0", "SYN,ACK seq=0", "ACK seq=1"]);
    expect(arrows.slice(-4).map((l) => /(FIN,ACK|ACK) seq=\d+ ack=\d+/.exec(l)![0])).toEqual([
      `FIN,ACK seq=${100_000 * MSS + 1} ack=1`, `ACK seq=1 ack=${100_000 * MSS + 2}`, `FIN,ACK seq=1 ack=${100_000 * MSS + 2}`, `ACK seq=${100_000 * MSS + 2} ack=2`,
    ]);
    for (const s of ["LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "CLOSE-WAIT", "FIN-WAIT-2", "LAST-ACK", "TIME-WAIT", "CLOSED"]) {
      expect(text).toMatch(new RegExp(`^ +\\d+\\.\\d{3} +${s}$`, "m"));
    }
    expect(text.replace(/\n +/g, " ")).toMatch(/\.\.\. 149992 segments folded, [\d.]+-[\d.]+ s: client -> server: 99995 data segments \(138\.1 MiB\); server -> client: 49997 ACKs \.\.\./);
  });

  it("draws a recorded trace the same streamed in order as renderLadder draws it sorted", () => {
    const events = [...connection({ segments: 3_000, lossEvery: 200 })];
    const streamed = new LadderStream({ left: "client", right: "server", width: 70 });
    for (const e of events) streamed.push(e);
    const shuffled = [...events].reverse();
    expect(renderLadder(shuffled, { left: "client", right: "server", width: 70 })).toBe(streamed.finish());
  });

  it("LaddersStream draws one ladder per connection as their events interleave", () => {
    const tag = (e: TraceEvent, port: number): TraceEvent =>
      e.endpoint === "client" ? { ...e, local: `10.0.0.1:${port}`, remote: "10.0.0.2:9" } : { ...e, local: "10.0.0.2:9", remote: `10.0.0.1:${port}` };
    const a = connection({ segments: 5_000 });
    const b = connection({ segments: 5_000 });
    const ladders = new LaddersStream({ left: "client", right: "server" });
    let maxRetained = 0;
    for (;;) {
      const x = a.next();
      const y = b.next();
      if (x.done && y.done) break;
      if (!x.done) ladders.push(tag(x.value, 49152));
      if (!y.done) ladders.push(tag(y.value, 49153));
      maxRetained = Math.max(maxRetained, ladders.retained);
    }
    expect(maxRetained).toBeLessThan(200);
    const parts = ladders.finish().split(/^connection \d of 2: /m).slice(1);
    expect(parts.map((p) => p.split("\n")[0])).toEqual(["10.0.0.1:49152 <-> 10.0.0.2:9", "10.0.0.1:49153 <-> 10.0.0.2:9"]);
    for (const p of parts) expect(p).toMatch(/\.\.\. 7492 segments folded/);
  });
});
