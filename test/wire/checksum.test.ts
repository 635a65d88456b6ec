// Differential tests of the WASM Internet checksum (assembly/wire/checksum.ts) against the
// plain-TypeScript reference, on every build: debug (assertions), release SIMD and scalar.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadEngine, type CoreExports, type Flavor, type LoadedEngine } from "../../src/core/loader.js";
import { Prng } from "../../src/core/prng.js";
import {
  checksumRef,
  onesSumRef,
  pseudoHeaderSumV4Ref,
  pseudoHeaderSumV6Ref,
  recomputeAfterWrite16,
  recomputeAfterWrite32,
} from "../fixtures/checksum-reference.js";

interface ChecksumExports extends CoreExports {
  scratchPtr(): number;
  scratchSize(): number;
  onesSum(ptr: number, len: number, initial: number): number;
  onesSumScalar(ptr: number, len: number, initial: number): number;
  onesSumSimd(ptr: number, len: number, initial: number): number;
  finishChecksum(sum: number): number;
  pseudoHeaderSumV4(src: number, dst: number, protocol: number, length: number): number;
  pseudoHeaderSumV6(src: number, dst: number, nextHeader: number, length: number): number;
  updateChecksum16(oldChecksum: number, oldWord: number, newWord: number): number;
  updateChecksum32(oldChecksum: number, oldValue: number, newValue: number): number;
}

const FLAVORS: Flavor[] = ["debug", "simd", "scalar"];
const SUMS = ["onesSum", "onesSumScalar", "onesSumSimd"] as const;
const engines = new Map<Flavor, LoadedEngine<ChecksumExports>>();

beforeAll(async () => {
  for (const flavor of FLAVORS) engines.set(flavor, await loadEngine<ChecksumExports>({ flavor }));
});

