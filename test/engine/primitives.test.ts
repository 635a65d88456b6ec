// Engine primitives (assembly/engine/): pool accounting, byte rings, the seeded PRNG. Each is checked
// against a small plain-TypeScript model on random operation sequences. The other primitives have
// their own files: test/engine/prim-*.test.ts.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadPrimitives, u8, type Prim } from "../fixtures/prim-harness.js";

describe("pool", () => {
  it("hands out zero-filled blocks (and unzeroed ones on request) and counts bytes and blocks back to zero", async () => {
    const p = await loadPrimitives();
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 70000 }), fc.boolean());
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60, size: "max" }), async (ops) => {
        const live: Array<[number, number]> = [];
        let bytes = 0;
        for (const [alloc, size, zeroed] of ops) {
          if (alloc || live.length === 0) {
            const ptr = zeroed ? p.tPoolAlloc(size) : p.tPoolAllocUninit(size);
            expect(ptr).not.toBe(0);
            expect(ptr % 16).toBe(0);
            const mem = u8(p);
            if (zeroed) expect(mem.subarray(ptr, ptr + size).every((b) => b === 0)).toBe(true);
            mem.fill(0xa5, ptr, ptr + size); // dirty it so a later reuse must be zeroed again
            live.push([ptr, size]);
            bytes += size;
          } else {
            const [ptr, sz] = live.splice(size % live.length, 1)[0];
            p.tPoolFree(ptr, sz);
            bytes -= sz;
          }
          expect(p.tPoolBytesInUse()).toBe(bytes);
          expect(p.tPoolBlocksInUse()).toBe(live.length);
        }
        for (const [ptr, sz] of live) p.tPoolFree(ptr, sz);
        expect(p.tPoolBytesInUse()).toBe(0);
        expect(p.tPoolBlocksInUse()).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it("returns 0 instead of trapping when the limit or the 4 GiB address space would be exceeded", async () => {
    const p = await loadPrimitives();
    p.tPoolSetLimit(100_000);
    const a = p.tPoolAlloc(60_000);
    expect(a).not.toBe(0);
    expect(p.tPoolAlloc(50_000)).toBe(0);
    expect(p.tPoolBlocksInUse()).toBe(1);
    p.tPoolFree(a, 60_000);
    expect(p.tPoolAlloc(50_000)).not.toBe(0);
    p.tPoolSetLimit(-1);
    // Above TLSF's 1 GiB block limit: refused, no trap.
    expect(p.tPoolAlloc(0x7fff_fff0)).toBe(0);
    expect(p.tPoolBlocksInUse()).toBe(1);
  });

  it("a freed block is reused: a million alloc/free cycles do not grow memory", async () => {
    const p = await loadPrimitives();
    const first = p.tPoolAlloc(4096);
    p.tPoolFree(first, 4096);
    const pages = p.tHeapPages();
    for (let i = 0; i < 1_000_000; i++) p.tPoolFree(p.tPoolAlloc(64 + (i & 1023)), 64 + (i & 1023));
    expect(p.tHeapPages()).toBe(pages);
    expect(p.tPoolBytesInUse()).toBe(0);
  });
});

// The ring model: a byte array of `cap` positions with a logical start and length.
// Ring storage is not zeroed (poolAllocUninit): the model marks never-written bytes -1, a reader may
// only ever see written ones, and copyOut of a range with unwritten bytes is checked on the rest.
class RingModel {
  data: Int16Array;
  start = 0;
  len = 0;
  constructor(readonly cap: number) {
    this.data = new Int16Array(cap).fill(-1);
  }
  write(offset: number, bytes: Uint8Array) {
    for (let i = 0; i < bytes.length; i++) this.data[(this.start + offset + i) % this.cap] = bytes[i];
  }
  read(offset: number, n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.data[(this.start + offset + i) % this.cap]);
    return out;
  }
}

function newRing(p: Prim, bytes: number): number {
  const r = p.tRingNew();
  p.tRingSetCapacity(r, bytes);
  return r;
}

