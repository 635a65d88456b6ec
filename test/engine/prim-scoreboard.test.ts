// The sender's scoreboard (assembly/engine/scoreboard.ts: RFC 6675's SACK state with RFC 8985's
// per-transmission times) against an octet-by-octet model: each octet knows when it was last sent,
// whether it was retransmitted, SACKed or marked lost. While the list has room the records must match
// the model exactly; once it is full they may only err on the safe side (never claim a SACK or a
// loss the model lacks, always bracket each octet's send time).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dv, loadPrimitives, type Prim } from "../fixtures/prim-harness.js";

const u32 = (x: number) => x >>> 0;
const MAX_RECORDS = 64;
const SACKED = 1;
const LOST = 2;
const RTX = 4;

interface Octet {
  ts: number;
  rtx: boolean;
  sacked: boolean;
  lost: boolean;
  /** False once SACKed runs sent at different times were merged and then forgotten: bracketed only. */
  tsExact: boolean;
}

function writeBlocks(p: Prim, at: number, blocks: Array<[number, number]>, base: number) {
  const d = dv(p);
  blocks.forEach(([l, r], i) => {
    d.setUint32(at + 8 * i, u32(base + l), true);
    d.setUint32(at + 8 * i + 4, u32(base + r), true);
  });
}

type Op =
  | { kind: "send"; len: number; tick: number }
  | { kind: "rtx"; at: number; len: number; tick: number }
  | { kind: "ack"; advance: number; blocks: Array<[number, number]> }
  | { kind: "lose"; pick: number }
  | { kind: "forget" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("send" as const), len: fc.integer({ min: 1, max: 40 }), tick: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rtx" as const), at: fc.nat(1000), len: fc.integer({ min: 1, max: 40 }), tick: fc.nat(3) }) },
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant("ack" as const),
    advance: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(60) }),
    blocks: fc.array(fc.tuple(fc.integer({ min: -20, max: 400 }), fc.integer({ min: 0, max: 60 })).map(([l, n]) => [l, l + n] as [number, number]), { maxLength: 5 }),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("lose" as const), pick: fc.nat(100) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "forget" as const }) },
);

