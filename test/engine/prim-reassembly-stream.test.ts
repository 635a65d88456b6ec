// Receive path from primitives only: the receive ring (ring.ts) holds the bytes, the out-of-order list
// (reassembly.ts) remembers which ranges past RCV.NXT are there. A plain-TypeScript receiver model
// decides what each segment should do; random reordering, duplication and overlap must still deliver
// exactly the sent byte stream, and every SACK block must describe bytes the ring really holds.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dv, loadPrimitives, u8, type Prim } from "../fixtures/prim-harness.js";

const u32 = (x: number) => x >>> 0;
const MAX_RANGES = 32;

// The reference: which stream offsets have arrived, and the receiver's rules written out plainly.
class ReceiverModel {
  have: boolean[];
  rcvNxt = 0; // stream offset
  constructor(readonly size: number) {
    this.have = new Array(size).fill(false);
  }
  /** Ranges held past RCV.NXT (nothing is ever held past `limit`, the window's edge). */
  rangesAbove(limit = this.size): Array<[number, number]> {
    const r: Array<[number, number]> = [];
    for (let i = this.rcvNxt; i < Math.min(limit, this.size); i++) {
      if (!this.have[i]) continue;
      if (r.length && r[r.length - 1][1] === i) r[r.length - 1][1] = i + 1;
      else r.push([i, i + 1]);
    }
    return r;
  }
  /** Applies a segment already trimmed to the window; false when dropped for the range bound. */
  receive(s: number, e: number, limit: number): boolean {
    if (s > this.rcvNxt) {
      const r = this.rangesAbove(limit);
      const touches = r.some(([a, b]) => b >= s && a <= e);
      if (!touches && r.length >= MAX_RANGES) return false;
    }
    for (let i = s; i < e; i++) this.have[i] = true;
    while (this.rcvNxt < this.size && this.have[this.rcvNxt]) this.rcvNxt++;
    return true;
  }
}

class Receiver {
  ring: number;
  ooo: number;
  rcvNxt: number; // sequence number
  scratch: number;
  delivered: number[] = [];
  constructor(readonly p: Prim, cap: number, readonly isn: number, readonly stream: Uint8Array) {
    this.ring = p.tRingNew();
    p.tRingSetCapacity(this.ring, cap);
    this.ooo = p.tOooNew();
    this.rcvNxt = isn;
    this.scratch = p.tPoolAlloc(this.scratchSize());
  }
  /** Segment bytes on their way in, and up to 8 SACK blocks (64 bytes) on their way out. */
  scratchSize(): number {
    return Math.max(this.stream.length, 64);
  }
  window(): number {
    return this.p.tRingSpace(this.ring);
  }
  /** A segment carrying stream bytes [off, off + n): trim to the window, place, advance. */
  segment(off: number, n: number): { start: number; end: number; accepted: boolean } | null {
    const p = this.p;
    const seq = u32(this.isn + off);
    // Offsets relative to RCV.NXT, in sequence space.
    let rel = (seq - this.rcvNxt) | 0;
    let len = n;
    let skip = 0;
    if (rel < 0) {
      skip = Math.min(len, -rel);
      len -= skip;
      rel = 0;
    }
    len = Math.min(len, Math.max(0, this.window() - rel));
    if (len <= 0) return null; // wholly old or beyond the window
    const start = u32(this.rcvNxt + rel), end = u32(start + len);
    if (!p.tRingEnsure(this.ring)) throw new Error("ring storage");
    if (rel > 0 && !p.tOooInsert(this.ooo, start, end)) return { start, end, accepted: false };
    u8(p).set(this.stream.subarray(off + skip, off + skip + len), this.scratch);
    p.tRingCopyIn(this.ring, p.tRingLen(this.ring) + rel, this.scratch, len);
    if (rel === 0) {
      p.tRingCommit(this.ring, len);
      this.rcvNxt = u32(this.rcvNxt + len);
      const next = p.tOooTake(this.ooo, this.rcvNxt) >>> 0;
      const more = u32(next - this.rcvNxt);
      p.tRingCommit(this.ring, more);
      this.rcvNxt = next;
    }
    return { start, end, accepted: true };
  }
  read(max: number) {
    const p = this.p;
    while (max > 0 && p.tRingLen(this.ring) > 0) {
      const k = Math.min(max, p.tRingReadContig(this.ring));
      const at = p.tRingReadPtr(this.ring);
      this.delivered.push(...u8(p).subarray(at, at + k));
      p.tRingConsume(this.ring, k);
      max -= k;
    }
  }
  /** Every SACK block is data the ring holds, equal to the stream there. */
  checkSack() {
    const p = this.p;
    const n = p.tOooSackBlocks(this.ooo, this.scratch, 8);
    const blocks: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) blocks.push([dv(p).getUint32(this.scratch + 8 * i, true), dv(p).getUint32(this.scratch + 8 * i + 4, true)]);
    const tmp = p.tPoolAlloc(p.tRingCap(this.ring));
    for (const [l, r] of blocks) {
      const rel = u32(l - this.rcvNxt), len = u32(r - l);
      expect(rel).toBeGreaterThan(0);
      expect(p.tRingLen(this.ring) + rel + len).toBeLessThanOrEqual(p.tRingCap(this.ring));
      p.tRingCopyOut(this.ring, p.tRingLen(this.ring) + rel, tmp, len);
      const off = u32(l - this.isn);
      expect(u8(p).slice(tmp, tmp + len)).toEqual(this.stream.slice(off, off + len));
    }
    p.tPoolFree(tmp, p.tRingCap(this.ring));
    return blocks.length;
  }
  close() {
    this.p.tRingDelete(this.ring);
    this.p.tOooFree(this.ooo);
    this.p.tPoolFree(this.scratch, this.scratchSize());
  }
}