/** Copies bytes into the engine's scratch region at `offset` and returns their address. */
function place(engine: LoadedEngine<ChecksumExports>, bytes: Uint8Array, offset = 0): number {
  const ptr = engine.exports.scratchPtr() + offset;
  engine.views.u8.set(bytes, ptr);
  return ptr;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

describe.each(FLAVORS)("onesSum, %s build", (flavor) => {
  const engine = () => engines.get(flavor)!;

  it("matches the reference for every length 0..2048 at offsets 0, 1, 2, 3 and random ones", () => {
    const e = engine();
    const prng = new Prng(0xc0ffee ^ flavor.length);
    const data = prng.fill(new Uint8Array(2048 + 64));
    const offsets = [0, 1, 2, 3, 5 + prng.nextInt(27), 33 + prng.nextInt(31)];
    for (const offset of offsets) {
      // Poison the bytes around the input: a sum that reads past `len` or before `ptr` shows up. The
      // first scratchPtr() call takes the region from the heap and may grow memory: view after it.
      const scratch = e.exports.scratchPtr();
      e.views.u8.fill(0xa5, scratch, scratch + 4096 + 128);
      const ptr = place(e, data, offset);
      for (let len = 0; len <= 2048; len++) {
        const initial = prng.nextU32();
        const want = onesSumRef(data.subarray(0, len), initial);
        for (const fn of SUMS) {
          const got = e.exports[fn](ptr, len, initial);
          if (got !== want) expect({ fn, offset, len, initial, got }).toEqual({ fn, offset, len, initial, got: want });
        }
      }
    }
  });

  it("folds carries: all-0xff data at lengths 0, 1, 2, 3, 63, 64, 65, 65535, 65536 and 1 MiB - 1", () => {
    const e = engine();
    const big = new Uint8Array(e.exports.scratchSize() - 8).fill(0xff);
    for (const len of [0, 1, 2, 3, 63, 64, 65, 65535, 65536, big.length - 1]) {
      for (const offset of [0, 1]) {
        const ptr = place(e, big.subarray(0, len), offset);
        for (const initial of [0, 1, 0xffff, 0xffffffff]) {
          const want = onesSumRef(big.subarray(0, len), initial);
          for (const fn of SUMS) expect([fn, len, offset, initial, e.exports[fn](ptr, len, initial)]).toEqual([fn, len, offset, initial, want]);
        }
      }
    }
  });

  it("matches the reference on random buffers up to the whole scratch region (several SIMD blocks)", () => {
    const e = engine();
    const prng = new Prng(7);
    const data = prng.fill(new Uint8Array(e.exports.scratchSize() - 8));
    for (const len of [65535, 65536 + 7, 262144 - 1, 262144 + 63, 300001, data.length]) {
      const ptr = place(e, data.subarray(0, len), 3);
      const initial = prng.nextU32();
      const want = onesSumRef(data.subarray(0, len), initial);
      for (const fn of SUMS) expect([fn, len, e.exports[fn](ptr, len, initial)]).toEqual([fn, len, want]);
    }
  });

  it("returns 0 only for all-zero input with a zero initial, and 0xffff when the total is -0", () => {
    const e = engine();
    const zeros = new Uint8Array(300);
    const ptr = place(e, zeros);
    for (const fn of SUMS) {
      expect(e.exports[fn](ptr, 0, 0)).toBe(0);
      expect(e.exports[fn](ptr, 300, 0)).toBe(0);
      expect(e.exports[fn](ptr, 300, 0xffff)).toBe(0xffff);
      expect(e.exports[fn](ptr, 300, 0x10000)).toBe(1);
    }
    // 0x00ff + 0xff00 = 0xffff: ones'-complement -0, never folded to +0.
    const p2 = place(e, Uint8Array.of(0x00, 0xff, 0xff, 0x00));
    for (const fn of SUMS) expect(e.exports[fn](p2, 4, 0)).toBe(0xffff);
  });

  it("gives RFC 1071's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const e = engine();
    const bytes = hex("0001f203f4f5f6f7");
    for (const offset of [0, 1]) {
      const ptr = place(e, bytes, offset);
      for (const fn of SUMS) expect(e.exports[fn](ptr, 8, 0)).toBe(0xddf2);
      expect(e.exports.finishChecksum(e.exports.onesSum(ptr, 8, 0))).toBe(0x220d);
    }
  });

  it("verifies a real IPv4 header: a correct header sums to 0xffff, its checksum field recomputes", () => {
    // The classic IPv4 header example, checksum field zeroed; its checksum is b861.
    const header = hex("450000730000400040110000c0a80001c0a800c7");
    const e = engine();
    const ptr = place(e, header);
    expect(e.exports.finishChecksum(e.exports.onesSum(ptr, 20, 0))).toBe(0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    place(e, header);
    expect(e.exports.onesSum(ptr, 20, 0)).toBe(0xffff);
  });

  it("chains buffers through `initial`: the sum of even-length parts equals the sum of the whole", () => {
    const e = engine();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(300), (bytes, cutAt) => {
        const cut = Math.min(cutAt, bytes.length) & ~1;
        const ptr = place(e, bytes, 1);
        const head = e.exports.onesSum(ptr, cut, 0);
        expect(e.exports.onesSum(ptr + cut, bytes.length - cut, head)).toBe(onesSumRef(bytes));
      }),
      { seed: 41, numRuns: 300 },
    );
  });
});

