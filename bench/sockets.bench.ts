// What the Web face (src/faces/web.ts) and the stack API under it cost on top of the engine, in one
// process and run, against the raw engine and node:net (the targets are in the bench's prose below).
//
// - raw engine, bulk (bench/lib/engine-baseline.ts): bench/engine.bench.ts's bulk with the MTU and
//   segmentation offload of the link each face row runs over: the host writes the send ring and
//   consumes the receive ring in place, one copy per packet from TX region to RX region.
// - raw engine API, churn (bench/lib/raw-engine.ts): two Engines in a synchronous loop making the
//   engine calls two stacks make, without link, scheduling, dispatch or objects.
// - stack API: two stacks (src/tcp/stack.ts) over a link that hands each batch to the peer in a
//   microtask (bench/lib/raw-engine.ts microtaskLinkPair); StackConnection.write / onData / onEnd.
// - Web face: the same stacks through TcpSocket (src/faces/web.ts): a WritableStream writer that
//   awaits each write, a default reader loop on the readable byte stream.
// - Web face over the memory link: the same, over src/net/memory-link.ts, the default link; once with
//   a default reader (a new Uint8Array of up to 256 KiB per read) and once with a BYOB reader that
//   reads into one reused 256 KiB buffer (the stream's one copy, straight from the receive ring).
// Every bulk row is also divided by the raw engine at MTU 1500 without offload, the "same MTU" of
// issue 13's Web face target.
// - Node net over 127.0.0.1 (bench/lib/node-net.ts), for scale.
// Bulk: BULK_MIB MiB one way in 64 KiB writes (WRITE) on every row, Gbit/s from the first write to
// the last byte read, median of RUNS interleaved runs. Churn: sequential connections, each: connect,
// 1 KiB each way, both close; every row built once and kept warm, sampled in turn (CHURN, see
// bench/lib/sample.ts). Also: what constructing a socket's two Web Streams costs on this runtime.
// The Node Duplex rows live in bench/node-duplex.bench.ts, against the same baselines.
import { coldRuns, coldSection } from "./lib/fresh-process.js";
import { bulkNodeNet, nodeNetChurnRow } from "./lib/node-net.js";
import { WRITE, rawChurnRow } from "./lib/raw-engine.js";
import { rawEngineBulk, rawEngineText } from "./lib/engine-baseline.js";
import { churnRow, churnSamplingText, interleaved, median, sampleChurn, tableRow, type ChurnSampling } from "./lib/sample.js";
import { roundRatios, stackBulk, stackChurnRow, streamPairMicros, webBulk, webChurnRow, withCpuRate } from "./lib/face-rows.js";

const BULK_MIB = 128;
const RUNS = 5;
const WARM_MIB = 256;
const COLD_RUNS = 3;
/** Churn sampling, shared with bench/node-duplex.bench.ts. */
export const CHURN: ChurnSampling = { size: 250, samples: 16, warm: 500 };

/**
 * Gbit/s of the first BULK_MIB MiB through `row` in this process: run in a fresh child process
 * (inFreshProcess), it is what a user's first transfer sees, with nothing optimised or allocated yet.
 */