describe("ring", () => {
  it("rounds the capacity up to a power of two and allocates lazily", async () => {
    const p = await loadPrimitives();
    const cases: Array<[number, number]> = [[1, 1], [2, 2], [3, 4], [1000, 1024], [262144, 262144], [262145, 524288]];
    for (const [asked, got] of cases) {
      const r = newRing(p, asked);
      expect(p.tRingCap(r)).toBe(got);
      expect(p.tRingBuf(r)).toBe(0);
      expect(p.tRingSpace(r)).toBe(got);
      p.tRingDelete(r);
    }
    const r = newRing(p, 100);
    const before = p.tPoolBytesInUse();
    expect(p.tRingEnsure(r)).toBe(1);
    expect(p.tPoolBytesInUse()).toBe(before + 128);
    expect(p.tRingEnsure(r)).toBe(1); // idempotent
    expect(p.tPoolBytesInUse()).toBe(before + 128);
    p.tRingRelease(r);
    expect(p.tPoolBytesInUse()).toBe(before);
    expect(p.tRingCap(r)).toBe(128);
    p.tRingDelete(r);
    expect(p.tPoolBytesInUse()).toBe(0);
  });

  it("reports out-of-memory from ringEnsure instead of trapping", async () => {
    const p = await loadPrimitives();
    const r = newRing(p, 1 << 20);
    p.tPoolSetLimit(1 << 19);
    expect(p.tRingEnsure(r)).toBe(0);
    expect(p.tRingBuf(r)).toBe(0);
    p.tPoolSetLimit(-1);
    expect(p.tRingEnsure(r)).toBe(1);
    p.tRingDelete(r);
  });

  it("matches the model over random writes, reads, commits, consumes and out-of-order copies", async () => {
    const p = await loadPrimitives();
    const op = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), n: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("consume" as const), n: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("copyIn" as const), off: fc.integer({ min: 0, max: 300 }), n: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("copyOut" as const), off: fc.integer({ min: 0, max: 300 }), n: fc.integer({ min: 0, max: 300 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 80, size: "max" }), async (log2, ops) => {
        const cap = 1 << log2;
        const r = newRing(p, cap);
        expect(p.tRingEnsure(r)).toBe(1);
        const m = new RingModel(cap);
        const scratch = p.tPoolAlloc(1024);
        let counter = 1;
        for (const o of ops) {
          const mem = () => u8(p);
          if (o.kind === "write") {
            // The host's path: fill the contiguous run at the write pointer, commit, repeat once.
            let n = Math.min(o.n, cap - m.len);
            while (n > 0) {
              const contig = p.tRingWriteContig(r);
              expect(contig).toBeGreaterThan(0);
              const k = Math.min(n, contig);
              const bytes = Uint8Array.from({ length: k }, () => counter++ & 0xff);
              mem().set(bytes, p.tRingWritePtr(r));
              p.tRingCommit(r, k);
              m.write(m.len, bytes);
              m.len += k;
              n -= k;
            }
          } else if (o.kind === "consume") {
            // The reader's path: read the contiguous run at the read pointer, check it, consume.
            let n = Math.min(o.n, m.len);
            while (n > 0) {
              const contig = p.tRingReadContig(r);
              const k = Math.min(n, contig);
              expect(k).toBeGreaterThan(0);
              const got = mem().slice(p.tRingReadPtr(r), p.tRingReadPtr(r) + k);
              expect(Array.from(got)).toEqual(m.read(0, k));
              p.tRingConsume(r, k);
              m.start = (m.start + k) % cap;
              m.len -= k;
              n -= k;
            }
          } else if (o.kind === "copyIn") {
            const off = o.off % (cap + 1);
            const n = Math.min(o.n, cap - off);
            const bytes = Uint8Array.from({ length: n }, () => counter++ & 0xff);
            mem().set(bytes, scratch);
            p.tRingCopyIn(r, off, scratch, n);
            m.write(off, bytes);
          } else {
            const off = o.off % (cap + 1);
            const n = Math.min(o.n, cap - off);
            p.tRingCopyOut(r, off, scratch, n);
            const want = m.read(off, n);
            const got = Array.from(mem().slice(scratch, scratch + n), (b, i) => (want[i] < 0 ? -1 : b));
            expect(got).toEqual(want);
          }
          expect(p.tRingLen(r)).toBe(m.len);
          expect(p.tRingSpace(r)).toBe(cap - m.len);
          const wi = (m.start + m.len) % cap;
          expect(p.tRingWriteContig(r)).toBe(Math.min(cap - m.len, cap - wi));
          expect(p.tRingReadContig(r)).toBe(Math.min(m.len, cap - m.start));
        }
        p.tPoolFree(scratch, 1024);
        p.tRingDelete(r);
        expect(p.tPoolBlocksInUse()).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

// xoshiro128** as its authors publish it, in plain TypeScript.
function xoshiroModel(seed: [number, number, number, number]) {
  const s = Uint32Array.from(seed);
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  const below = (n: number) => {
    if (n === 0) return 0;
    let m = BigInt(next()) * BigInt(n);
    let low = Number(m & 0xffffffffn);
    if (low < n) {
      const threshold = (2 ** 32 - n) % n;
      while (low < threshold) {
        m = BigInt(next()) * BigInt(n);
        low = Number(m & 0xffffffffn);
      }
    }
    return Number(m >> 32n);
  };
  return { next, below };
}

describe("rng (xoshiro128**)", () => {
  it("matches the reference algorithm for any seed", async () => {
    const p = await loadPrimitives();
    await fc.assert(
      fc.asyncProperty(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).filter((t) => t.some((x) => x !== 0)),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 70000 })), { maxLength: 50, size: "max" }),
        async (seed, ns) => {
          p.tRngSeed(...seed);
          const m = xoshiroModel(seed);
          for (const n of ns) {
            if (n === 0) expect(p.tRngNext() >>> 0).toBe(m.next());
            else expect(p.tRngBelow(n) >>> 0).toBe(m.below(n));
          }
        }),
      { numRuns: 200 },
    );
  });

  it("first outputs for seed (1, 2, 3, 4) as the reference C code gives them", async () => {
    const p = await loadPrimitives();
    p.tRngSeed(1, 2, 3, 4);
    // Hand-run of xoshiro128**: result = rotl(s1 * 5, 7) * 9 with s1 = 2 gives rotl(10, 7) * 9 = 11520.
    expect(p.tRngNext() >>> 0).toBe(11520);
    expect(p.tRngNext() >>> 0).toBe(0);
  });

  it("rngBelow stays in range and an all-zero seed still produces output", async () => {
    const p = await loadPrimitives();
    p.tRngSeed(0, 0, 0, 0);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.tRngBelow(7);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(7);
      seen.add(v);
    }
    expect(seen.size).toBe(7);
    expect(p.tRngBelow(0)).toBe(0);
    expect(p.tRngBelow(1)).toBe(0);
  });
});

