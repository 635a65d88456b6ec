// Receive-side out-of-order tracking and SACK block generation (assembly/engine/reassembly.ts,
// RFC 2018), against a plain-TypeScript model; sequence numbers start near 2^32 so every run wraps.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dv, loadPrimitives, type Prim } from "../fixtures/prim-harness.js";

const MAX = 32;
const u32 = (x: number) => x >>> 0;

// Model ranges in offsets from a base (no wrap in the model), with the stamp of their last change.
interface R { s: number; e: number; stamp: number }
class OooModel {
  ranges: R[] = [];
  stamp = 0;
  insert(s: number, e: number): boolean {
    if (s >= e) return true;
    const touching = this.ranges.filter((r) => r.e >= s && r.s <= e);
    if (touching.length === 0 && this.ranges.length >= MAX) return false;
    const ns = Math.min(s, ...touching.map((r) => r.s));
    const ne = Math.max(e, ...touching.map((r) => r.e));
    this.ranges = this.ranges.filter((r) => !touching.includes(r));
    this.ranges.push({ s: ns, e: ne, stamp: ++this.stamp });
    this.ranges.sort((a, b) => a.s - b.s);
    return true;
  }
  take(nxt: number): number {
    this.ranges = this.ranges.filter((r) => r.e > nxt);
    const first = this.ranges[0];
    if (first && first.s <= nxt) {
      this.ranges.shift();
      return first.e;
    }
    return nxt;
  }
  bytes() {
    return this.ranges.reduce((a, r) => a + r.e - r.s, 0);
  }
  sack(max: number): Array<[number, number]> {
    return [...this.ranges].sort((a, b) => b.stamp - a.stamp).slice(0, max).map((r) => [r.s, r.e]);
  }
}

function sack(p: Prim, q: number, out: number, max: number, base: number): Array<[number, number]> {
  const n = p.tOooSackBlocks(q, out, max);
  const d = dv(p);
  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) blocks.push([u32(d.getUint32(out + 8 * i, true) - base), u32(d.getUint32(out + 8 * i + 4, true) - base)]);
  return blocks;
}

