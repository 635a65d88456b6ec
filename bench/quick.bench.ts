// `npm run bench -- quick`: small versions of the rows users feel, each beside its same-run baseline,
// in well under a minute, for before/after comparisons of a change (the full benches stay the
// reference: bench/engine.bench.ts, sockets.bench.ts, node-duplex.bench.ts, checksum.bench.ts).
// - raw engine bulk at MTU 1500, at MTU 1500 with segmentation offload 65535, and at MTU 65535
//   (engine.bench.ts's bulk), vs node:net over the loopback;
// - the Web and Node faces over the default memory link, 64 KiB writes (face-rows.ts webBulk,
//   node-duplex.bench.ts duplexBulk), vs the same node:net runs and the raw engine with that link's
//   MTU and offload (bench/lib/engine-baseline.ts, the baseline node-duplex.bench.ts divides by),
//   all with the same bytes;
// - churn, 100 at a time with default buffers (engine.bench.ts's churn), vs node:net one at a time;
// - 1-byte request/response through the Node face over the memory link, vs node:net;
// - loadWire().checksum of 1460 bytes from a JavaScript Uint8Array (the copying path), vs the
//   plain-TypeScript reference loop (test/fixtures/checksum-reference.ts).
// Bulk rows interleave (bench/lib/sample.ts) so load from other processes spreads over every row.
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { bindNet } from "../src/faces/node-net.js";
import { loadWire } from "../src/core/wire.js";
import { Prng } from "../src/core/prng.js";
import { onesSumRef } from "../test/fixtures/checksum-reference.js";
import { bulk, churn } from "./engine.bench.js";
import { duplexBulk } from "./node-duplex.bench.js";
import { roundRatios, stacks, webBulk } from "./lib/face-rows.js";
import { rawEngineBulk, rawEngineText } from "./lib/engine-baseline.js";
import { bulkNodeNet, churnNodeNet } from "./lib/node-net.js";
import { interleaved, median } from "./lib/sample.js";

const MiB = 1 << 20;
const ENGINE_BYTES = 128 * MiB;
const FACE_BYTES = ENGINE_BYTES;
const ROUNDS = 3;
const BULK_ROUNDS = 5;
/**
 * Bytes each bulk row moves once before the measured rounds. V8 optimises these paths' JavaScript
 * and WebAssembly on background threads; on two shared cores the first ~256 MiB through a face (and
 * through node:net) went at a third of the rate or less of the runs after them, which made a face's ratio
 * swing from round to round with the order the rows ran in.
 */
const WARM_BYTES = 256 * MiB;
const NODE_CHURN = 1500;
const ROUND_TRIPS = 2000;

/** Median µs of one 1-byte request / 1-byte response, `ROUND_TRIPS` in a row on one connection. */
async function pingPong(client: Socket): Promise<number> {
  const one = Buffer.of(1);
  const times: number[] = [];
  await new Promise<void>((resolve) => {
    let start = performance.now();
    let left = ROUND_TRIPS;
    client.on("data", () => {
      times.push(performance.now() - start);
      if (--left === 0) return resolve();
      start = performance.now();
      client.write(one);
    });
    client.write(one);
  });
  client.destroy();
  return median(times.slice(ROUND_TRIPS / 10)) * 1000;
}

/** pingPong through the Node face: two stacks over the memory link, an echo server on the second. */
async function nodeFaceLatency(): Promise<number> {
  const [a, b] = await stacks("memory");
  const server = bindNet(b).createServer((s) => s.on("data", (d: Buffer) => s.write(d)));
  await new Promise<void>((r) => server.listen(80, r));
  const c = bindNet(a).connect({ host: "10.0.0.2", port: 80, noDelay: true });
  await new Promise<void>((r) => c.once("connect", r));
  const us = await pingPong(c as unknown as Socket);
  a.close();
  b.close();
  return us;
}

async function nodeNetLatency(): Promise<number> {
  const server = createServer((s) => s.on("data", (d: Buffer) => s.write(d)).setNoDelay(true));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const c = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, noDelay: true });
  await new Promise<void>((r) => c.once("connect", r));
  const us = await pingPong(c);
  await new Promise<void>((r) => server.close(() => r()));
  return us;
}

/** GB/s of loadWire().checksum on 1460 JavaScript bytes and of the reference loop, same run. */
async function checksum1460(): Promise<{ copying: number; reference: number }> {
  const wire = await loadWire({ flavor: "simd" });
  const bytes = new Prng(1).fill(new Uint8Array(1460));
  let sink = 0;
  const rate = (f: (i: number) => number, calls: number) => {
    const samples: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = performance.now();
      let s = 0;
      for (let i = 0; i < calls; i++) s ^= f(i);
      sink ^= s;
      samples.push((calls * bytes.length) / ((performance.now() - start) * 1e6));
    }
    return median(samples);
  };
  const copying = rate((i) => wire.checksum(bytes, i), 100_000);
  const reference = rate((i) => onesSumRef(bytes, i), 10_000);
  if (sink === 0.5) console.log(sink);
  return { copying, reference };
}