describe("churn across all primitives", () => {
  it("a million open/transfer/close cycles leave the pool at zero and linear memory unchanged", async () => {
    const p = await loadPrimitives();
    expect(p.tTableInit(1024)).toBe(1);
    expect(p.tTqInit(1024)).toBe(1);
    const blocks = p.tPoolBlocksInUse();
    const bytes = p.tPoolBytesInUse();
    expect(p.tChurn(1000, 256 * 1024)).toBe(0); // warm-up: the heap reaches its working size
    const pages = p.tHeapPages();
    expect(p.tChurn(1_000_000, 4096)).toBe(0);
    expect(p.tChurn(1000, 256 * 1024)).toBe(0);
    expect(p.tPoolBlocksInUse()).toBe(blocks);
    expect(p.tPoolBytesInUse()).toBe(bytes);
    expect(p.tHeapPages()).toBe(pages);
    expect(p.tTableCount()).toBe(0);
    expect(p.tTqSize()).toBe(0);
    p.tTableRelease();
    p.tTqRelease();
    expect(p.tPoolBlocksInUse()).toBe(0);
    expect(p.tPoolBytesInUse()).toBe(0);
  });
});

describe("ring edge cases", () => {
  it("zero-length copies are no-ops even before storage exists; debug builds trap on copies past cap", async () => {
    const p = await loadPrimitives();
    const r = newRing(p, 64);
    p.tRingCopyIn(r, 0, 0, 0);
    p.tRingCopyOut(r, 64, 0, 0);
    expect(p.tRingBuf(r)).toBe(0);
    expect(p.tRingEnsure(r)).toBe(1);
    const scratch = p.tPoolAlloc(128);
    expect(() => p.tRingCopyIn(r, 60, scratch, 8)).toThrow(/ring: copy in out of range/);
  });
});
