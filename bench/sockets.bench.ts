// What the socket faces cost on top of the engine (issue 4 target: <= 25%, i.e. >= 0.75x), in one
// process and run. Every row moves the same bytes with the same copies; what differs is only what a
// face adds.
//
// - raw engine API (bench/lib/raw-engine.ts): two Engines in a synchronous loop. Engine.send copies
//   in, Engine.recv copies out, each TX batch is copied out once and handed to the peer's
//   Engine.input (which copies it into the RX region), events are drained with Engine.events: the
//   copies and engine calls two stacks make, without link, scheduling, dispatch or objects.
// - stack API: two stacks (src/tcp/stack.ts) over a link that hands each batch to the peer in a
//   microtask (bench/lib/raw-engine.ts microtaskLinkPair); StackConnection.write / onData / onEnd.
// - Web face: the same stacks through TcpSocket (src/faces/web.ts): a WritableStream writer that
//   awaits each write, a ReadableStream reader loop (default 64 KiB highWaterMark).
// - Web face over the memory link: the same, over src/net/memory-link.ts, the default link; once with
//   a default reader (a new Uint8Array per read) and once with a BYOB reader that reads into one
//   reused 256 KiB buffer (the stream's one copy, straight from the receive ring).
// - Node net over 127.0.0.1 (bench/lib/node-net.ts), for scale.
// Bulk: BULK_MIB MiB one way in 64 KiB writes (WRITE) on every row, Gbit/s from the first write to
// the last byte read, median of RUNS interleaved runs. Churn: sequential connections, each: connect,
// 1 KiB each way, both close; every row built once and kept warm, sampled in turn (CHURN, see
// bench/lib/sample.ts). Also: what constructing a socket's two Web Streams costs on this runtime.
// The Node Duplex rows live in bench/node-duplex.bench.ts, against the same baselines.
import { bulkNodeNet, nodeNetChurnRow } from "./lib/node-net.js";
import { WRITE, rawBulk, rawChurnRow } from "./lib/raw-engine.js";
import { churnRow, churnSamplingText, interleaved, median, sampleChurn, tableRow, type ChurnSampling } from "./lib/sample.js";
import { stackBulk, stackChurnRow, streamPairMicros, webBulk, webChurnRow, withCpuRate } from "./lib/face-rows.js";

const BULK_MIB = 128;
const RUNS = 5;
/** Churn sampling, shared with bench/node-duplex.bench.ts. */
export const CHURN: ChurnSampling = { size: 250, samples: 16, warm: 500 };

/** Where the stream cost comes from, when this runtime's ReadableStream says so in its own source. */
function streamCostNote(): string {
  if (!ReadableStream.toString().includes("makeTransferable(this)")) return "";
  const node = (globalThis as { process?: { version?: string } }).process?.version ?? "this runtime";
  return `On Node ${node} each stream's constructor returns makeTransferable(this): a C++-backed JSTransferable
object with every property copied onto it (lib/internal/worker/js_transferable.js), which is most of
that time and leaves the garbage collector weak handles to trace.`;
}