describe("sender scoreboard (RFC 6675, RFC 8985 5.2)", () => {
  it("matches the octet model: transmissions, cumulative and selective ACKs, loss marks, over wrapping sequence numbers", async () => {
    const p = await loadPrimitives();
    const buf = p.tPoolAlloc(64);
    let runsFull = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(opArb, { maxLength: 60 }), fc.boolean(), async (base, clock0, ops, dense) => {
        const sb = p.tSbNew();
        const model: Octet[] = [];
        let una = 0;
        let max = 0;
        let clock = clock0;
        let exact = true;
        const rec = (i: number) => ({
          start: u32(p.tSbStart(sb, i) - base), end: u32(p.tSbEnd(sb, i) - base),
          tsFirst: p.tSbTsFirst(sb, i) >>> 0, tsLast: p.tSbTsLast(sb, i) >>> 0, flags: p.tSbFlags(sb, i),
        });
        // Wrapping time order, as the scoreboard compares transmit times.
        const tsLe = (a: number, b: number) => ((b - a) | 0) >= 0;
        for (const op of ops) {
          // One call cuts at most 8 new records (4 blocks, two edges each): near the bound a merge
          // may follow, and from then on only the safe-side checks hold.
          const nearFull = () => {
            if (p.tSbCount(sb) > MAX_RECORDS - 9) exact = false;
          };
          nearFull();
          let newlyDelivered = new Set<number>();
          let gained = -1;
          let modelGained = 0;
          if (op.kind === "send") {
            // Dense runs send in small pieces at distinct times, so the list reaches its bound.
            for (let k = 0; k < (dense ? 16 : 1); k++) {
              const len = dense ? 2 : op.len;
              clock = u32(clock + (dense ? 1 : op.tick));
              nearFull();
              p.tSbSent(sb, u32(base + max), u32(base + max + len), clock);
              for (let o = max; o < max + len; o++) model[o] = { ts: clock, rtx: false, sacked: false, lost: false, tsExact: true };
              max += len;
            }
          } else if (op.kind === "rtx") {
            if (max === una) continue;
            clock = u32(clock + op.tick);
            const s = una + (op.at % (max - una));
            const e = Math.min(max, s + op.len);
            p.tSbSent(sb, u32(base + s), u32(base + e), clock);
            for (let o = s; o < e; o++) Object.assign(model[o], { ts: clock, rtx: true, lost: false, tsExact: true });
          } else if (op.kind === "ack") {
            const newUna = Math.min(max, una + op.advance);
            writeBlocks(p, buf, op.blocks, base);
            gained = p.tSbUpdate(sb, u32(base + newUna), u32(base + max), buf, op.blocks.length);
            for (let o = una; o < newUna; o++) if (!model[o].sacked) newlyDelivered.add(o);
            una = newUna;
            for (const [l0, r] of op.blocks.slice(0, 4)) {
              if (!(l0 < r) || r > max || r <= una) continue;
              for (let o = Math.max(l0, una); o < r; o++) {
                if (model[o].sacked) continue;
                model[o].sacked = true;
                model[o].lost = false;
                newlyDelivered.add(o);
                modelGained++;
              }
            }
          } else if (op.kind === "lose") {
            const n = p.tSbCount(sb);
            if (n === 0) continue;
            const i = op.pick % n;
            const r = rec(i);
            if (r.flags & (SACKED | LOST)) continue;
            p.tSbMarkLost(sb, i);
            for (let o = r.start; o < r.end; o++) if (!model[o].sacked) model[o].lost = true;
          } else {
            p.tSbForgetSacks(sb);
            for (let o = una; o < max; o++) Object.assign(model[o], { sacked: false, lost: false, tsExact: model[o].tsExact && !model[o].sacked });
          }

          // The records: sorted, contiguous, covering [SND.UNA, SND.MAX).
          const n = p.tSbCount(sb);
          expect(n).toBeLessThanOrEqual(MAX_RECORDS);
          let sacked = 0;
          let lost = 0;
          let rtxRecords = 0;
          let at = una;
          for (let i = 0; i < n; i++) {
            const r = rec(i);
            expect(r.start).toBe(at);
            expect(r.end).toBeGreaterThan(r.start);
            at = r.end;
            if (r.flags & SACKED) sacked += r.end - r.start;
            if (r.flags & LOST) lost += r.end - r.start;
            if (r.flags & RTX) rtxRecords++;
            expect(r.flags & (SACKED | LOST)).not.toBe(SACKED | LOST);
            for (let o = r.start; o < r.end; o++) {
              const m = model[o];
              // Safe side always: a SACK or loss mark the model lacks is never claimed, and the
              // octet was last sent between the record's two times.
              if (r.flags & SACKED) expect(m.sacked).toBe(true);
              if (r.flags & LOST) expect(m.lost).toBe(true);
              expect(tsLe(r.tsFirst, m.ts) && tsLe(m.ts, r.tsLast)).toBe(true);
              if (exact) {
                expect(!!(r.flags & SACKED)).toBe(m.sacked);
                expect(!!(r.flags & LOST)).toBe(m.lost);
                if (!m.sacked) expect(!!(r.flags & RTX)).toBe(m.rtx);
                if (!m.sacked && m.tsExact) expect([r.tsFirst, r.tsLast]).toEqual([m.ts, m.ts]);
              }
            }
          }
          if (n > 0) expect(at).toBe(max);
          expect(p.tSbSackedBytes(sb)).toBe(sacked);
          expect(p.tSbLostBytes(sb)).toBe(lost);
          expect(p.tSbRtxRecords(sb)).toBe(rtxRecords);
          expect(p.tSbPipe(sb, u32(base + una), u32(base + max))).toBe(max - una - sacked - lost);
          // NextSeg rule 1: the first run marked lost, at most 10 octets of it.
          const firstLost = Array.from({ length: n }, (_, i) => rec(i)).find((r) => r.flags & LOST);
          const ok = p.tSbNextLost(sb, 10, buf + 48);
          expect(ok ? [u32(dv(p).getUint32(buf + 48, true) - base), dv(p).getUint32(buf + 52, true)] : null)
            .toEqual(firstLost ? [firstLost.start, Math.min(10, firstLost.end - firstLost.start)] : null);
          if (gained >= 0) {
            // The runs newly delivered: exactly the model's while the list has room, a subset after.
            const got = new Set<number>();
            for (let k = 0; k < p.tSbDeliveredCount(); k++) {
              const end = u32(p.tSbDeliveredEnd(k) - base);
              const ts = p.tSbDeliveredTs(k) >>> 0;
              // Runs are listed whole: the end is a run boundary; every octet of it was newly delivered.
              let o = end - 1;
              while (newlyDelivered.has(o) && !got.has(o) && tsLe(ts, model[o].ts)) {
                got.add(o);
                o--;
              }
              expect(got.has(end - 1)).toBe(true);
            }
            for (const o of got) expect(newlyDelivered.has(o)).toBe(true);
            if (exact) {
              expect(got.size).toBe(newlyDelivered.size);
              expect(gained).toBe(modelGained);
            } else {
              expect(gained).toBeLessThanOrEqual(modelGained);
            }
          }
        }
        if (!exact) runsFull++;
        p.tSbFree(sb);
      }),
      { numRuns: 300 },
    );
    expect(runsFull).toBeGreaterThan(0); // the generator does reach the bound
    p.tPoolFree(buf, 64);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("RFC 6675 in a picture: 10 segments sent at once, the first lost, three SACKed above it", async () => {
    const p = await loadPrimitives();
    const sb = p.tSbNew();
    const buf = p.tPoolAlloc(64);
    // One burst is one record; SND.UNA = 0, SND.MAX = 10000.
    for (let i = 0; i < 10; i++) p.tSbSent(sb, i * 1000, (i + 1) * 1000, 500);
    expect(p.tSbCount(sb)).toBe(1);
    writeBlocks(p, buf, [[1000, 4000]], 0);
    expect(p.tSbUpdate(sb, 0, 10000, buf, 1)).toBe(3000);
    // The SACK cut the burst in three: [0, 1000) waiting, [1000, 4000) SACKed, [4000, 10000) in flight.
    expect([p.tSbCount(sb), p.tSbFlags(sb, 1), p.tSbDeliveredCount(), p.tSbDeliveredEnd(0), p.tSbDeliveredTs(0)]).toEqual([3, SACKED, 1, 4000, 500]);
    expect(p.tSbPipe(sb, 0, 10000)).toBe(7000);
    // RACK marks the first run lost: out of pipe, first for NextSeg.
    p.tSbMarkLost(sb, 0);
    expect(p.tSbPipe(sb, 0, 10000)).toBe(6000);
    expect(p.tSbNextLost(sb, 1000, buf + 32)).toBe(1);
    expect([dv(p).getUint32(buf + 32, true), dv(p).getUint32(buf + 36, true)]).toEqual([0, 1000]);
    // Retransmitted at 800: in pipe again, RETRANSMITTED, with the new time.
    p.tSbSent(sb, 0, 1000, 800);
    expect([p.tSbFlags(sb, 0), p.tSbTsFirst(sb, 0), p.tSbTsLast(sb, 0), p.tSbPipe(sb, 0, 10000)]).toEqual([RTX, 800, 800, 7000]);
    expect(p.tSbNextLost(sb, 1000, buf + 32)).toBe(0);
    // The cumulative ACK covers the retransmission and the SACKed run: only [0, 1000) is new.
    expect(p.tSbUpdate(sb, 4000, 10000, buf, 0)).toBe(0);
    expect([p.tSbDeliveredCount(), p.tSbDeliveredEnd(0), p.tSbDeliveredTs(0), p.tSbDeliveredFlags(0)]).toEqual([1, 1000, 800, RTX]);
    expect([p.tSbCount(sb), p.tSbSackedBytes(sb), p.tSbRtxRecords(sb)]).toEqual([1, 0, 0]);
    p.tSbFree(sb);
    p.tPoolFree(buf, 64);
  });

  it("ignores D-SACK, stale and impossible blocks, reads at most 4 blocks, holds at most 64 records", async () => {
    const p = await loadPrimitives();
    const sb = p.tSbNew();
    const buf = p.tPoolAlloc(8 * 64);
    expect(p.tSbStorage(sb)).toBe(0);
    p.tSbSent(sb, 1000, 10000, 1);
    expect(p.tSbStorage(sb)).not.toBe(0);
    writeBlocks(p, buf, [[500, 900], [2000, 2100], [3000, 2990], [9000, 11000]], 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 4)).toBe(100);
    writeBlocks(p, buf, [[900, 1100]], 0); // straddles SND.UNA: clipped
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 1)).toBe(100);
    expect(p.tSbIsSacked(sb, 1000, 1100)).toBe(1);
    // A peer sending 64 blocks in one ACK: only 4 are read.
    writeBlocks(p, buf, Array.from({ length: 64 }, (_, i) => [3000 + 20 * i, 3010 + 20 * i] as [number, number]), 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 64)).toBe(40);
    // Many one-octet SACKs cut the list to its bound; past it a cut that finds no room is ignored.
    for (let round = 0; round < 40; round++) {
      writeBlocks(p, buf, Array.from({ length: 4 }, (_, i) => [5000 + 10 * (4 * round + i), 5001 + 10 * (4 * round + i)] as [number, number]), 0);
      p.tSbUpdate(sb, 1000, 10000, buf, 4);
    }
    expect(p.tSbCount(sb)).toBe(64);
    const sacked = p.tSbSackedBytes(sb);
    expect(sacked).toBeLessThan(100 + 100 + 40 + 160);
    // New data at a new time with the list full: the last record grows, its times bracketing both.
    p.tSbSent(sb, 10000, 11000, 9);
    expect(p.tSbCount(sb)).toBe(64);
    expect([p.tSbEnd(sb, 63), p.tSbTsFirst(sb, 63), p.tSbTsLast(sb, 63)]).toEqual([11000, 1, 9]);
    p.tSbClear(sb);
    expect([p.tSbCount(sb), p.tSbSackedBytes(sb), p.tSbLostBytes(sb)]).toEqual([0, 0, 0]);
    p.tSbFree(sb);
    p.tPoolFree(buf, 8 * 64);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });
});
