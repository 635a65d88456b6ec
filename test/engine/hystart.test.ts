// HyStart++ (RFC 9406, assembly/engine/hystart.ts) in the first slow start, driven ACK by ACK.
//
// The peer acknowledges every segment on its own and echoes a TSecr chosen so that each ACK's RTT
// sample (RFC 7323 4.1) is the round trip the script gives the round, in whole milliseconds. The
// script keeps HyStart++'s rounds as the RFC defines them (4.2): a round ends with the ACK that covers
// SND.NXT as it was when the round began; the ACK that ends one is its last sample. Pacing is off so
// that every ACK's output leaves at once. Each ACK acknowledges one 1448-octet segment (1460 less the timestamps option), so slow start
// adds 1448 octets to cwnd (RFC 5681 eq. 2), Conservative Slow Start 1448 / 4 = 362
// (CSS_GROWTH_DIVISOR), and congestion avoidance shows as ssthresh leaving its initial value.
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../../src/core/settings.js";
import { establishedWithOptions, ACK, type Script } from "../fixtures/engine-script.js";

/** 1460 less the 12 octets of the timestamps option (RFC 7323 3.2, RFC 9293 3.7.1). */
const MSS = 1448;
const SSTHRESH_INITIAL = 2 ** 32 - 1;
const CONFIG: EngineConfig = {
  timestamps: true,
  windowScaling: true,
  pacing: false,
  sendBuffer: 4 << 20,
  sendBufferMax: 4 << 20,
};

/** What one round did: its cwnd growths per ACK and ssthresh after it. */
interface Round {
  growth: number[];
  ssthresh: number;
}

/**
 * Runs `rtts.length` rounds, round k's ACKs carrying RTT samples of rtts[k] ms; returns each round's
 * per-ACK cwnd growth and the ssthresh at its end. `stalls[k] = n`: in round k the host takes the
 * engine's output after its first n ACKs only, and again from the next round's first ACK on (a sender
 * that waits for a CPU while ACKs arrive: its flight falls, then the window leaves at once).
 */
async function run(rtts: number[], config: EngineConfig = {}, stalls: Record<number, number> = {}): Promise<Round[]> {
  const s: Script = await establishedWithOptions({ ...CONFIG, ...config }, { wscale: 7, tsVal: 1 });
  s.now = 1000;
  expect(s.engine.send(s.id, new Uint8Array(4 << 20).fill(0x68), s.now)).toBe(4 << 20);
  const flight: Array<{ end: number; tsVal: number }> = [];
  let sentEnd = s.l(1);
  let tsOffset = 0;
  const pull = () => {
    for (const seg of s.drain()) {
      expect(seg.payload.length).toBe(MSS);
      tsOffset = seg.timestamps!.value - s.now;
      sentEnd = (seg.seq + MSS) >>> 0;
      flight.push({ end: sentEnd, tsVal: seg.timestamps!.value });
    }
  };
  pull();
  expect(flight.length).toBe(10); // RFC 6928 initial window
  let peerTs = 2;
  const rounds: Round[] = [];
  // The first ACK opens the first round; the ACK that ends one opens the next before its own output.
  let roundEnd = sentEnd;
  for (const [k, rtt] of rtts.entries()) {
    const growth: number[] = [];
    let acks = 0;
    for (;;) {
      const seg = flight.shift()!;
      s.now += 1;
      const before = s.engine.status(s.id).cwnd;
      s.send({ flags: ACK, seq: s.r(1), ack: seg.end, window: 65535, timestamps: { value: peerTs++, echo: (s.now + tsOffset - rtt) >>> 0 } });
      expect(s.engine.status(s.id).srttMs).toBeGreaterThan(0);
      growth.push(s.engine.status(s.id).cwnd - before);
      const ended = seg.end === roundEnd;
      if (ended) roundEnd = sentEnd;
      acks++;
      if (stalls[k] === undefined || acks <= stalls[k] || ended) pull();
      if (ended) break;
    }
    rounds.push({ growth, ssthresh: s.engine.status(s.id).ssthresh });
  }
  expect(s.engine.counters().retransmits).toBe(0);
  return rounds;
}

/** The growths of a round, as "n x growth" runs. */
function runs(r: Round): string[] {
  const out: string[] = [];
  let n = 0;
  for (let i = 0; i < r.growth.length; i++) {
    n++;
    if (i + 1 === r.growth.length || r.growth[i + 1] !== r.growth[i]) {
      out.push(`${n}x${r.growth[i]}`);
      n = 0;
    }
  }
  return out;
}