export default async () => {
  const bytes = BULK_MIB << 20;
  // Warm-up, then interleaved runs.
  await rawBulk(16 << 20);
  await stackBulk(16 << 20);
  await webBulk(16 << 20, "microtask");
  await webBulk(16 << 20, "memory", "byob");
  const cpu = { raw: [] as number[], stack: [] as number[], web: [] as number[], webMemory: [] as number[], webByob: [] as number[], node: [] as number[] };
  const bulk = await interleaved(RUNS, {
    raw: withCpuRate(() => rawBulk(bytes), bytes, cpu.raw),
    stack: withCpuRate(() => stackBulk(bytes), bytes, cpu.stack),
    web: withCpuRate(() => webBulk(bytes, "microtask"), bytes, cpu.web),
    webMemory: withCpuRate(() => webBulk(bytes, "memory"), bytes, cpu.webMemory),
    webByob: withCpuRate(() => webBulk(bytes, "memory", "byob"), bytes, cpu.webByob),
    node: withCpuRate(async () => (await bulkNodeNet(bytes)).gbitPerSecond, bytes, cpu.node),
  });

  const churn = await sampleChurn({ raw: rawChurnRow, stack: stackChurnRow, web: webChurnRow, node: nodeNetChurnRow }, CHURN);
  const streams = streamPairMicros();

  const markdown = `Baseline: the raw engine API in the same run (bench/lib/raw-engine.ts, shared with
bench/node-duplex.bench.ts): two Engines (src/core/engine.ts, SIMD release build) in a synchronous loop that
makes the same copies as two stacks: send copies in, recv copies out, each TX batch is copied out once
and handed to the peer's Engine.input, events are drained without an object each (Engine.events). The
stack and Web face rows run two stacks in one process over a link that delivers each batch in a
microtask (the Web face over the default memory link is shown too). Default
engine configuration (256 KiB rings, MTU 1500). Target (issue 4): a face costs <= 25%, i.e. >= 0.75x.
Targets for the Web face over the default memory link (the README set-up; a plain pair declares
segmentation offload, offloadMtu 65535): >= 1.0x Node net over the loopback and >= 0.8x the raw engine.

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every row, median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine | / Node net |
|---|---:|---:|---:|---:|
${tableRow("raw engine API", bulk.raw, [bulk.raw, bulk.node])}
${tableRow("stack API (StackConnection)", bulk.stack, [bulk.raw, bulk.node])}
${tableRow("Web face (TcpSocket streams)", bulk.web, [bulk.raw, bulk.node])}
${tableRow("Web face, memory link", bulk.webMemory, [bulk.raw, bulk.node])}
${tableRow("Web face, memory link, BYOB reader", bulk.webByob, [bulk.raw, bulk.node])}
${tableRow("Node net, loopback", bulk.node, [bulk.raw, bulk.node])}

The same runs per second of this process's CPU time (user + system; for Node net the kernel's loopback
work is system time of this process), which moves less than wall-clock time when other processes share
the two cores:

| bulk | Gbit per CPU-second (median) | min - max | / raw engine | / Node net |
|---|---:|---:|---:|---:|
${tableRow("raw engine API", cpu.raw, [cpu.raw, cpu.node])}
${tableRow("stack API (StackConnection)", cpu.stack, [cpu.raw, cpu.node])}
${tableRow("Web face (TcpSocket streams)", cpu.web, [cpu.raw, cpu.node])}
${tableRow("Web face, memory link", cpu.webMemory, [cpu.raw, cpu.node])}
${tableRow("Web face, memory link, BYOB reader", cpu.webByob, [cpu.raw, cpu.node])}
${tableRow("Node net, loopback", cpu.node, [cpu.raw, cpu.node])}

Churn: sequential connections, each: connect, 1 KiB each way, both close; default 256 KiB rings
everywhere. ${churnSamplingText(CHURN)}

| churn | connections/s (median) | min - max | / raw engine | µs per connection |
|---|---:|---:|---:|---:|
${churnRow("raw engine API", churn.raw, churn.raw)}
${churnRow("stack API (StackConnection)", churn.stack, churn.raw)}
${churnRow("Web face (TcpSocket streams)", churn.web, churn.raw)}
${churnRow("Node net, loopback", churn.node, churn.raw)}

What the Web face cannot avoid on this runtime: constructing the two Web Streams a TcpSocket needs
(a readable byte stream and a WritableStream, as src/faces/web.ts builds them) costs
${streams.toFixed(1)} µs per socket here, ${(2 * streams).toFixed(1)} µs per connection with a socket at each end:
${((2 * streams) / (1e6 / median(churn.raw))).toFixed(2)}x a whole raw-engine connection, before a byte moves.
${streamCostNote()}
`;
  return { title: "Socket faces against the raw engine (bench/sockets.bench.ts)", markdown };
};
