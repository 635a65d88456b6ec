// RTO estimation (RFC 6298, assembly/engine/rtt.ts) and NewReno window arithmetic (RFC 5681, 6582,
// 6928; assembly/engine/congestion.ts), against the RFCs' formulas written out in plain TypeScript.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadPrimitives } from "../fixtures/prim-harness.js";

const MS = 1000n;

describe("RTT and RTO (RFC 6298)", () => {
  it("first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR), clamped (2.2, 2.4)", async () => {
    const p = await loadPrimitives();
    const r = p.tRttNew();
    p.tRttInit(r, 1000n * MS, 200n * MS, 120_000n * MS);
    expect(p.tRttRto(r)).toBe(1000n * MS); // 2.1: the initial 1 s
    p.tRttSample(r, 100n * MS);
    expect(p.tRttSrtt(r)).toBe(100n * MS);
    expect(p.tRttVar(r)).toBe(50n * MS);
    expect(p.tRttRto(r)).toBe(300n * MS);
    // A tiny RTT is held at the minimum.
    p.tRttInit(r, 1000n * MS, 200n * MS, 120_000n * MS);
    p.tRttSample(r, 1n * MS);
    expect(p.tRttRto(r)).toBe(200n * MS);
    // G matters when RTTVAR is tiny: 4*RTTVAR = 2 us < G = 1 ms.
    p.tRttInit(r, 1000n * MS, 0n, 120_000n * MS);
    p.tRttSample(r, 1n);
    expect(p.tRttRto(r)).toBe(1n + 1000n);
    p.tRttSetGranularity(r, 10n);
    p.tRttSample(r, 1n);
    expect(p.tRttRto(r)).toBe(1n + 10n);
  });

  it("later samples follow 2.3 in order, and backoff doubles up to the maximum (5.5)", async () => {
    const p = await loadPrimitives();
    const r = p.tRttNew();
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 5000n * MS }), fc.bigInt({ min: 5000n * MS, max: 200_000n * MS }),
        fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 3000n * MS }), fc.constant(-1n)), { maxLength: 60, size: "max" }),
        async (min, max, ops) => {
          p.tRttInit(r, 1000n * MS, min, max);
          const clamp = (x: bigint) => (x < min ? min : x > max ? max : x);
          let srtt = 0n, rttvar = 0n, rto = clamp(1000n * MS), has = false, backoffs = 0;
          for (const sample of ops) {
            if (sample < 0n) {
              p.tRttBackoff(r);
              rto = clamp(rto * 2n > max ? max : rto * 2n);
              backoffs++;
            } else {
              p.tRttSample(r, sample);
              if (!has) {
                srtt = sample;
                rttvar = sample / 2n;
                has = true;
              } else {
                const d = srtt > sample ? srtt - sample : sample - srtt;
                rttvar = (3n * rttvar + d) / 4n;
                srtt = (7n * srtt + sample) / 8n;
              }
              const v = 4n * rttvar;
              rto = clamp(srtt + (v > 1000n ? v : 1000n));
              backoffs = 0;
            }
            expect(p.tRttSrtt(r)).toBe(srtt);
            expect(p.tRttVar(r)).toBe(rttvar);
            expect(p.tRttRto(r)).toBe(rto);
            expect(p.tRttBackoffCount(r)).toBe(backoffs);
          }
        }),
      { numRuns: 300 },
    );
  });

  it("backs off 1, 2, 4, ... 64 s then stays at a 60 s maximum", async () => {
    const p = await loadPrimitives();
    const r = p.tRttNew();
    p.tRttInit(r, 1000n * MS, 1000n * MS, 60_000n * MS);
    const seen: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(p.tRttRto(r) / MS);
      p.tRttBackoff(r);
    }
    expect(seen).toEqual([1000n, 2000n, 4000n, 8000n, 16000n, 32000n, 60000n, 60000n]);
  });
});

