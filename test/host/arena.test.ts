// What the stack's copies out of linear memory are (src/core/arena.ts): exact copies the receiver owns,
// plain Uint8Arrays, a large one over an ArrayBuffer of exactly its size (memory not zero-filled first
// must leave no byte beyond the copy reachable through .buffer), small ones side by side in a shared
// buffer without overlap, none written again after it is handed out.
import { describe, expect, it } from "vitest";
import { CopyArena, freshBytes } from "../../src/core/arena.js";
import { Prng } from "../../src/core/prng.js";

const BIG = 16 * 1024;

describe("CopyArena", () => {
  it("a copy of BIG bytes or more is a plain Uint8Array over an ArrayBuffer of exactly its size, equal to the source and independent of it", () => {
    const src = new Prng(3).fill(new Uint8Array(1 << 20));
    const arena = new CopyArena();
    const copies: [Uint8Array, number, number][] = [];
    for (const [from, n] of [[0, BIG], [5, BIG + 1], [1000, 64 * 1024], [7, 300_000], [123, 1 << 19]] as const) {
      copies.push([arena.copy(src, from, from + n), from, n]);
    }
    const expected = copies.map(([, from, n]) => src.slice(from, from + n));
    // The source changes after the copies were taken: the copies do not.
    src.fill(0xee);
    copies.forEach(([c, , n], i) => {
      expect(Object.getPrototypeOf(c)).toBe(Uint8Array.prototype);
      expect(c.length).toBe(n);
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(n);
      expect(Buffer.compare(c, expected[i]!)).toBe(0);
    });
    expect(new Set(copies.map(([c]) => c.buffer)).size).toBe(copies.length);
  });

  it("small copies share a buffer side by side, 8-byte aligned, and a later copy never writes into an earlier one", () => {
    const src = new Prng(5).fill(new Uint8Array(64 * 1024));
    const arena = new CopyArena();
    const taken: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    for (let i = 0, at = 0; i < 200; i++) {
      const n = 1 + ((i * 977) % (BIG - 1));
      at = (at + 4099) % (src.length - n);
      taken.push(arena.copy(src, at, at + n));
      expected.push(src.slice(at, at + n));
    }
    taken.forEach((c, i) => {
      expect(Object.getPrototypeOf(c)).toBe(Uint8Array.prototype);
      expect(c.byteOffset % 8).toBe(0);
      expect(Buffer.compare(c, expected[i]!)).toBe(0);
    });
    const byBuffer = new Map<ArrayBufferLike, [number, number][]>();
    for (const c of taken) byBuffer.set(c.buffer, [...(byBuffer.get(c.buffer) ?? []), [c.byteOffset, c.byteOffset + c.length]]);
    expect(byBuffer.size).toBeLessThan(taken.length);
    for (const ranges of byBuffer.values()) {
      ranges.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
    }
  });
});

describe("freshBytes", () => {
  it("is n bytes of a plain Uint8Array over an ArrayBuffer of its own, exactly n bytes, every call a new one", () => {
    const seen = new Set<ArrayBufferLike>();
    for (const n of [1, 7, BIG, 65_536, 200_001]) {
      const b = freshBytes(n);
      expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
      expect(b.length).toBe(n);
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(n);
      expect(seen.has(b.buffer)).toBe(false);
      seen.add(b.buffer);
    }
  });
});