describe("out-of-order ranges and SACK blocks", () => {
  it("matches the model over random inserts and RCV.NXT advances", async () => {
    const p = await loadPrimitives();
    const out = p.tPoolAlloc(8 * 40);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.array(fc.oneof(
          { weight: 5, arbitrary: fc.tuple(fc.constant("ins" as const), fc.nat(3000), fc.integer({ min: 0, max: 200 })) },
          { weight: 1, arbitrary: fc.tuple(fc.constant("adv" as const), fc.nat(400), fc.constant(0)) },
        ), { maxLength: 150, size: "max" }),
        fc.integer({ min: 0, max: 5 }),
        async (base, ops, maxBlocks) => {
          const q = p.tOooNew();
          const m = new OooModel();
          let nxt = 0; // in offsets from base
          for (const [op, a, b] of ops) {
            if (op === "ins") {
              const s = nxt + 1 + a, e = s + b;
              expect(p.tOooInsert(q, u32(base + s), u32(base + e))).toBe(m.insert(s, e) ? 1 : 0);
            } else {
              // In-order data arrived: RCV.NXT moves by a, then any range it reaches is taken.
              nxt += a;
              const got = u32(p.tOooTake(q, u32(base + nxt)) - base);
              nxt = m.take(nxt);
              expect(got).toBe(nxt);
            }
            expect(p.tOooCount(q)).toBe(m.ranges.length);
            expect(p.tOooBytes(q)).toBe(m.bytes());
            for (let i = 0; i < m.ranges.length; i++) {
              const r = p.tOooRange(q, i);
              expect([u32(Number(r & 0xffffffffn) - base), u32(Number(r >> 32n) - base)]).toEqual([m.ranges[i].s, m.ranges[i].e]);
            }
            expect(sack(p, q, out, maxBlocks, base)).toEqual(m.sack(maxBlocks));
          }
          p.tOooFree(q);
        }),
      { numRuns: 300 },
    );
    p.tPoolFree(out, 8 * 40);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("RFC 2018 section 4 example: the first block holds the latest segment, older blocks follow", async () => {
    const p = await loadPrimitives();
    const q = p.tOooNew();
    const out = p.tPoolAlloc(64);
    // RFC 2018 section 5's receiver: RCV.NXT = 5000, segments of 500 bytes; 5000 lost, then
    // 5500, 6000 lost, 6500, 7000 lost, 7500 arrive in that order.
    expect(p.tOooInsert(q, 5500, 6000)).toBe(1);
    expect(sack(p, q, out, 4, 0)).toEqual([[5500, 6000]]);
    expect(p.tOooInsert(q, 6500, 7000)).toBe(1);
    expect(sack(p, q, out, 4, 0)).toEqual([[6500, 7000], [5500, 6000]]);
    expect(p.tOooInsert(q, 7500, 8000)).toBe(1);
    expect(sack(p, q, out, 4, 0)).toEqual([[7500, 8000], [6500, 7000], [5500, 6000]]);
    // 7000 fills a hole: the merged block comes first.
    expect(p.tOooInsert(q, 7000, 7500)).toBe(1);
    expect(sack(p, q, out, 4, 0)).toEqual([[6500, 8000], [5500, 6000]]);
    expect(p.tOooBytes(q)).toBe(2000);
    // 5000 arrives in order: RCV.NXT = 5500 takes the first range.
    expect(p.tOooTake(q, 5500)).toBe(6000);
    expect(p.tOooTake(q, 6000)).toBe(6000);
    expect(sack(p, q, out, 4, 0)).toEqual([[6500, 8000]]);
    expect(p.tOooTake(q, 6500)).toBe(8000);
    expect(p.tOooCount(q)).toBe(0);
    expect(p.tOooBytes(q)).toBe(0);
    p.tOooFree(q);
    p.tPoolFree(out, 64);
  });

  it("bounds the holes: the 33rd disjoint range is refused and changes nothing", async () => {
    const p = await loadPrimitives();
    const q = p.tOooNew();
    expect(p.tOooStorage(q)).toBe(0); // lazy
    for (let i = 0; i < MAX; i++) expect(p.tOooInsert(q, 1000 + 20 * i, 1010 + 20 * i)).toBe(1);
    expect(p.tOooStorage(q)).not.toBe(0);
    expect(p.tOooInsert(q, 5000, 5010)).toBe(0);
    expect(p.tOooInsert(q, 10, 20)).toBe(0);
    expect(p.tOooCount(q)).toBe(MAX);
    expect(p.tOooBytes(q)).toBe(MAX * 10);
    // Data that merges with existing ranges is still accepted, even bridging many of them.
    expect(p.tOooInsert(q, 1010, 1020)).toBe(1);
    expect(p.tOooCount(q)).toBe(MAX - 1);
    expect(p.tOooInsert(q, 1000, 1700)).toBe(1);
    expect(p.tOooCount(q)).toBe(1);
    expect(p.tOooInsert(q, 1200, 1300)).toBe(1); // a duplicate inside
    expect(p.tOooBytes(q)).toBe(700);
    p.tOooClear(q);
    expect(p.tOooCount(q)).toBe(0);
    expect(p.tOooStorage(q)).not.toBe(0); // clear keeps storage
    p.tOooRelease(q);
    expect(p.tOooStorage(q)).toBe(0);
    p.tOooFree(q);
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("renumbers recency stamps when the counter would wrap, keeping the order", async () => {
    const p = await loadPrimitives();
    const q = p.tOooNew();
    const out = p.tPoolAlloc(64);
    p.tOooInsert(q, 100, 110);
    p.tOooInsert(q, 300, 310);
    p.tOooInsert(q, 200, 210);
    p.tOooSetStamp(q, 0xffffffff);
    p.tOooInsert(q, 400, 410);
    expect(sack(p, q, out, 4, 0)).toEqual([[400, 410], [200, 210], [300, 310], [100, 110]]);
    p.tOooInsert(q, 300, 305);
    expect(sack(p, q, out, 4, 0)).toEqual([[300, 310], [400, 410], [200, 210], [100, 110]]);
    p.tOooFree(q);
    p.tPoolFree(out, 64);
  });
});