describe("receive path: ring + out-of-order ranges against a reference receiver", () => {
  it("delivers the exact stream under reordering, duplication and overlap", async () => {
    let refused = 0; // segments dropped at the 32-range bound, across all runs
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 6, max: 12 }), // ring 64 B .. 4 KiB
        fc.integer({ min: 1, max: 4000 }),
        fc.array(fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 700 }))), { maxLength: 300, size: "max" }),
        fc.array(fc.nat(600), { maxLength: 300, size: "max" }),
        fc.boolean(),
        async (isn, log2, size, segs, reads, dense) => {
          const p = await loadPrimitives(); // a fresh instance: a failed run cannot poison the next
          const stream = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 8) * 7 + 3) & 0xff);
          // A failed run leaves its blocks behind while fast-check shrinks: count relative to the start.
          const blocksBefore = p.tPoolBlocksInUse();
          const bytesBefore = p.tPoolBytesInUse();
          const rx = new Receiver(p, 1 << log2, isn, stream);
          const model = new ReceiverModel(size);
          let readIdx = 0;
          const deliveredOffset = () => rx.delivered.length;
          const step = (off: number, n: number) => {
            n = Math.min(n, size - off);
            if (n <= 0) return;
            const res = rx.segment(off, n);
            // The model sees the same window trim: [rcvNxt, delivered + cap).
            const lo = Math.max(off, model.rcvNxt);
            const hi = Math.min(off + n, deliveredOffset() + (1 << log2));
            if (hi <= lo) {
              expect(res).toBeNull();
            } else {
              expect(res).not.toBeNull();
              expect(res!.accepted).toBe(model.receive(lo, hi, deliveredOffset() + (1 << log2)));
              if (!res!.accepted) refused++;
            }
            expect(u32(rx.rcvNxt - isn)).toBe(model.rcvNxt);
            const above = model.rangesAbove(deliveredOffset() + (1 << log2));
            expect(p.tOooCount(rx.ooo)).toBe(above.length);
            expect(p.tOooBytes(rx.ooo)).toBe(above.reduce((a, [s, e]) => a + e - s, 0));
            expect(rx.checkSack()).toBe(Math.min(8, above.length));
            if (readIdx < reads.length) rx.read(reads[readIdx++]);
          };
          // Random segments: any offset (reordered), repeats (duplicates), any length (overlaps).
          // Dense runs: one-byte segments on alternate bytes just past RCV.NXT, to reach the hole bound.
          for (const [o, n] of segs) {
            if (dense) step(Math.min(size - 1, model.rcvNxt + 1 + 2 * (o % 60)), 1);
            else step(o % size, n);
          }
          // Then the sender's retransmission timer: everything again in order until all is read.
          let guard = 0;
          while (rx.delivered.length < size) {
            for (let off = model.rcvNxt; off < size; off += 500) step(off, 500);
            rx.read(1 << 30);
            expect(++guard).toBeLessThan(10_000);
          }
          expect(Uint8Array.from(rx.delivered)).toEqual(stream);
          expect(p.tOooCount(rx.ooo)).toBe(0);
          rx.close();
          expect(p.tPoolBlocksInUse()).toBe(blocksBefore);
          expect(p.tPoolBytesInUse()).toBe(bytesBefore);
        }),
      { numRuns: 60 },
    );
    expect(refused).toBeGreaterThan(0); // the hole bound was exercised
  });
});