export async function coldRow(row: "web" | "byob" | "node"): Promise<number> {
  const bytes = BULK_MIB << 20;
  if (row === "node") return (await bulkNodeNet(bytes)).gbitPerSecond;
  return webBulk(bytes, "memory", row === "byob" ? "byob" : "default");
}

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
  // Cold: each row's first transfer in a process of its own, as a user's first one runs; in turns.
  const cold = coldRuns(import.meta.url, ["node", "web", "byob"], COLD_RUNS);
  // Warm-up, then interleaved runs. V8 optimises these paths on background threads: on two shared
  // cores the first ~256 MiB through a face (and node:net) go at a fraction of the later rate.
  await rawEngineBulk(WARM_MIB << 20, "memory");
  await stackBulk(WARM_MIB << 20);
  await webBulk(WARM_MIB << 20, "microtask");
  await webBulk(WARM_MIB << 20, "memory");
  await webBulk(WARM_MIB << 20, "memory", "byob");
  await bulkNodeNet(WARM_MIB << 20);
  const cpu = {
    raw: [] as number[], rawOffload: [] as number[], stack: [] as number[], web: [] as number[], webMemory: [] as number[],
    webByob: [] as number[], node: [] as number[],
  };
  const bulk = await interleaved(RUNS, {
    raw: withCpuRate(() => rawEngineBulk(bytes, "microtask"), bytes, cpu.raw),
    rawOffload: withCpuRate(() => rawEngineBulk(bytes, "memory"), bytes, cpu.rawOffload),
    stack: withCpuRate(() => stackBulk(bytes), bytes, cpu.stack),
    web: withCpuRate(() => webBulk(bytes, "microtask"), bytes, cpu.web),
    webMemory: withCpuRate(() => webBulk(bytes, "memory"), bytes, cpu.webMemory),
    webByob: withCpuRate(() => webBulk(bytes, "memory", "byob"), bytes, cpu.webByob),
    node: withCpuRate(async () => (await bulkNodeNet(bytes)).gbitPerSecond, bytes, cpu.node),
  });

  const churn = await sampleChurn({ raw: rawChurnRow, stack: stackChurnRow, web: webChurnRow, node: nodeNetChurnRow }, CHURN);
  const streams = streamPairMicros();

  // Each row beside the raw engine at MTU 1500 without offload, the raw engine of its own link
  // (microtask link: no offload; memory link: offload) and Node net.
  const line = (name: string, xs: number[], raw: number[]) => `${tableRow(name, xs, [bulk.raw, raw, bulk.node])} ${roundRatios(xs, bulk.node)} |`;
  const cpuLine = (name: string, xs: number[], raw: number[]) => tableRow(name, xs, [cpu.raw, raw, cpu.node]);

  const markdown = `Baselines, in the same run. Bulk: the raw engine with the MTU and segmentation offload of
the link the row runs over (bench/lib/engine-baseline.ts: bench/engine.bench.ts's bulk, two Engines, SIMD
release build, checksums computed and verified, the host writing the send ring and consuming the
receive ring in place, one copy per packet from TX region to RX region): for the microtask link
${rawEngineText("microtask")}, for the default memory link ${rawEngineText("memory")}. And Node's
\`net\` over the kernel loopback (bench/lib/node-net.ts). The stack API and Web face rows run two stacks
in one process over a link that delivers each batch in a microtask, and the Web face also over the
default memory link (\`createMemoryLinkPair()\`, the README set-up), read with a default reader (a new
Uint8Array of up to 256 KiB per read, its memory not zero-filled first where Node's
\`Buffer.allocUnsafeSlow\` exists) and with a BYOB reader (\`getReader({ mode: "byob" })\` into one reused 256 KiB
buffer: the bytes are copied once, from the receive ring into it). Default engine configuration
otherwise (256 KiB rings). Target (issue 4): a face costs <= 25%, i.e. >= 0.75x. Issue 13, the Web face
over the default memory link: >= 1.0x Node net over the loopback and >= 0.8x the raw engine at the
same MTU (the column "/ raw engine, MTU 1500"; "/ raw engine, same link" also gives the raw engine
the link's segmentation offload).

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every face row (each write awaited), median
of ${RUNS} interleaved runs; the last column is each round's row / Node net of the same round (min - max),
steadier than a ratio of medians when other processes load the cores unevenly.

| bulk | Gbit/s (median) | min - max | / raw engine, MTU 1500 | / raw engine, same link | / Node net | / Node net, each round |
|---|---:|---:|---:|---:|---:|---:|
${line("raw engine, microtask link's MTU", bulk.raw, bulk.raw)}
${line("raw engine, memory link's MTU and offload", bulk.rawOffload, bulk.rawOffload)}
${line("stack API (StackConnection), microtask link", bulk.stack, bulk.raw)}
${line("Web face (TcpSocket streams), microtask link", bulk.web, bulk.raw)}
${line("**Web face, memory link**", bulk.webMemory, bulk.rawOffload)}
${line("**Web face, memory link, BYOB reader**", bulk.webByob, bulk.rawOffload)}
${line("Node net, loopback", bulk.node, bulk.node)}

${coldSection(BULK_MIB, COLD_RUNS, [["**Web face, memory link**", cold.web], ["**Web face, memory link, BYOB reader**", cold.byob]], cold.node)}

What the default reader pays beyond the BYOB one, cold and warm, is the memory it hands out: every
read's chunk is new memory (the reader keeps it), and until a collection frees the first chunks (V8
runs one on external-memory pressure, after tens of MiB of them) each one is pages the process never
touched, while a BYOB reader writes into the same buffer each time. On this machine a first touch of
a 4 KiB page cost 20-45 µs (a virtual machine; timed by touching 64 MiB of new memory), so 128 MiB of
chunks in fresh pages cost more than the transfer itself. Warm, glibc still gives freed chunks back
to the system whenever the free top of its heap passes its trim threshold, and they are faulted in
again: minor page faults per 128 MiB run after a 256 MiB warm-up were a few hundred to a few thousand
above the BYOB reader's. The 50 ms pause before each run (bench/lib/sample.ts) is time for that
return: running the raw engine, default and BYOB rows in turn (two processes, 6 x 128 MiB each), with
the pause the default reader took 0.4-4.3k page faults per run and 0.63-0.70x the BYOB reader's Gbit
per CPU-second, without it 0.8-1.9k and 0.83-0.89x.

The same runs per second of this process's CPU time (user + system; for Node net the kernel's loopback
work is system time of this process), which moves less than wall-clock time when other processes share
the two cores:

| bulk | Gbit per CPU-second (median) | min - max | / raw engine, MTU 1500 | / raw engine, same link | / Node net |
|---|---:|---:|---:|---:|---:|
${cpuLine("raw engine, microtask link's MTU", cpu.raw, cpu.raw)}
${cpuLine("raw engine, memory link's MTU and offload", cpu.rawOffload, cpu.rawOffload)}
${cpuLine("stack API (StackConnection), microtask link", cpu.stack, cpu.raw)}
${cpuLine("Web face (TcpSocket streams), microtask link", cpu.web, cpu.raw)}
${cpuLine("Web face, memory link", cpu.webMemory, cpu.rawOffload)}
${cpuLine("Web face, memory link, BYOB reader", cpu.webByob, cpu.rawOffload)}
${cpuLine("Node net, loopback", cpu.node, cpu.node)}

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
