// The congestion control a connection runs (EngineConfig / ConnectionOptions congestionControl):
// NewReno (RFC 5681, RFC 6582) by default, CUBIC (RFC 9438) when chosen, driven round by round.
//
// The peer offers window scale 7, so that its window never limits the sender, and acknowledges
// every segment on its own; each round's ACKs arrive one RTT (100 ms) after the round's data left.
// Pacing and HyStart++ are off so that slow start runs to the loss and a round's output leaves at once.
// One loss, found by three duplicate ACKs (RFC 5681 3.2), ends slow start at about 40 segments; a
// full ACK of everything sent before it ends recovery (RFC 6582 3.2 step 3).
import { describe, expect, it } from "vitest";
import type { ConnectionOptions, EngineConfig } from "../../src/core/settings.js";
import { listening, ACK, SYN, REMOTE_SEQ, type Script } from "../fixtures/engine-script.js";

const MSS = 1460;
const RTT_MS = 100;
const CONFIG: EngineConfig = {
  windowScaling: true,
  pacing: false,
  hystart: false,
  sendBuffer: 16 << 20,
  sendBufferMax: 16 << 20,
};

interface Run {
  /** cwnd and ssthresh, bytes, when the third duplicate ACK arrived, and the flight it reduced. */
  flight: number;
  cwndAtLoss: number;
  ssthresh: number;
  /** cwnd at the end of recovery and at the end of each round after it. */
  cwndAfter: number[];
  algo: string;
}

async function open(config: EngineConfig, options: ConnectionOptions): Promise<Script> {
  const s = await listening({ ...CONFIG, ...config }, options);
  s.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, wscale: 7 });
  const synAck = s.next();
  s.iss = synAck.seq;
  s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), window: 65535 });
  s.id = s.events().find((e) => e.type === "accepted")!.id;
  s.transitions();
  return s;
}

/** Slow start to 40 segments or more, one loss, recovery, then `rounds` rounds of avoidance. */
async function run(config: EngineConfig, options: ConnectionOptions, rounds: number): Promise<Run> {
  const s = await open(config, options);
  s.now = 1000;
  expect(s.engine.send(s.id, new Uint8Array(16 << 20).fill(0x63), s.now)).toBe(16 << 20);
  let flight: number[] = [];
  const pull = (into: number[]) => {
    for (const seg of s.drain()) {
      expect(seg.payload.length).toBe(MSS);
      into.push((seg.seq + MSS) >>> 0);
    }
  };
  const ack = (end: number) => s.send({ flags: ACK, seq: s.r(1), ack: end, window: 65535 });
  /** One round: every segment of the flight acknowledged one RTT later; what they release is the next. */
  const round = () => {
    s.now += RTT_MS;
    const next: number[] = [];
    for (const end of flight) {
      ack(end);
      pull(next);
    }
    flight = next;
  };
  pull(flight);
  while (s.engine.status(s.id).cwnd < 40 * MSS) round();
  // The loss round: its first segment is lost, every later one brings a duplicate ACK.
  s.now += RTT_MS;
  const lostEnd = flight[0]!;
  const lostStart = (lostEnd - MSS) >>> 0;
  let recover = 0;
  const next: number[] = [];
  let flightAtLoss = 0;
  let cwndAtLoss = 0;
  let ssthresh = 0;
  for (let i = 1; i < flight.length; i++) {
    if (i === 3) {
      const st = s.engine.status(s.id);
      // FlightSize without limited transmit's two segments (RFC 3042 2: they do not count).
      flightAtLoss = st.sndMax - st.sndUna - 2 * MSS;
      cwndAtLoss = st.cwnd;
      recover = st.sndMax;
    }
    ack(lostStart);
    if (i === 3) ssthresh = s.engine.status(s.id).ssthresh;
    pull(next);
  }
  // New data by limited transmit (RFC 3042), the fast retransmission, new data on the inflated window.
  expect(next.filter((end) => end === lostEnd)).toHaveLength(1);
  next.splice(next.indexOf(lostEnd), 1);
  // Its ACK covers everything sent before the loss was found (limited transmit's two segments too):
  // recovery ends.
  s.now += RTT_MS;
  ack(recover);
  flight = next.filter((end) => ((end - recover) | 0) > 0);
  pull(flight);
  const cwndAfter = [s.engine.status(s.id).cwnd];
  for (let k = 0; k < rounds; k++) {
    round();
    cwndAfter.push(s.engine.status(s.id).cwnd);
  }
  expect(s.engine.counters().retransmits).toBe(1);
  return { flight: flightAtLoss, cwndAtLoss, ssthresh, cwndAfter, algo: s.engine.status(s.id).congestionControl };
}

