// Differential tests of copy-and-checksum (assembly/wire/copysum.ts) against the plain-TypeScript
// reference, on every build: the copy is exact and touches nothing outside `dst`, and the sum is
// onesSum's, for every length and alignment of source and destination.
import { beforeAll, describe, expect, it } from "vitest";
import { loadEngine, type CoreExports, type Flavor, type LoadedEngine } from "../../src/core/loader.js";
import { Prng } from "../../src/core/prng.js";
import { onesSumRef } from "../fixtures/checksum-reference.js";

interface CopySumExports extends CoreExports {
  scratchPtr(): number;
  scratchSize(): number;
  copyAndSum(dst: number, src: number, len: number, initial: number): number;
}

const FLAVORS: Flavor[] = ["debug", "simd", "scalar"];
const engines = new Map<Flavor, LoadedEngine<CopySumExports>>();

beforeAll(async () => {
  for (const flavor of FLAVORS) engines.set(flavor, await loadEngine<CopySumExports>({ flavor }));
});

describe.each(FLAVORS)("copyAndSum, %s build", (flavor) => {
  it("copies exactly and sums as onesSum for every length 0..1100 at source and destination offsets 0..3 and odd ones", () => {
    const e = engines.get(flavor)!;
    const prng = new Prng(0x5eed ^ flavor.length);
    const data = prng.fill(new Uint8Array(1100));
    const scratch = e.exports.scratchPtr();
    const DST = 8192;
    for (const [srcOff, dstOff] of [[0, 0], [1, 0], [0, 1], [2, 3], [3, 2], [5, 17], [33, 7]] as const) {
      const src = scratch + srcOff;
      const dst = scratch + DST + dstOff;
      e.views.u8.set(data, src);
      for (let len = 0; len <= data.length; len += len < 300 ? 1 : 7) {
        // Poison around the destination: a copy that writes outside [dst, dst + len) shows up.
        e.views.u8.fill(0xa5, dst - 16, dst + data.length + 16);
        const initial = prng.nextU32();
        const got = e.exports.copyAndSum(dst, src, len, initial);
        const want = onesSumRef(data.subarray(0, len), initial);
        if (got !== want) expect({ srcOff, dstOff, len, got }).toEqual({ srcOff, dstOff, len, got: want });
        const out = e.views.u8.subarray(dst - 16, dst + len + 16);
        const expected = new Uint8Array(len + 32).fill(0xa5);
        expected.set(data.subarray(0, len), 16);
        if (Buffer.compare(out, expected) !== 0) expect({ srcOff, dstOff, len, copy: "differs" }).toBe("exact");
      }
    }
  });

  it("folds carries on 64 KiB and 256 KiB of 0xff (past the vector loop's widening block) at odd and even offsets", () => {
    const e = engines.get(flavor)!;
    const scratch = e.exports.scratchPtr();
    for (const len of [65535, 65536, 262144 + 3]) {
      const ones = new Uint8Array(len).fill(0xff);
      for (const off of [0, 1]) {
        e.views.u8.set(ones, scratch + off);
        for (const initial of [0, 0xffff, 0xffffffff]) {
          expect(e.exports.copyAndSum(scratch + 300000 + off, scratch + off, len, initial)).toBe(onesSumRef(ones, initial));
        }
        expect(Buffer.compare(e.views.u8.subarray(scratch + 300000 + off, scratch + 300000 + off + len), ones)).toBe(0);
      }
    }
  });
});
