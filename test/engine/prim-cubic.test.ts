// CUBIC (RFC 9438) behind the congestion interface (assembly/engine/congestion.ts, CcAlgo.Cubic):
// the RFC's equations evaluated in plain TypeScript, and the window they imply under an ACK clock.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadPrimitives, type Prim } from "../fixtures/prim-harness.js";

const CUBIC = 1;
const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);
const MSS = 1000;

function cubic(p: Prim, cwnd: number, ssthresh: number): number {
  const c = p.tCcNew();
  p.tCcInit(c, CUBIC, MSS);
  p.tCcSetCwnd(c, cwnd, ssthresh);
  return c;
}

// One RTT of ACK clocking: a full window in flight, acknowledged one SMSS per ACK over the RTT; the
// sender refills the window as it opens, so the flight before each ACK is the current cwnd.
function oneRtt(p: Prim, c: number, startUs: bigint, rttUs: bigint): bigint {
  const acks = Math.max(1, Math.floor(p.tCcCwnd(c) / MSS));
  for (let i = 0; i < acks; i++) {
    p.tCcOnAckAt(c, MSS, p.tCcCwnd(c), startUs + (rttUs * BigInt(i)) / BigInt(acks), rttUs);
  }
  return startUs + rttUs;
}

describe("CUBIC (RFC 9438)", () => {
  it("multiplicative decrease with beta = 0.7 and fast convergence (4.6, 4.7)", async () => {
    const p = await loadPrimitives();
    const c = cubic(p, 100 * MSS, 0xffffffff);
    p.tCcOnEnterRecovery(c, 100 * MSS, 12345);
    expect(p.tCcSsthresh(c)).toBe(70 * MSS); // FlightSize * beta_cubic
    expect(p.tCcCwnd(c)).toBe(73 * MSS); // recovery inflation as NewReno's
    expect(p.tCubicWmax(c)).toBe(100);
    expect(p.tCubicCwndPrior(c)).toBe(100);
    p.tCcOnExitRecovery(c, 70 * MSS);
    expect(p.tCcCwnd(c)).toBe(70 * MSS);
    // A second loss below the previous W_max: W_max = cwnd * (1 + beta) / 2.
    p.tCcSetCwnd(c, 80 * MSS, 70 * MSS);
    p.tCcOnEnterRecovery(c, 80 * MSS, 1);
    expect(p.tCubicWmax(c)).toBeCloseTo(80 * (1 + BETA) / 2, 12);
    expect(p.tCcSsthresh(c)).toBe(56 * MSS);
    // Small flights keep ssthresh at 2 SMSS.
    p.tCcOnEnterRecovery(c, 1500, 1);
    expect(p.tCcSsthresh(c)).toBe(2 * MSS);
  });

  it("K = cubic_root((W_max - cwnd_epoch) / C) and W_cubic(t) = C (t - K)^3 + W_max (4.2)", async () => {
    const p = await loadPrimitives();
    const c = cubic(p, 100 * MSS, 0xffffffff);
    p.tCcOnEnterRecovery(c, 100 * MSS, 1);
    p.tCcOnExitRecovery(c, 100 * MSS);
    expect(p.tCcCwnd(c)).toBe(70 * MSS);
    p.tCcOnAckAt(c, MSS, 70 * MSS, 5_000_000n, 100_000n); // the first avoidance ACK starts the epoch
    const K = Math.cbrt((100 - 70) / C);
    expect(p.tCubicK(c)).toBeCloseTo(K, 12);
    for (const t of [0, 1, K, 5, 10]) expect(p.tCubicW(c, t)).toBeCloseTo(C * (t - K) ** 3 + 100, 9);
    expect(p.tCubicW(c, 0)).toBeCloseTo(70, 9); // the curve starts at cwnd_epoch
  });

  it("grows concave up to W_max around t = K, then convex beyond it (4.4, 4.5)", async () => {
    const p = await loadPrimitives();
    // Large RTT so that the Reno-friendly estimate stays below the cubic curve.
    const rtt = 100_000n;
    const c = cubic(p, 1000 * MSS, 0xffffffff);
    p.tCcOnEnterRecovery(c, 1000 * MSS, 1);
    p.tCcOnExitRecovery(c, 1000 * MSS);
    let now = 1_000_000n;
    const epoch = now;
    const K = Math.cbrt((1000 - 700) / C); // about 9.09 s
    const samples: Array<[number, number]> = [];
    while (now - epoch < 14_000_000n) {
      now = oneRtt(p, c, now, rtt);
      samples.push([Number(now - epoch) / 1e6, p.tCcCwnd(c) / MSS]);
    }
    const at = (t: number) => samples.find(([s]) => s >= t)![1];
    // The window tracks W_cubic one RTT ahead, within a couple of segments.
    for (const t of [2, 4, 6, 8, 10, 12]) {
      const w = C * (t - K) ** 3 + 1000;
      expect(Math.abs(at(t) - w)).toBeLessThan(Math.max(3, 0.01 * w));
    }
    expect(Math.abs(at(K) - 1000)).toBeLessThan(3);
    // Concave: growth per second shrinks approaching W_max; convex: it rises again after.
    const rate = (a: number, b: number) => at(b) - at(a);
    expect(rate(1, 3)).toBeGreaterThan(rate(4, 6));
    expect(rate(4, 6)).toBeGreaterThan(rate(7, 9));
    expect(rate(12, 14)).toBeGreaterThan(rate(10, 12));
    // Never more than 1.5x per RTT.
    for (let i = 1; i < samples.length; i++) expect(samples[i][1]).toBeLessThanOrEqual(samples[i - 1][1] * 1.5 + 1);
  });

  it("follows the Reno-friendly estimate when it is ahead of the curve (4.3)", async () => {
    const p = await loadPrimitives();
    const c = cubic(p, 20 * MSS, 0xffffffff);
    p.tCcOnEnterRecovery(c, 20 * MSS, 1);
    p.tCcOnExitRecovery(c, 20 * MSS);
    expect(p.tCcCwnd(c)).toBe(14 * MSS);
    // 1 ms RTT: 200 RTTs take 0.2 s, where W_cubic has hardly moved but Reno would have added
    // about alpha_cubic segments per RTT until W_est reaches cwnd_prior, then one per RTT.
    let now = 0n;
    for (let i = 0; i < 200; i++) now = oneRtt(p, c, now, 1000n);
    const west = p.tCubicWest(c);
    expect(p.tCcCwnd(c) / MSS).toBeCloseTo(west, 2);
    const K = Math.cbrt((20 - 14) / C);
    expect(west).toBeGreaterThan(C * (0.2 - K) ** 3 + 20 + 50);
    // Growth used alpha_cubic below cwnd_prior (20 segments): from 14 to 20 took about 6 / ALPHA RTTs.
    const c2 = cubic(p, 20 * MSS, 0xffffffff);
    p.tCcOnEnterRecovery(c2, 20 * MSS, 1);
    p.tCcOnExitRecovery(c2, 20 * MSS);
    let rtts = 0;
    now = 0n;
    while (p.tCcCwnd(c2) < 20 * MSS) {
      now = oneRtt(p, c2, now, 1000n);
      rtts++;
    }
    expect(rtts).toBeGreaterThanOrEqual(Math.floor(6 / ALPHA) - 1);
    expect(rtts).toBeLessThanOrEqual(Math.ceil(6 / ALPHA) + 2);
  });

  it("after an RTO: one SMSS, slow start to ssthresh, then K = 0 and W_max = cwnd (4.8)", async () => {
    const p = await loadPrimitives();
    const c = cubic(p, 100 * MSS, 0xffffffff);
    p.tCcOnRto(c, 100 * MSS);
    expect(p.tCcCwnd(c)).toBe(MSS);
    expect(p.tCcSsthresh(c)).toBe(70 * MSS);
    let now = 0n;
    while (p.tCcCwnd(c) < 70 * MSS) {
      now += 1000n;
      p.tCcOnAckAt(c, MSS, p.tCcCwnd(c), now, 50_000n); // slow start: one SMSS per ACK
    }
    expect(p.tCcCwnd(c)).toBe(70 * MSS);
    p.tCcOnAckAt(c, MSS, 70 * MSS, now, 50_000n);
    expect(p.tCubicK(c)).toBe(0);
    expect(p.tCubicWmax(c)).toBe(70);
  });

  it("stays within [SMSS, 2^30] and never shrinks on an ACK, over random event sequences", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 48, max: 9000 }), fc.array(fc.tuple(fc.nat(5), fc.nat(0x3fffffff), fc.nat(2_000_000)), { maxLength: 300, size: "max" }),
        async (mss, ops) => {
          p.tCcInit(c, CUBIC, mss);
          let now = 0n;
          for (const [op, n, dt] of ops) {
            now += BigInt(dt);
            const before = p.tCcCwnd(c) >>> 0;
            if (op <= 1) {
              p.tCcOnAckAt(c, n % (4 * mss) + 1, before, now, BigInt(1000 + (n % 500_000)));
              if (!p.tCcInRecovery(c)) expect(p.tCcCwnd(c) >>> 0).toBeGreaterThanOrEqual(before);
            } else if (op === 2) p.tCcOnEnterRecovery(c, n, n);
            else if (op === 3) p.tCcOnExitRecovery(c, n);
            else if (op === 4) p.tCcOnRto(c, n);
            else p.tCcOnIdleRestart(c);
            const cwnd = p.tCcCwnd(c) >>> 0;
            expect(cwnd).toBeGreaterThanOrEqual(mss);
            expect(cwnd).toBeLessThanOrEqual(2 ** 30);
            expect(p.tCcSsthresh(c) >>> 0).toBeGreaterThanOrEqual(2 * mss);
          }
        }),
      { numRuns: 200 },
    );
  });
});
