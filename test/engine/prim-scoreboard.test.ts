// The SACK scoreboard (assembly/engine/scoreboard.ts, RFC 6675) against an octet-by-octet model of
// the RFC's own definitions: the model marks each octet, and IsLost, SetPipe and NextSeg walk octets.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dv, loadPrimitives, type Prim } from "../fixtures/prim-harness.js";

const u32 = (x: number) => x >>> 0;
const MAX_RANGES = 32;

// Octet-level model in offsets from a base; sacked[i] for octet base + i.
class SbModel {
  sacked: boolean[] = [];
  constructor(readonly space: number) {
    this.sacked = new Array(space).fill(false);
  }
  ranges(una: number): Array<[number, number]> {
    const r: Array<[number, number]> = [];
    for (let i = una; i < this.space; i++) {
      if (this.sacked[i] && (i === una || !this.sacked[i - 1])) r.push([i, i]);
      if (this.sacked[i]) r[r.length - 1][1] = i + 1;
    }
    return r;
  }
  isLost(seq: number, una: number, mss: number): boolean {
    const above = this.ranges(una).filter(([s, e]) => e > seq + 1);
    const discontiguous = above.filter(([s]) => s > seq).length;
    const octets = above.reduce((a, [s, e]) => a + e - Math.max(s, seq + 1), 0);
    return discontiguous >= 3 || octets > 2 * mss;
  }
  pipe(una: number, nxt: number, highRxt: number, mss: number): number {
    let pipe = 0;
    for (let o = una; o < nxt; o++) {
      if (this.sacked[o]) continue;
      if (!this.isLost(o, una, mss)) pipe++;
      if (o < highRxt) pipe++;
    }
    return pipe;
  }
  nextSeg(una: number, highRxt: number, mss: number, lost: boolean): [number, number] | null {
    const r = this.ranges(una);
    if (r.length === 0) return null;
    const highSack = r[r.length - 1][1];
    for (let o = Math.max(una, highRxt); o < highSack; o++) {
      if (this.sacked[o]) continue;
      if (lost && !this.isLost(o, una, mss)) return null; // lost-ness only falls as o rises
      let len = 0;
      while (len < mss && !this.sacked[o + len]) len++;
      return [o, len];
    }
    return null;
  }
}

function writeBlocks(p: Prim, at: number, blocks: Array<[number, number]>, base: number) {
  const d = dv(p);
  blocks.forEach(([l, r], i) => {
    d.setUint32(at + 8 * i, u32(base + l), true);
    d.setUint32(at + 8 * i + 4, u32(base + r), true);
  });
}

