// Internet checksum throughput: the v128 path, the scalar path (both from the SIMD release build,
// data already in linear memory), the public helper loadWire().checksum on bytes that live in
// JavaScript (the copying path) and on a wire.buffer() (the zero-copy path), and the plain-TypeScript
// reference (a 16-bit loop over a Uint8Array, test/fixtures/checksum-reference.ts), measured in the
// same process and run. Baseline for the ratios: the reference, and the scalar path.
import { Bench } from "tinybench";
import { loadEngine, type CoreExports } from "../src/core/loader.js";
import { loadWire } from "../src/core/wire.js";
import { Prng } from "../src/core/prng.js";
import { onesSumRef } from "../test/fixtures/checksum-reference.js";

interface ChecksumExports extends CoreExports {
  scratchPtr(): number;
  onesSum(ptr: number, len: number, initial: number): number;
  onesSumScalar(ptr: number, len: number, initial: number): number;
  onesSumSimd(ptr: number, len: number, initial: number): number;
}

const SIZES = [20, 40, 1460, 9000, 65535];
// Each timed sample sums about this many bytes, so timer overhead is negligible even at 20 bytes.
const BYTES_PER_SAMPLE = 1 << 18;

export default async () => {
  const engine = await loadEngine<ChecksumExports>({ flavor: "simd" });
  const x = engine.exports;
  const data = new Prng(1).fill(new Uint8Array(65536));
  const ptr = x.scratchPtr();
  engine.views.u8.set(data, ptr);
  const wire = await loadWire({ flavor: "simd" });
  const lent = wire.buffer(data.length);
  lent.set(data);
  let sink = 0;

  const rows: string[] = [];
  const helperRows: string[] = [];
  for (const size of SIZES) {
    const calls = Math.max(1, Math.floor(BYTES_PER_SAMPLE / size));
    const refCalls = Math.max(1, calls >> 4);
    const bytes = data.subarray(0, size);
    const inPlace = lent.subarray(0, size);
    const bench = new Bench({ time: 400, warmup: true });
    // One loop per function, each writing the shared sink once per sample: a loop that calls
    // whichever function it is handed turns its call site polymorphic and slows every path alike.
    const { onesSumSimd, onesSumScalar, onesSum } = x;
    bench
      .add("simd", () => {
        let s = 0;
        for (let i = 0; i < calls; i++) s ^= onesSumSimd(ptr, size, i);
        sink ^= s;
      })
      .add("scalar", () => {
        let s = 0;
        for (let i = 0; i < calls; i++) s ^= onesSumScalar(ptr, size, i);
        sink ^= s;
      })
      .add("onesSum", () => {
        let s = 0;
        for (let i = 0; i < calls; i++) s ^= onesSum(ptr, size, i);
        sink ^= s;
      })
      .add("copying", () => {
        let s = 0;
        for (let i = 0; i < calls; i++) s ^= wire.checksum(bytes, i);
        sink ^= s;
      })
      .add("zero-copy", () => {
        let s = 0;
        for (let i = 0; i < calls; i++) s ^= wire.checksum(inPlace, i);
        sink ^= s;
      })
      .add("reference", () => {
        let s = 0;
        for (let i = 0; i < refCalls; i++) s ^= onesSumRef(bytes, i);
        sink ^= s;
      });
    await bench.run();
    const gbps = (name: string, n: number) => {
      const task = bench.getTask(name)!;
      const r = task.result;
      if (r.state !== "completed") throw new Error(`bench ${name} at ${size} bytes: ${r.state}`);
      return (n * size) / (r.latency.p50 * 1e6);
    };
    const simd = gbps("simd", calls);
    const scalar = gbps("scalar", calls);
    const dispatch = gbps("onesSum", calls);
    const copying = gbps("copying", calls);
    const zeroCopy = gbps("zero-copy", calls);
    const reference = gbps("reference", refCalls);
    rows.push(
      `| ${size} | ${simd.toFixed(2)} | ${scalar.toFixed(2)} | ${dispatch.toFixed(2)} | ${reference.toFixed(2)} | ${(simd / reference).toFixed(1)}x | ${(simd / scalar).toFixed(2)}x |`,
    );
    helperRows.push(
      `| ${size} | ${copying.toFixed(2)} | ${zeroCopy.toFixed(2)} | ${reference.toFixed(2)} | ${(copying / reference).toFixed(1)}x | ${(zeroCopy / reference).toFixed(1)}x |`,
    );
  }
  if (sink === 0.5) console.log(sink); // keeps the results observable

  const markdown = [
    "GB/s (10^9 bytes/s, median sample) of the ones'-complement sum of bytes already in linear memory,",
    "SIMD release build; each sample is a loop of calls, so the JS-to-WASM call cost is included.",
    "`onesSum` is the exported entry that picks the scalar path below its SIMD threshold; at 20 and 40",
    "bytes the call itself (a few ns) dominates and the scalar path is the faster one.",
    "Baseline: the plain-TypeScript reference (test/fixtures/checksum-reference.ts) in the same run.",
    "",
    "| bytes | SIMD | scalar | onesSum | reference | SIMD / reference | SIMD / scalar |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "The public helper `loadWire().checksum(bytes, initial)` in the same run: the copying path (bytes in a",
    "JavaScript Uint8Array: one `set()` into the core's scratch region, then the sum) and the zero-copy",
    "path (bytes in a `wire.buffer()`, summed where they lie), each call validating its arguments.",
    "Baseline: the same plain-TypeScript reference.",
    "",
    "| bytes | copying | zero-copy | reference | copying / reference | zero-copy / reference |",
    "|---:|---:|---:|---:|---:|---:|",
    ...helperRows,
  ].join("\n");
  return { title: "Internet checksum (bench/checksum.bench.ts)", markdown };
};