describe.each(FLAVORS)("pseudo-headers and incremental update, %s build", (flavor) => {
  const engine = () => engines.get(flavor)!;

  it("sums the IPv4 pseudo-header like the reference", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        (src, dst, protocol, length) => {
          const s = place(e, src, 1);
          const d = place(e, dst, 9);
          expect(e.exports.pseudoHeaderSumV4(s, d, protocol, length)).toBe(pseudoHeaderSumV4Ref(src, dst, protocol, length));
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });

  it("sums the IPv6 pseudo-header like the reference, including 32-bit lengths", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 0xffffffff }),
        (src, dst, nextHeader, length) => {
          const s = place(e, src, 3);
          const d = place(e, dst, 20);
          expect(e.exports.pseudoHeaderSumV6(s, d, nextHeader, length)).toBe(pseudoHeaderSumV6Ref(src, dst, nextHeader, length));
        },
      ),
      { seed: 43, numRuns: 2000 },
    );
  });

  it("pseudo-header sum chained into onesSum gives the TCP checksum of a segment", () => {
    const e = engine();
    const src = Uint8Array.of(10, 77, 0, 1);
    const dst = Uint8Array.of(10, 77, 0, 2);
    const segment = new Prng(5).fill(new Uint8Array(1480));
    segment[16] = segment[17] = 0;
    const s = place(e, src, 0);
    const d = place(e, dst, 4);
    const p = place(e, segment, 11);
    const initial = e.exports.pseudoHeaderSumV4(s, d, 6, segment.length);
    const field = e.exports.finishChecksum(e.exports.onesSum(p, segment.length, initial));
    expect(field).toBe(checksumRef(segment, pseudoHeaderSumV4Ref(src, dst, 6, segment.length)));
    // Writing the field in makes the whole verify to -0 (0xffff), as a receiver checks it.
    segment[16] = field >>> 8;
    segment[17] = field & 0xff;
    place(e, segment, 11);
    expect(e.exports.onesSum(p, segment.length, initial)).toBe(0xffff);
  });

  // Packets whose checksum covers a pseudo-header (protocol 6 is never zero), as every TCP checksum does.
  const packet = fc
    .uint8Array({ minLength: 2, maxLength: 120 })
    .map((b) => (b.length & 1 ? b.subarray(0, b.length - 1) : b))
    .filter((b) => b.length >= 4);

  it("updateChecksum16 (RFC 1624 eqn. 3) equals recomputation for random packets and word changes", () => {
    const e = engine();
    fc.assert(
      fc.property(packet, fc.nat(), fc.integer({ min: 0, max: 0xffff }), fc.nat({ max: 0xffffffff }), (bytes, at, newWord, initialRaw) => {
        const initial = initialRaw | 6; // a pseudo-header sum is never 0
        const offset = (at % (bytes.length >> 1)) * 2;
        const old = checksumRef(bytes, initial);
        const oldWord = (bytes[offset] << 8) | bytes[offset + 1];
        expect(e.exports.updateChecksum16(old, oldWord, newWord)).toBe(recomputeAfterWrite16(bytes, offset, newWord, initial));
      }),
      { seed: 44, numRuns: 3000 },
    );
  });

  it("updateChecksum32 equals recomputation for random 32-bit field changes", () => {
    const e = engine();
    fc.assert(
      fc.property(packet, fc.nat(), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (bytes, at, newValue, initialRaw) => {
        const initial = initialRaw | 6;
        const offset = (at % ((bytes.length - 2) >> 1)) * 2;
        const old = checksumRef(bytes, initial);
        const oldValue = new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset);
        expect(e.exports.updateChecksum32(old, oldValue, newValue)).toBe(recomputeAfterWrite32(bytes, offset, newValue, initial));
      }),
      { seed: 45, numRuns: 3000 },
    );
  });

  it("handles RFC 1624's -0/+0 cases", () => {
    const x = engine().exports;
    // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285; eqn. 3 gives 0x0000 (eqn. 2 gave 0xffff).
    expect(x.updateChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
    // And the reverse change restores the original field.
    expect(x.updateChecksum16(0x0000, 0x3285, 0x5555)).toBe(0xdd2f);
    // Erratum 4782: HC = 0 with an unchanged word stays 0 when the carries are folded in full.
    expect(x.updateChecksum16(0x0000, 0x5555, 0x5555)).toBe(0x0000);
    // A packet whose true checksum is 0x0000 (its sum is 0xffff), updated and updated back.
    const bytes = hex("ff00" + "00ff" + "1234" + "edcb");
    expect(checksumRef(bytes)).toBe(0x0000);
    const changed = x.updateChecksum16(0x0000, 0x1234, 0x1235);
    expect(changed).toBe(recomputeAfterWrite16(bytes, 4, 0x1235));
    expect(x.updateChecksum16(changed, 0x1235, 0x1234)).toBe(0x0000);
    // A change that leaves the sum at -0 gives 0x0000, as recomputation does, never 0xffff.
    expect(x.updateChecksum16(0x0000, 0x1234, 0x1234)).toBe(0x0000);
    expect(x.updateChecksum32(0x0000, 0x12345678, 0x12345678)).toBe(0x0000);
    // The one case where eqn. 3 and recomputation differ: data that becomes all zero. Recomputation
    // gives 0xffff (+0 summed), the update 0x0000; both are zero in ones' complement, and a TCP or IP
    // checksum never covers all-zero data (the protocol byte, the version nibble).
    const lone = hex("00010000");
    expect(recomputeAfterWrite16(lone, 0, 0)).toBe(0xffff);
    expect(x.updateChecksum16(checksumRef(lone), 0x0001, 0x0000)).toBe(0x0000);
  });
});
