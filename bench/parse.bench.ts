// Parse + validate + checksum-verify of full-sized IPv4 TCP segments (20-byte IP header, 20-byte
// TCP header, 1460 bytes of payload: a 1500-byte packet), in segments per second: the core's single
// call (packet already in linear memory, and with the host's copy in), its batched parse (many
// packets per call), and the plain-TypeScript reference parser (test/fixtures/wire-reference.ts), all in the
// same process and run. Baseline for the ratios: the reference.
import { Bench } from "tinybench";
import { loadEngine, type CoreExports, type Flavor } from "../src/core/loader.js";
import { Prng } from "../src/core/prng.js";
import { buildPacket, refParse } from "../test/fixtures/wire-reference.js";
import { recordSize } from "../src/core/boundary.js";

interface ParseExports extends CoreExports {
  scratchPtr(): number;
  wireParse(ptr: number, len: number, verifyChecksums: number): number;
  parseBatch(ptr: number, byteLen: number, verifyChecksums: number, reasonsOut: number, countsOut: number): number;
}

const PAYLOAD = 1460;
const BATCH = 256; // 256 records of 1504 bytes: 385 KB of the 1 MiB scratch region
const CALLS = 256; // single calls per timed sample

export default async () => {
  const rng = new Prng(2);
  const packets = Array.from({ length: BATCH }, (_, i) =>
    buildPacket({ seq: rng.nextU32(), ack: rng.nextU32(), flags: 0x018, ipId: i, payload: rng.fill(new Uint8Array(PAYLOAD)) }),
  );
  const size = packets[0]!.length;
  let sink = 0;

  const rows: string[] = [];
  const results: Record<string, number> = {};
  const bench = new Bench({ time: 600, warmup: true });
  for (const flavor of ["simd", "scalar"] as Flavor[]) {
    const engine = await loadEngine<ParseExports>({ flavor });
    const { wireParse, parseBatch } = engine.exports;
    const sp = engine.exports.scratchPtr();
    const single = sp;
    engine.views.u8.set(packets[0]!, single);
    // Batch layout: [u32 length][bytes] records, 4-byte aligned (assembly/wire/api.ts).
    const batchAt = sp + 4096;
    let off = 0;
    for (const p of packets) {
      engine.views.dv.setUint32(batchAt + off, p.length, true);
      engine.views.u8.set(p, batchAt + off + 4);
      off += recordSize(p.length);
    }
    const batchBytes = off;
    const countsAt = batchAt + batchBytes;
    if (wireParse(single, size, 1) !== 0) throw new Error("bench packet refused");
    if (parseBatch(batchAt, batchBytes, 1, 0, countsAt) !== BATCH || engine.views.dv.getUint32(countsAt, true) !== BATCH) {
      throw new Error("bench batch refused");
    }
    const u8 = engine.views.u8;
    bench
      .add(`${flavor} single`, () => {
        let s = 0;
        for (let i = 0; i < CALLS; i++) s += wireParse(single, size, 1);
        sink ^= s;
      })
      .add(`${flavor} single + copy in`, () => {
        let s = 0;
        for (let i = 0; i < CALLS; i++) {
          u8.set(packets[i & (BATCH - 1)]!, single);
          s += wireParse(single, size, 1);
        }
        sink ^= s;
      })
      .add(`${flavor} batched`, () => {
        sink ^= parseBatch(batchAt, batchBytes, 1, 0, countsAt);
      });
  }
  bench.add("reference", () => {
    let s = 0;
    for (let i = 0; i < 16; i++) s += refParse(packets[i]!, true).reason;
    sink ^= s;
  });
  await bench.run();
  const perSample: Record<string, number> = { reference: 16 };
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== "completed") throw new Error(`bench ${task.name}: ${r.state}`);
    const n = perSample[task.name] ?? (task.name.endsWith("batched") ? BATCH : CALLS);
    results[task.name] = n / (r.latency.p50 / 1e3);
  }
  if (sink === 0.5) console.log(sink); // keeps the results observable
  const ref = results.reference!;
  const mps = (x: number) => (x / 1e6).toFixed(2);
  for (const [name, rate] of Object.entries(results)) {
    rows.push(`| ${name} | ${mps(rate)} | ${((rate * size * 8) / 1e9).toFixed(1)} | ${(rate / ref).toFixed(1)}x |`);
  }

  const markdown = [
    `Million segments per second (median sample) of parse + validate + checksum-verify (IPv4 header`,
    `checksum and TCP checksum with the pseudo-header) of ${size}-byte IPv4 packets (${PAYLOAD}-byte payload).`,
    `"single": one wireParse call per packet already in linear memory; "+ copy in": the host copies each`,
    `packet into linear memory first; "batched": one parseBatch call over ${BATCH} packets laid out as`,
    `[u32 length][bytes] records. "simd" and "scalar" are the two release builds.`,
    `Baseline: the plain-TypeScript reference parser (test/fixtures/wire-reference.ts) in the same run.`,
    `Issue 2 target: batched >= 8 million segments/s.`,
    "",
    "| path | M segments/s | Gbit/s of packets | / reference |",
    "|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
  return { title: "Packet parse (bench/parse.bench.ts)", markdown };
};