export default async () => {
  const started = performance.now();
  await rawEngineBulk(WARM_BYTES, "memory");
  await webBulk(WARM_BYTES, "memory");
  await duplexBulk(WARM_BYTES, "memory");
  await bulkNodeNet(WARM_BYTES, { timeLimitMs: 30_000 });
  const gbps = await interleaved(BULK_ROUNDS, {
    mtu1500: async () => (await bulk(1500, ENGINE_BYTES, false)).gbps,
    mtu65535: async () => (await bulk(65535, ENGINE_BYTES, false)).gbps,
    memoryLinkRaw: () => rawEngineBulk(FACE_BYTES, "memory"),
    web: () => webBulk(FACE_BYTES, "memory"),
    node: () => duplexBulk(FACE_BYTES, "memory"),
    net: async () => (await bulkNodeNet(ENGINE_BYTES, { timeLimitMs: 30_000 })).gbitPerSecond,
  });
  const faceUs = await nodeFaceLatency();
  const netUs = await nodeNetLatency();
  const sum = await checksum1460();
  // Churn last: with it first, node:net's and the faces' bulk rows ran at about half their rate
  // (7 against 12 Gbit/s, same machine and minute), presumably as every collection their read
  // chunks trigger then walks the heap the churn left behind.
  const churns: number[] = [];
  const netChurns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    churns.push(await churn(100, undefined));
    netChurns.push((await churnNodeNet(NODE_CHURN, { timeLimitMs: 30_000 })).perSecond);
  }

  const net = median(gbps.net);
  const raw1500 = median(gbps.mtu1500);
  const faceRaw = median(gbps.memoryLinkRaw);
  const f = (x: number, d = 2) => x.toFixed(d);
  const k = (x: number) => Math.round(x).toLocaleString("en-US");
  const row = (name: string, xs: number[], unit: string, base: string, ratio: number, rounds = "") =>
    `| ${name} | ${f(median(xs))} ${unit} | ${base} | ${f(ratio)}x${rounds && ` (rounds ${rounds})`} |`;
  const markdown = [
    `Small versions of the rows issue 13 targets, each with its baseline from the same run (medians of ${BULK_ROUNDS} interleaved`,
    `bulk runs of ${ENGINE_BYTES / MiB} MiB after one of ${WARM_BYTES / MiB} MiB per row, the faces in 64 KiB writes; ${ROUNDS} churn runs of 20,000 connections after as many`,
    `of warm-up, Node net churn ${k(NODE_CHURN)}, ${k(ROUND_TRIPS)} round trips). Noisier than the full benches: compare a change with quick runs before`,
    `and after it on the same machine. The faces' raw baseline has the default memory link's ${rawEngineText("memory")}`,
    `(bench/lib/engine-baseline.ts); "rounds" gives each interleaved round's ratio to its own baseline run, min - max. Whole run: ${f((performance.now() - started) / 1000, 1)} s.`,
    "",
    "| row | value | baseline (same run) | ratio |",
    "|---|---:|---|---:|",
    row("raw engine bulk, MTU 1500", gbps.mtu1500, "Gbit/s", `node:net loopback ${f(net)} Gbit/s`, raw1500 / net),
    row("raw engine bulk, MTU 1500 + offload 65535 (the memory link's)", gbps.memoryLinkRaw, "Gbit/s", "node:net loopback", faceRaw / net),
    row("raw engine bulk, MTU 65535", gbps.mtu65535, "Gbit/s", "node:net loopback", median(gbps.mtu65535) / net),
    row("Web face, memory link", gbps.web, "Gbit/s", "node:net loopback", median(gbps.web) / net, roundRatios(gbps.web, gbps.net)),
    row("Web face / raw engine, memory link's MTU and offload", gbps.web, "Gbit/s", `raw engine ${f(faceRaw)} Gbit/s`, median(gbps.web) / faceRaw, roundRatios(gbps.web, gbps.memoryLinkRaw)),
    row("Node face, memory link", gbps.node, "Gbit/s", "node:net loopback", median(gbps.node) / net, roundRatios(gbps.node, gbps.net)),
    row("Node face / raw engine, memory link's MTU and offload", gbps.node, "Gbit/s", "raw engine", median(gbps.node) / faceRaw, roundRatios(gbps.node, gbps.memoryLinkRaw)),
    `| churn, 100 at a time, default buffers | ${k(median(churns))} conn/s | node:net 1 at a time ${k(median(netChurns))} conn/s | ${f(median(churns) / median(netChurns))}x |`,
    `| 1-byte request/response, Node face | ${f(faceUs, 1)} µs | node:net loopback ${f(netUs, 1)} µs | ${f(faceUs / netUs)}x (lower is better) |`,
    `| loadWire().checksum, 1460 bytes copied | ${f(sum.copying)} GB/s | plain-TS reference ${f(sum.reference)} GB/s | ${f(sum.copying / sum.reference, 1)}x |`,
  ].join("\n");
  return { title: "Quick before/after rows (bench/quick.bench.ts)", markdown };
};
