// ISN (RFC 6528, SipHash-2-4), the connection table, listeners and ephemeral ports
// (assembly/engine/isn.ts, table.ts), each against the paper's vectors or a plain-TypeScript model.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadPrimitives, u8, type Prim } from "../fixtures/prim-harness.js";
import { Prng } from "../../src/core/prng.js";

const M64 = (1n << 64n) - 1n;
const rotl64 = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

// SipHash-c-d straight from the paper's description, over BigInt.
function sipModel(k0: bigint, k1: bigint, msg: Uint8Array, c = 2, d = 4): bigint {
  let v0 = k0 ^ 0x736f6d6570736575n, v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n, v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl64(v1, 13n); v1 ^= v0; v0 = rotl64(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl64(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl64(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl64(v1, 17n); v1 ^= v2; v2 = rotl64(v2, 32n);
  };
  const word = (off: number, n: number) => {
    let w = 0n;
    for (let i = 0; i < n; i++) w |= BigInt(msg[off + i]) << BigInt(8 * i);
    return w;
  };
  const full = msg.length & ~7;
  for (let off = 0; off < full; off += 8) {
    const m = word(off, 8);
    v3 ^= m;
    for (let i = 0; i < c; i++) round();
    v0 ^= m;
  }
  const b = word(full, msg.length - full) | (BigInt(msg.length & 0xff) << 56n);
  v3 ^= b;
  for (let i = 0; i < c; i++) round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let i = 0; i < d; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

const asU64 = (x: bigint) => BigInt.asUintN(64, x);
const PAPER_K0 = 0x0706050403020100n;
const PAPER_K1 = 0x0f0e0d0c0b0a0908n;

function hash(p: Prim, k0: bigint, k1: bigint, msg: Uint8Array, which: "24" | "13" = "24"): bigint {
  const ptr = p.tPoolAlloc(Math.max(1, msg.length));
  u8(p).set(msg, ptr);
  const h = which === "24" ? p.tSipHash24(k0, k1, ptr, msg.length) : p.tSipHash13(k0, k1, ptr, msg.length);
  p.tPoolFree(ptr, Math.max(1, msg.length));
  return asU64(h);
}

describe("SipHash-2-4", () => {
  it("gives the paper's vectors (key 00..0f, message 00..n-1)", async () => {
    const p = await loadPrimitives();
    const msg = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
    const vectors: Array<[number, bigint]> = [
      [0, 0x726fdb47dd0e0e31n], [1, 0x74f839c593dc67fdn], [2, 0x0d6c8009d9a94f5an], [3, 0x85676696d7fb7e2dn],
      [4, 0xcf2794e0277187b7n], [8, 0x93f5f5799a932462n],
      [15, 0xa129ca6149be45e5n], // the worked example of the paper's appendix A
    ];
    for (const [n, want] of vectors) {
      expect(hash(p, PAPER_K0, PAPER_K1, msg(n))).toBe(want);
      expect(sipModel(PAPER_K0, PAPER_K1, msg(n))).toBe(want);
    }
  });

  it("matches the model (2-4 and 1-3) for random keys, lengths and alignments", async () => {
    const p = await loadPrimitives();
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: M64 }), fc.bigInt({ min: 0n, max: M64 }), fc.uint8Array({ maxLength: 80, size: "max" }), fc.integer({ min: 0, max: 7 }),
        async (k0, k1, msg, align) => {
          const ptr = p.tPoolAlloc(96);
          u8(p).set(msg, ptr + align);
          expect(asU64(p.tSipHash24(k0, k1, ptr + align, msg.length))).toBe(sipModel(k0, k1, msg));
          expect(asU64(p.tSipHash13(k0, k1, ptr + align, msg.length))).toBe(sipModel(k0, k1, msg, 1, 3));
          p.tPoolFree(ptr, 96);
        }),
      { numRuns: 300 },
    );
  });
});

interface Tuple { v: number; la: bigint; lb: bigint; lp: number; ra: bigint; rb: bigint; rp: number }

function keyOf(p: Prim, t: Tuple): number {
  const k = p.tFlowKeyNew();
  p.tFlowKeySet(k, t.v, t.la, t.lb, t.lp, t.ra, t.rb, t.rp);
  return k;
}