describe("NewReno (RFC 5681, 6582, 6928)", () => {
  it("initial window is min(10*MSS, max(2*MSS, 14600))", async () => {
    const p = await loadPrimitives();
    for (const [mss, iw] of [[1460, 14600], [536, 5360], [1200, 12000], [8960, 17920], [65495, 130990], [48, 480]]) {
      expect(p.tCcInitialWindow(mss)).toBe(iw);
      const c = p.tCcNew();
      p.tCcInit(c, 0, mss);
      expect(p.tCcCwnd(c)).toBe(iw);
      expect(p.tCcSsthresh(c) >>> 0).toBe(0xffffffff);
    }
  });

  it("slow start with ABC L=2, then one SMSS per window acknowledged", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    p.tCcInit(c, 0, 1000);
    expect(p.tCcCwnd(c)).toBe(10000);
    p.tCcOnAck(c, 5000, 10000); // a stretch ACK grows by at most 2*SMSS
    expect(p.tCcCwnd(c)).toBe(12000);
    p.tCcOnAck(c, 1000, 12000);
    expect(p.tCcCwnd(c)).toBe(13000);
    p.tCcOnAck(c, 1000, 2000); // application-limited (flight < cwnd/2): no growth
    expect(p.tCcCwnd(c)).toBe(13000);
    p.tCcSetCwnd(c, 20000, 20000); // congestion avoidance
    for (let i = 0; i < 19; i++) p.tCcOnAck(c, 1000, 20000);
    expect(p.tCcCwnd(c)).toBe(20000);
    p.tCcOnAck(c, 1000, 20000);
    expect(p.tCcCwnd(c)).toBe(21000);
    p.tCcOnAck(c, 100000, 21000); // never more than one SMSS per ACK in avoidance
    expect(p.tCcCwnd(c)).toBe(22000);
    p.tCcOnAck(c, 1000, 10000); // flight far below cwnd: not cwnd-limited
    expect(p.tCcCwnd(c)).toBe(22000);
  });

  it("slow start stops at ssthresh", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    p.tCcInit(c, 0, 1000);
    p.tCcSetCwnd(c, 9500, 10000);
    p.tCcOnAck(c, 2000, 9500);
    expect(p.tCcCwnd(c)).toBe(10000);
  });

  it("fast recovery: enter, inflate, partial-ACK deflation, full-ACK exit (RFC 6582 3.2)", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    p.tCcInit(c, 0, 1000);
    p.tCcSetCwnd(c, 20000, 0xffffffff);
    p.tCcOnEnterRecovery(c, 20000, 5000);
    expect(p.tCcSsthresh(c)).toBe(10000); // FlightSize / 2
    expect(p.tCcCwnd(c)).toBe(13000); // + 3 SMSS
    expect(p.tCcInRecovery(c)).toBe(1);
    expect(p.tCcRecover(c)).toBe(5000);
    p.tCcOnAck(c, 1000, 20000); // ordinary growth is off during recovery
    expect(p.tCcCwnd(c)).toBe(13000);
    p.tCcOnDupAckInRecovery(c);
    p.tCcOnDupAckInRecovery(c);
    expect(p.tCcCwnd(c)).toBe(15000);
    p.tCcOnPartialAck(c, 3000); // deflate by 3000, add back one SMSS
    expect(p.tCcCwnd(c)).toBe(13000);
    p.tCcOnPartialAck(c, 500); // less than SMSS: no add-back
    expect(p.tCcCwnd(c)).toBe(12500);
    expect(p.tCcIsFullAck(c, 4999)).toBe(0);
    expect(p.tCcIsFullAck(c, 5000)).toBe(1);
    p.tCcOnExitRecovery(c, 4000); // min(ssthresh, max(flight, SMSS) + SMSS)
    expect(p.tCcCwnd(c)).toBe(5000);
    expect(p.tCcInRecovery(c)).toBe(0);
    p.tCcOnEnterRecovery(c, 30000, 0xfffffff0);
    p.tCcOnExitRecovery(c, 30000);
    expect(p.tCcCwnd(c)).toBe(15000); // capped at ssthresh
    expect(p.tCcIsFullAck(c, 0x10)).toBe(1); // modulo 2^32
  });

  it("small flights keep ssthresh at 2*SMSS; RTO collapses to one SMSS; idle restart to IW", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    p.tCcInit(c, 0, 1460);
    p.tCcOnEnterRecovery(c, 1000, 1);
    expect(p.tCcSsthresh(c)).toBe(2920);
    expect(p.tCcCwnd(c)).toBe(2920 + 3 * 1460);
    p.tCcOnRto(c, 100000);
    expect(p.tCcSsthresh(c)).toBe(50000);
    expect(p.tCcCwnd(c)).toBe(1460);
    expect(p.tCcInRecovery(c)).toBe(0);
    p.tCcOnPartialAck(c, 100000); // ignored outside recovery
    expect(p.tCcCwnd(c)).toBe(1460);
    p.tCcSetCwnd(c, 100000, 50000);
    p.tCcOnIdleRestart(c);
    expect(p.tCcCwnd(c)).toBe(14600);
    p.tCcSetCwnd(c, 4000, 50000);
    p.tCcOnIdleRestart(c);
    expect(p.tCcCwnd(c)).toBe(4000); // min(RW, cwnd)
  });

  it("never leaves [SMSS, 2^30] over random event sequences", async () => {
    const p = await loadPrimitives();
    const c = p.tCcNew();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 48, max: 65495 }), fc.array(fc.tuple(fc.nat(6), fc.nat(0xffffffff)), { maxLength: 200, size: "max" }),
        async (mss, ops) => {
          p.tCcInit(c, 0, mss);
          for (const [op, n] of ops) {
            if (op === 0) p.tCcOnAck(c, n, n);
            else if (op === 1) p.tCcOnEnterRecovery(c, n, n);
            else if (op === 2) p.tCcOnDupAckInRecovery(c);
            else if (op === 3) p.tCcOnPartialAck(c, n);
            else if (op === 4) p.tCcOnExitRecovery(c, n);
            else if (op === 5) p.tCcOnRto(c, n);
            else p.tCcOnIdleRestart(c);
            const cwnd = p.tCcCwnd(c) >>> 0;
            expect(cwnd).toBeGreaterThanOrEqual(mss);
            expect(cwnd).toBeLessThanOrEqual(2 ** 30);
            expect(p.tCcSsthresh(c) >>> 0).toBeGreaterThanOrEqual(2 * mss);
          }
        }),
      { numRuns: 300 },
    );
  });
});