describe("HyStart++ in the first slow start (RFC 9406)", () => {
  it("a flat RTT changes nothing: every ACK adds an SMSS, ssthresh stays at its initial value", async () => {
    const rounds = await run([10, 10, 10, 10, 10, 10, 10]);
    // Ten ACKs of the initial window (RFC 6928); the first nine's output makes the second round.
    expect(rounds.map(runs)).toEqual([10, 18, 36, 72, 144, 288, 576].map((n) => [`${n}x${MSS}`]));
    expect(rounds.every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
  });

  it("a round whose minimum RTT rises by RttThresh leaves slow start for CSS at its N_RTT_SAMPLE-th sample", async () => {
    // Rounds of 10 ms, then 20 ms: 20 >= 10 + max(10 / 8, 4) ms.
    const rounds = await run([10, 10, 10, 20, 20]);
    expect(rounds.slice(0, 3).map(runs)).toEqual([[`10x${MSS}`], [`18x${MSS}`], [`36x${MSS}`]]);
    // The 8th sample of the fourth round ends slow start: that ACK already grows by a quarter.
    expect(runs(rounds[3])).toEqual([`7x${MSS}`, `65x${MSS / 4}`]);
    expect(rounds[3].ssthresh).toBe(SSTHRESH_INITIAL);
    expect(rounds[4].growth.every((g) => g === MSS / 4)).toBe(true);
  });

  it("a rise smaller than RttThresh (4 ms at least) stays in slow start", async () => {
    const rounds = await run([10, 10, 10, 13, 13]);
    expect(rounds.every((r) => r.growth.every((g) => g === MSS))).toBe(true);
  });

  it("CSS returns to slow start when a round's minimum RTT falls below the CSS baseline", async () => {
    const rounds = await run([10, 10, 10, 20, 12, 12]);
    expect(runs(rounds[3])).toEqual([`7x${MSS}`, `65x${MSS / 4}`]);
    // Eight samples of 12 ms < 20 ms: the 8th ACK grows by an SMSS again; 12 ms is no rise over the
    // last round's 12 either.
    expect(runs(rounds[4])).toEqual([`7x${MSS / 4}`, `89x${MSS}`]);
    expect(rounds[5].growth.every((g) => g === MSS)).toBe(true);
    expect(rounds.every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
  });

  it("a lower minimum after the sender fell behind its flight is no evidence: CSS holds and ends in avoidance", async () => {
    // CSS begins at the fourth round's 8th ACK (20 ms >= 10 + 4); the host then takes no output for
    // the rest of that round, so the flight falls below what the round's first ACKs found. The next
    // rounds' 12 ms, below the 20 ms baseline, come from the queue that drained meanwhile.
    const stalled = await run([10, 10, 10, 20, 12, 12, 12, 12, 12], {}, { 3: 8 });
    // A quarter of an SMSS per ACK while the flight is at least half of cwnd, then nothing (congestion.ts
    // grows only a window that limits the sender).
    expect(runs(stalled[3])).toEqual([`7x${MSS}`, `37x${MSS / 4}`, `28x0`]);
    // No return to slow start: the window leaves at the next round's first ACK, every later ACK grows
    // it by a quarter, and the fifth round end in CSS (the fourth round's and four more) sets
    // ssthresh = cwnd.
    expect(stalled.slice(4, 8).map(runs)).toEqual([[`17x${MSS / 4}`], [`93x${MSS / 4}`], [`116x${MSS / 4}`], [`144x${MSS / 4}`, "1x0"]]);
    expect(stalled.slice(0, 7).every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
    const grown = stalled.slice(0, 8).reduce((a, r) => a + r.growth.reduce((x, y) => x + y, 0), 0);
    expect(stalled[7].ssthresh).toBe(10 * MSS + grown);
    // The same round trips with the host keeping up: the 12 ms rounds carry as much as the baseline's
    // did, so the rise was jitter and slow start resumes (RFC 9406 4.2), as above.
    const kept = await run([10, 10, 10, 20, 12, 12]);
    expect(runs(kept[4])).toEqual([`7x${MSS / 4}`, `89x${MSS}`]);
    expect(kept.every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
  });

  it("CSS ends in congestion avoidance after CSS_ROUNDS rounds: ssthresh = cwnd", async () => {
    const rounds = await run([10, 10, 10, 20, 20, 20, 20, 20, 20]);
    // CSS began in the fourth round; the end of that and of the next four is five rounds, each a
    // quarter of slow start's growth (1.25 times the last).
    expect(rounds.slice(3, 8).map(runs)).toEqual([[`7x${MSS}`, `65x${MSS / 4}`], [`96x${MSS / 4}`], [`120x${MSS / 4}`], [`150x${MSS / 4}`], [`186x${MSS / 4}`, "1x0"]]);
    expect(rounds.slice(0, 7).every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
    const grown = rounds.slice(0, 8).reduce((a, r) => a + r.growth.reduce((x, y) => x + y, 0), 0);
    expect(rounds[7].ssthresh).toBe(10 * MSS + grown);
    // Avoidance from there on: one SMSS per cwnd of data acknowledged (RFC 5681 3.1), and a round
    // acknowledges a little less than that.
    expect(rounds[8].growth.length * MSS).toBeLessThan(rounds[7].ssthresh);
    expect(rounds[8].growth.every((g) => g === 0)).toBe(true);
  });

  it("off (hystart: false): the same rising RTT leaves slow start alone", async () => {
    const rounds = await run([10, 10, 10, 20, 20, 20], { hystart: false });
    expect(rounds.every((r) => r.growth.every((g) => g === MSS))).toBe(true);
    expect(rounds.every((r) => r.ssthresh === SSTHRESH_INITIAL)).toBe(true);
  });
});