// What the ISN's F reads for a tuple (wire/flowkey.ts flowHashInput): an IPv6 tuple's 40 bytes as
// flowKeyBytes writes them; an IPv4 tuple's 16 meaningful ones, packed (addresses, ports, version).
function hashInput(t: Tuple): Uint8Array {
  const ports = ((t.lp & 0xffff) << 16) | (t.rp & 0xffff);
  if (t.v === 4) {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, Number(t.la), true);
    dv.setUint32(4, Number(t.ra), true);
    dv.setUint32(8, ports, true);
    dv.setUint32(12, 4, true);
    return b;
  }
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, t.la, true);
  dv.setBigUint64(8, t.lb, true);
  dv.setBigUint64(16, t.ra, true);
  dv.setBigUint64(24, t.rb, true);
  dv.setUint32(32, ports, true);
  dv.setUint32(36, t.v, true);
  return b;
}

const v4 = (a: number) => BigInt(a >>> 0);
const tuple4 = (local: number, lp: number, remote: number, rp: number): Tuple =>
  ({ v: 4, la: v4(local), lb: 0n, lp, ra: v4(remote), rb: 0n, rp });

describe("ISN (RFC 6528)", () => {
  it("is M + F: a 4 us clock plus SipHash-2-4 of the 4-tuple under the host's secret", async () => {
    const p = await loadPrimitives();
    const k0 = 0x0123456789abcdefn, k1 = 0xfedcba9876543210n;
    p.tIsnSetSecret(k0, k1);
    const t = tuple4(0x0100000a, 49200, 0x0200000a, 80);
    const k = keyOf(p, t);
    const f = Number(sipModel(k0, k1, hashInput(t)) & 0xffffffffn);
    for (const now of [0n, 3n, 4n, 1_000_000n, 17_179_869_184n * 4n + 12n]) {
      const m = Number((now >> 2n) & 0xffffffffn);
      expect(p.tIsnFor(k, now) >>> 0).toBe((m + f) >>> 0);
    }
    const t6: Tuple = { v: 6, la: 0xfd00n, lb: 1n, lp: 49200, ra: 0xfd00n, rb: 2n, rp: 443 };
    const k6 = keyOf(p, t6);
    const f6 = Number(sipModel(k0, k1, hashInput(t6)) & 0xffffffffn);
    expect(p.tIsnFor(k6, 4_000_000n) >>> 0).toBe((1_000_000 + f6) >>> 0);
    // One second later the ISN has advanced by 250,000 (RFC 6528 section 3: M ticks every 4 us).
    expect(((p.tIsnFor(k, 5_000_000n) - p.tIsnFor(k, 4_000_000n)) >>> 0)).toBe(250_000);
    // A different remote port or a different secret gives an unrelated offset.
    const other = keyOf(p, { ...t, rp: 81 });
    expect(p.tIsnFor(other, 0n)).not.toBe(p.tIsnFor(k, 0n));
    const before = p.tIsnFor(k, 0n);
    p.tIsnSetSecret(k0 ^ 1n, k1);
    expect(p.tIsnFor(k, 0n)).not.toBe(before);
  });
});

const tupleArb = fc.record({
  v: fc.constantFrom(4, 6),
  la: fc.bigInt({ min: 0n, max: 3n }), lb: fc.constant(0n), lp: fc.integer({ min: 1, max: 4 }),
  ra: fc.bigInt({ min: 0n, max: 3n }), rb: fc.bigInt({ min: 0n, max: 1n }), rp: fc.integer({ min: 1, max: 4 }),
});
const tupleId = (t: Tuple) => `${t.v}|${t.la}|${t.lb}|${t.lp}|${t.ra}|${t.rb}|${t.rp}`;