/** Growth of cwnd in each round, segments. */
function growths(r: Run): number[] {
  return r.cwndAfter.slice(1).map((c, i) => (c - r.cwndAfter[i]!) / MSS);
}

describe("congestion control of a connection", () => {
  it("default NewReno: the loss halves the flight, then one SMSS a round (RFC 5681 eq. 4, 3.1)", async () => {
    const r = await run({}, {}, 12);
    expect(r.algo).toBe("newreno");
    expect(r.flight).toBeGreaterThanOrEqual(40 * MSS);
    expect(r.ssthresh).toBe(Math.floor(r.flight / 2));
    expect(r.cwndAfter[0]).toBeLessThanOrEqual(r.ssthresh);
    // Slow start back to ssthresh in the first round, then congestion avoidance: one SMSS a round.
    expect(r.cwndAfter[1]).toBe(r.ssthresh);
    expect(growths(r).slice(1)).toEqual(new Array(11).fill(1));
  });

  it("CUBIC: the loss keeps 0.7 of the flight, then a concave climb back to W_max (RFC 9438 4.2, 4.3, 4.6)", async () => {
    const r = await run({ congestionControl: "cubic" }, {}, 40);
    expect(r.algo).toBe("cubic");
    expect(r.flight).toBeGreaterThanOrEqual(40 * MSS);
    expect(r.ssthresh).toBe(Math.floor(r.flight * 0.7));
    expect(r.cwndAfter[0]).toBeLessThanOrEqual(r.ssthresh);
    const g = growths(r);
    // Slow start back to ssthresh in the first round, then W_cubic(t) = C (t - K)^3 + W_max with
    // W_max the window at the loss and K = cbrt(W_max (1 - beta) / C), about 3.1 s (31 rounds) for
    // 40 segments: concave, each stretch of five rounds growing less than the one before.
    expect(r.cwndAfter[1]).toBeGreaterThanOrEqual(r.ssthresh);
    const wMax = r.cwndAtLoss / MSS;
    const fives = [1, 6, 11, 16].map((i) => g.slice(i, i + 5).reduce((a, b) => a + b, 0));
    for (let i = 1; i < fives.length; i++) expect(fives[i]).toBeLessThan(fives[i - 1]!);
    expect(fives[0]).toBeGreaterThan(3);
    expect(fives[3]).toBeLessThan(1.5);
    // Towards W_max from below.
    expect(r.cwndAfter.slice(0, 22).every((c) => c / MSS <= wMax)).toBe(true);
    expect(r.cwndAfter[20]! / MSS).toBeGreaterThan(wMax * 0.95);
    // Before K on this short path the Reno-friendly estimate overtakes W_cubic: once it passes
    // cwnd_prior it grows by one SMSS a round and cwnd follows it (RFC 9438 4.3).
    for (const x of g.slice(30)) expect(x).toBeCloseTo(1, 0);
  });

  it("a listener's option overrides the engine default for the connections it accepts", async () => {
    const cubic = await run({}, { congestionControl: "cubic" }, 0);
    expect(cubic.algo).toBe("cubic");
    expect(cubic.ssthresh).toBe(Math.floor(cubic.flight * 0.7));
    const reno = await run({ congestionControl: "cubic" }, { congestionControl: "newreno" }, 0);
    expect(reno.algo).toBe("newreno");
    expect(reno.ssthresh).toBe(Math.floor(reno.flight / 2));
  });

  it("an open connection keeps the congestion control it started with (EINVAL)", async () => {
    const s = await open({}, {});
    expect(() => s.engine.setOptions(s.id, { congestionControl: "cubic" })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(s.engine.status(s.id).congestionControl).toBe("newreno");
  });
});