describe("SACK scoreboard (RFC 6675)", () => {
  it("matches the octet model: update, IsSacked, IsLost, SetPipe, NextSeg, over wrapping sequence numbers", async () => {
    const p = await loadPrimitives();
    const buf = p.tPoolAlloc(64);
    let runsAtBound = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.record({
          ack: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(40) }),
          blocks: fc.array(fc.tuple(fc.integer({ min: -50, max: 700 }), fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 120 }))), { maxLength: 6, size: "max" }),
          rxt: fc.nat(300),
        }), { maxLength: 40, size: "max" }),
        fc.boolean(),
        async (base, mss, acks, dense) => {
          const sb = p.tSbNew();
          const nxt = 600;
          const m = new SbModel(nxt + 200);
          let una = 0;
          for (const a of acks) {
            una = Math.min(nxt, una + a.ack);
            // Dense runs: one-octet blocks on even offsets, so the 32-range bound is reached and evicts.
            const blocks = a.blocks.map(([l, n]) =>
              dense ? [2 * (Math.abs(l) % 150), 2 * (Math.abs(l) % 150) + 1] as [number, number] : [l, l + n] as [number, number]);
            writeBlocks(p, buf, blocks, base);
            const gained = p.tSbUpdate(sb, u32(base + una), u32(base + nxt), buf, blocks.length);
            // Model: drop what SND.UNA covers; then the first four blocks, valid ones only, clipped at
            // SND.UNA; a new disjoint range with 32 already held evicts the highest, or is itself
            // forgotten when it is the highest.
            for (let o = 0; o < una; o++) m.sacked[o] = false;
            let modelGained = 0;
            for (const [l0, r] of blocks.slice(0, 4)) {
              if (!(l0 < r) || r > nxt || r <= una) continue;
              const l = Math.max(l0, una);
              const rs0 = m.ranges(una);
              const touches = rs0.some(([s, e]) => e >= l && s <= r);
              if (!touches && rs0.length >= MAX_RANGES) {
                const [hs, he] = rs0[rs0.length - 1];
                if (l > hs) continue;
                for (let o = hs; o < he; o++) m.sacked[o] = false;
              }
              for (let o = l; o < r; o++) {
                if (!m.sacked[o]) modelGained++;
                m.sacked[o] = true;
              }
            }
            const rs = m.ranges(una);
            const after = m.sacked.slice(una, nxt).filter(Boolean).length;
            expect(gained).toBe(modelGained);
            expect(p.tSbSackedBytes(sb)).toBe(after);
            expect(p.tSbCount(sb)).toBe(rs.length);
            if (rs.length === MAX_RANGES) runsAtBound++;
            expect(u32(p.tSbHighSacked(sb) - base)).toBe(rs.length ? rs[rs.length - 1][1] : una);
            for (let o = una; o < nxt; o += 7) {
              expect(p.tSbIsSacked(sb, u32(base + o), u32(base + o + 3))).toBe(m.sacked[o] && m.sacked[o + 1] && m.sacked[o + 2] ? 1 : 0);
              expect(p.tSbIsLost(sb, u32(base + o), mss)).toBe(m.isLost(o, una, mss) ? 1 : 0);
            }
            const highRxt = Math.min(nxt, una + a.rxt);
            expect(p.tSbPipe(sb, u32(base + una), u32(base + nxt), u32(base + highRxt), mss)).toBe(m.pipe(una, nxt, highRxt, mss));
            const readSeg = (ok: number) => (ok ? [u32(dv(p).getUint32(buf + 32, true) - base), dv(p).getUint32(buf + 36, true)] : null);
            const lost = m.nextSeg(una, highRxt, mss, true);
            const rescue = m.nextSeg(una, highRxt, mss, false);
            expect(readSeg(p.tSbNextSegLost(sb, u32(base + una), u32(base + highRxt), mss, buf + 32))).toEqual(lost);
            expect(readSeg(p.tSbNextSegRescue(sb, u32(base + una), u32(base + highRxt), mss, buf + 32))).toEqual(rescue);
            expect(readSeg(p.tSbNextSeg(sb, u32(base + una), u32(base + nxt), u32(base + highRxt), mss, buf + 32))).toEqual(lost ?? rescue);
          }
          p.tSbFree(sb);
        }),
      { numRuns: 150 },
    );
    expect(runsAtBound).toBeGreaterThan(0); // the generator does reach the 32-range bound
    p.tPoolFree(buf, 64);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("RFC 6675 in a picture: 10 segments, the first lost, three SACKed above it", async () => {
    const p = await loadPrimitives();
    const sb = p.tSbNew();
    const buf = p.tPoolAlloc(64);
    const mss = 1000;
    // SND.UNA = 0, SND.NXT = 10000; segment 0 lost; 1, 2, 3 arrive one by one (three duplicate ACKs).
    writeBlocks(p, buf, [[1000, 2000]], 0);
    expect(p.tSbUpdate(sb, 0, 10000, buf, 1)).toBe(1000);
    expect(p.tSbIsLost(sb, 0, mss)).toBe(0);
    writeBlocks(p, buf, [[1000, 3000]], 0);
    expect(p.tSbUpdate(sb, 0, 10000, buf, 1)).toBe(1000);
    expect(p.tSbIsLost(sb, 0, mss)).toBe(0); // exactly 2 * SMSS above: not more than
    writeBlocks(p, buf, [[1000, 4000]], 0);
    expect(p.tSbUpdate(sb, 0, 10000, buf, 1)).toBe(1000);
    expect(p.tSbIsLost(sb, 0, mss)).toBe(1); // 3000 > 2 * SMSS
    expect(p.tSbIsLost(sb, 999, mss)).toBe(1);
    expect(p.tSbIsLost(sb, 4000, mss)).toBe(0);
    // SetPipe on entering recovery (HighRxt = HighACK): segment 0 lost, 1-3 SACKed, 4-9 in flight.
    expect(p.tSbPipe(sb, 0, 10000, 0, mss)).toBe(6000);
    // NextSeg rule 1: retransmit segment 0; afterwards it counts in the pipe again.
    expect(p.tSbNextSeg(sb, 0, 10000, 0, mss, buf + 32)).toBe(1);
    expect([dv(p).getUint32(buf + 32, true), dv(p).getUint32(buf + 36, true)]).toEqual([0, 1000]);
    expect(p.tSbPipe(sb, 0, 10000, 1000, mss)).toBe(7000);
    // Nothing below HighSACK is left: no rule 1 or 3 segment (new data is rule 2, the caller's).
    expect(p.tSbNextSeg(sb, 0, 10000, 1000, mss, buf + 32)).toBe(0);
    // Three discontiguous ranges above an octet make it lost even with little data SACKed.
    writeBlocks(p, buf, [[5000, 5100], [6000, 6100], [7000, 7100]], 0);
    p.tSbUpdate(sb, 0, 10000, buf, 3);
    expect(p.tSbIsLost(sb, 4500, mss)).toBe(1);
    expect(p.tSbIsLost(sb, 5500, mss)).toBe(0);
    // The cumulative ACK reaches 4000: everything below is dropped.
    expect(p.tSbUpdate(sb, 4000, 10000, buf, 0)).toBe(0);
    expect(p.tSbSackedBytes(sb)).toBe(300);
    expect(p.tSbCount(sb)).toBe(3);
    p.tSbFree(sb);
    p.tPoolFree(buf, 64);
  });

  it("ignores D-SACK, stale and impossible blocks, reads at most 4 blocks, keeps at most 32 ranges", async () => {
    const p = await loadPrimitives();
    const sb = p.tSbNew();
    const buf = p.tPoolAlloc(8 * 64);
    writeBlocks(p, buf, [[500, 900], [2000, 2100], [3000, 2990], [9000, 11000]], 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 4)).toBe(100);
    expect(p.tSbStorage(sb)).not.toBe(0);
    writeBlocks(p, buf, [[900, 1100]], 0); // straddles SND.UNA: clipped
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 1)).toBe(100);
    expect(p.tSbIsSacked(sb, 1000, 1100)).toBe(1);
    // A peer sending 64 blocks in one ACK: only 4 are read.
    writeBlocks(p, buf, Array.from({ length: 64 }, (_, i) => [3000 + 20 * i, 3010 + 20 * i] as [number, number]), 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 64)).toBe(40);
    // Fill to the bound: 32 ranges, then a lower new range evicts the highest.
    for (let round = 0; round < 10; round++) {
      writeBlocks(p, buf, Array.from({ length: 4 }, (_, i) => [5000 + 40 * (4 * round + i), 5010 + 40 * (4 * round + i)] as [number, number]), 0);
      p.tSbUpdate(sb, 1000, 10000, buf, 4);
    }
    expect(p.tSbCount(sb)).toBe(32);
    const high = p.tSbHighSacked(sb);
    writeBlocks(p, buf, [[9500, 9600]], 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 1)).toBe(0); // above everything and no room: forgotten
    expect(p.tSbHighSacked(sb)).toBe(high);
    writeBlocks(p, buf, [[1500, 1600]], 0);
    expect(p.tSbUpdate(sb, 1000, 10000, buf, 1)).toBe(100); // the evicted highest range is not subtracted
    expect(p.tSbCount(sb)).toBe(32);
    expect(p.tSbHighSacked(sb)).toBeLessThan(high);
    p.tSbClear(sb);
    expect(p.tSbCount(sb)).toBe(0);
    expect(p.tSbSackedBytes(sb)).toBe(0);
    p.tSbFree(sb);
    p.tPoolFree(buf, 8 * 64);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });
});