describe("connection table", () => {
  it("matches a Map over random insert/lookup/remove sequences", async () => {
    const p = await loadPrimitives();
    p.tIsnSetSecret(7n, 9n);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.constantFrom("ins", "del", "get"), tupleArb), { maxLength: 150, size: "max" }),
        async (max, ops) => {
          expect(p.tTableInit(max)).toBe(1);
          const model = new Map<string, number>();
          let next = 0;
          for (const [op, t] of ops) {
            const k = keyOf(p, t);
            const id = tupleId(t);
            if (op === "ins") {
              const ok = !model.has(id) && model.size < max;
              expect(p.tTableInsert(k, next)).toBe(ok ? 1 : 0);
              if (ok) model.set(id, next++);
            } else if (op === "del") {
              expect(p.tTableRemove(k)).toBe(model.delete(id) ? 1 : 0);
            }
            expect(p.tTableLookup(k)).toBe(model.get(id) ?? -1);
            expect(p.tTableCount()).toBe(model.size);
            p.tFlowKeyFree(k);
          }
          // Everything still findable at the end (backward-shift deletion kept every run intact).
          for (const [id, slot] of model) {
            const f = id.split("|");
            const k = keyOf(p, { v: +f[0], la: BigInt(f[1]), lb: BigInt(f[2]), lp: +f[3], ra: BigInt(f[4]), rb: BigInt(f[5]), rp: +f[6] });
            expect(p.tTableLookup(k)).toBe(slot);
            expect(p.tTableRemove(k)).toBe(1);
            p.tFlowKeyFree(k);
          }
          expect(p.tTableCount()).toBe(0);
        }),
      { numRuns: 150 },
    );
    p.tTableRelease();
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("grows from 64 buckets as entries arrive, keeps every entry through growth and deletion, never shrinks", async () => {
    const p = await loadPrimitives();
    p.tIsnSetSecret(0x3333n, 0x4444n);
    const max = 3000;
    expect(p.tTableInit(max)).toBe(1);
    // Three tables (connections, listeners, listener counts per port) of 64 buckets of 48 bytes each.
    expect(p.tTableBytes()).toBe(3 * 64 * 48);
    const k = p.tFlowKeyNew();
    // 4,000 4-tuples over 1,000 local ports.
    const set = (i: number) => p.tFlowKeySet(k, 4, 0x0100000an, 0n, 1 + (i % 1000), 0x0200000an + BigInt(i >> 8), 0n, i & 0xff);
    const model = new Map<number, number>();
    const rng = new Prng(99);
    let grown = p.tTableBytes();
    let peak = 0;
    for (let step = 0; step < 20_000; step++) {
      const i = rng.nextInt(4000);
      set(i);
      if (rng.nextInt(3) !== 0) {
        const ok = !model.has(i) && model.size < max;
        expect(p.tTableInsert(k, step)).toBe(ok ? 1 : 0);
        if (ok) model.set(i, step);
      } else {
        expect(p.tTableRemove(k)).toBe(model.delete(i) ? 1 : 0);
      }
      expect(p.tTableCount()).toBe(model.size);
      peak = Math.max(peak, model.size);
      expect(p.tTableBytes()).toBeGreaterThanOrEqual(grown);
      grown = p.tTableBytes();
    }
    for (let i = 0; i < 4000; i++) {
      set(i);
      expect(p.tTableLookup(k)).toBe(model.get(i) ?? -1);
    }
    // The connection table the smallest power of two at least twice the most entries it held; the
    // listener tables, with no listener, at their 64 buckets (connections are not counted per port).
    const buckets = (n: number) => Math.max(64, 2 ** Math.ceil(Math.log2(2 * n)));
    const sized = (buckets(peak) + 64 + 64) * 48;
    expect(peak).toBeGreaterThan(1024);
    expect(p.tTableBytes()).toBe(sized);
    for (const i of model.keys()) {
      set(i);
      expect(p.tTableRemove(k)).toBe(1);
    }
    expect(p.tTableCount()).toBe(0);
    expect(p.tTableBytes()).toBe(sized);
    p.tFlowKeyFree(k);
    p.tTableRelease();
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("holds a full table of 100,000 IPv6 connections and finds every one", async () => {
    const p = await loadPrimitives();
    p.tIsnSetSecret(0x1111n, 0x2222n);
    const n = 100_000;
    expect(p.tTableInit(n)).toBe(1);
    const k = p.tFlowKeyNew();
    const set = (i: number) => p.tFlowKeySet(k, 6, 0xfd00n, 1n, 443, 0xfd00n, BigInt(2 + (i >> 16)), i & 0xffff);
    for (let i = 0; i < n; i++) {
      set(i);
      expect(p.tTableInsert(k, i)).toBe(1);
    }
    p.tFlowKeySet(k, 6, 0xfd00n, 1n, 443, 0xfd00n, 99n, 1);
    expect(p.tTableInsert(k, n)).toBe(0); // full
    for (let i = 0; i < n; i += 7) {
      set(i);
      expect(p.tTableLookup(k)).toBe(i);
    }
    for (let i = 0; i < n; i += 2) {
      set(i);
      expect(p.tTableRemove(k)).toBe(1);
    }
    for (let i = 0; i < n; i++) {
      set(i);
      expect(p.tTableLookup(k)).toBe(i % 2 === 0 ? -1 : i);
    }
    expect(p.tTableCount()).toBe(n / 2);
  });

  it("listeners: specific address preferred over the wildcard, EADDRINUSE rules, port counts", async () => {
    const p = await loadPrimitives();
    expect(p.tTableInit(16)).toBe(1);
    const A = 0x0100000an, B = 0x0200000an;
    expect(p.tListenerLookup(4, A, 0n, 80)).toBe(-1);
    expect(p.tListenerAdd(4, 0n, 0n, 80, 1)).toBe(1);
    expect(p.tListenerLookup(4, A, 0n, 80)).toBe(1); // wildcard catches every address
    expect(p.tListenerLookup(6, A, 0n, 80)).toBe(-1); // per IP version
    expect(p.tListenerAdd(4, 0n, 0n, 80, 2)).toBe(0); // same wildcard
    expect(p.tListenerAdd(4, A, 0n, 80, 2)).toBe(0); // specific under a wildcard
    expect(p.tListenerRemove(4, 0n, 0n, 80)).toBe(1);
    expect(p.tListenerRemove(4, 0n, 0n, 80)).toBe(0);
    expect(p.tListenerAdd(4, A, 0n, 80, 3)).toBe(1);
    expect(p.tListenerAdd(4, B, 0n, 80, 4)).toBe(1);
    expect(p.tListenerAdd(4, 0n, 0n, 80, 5)).toBe(0); // wildcard over specific listeners
    expect(p.tListenerLookup(4, A, 0n, 80)).toBe(3);
    expect(p.tListenerLookup(4, B, 0n, 80)).toBe(4);
    expect(p.tListenerLookup(4, 0x0300000an, 0n, 80)).toBe(-1);
    expect(p.tListenerCount()).toBe(2);
    // The port's listener count: one specific listener left still keeps the wildcard out; none lets it in.
    expect(p.tListenerRemove(4, A, 0n, 80)).toBe(1);
    expect(p.tListenerAdd(4, 0n, 0n, 80, 5)).toBe(0);
    expect(p.tListenerRemove(4, B, 0n, 80)).toBe(1);
    expect(p.tListenerAdd(4, 0n, 0n, 80, 5)).toBe(1);
    expect(p.tListenerLookup(4, B, 0n, 80)).toBe(5);
    expect(p.tListenerRemove(4, 0n, 0n, 80)).toBe(1);
    expect(p.tListenerAdd(6, 0n, 0n, 443, 6)).toBe(1);
    expect(p.tListenerLookup(6, 0xfd00n, 5n, 443)).toBe(6);
    expect(p.tListenerAdd(0, 0n, 0n, 1, 1)).toBe(0);
  });
});

describe("ephemeral ports (RFC 6056 3.3.1)", () => {
  it("picks a free port in the range, randomised, skipping listeners and used 4-tuples", async () => {
    const p = await loadPrimitives();
    p.tRngSeed(1, 2, 3, 4);
    expect(p.tTableInit(64)).toBe(1);
    p.tEphemeralRange(40000, 40009);
    const t = tuple4(0x0100000a, 0, 0x0200000a, 80);
    const k = keyOf(p, t);
    expect(p.tListenerAdd(4, 0n, 0n, 40003, 0)).toBe(1);
    const got: number[] = [];
    for (let i = 0; i < 9; i++) {
      const port = p.tAllocEphemeralPort(k);
      expect(port).toBeGreaterThanOrEqual(40000);
      expect(port).toBeLessThanOrEqual(40009);
      expect(port).not.toBe(40003);
      expect(p.tFlowKeyLocalPort(k)).toBe(port);
      expect(p.tTableInsert(k, i)).toBe(1);
      got.push(port);
    }
    expect(new Set(got).size).toBe(9);
    p.tFlowKeySet(k, 4, 0x0100000an, 0n, 7, 0x0200000an, 0n, 80);
    expect(p.tAllocEphemeralPort(k)).toBe(-1); // every port taken for this remote
    expect(p.tFlowKeyLocalPort(k)).toBe(7); // left as it was
    // The same local ports are free toward another remote port.
    p.tFlowKeySet(k, 4, 0x0100000an, 0n, 0, 0x0200000an, 0n, 81);
    expect(p.tAllocEphemeralPort(k)).toBeGreaterThanOrEqual(40000);
  });

  it("spreads first choices over the whole default range", async () => {
    const p = await loadPrimitives();
    p.tRngSeed(5, 6, 7, 8);
    expect(p.tTableInit(4)).toBe(1);
    const k = keyOf(p, tuple4(1, 0, 2, 80));
    const seen = new Set<number>();
    let lo = 65536, hi = 0;
    for (let i = 0; i < 2000; i++) {
      const port = p.tAllocEphemeralPort(k);
      seen.add(port);
      lo = Math.min(lo, port);
      hi = Math.max(hi, port);
    }
    expect(lo).toBeGreaterThanOrEqual(49152);
    expect(hi).toBeLessThanOrEqual(65535);
    expect(seen.size).toBeGreaterThan(1800); // 2000 draws from 16384 ports rarely collide
    expect(hi - lo).toBeGreaterThan(15000);
  });
});
