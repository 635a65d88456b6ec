// What the Node face (src/faces/node-net.ts: a stream.Duplex per connection) costs, in one process and run,
// against two baselines (the targets are in the bench's prose below):
// - bulk: the raw engine with the same MTU and segmentation offload as the link each row runs over
//   (bench/lib/engine-baseline.ts: engine.bench.ts's bulk, the one raw figure for a face bulk row);
//   churn: the raw engine API (bench/lib/raw-engine.ts rawChurnRow: two Engines in a synchronous loop
//   making the same engine calls as two stacks, without link, scheduling or objects);
// - Node net over the kernel loopback, 127.0.0.1 (bench/lib/node-net.ts), the same workloads.
// In between, for attribution: the stack API rows (bench/lib/face-rows.ts stackBulk, the layer the
// Duplex sits on). Stacks run over a link that delivers each batch in a microtask, and over the
// memory link (the default link README sets up), the Duplex and the stack API on each.
// Bulk: BULK_MIB MiB one way in 64 KiB writes on every face row (the Duplex and Node net wait for
// 'drain' when write() returns false), Gbit/s from the first write to the last byte read, median of
// RUNS interleaved runs, and each round's ratio to its same-round baselines. Churn: sequential
// connections, each: connect, 1 KiB each way (the client end(kib), the server end(kib) on 'end',
// allowHalfOpen), 'close' awaited; rows built once, kept warm and sampled in turn (CHURN in
// bench/sockets.bench.ts, bench/lib/sample.ts).
import { Duplex } from "node:stream";
import { bindNet } from "../src/faces/node-net.js";
import { bulkNodeNet, nodeNetChurnRow } from "./lib/node-net.js";
import { SOURCE, WRITE, rawChurnRow, writeBytes } from "./lib/raw-engine.js";
import { rawEngineBulk, rawEngineText } from "./lib/engine-baseline.js";
import { churnRow, churnSamplingText, interleaved, median, sampleChurn, tableRow, type ChurnRow } from "./lib/sample.js";
import { roundRatios, stackBulk, stackChurnRow, stacks, withCpuRate } from "./lib/face-rows.js";
import { CHURN } from "./sockets.bench.js";
import { coldRuns, coldSection } from "./lib/fresh-process.js";

const BULK_MIB = 128;
const RUNS = 5;
const WARM_MIB = 256;
const COLD_RUNS = 3;

/**
 * Gbit/s of the first BULK_MIB MiB through `row` in this process: run in a fresh child process
 * (inFreshProcess), it is what a user's first transfer sees, with nothing optimised or allocated yet.
 */
export async function coldRow(row: "duplex" | "onread" | "node"): Promise<number> {
  const bytes = BULK_MIB << 20;
  if (row === "node") return (await bulkNodeNet(bytes)).gbitPerSecond;
  return row === "onread" ? duplexOnreadBulk(bytes, "memory") : duplexBulk(bytes, "memory");
}

export async function duplexBulk(bytes: number, link: "microtask" | "memory"): Promise<number> {
  const [a, b] = await stacks(link);
  const server = bindNet(b).createServer();
  const done = new Promise<number>((resolve) => {
    server.on("connection", (s) => {
      let got = 0;
      s.on("data", (d: Buffer) => {
        got += d.length;
        if (got >= bytes) resolve(performance.now());
      });
    });
  });
  await new Promise<void>((r) => server.listen(80, r));
  const c = bindNet(a).connect({ host: "10.0.0.2", port: 80 });
  await new Promise<void>((r) => c.once("connect", r));
  const start = performance.now();
  writeBytes(c, bytes);
  const end = await done;
  a.close();
  b.close();
  return (bytes * 8) / ((end - start) / 1000) / 1e9;
}

/**
 * duplexBulk the other way, read with node:net's `onread` option: the server writes, the client reads
 * every piece into one 64 KiB buffer it owns (no chunk allocated per read).
 */
export async function duplexOnreadBulk(bytes: number, link: "microtask" | "memory"): Promise<number> {
  const [a, b] = await stacks(link);
  let start = 0;
  const server = bindNet(b).createServer((s) => {
    start = performance.now();
    writeBytes(s, bytes);
  });
  await new Promise<void>((r) => server.listen(80, r));
  const buffer = Buffer.allocUnsafe(WRITE);
  const end = await new Promise<number>((resolve) => {
    let got = 0;
    bindNet(a).connect({
      host: "10.0.0.2",
      port: 80,
      onread: {
        buffer,
        callback: (n) => {
          got += n;
          if (got >= bytes) resolve(performance.now());
        },
      },
    });
  });
  a.close();
  b.close();
  return (bytes * 8) / ((end - start) / 1000) / 1e9;
}

/** Churn through bindNet sockets at both ends (allowHalfOpen server answering the client's FIN), kept warm. */
export async function duplexChurnRow(): Promise<ChurnRow> {
  const [a, b] = await stacks("microtask");
  const kib = Buffer.from(SOURCE.subarray(0, 1024));
  const server = bindNet(b).createServer({ allowHalfOpen: true }, (s) => {
    s.on("data", () => undefined);
    s.on("end", () => s.end(kib));
  });
  await new Promise<void>((r) => server.listen(80, r));
  const net = bindNet(a);
  return {
    async run(n: number) {
      for (let i = 0; i < n; i++) {
        const c = net.connect({ host: "10.0.0.2", port: 80 });
        let back = 0;
        await new Promise<void>((resolve, reject) => {
          c.once("connect", () => c.end(kib));
          c.on("data", (d: Buffer) => (back += d.length));
          c.once("error", reject);
          c.once("close", () => resolve());
        });
        if (back !== 1024) throw new Error(`churn: ${back} bytes back`);
      }
    },
    close() {
      server.close();
      a.close();
      b.close();
    },
  };
}

/**
 * The floor node:stream sets, with no TCP at all: per "connection" two Duplexes configured as
 * src/faces/node-net.ts configures a Socket (allowHalfOpen, autoDestroy, 'close' emitted by _destroy after
 * the microtasks), driven through the churn row's events: the client end(kib)s on 'connect', each
 * side pushes what the other wrote (in a microtask, as a link delivers) and its end, the server
 * answers end(kib) on 'end', the client waits for 'close'.
 */
export async function duplexPairRow(): Promise<ChurnRow> {
  const resolved = Promise.resolve();
  class Bare extends Duplex {
    peer!: Bare;
    constructor() {
      super({ allowHalfOpen: true, emitClose: false, autoDestroy: true });
    }
    override _read(): void {}
    override _write(chunk: Buffer, _e: BufferEncoding, done: (error?: Error | null) => void): void {
      resolved.then(() => this.peer.push(chunk));
      done();
    }
    override _final(done: (error?: Error | null) => void): void {
      resolved.then(() => this.peer.push(null));
      done();
    }
    override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
      done(error);
      process.nextTick(() => resolved.then(() => process.nextTick(() => this.emit("close", error != null))));
    }
  }
  const kib = Buffer.from(SOURCE.subarray(0, 1024));
  return {
    async run(n: number) {
      for (let i = 0; i < n; i++) {
        const c = new Bare();
        const s = new Bare();
        c.peer = s;
        s.peer = c;
        s.on("data", () => undefined);
        s.on("end", () => s.end(kib));
        let back = 0;
        await new Promise<void>((resolve) => {
          c.once("connect", () => c.end(kib));
          c.on("data", (d: Buffer) => (back += d.length));
          c.once("close", () => resolve());
          resolved.then(() => c.emit("connect"));
        });
        if (back !== 1024) throw new Error(`churn: ${back} bytes back`);
      }
    },
    close() {},
  };
}

export default async () => {
  const bytes = BULK_MIB << 20;
  // Cold: each row's first transfer in a process of its own, as a user's first one runs; in turns.
  const cold = coldRuns(import.meta.url, ["node", "duplex", "onread"], COLD_RUNS);
  // Warm-up, then interleaved runs. V8 optimises these paths on background threads: on two shared
  // cores the first ~256 MiB through the Duplex (and node:net) went at a third of the later rate or less.
  await rawEngineBulk(WARM_MIB << 20, "memory");
  await stackBulk(WARM_MIB << 20);
  await stackBulk(WARM_MIB << 20, "memory");
  await duplexBulk(WARM_MIB << 20, "microtask");
  await duplexBulk(WARM_MIB << 20, "memory");
  await duplexOnreadBulk(WARM_MIB << 20, "memory");
  await bulkNodeNet(WARM_MIB << 20);
  const cpu = {
    raw: [] as number[], rawOffload: [] as number[], stack: [] as number[], stackMemory: [] as number[], duplex: [] as number[], duplexMemory: [] as number[],
    onread: [] as number[],
    node: [] as number[],
  };
  const bulk = await interleaved(RUNS, {
    raw: withCpuRate(() => rawEngineBulk(bytes, "microtask"), bytes, cpu.raw),
    rawOffload: withCpuRate(() => rawEngineBulk(bytes, "memory"), bytes, cpu.rawOffload),
    stack: withCpuRate(() => stackBulk(bytes), bytes, cpu.stack),
    stackMemory: withCpuRate(() => stackBulk(bytes, "memory"), bytes, cpu.stackMemory),
    duplex: withCpuRate(() => duplexBulk(bytes, "microtask"), bytes, cpu.duplex),
    duplexMemory: withCpuRate(() => duplexBulk(bytes, "memory"), bytes, cpu.duplexMemory),
    onread: withCpuRate(() => duplexOnreadBulk(bytes, "memory"), bytes, cpu.onread),
    node: withCpuRate(async () => (await bulkNodeNet(bytes)).gbitPerSecond, bytes, cpu.node),
  });
  // Each row beside the raw engine of its own link (microtask link: no offload; memory link: offload).
  const line = (name: string, xs: number[], raw: number[]) => `${tableRow(name, xs, [raw, bulk.node])} ${roundRatios(xs, bulk.node)} |`;
  const cpuLine = (name: string, xs: number[], raw: number[]) => tableRow(name, xs, [raw, cpu.node]);

  const churn = await sampleChurn(
    { raw: rawChurnRow, stack: stackChurnRow, duplex: duplexChurnRow, bare: duplexPairRow, node: nodeNetChurnRow },
    CHURN,
  );
  const churnLine = (name: string, xs: number[]) => churnRow(name, xs, churn.raw, [churn.node]);

  const markdown = `Baselines, in the same run. Bulk: the raw engine with the MTU and segmentation offload of
the link the row runs over (bench/lib/engine-baseline.ts: bench/engine.bench.ts's bulk, two Engines, SIMD
release build, checksums computed and verified, the host writing the send ring and consuming the
receive ring in place, one copy per packet from TX region to RX region): for the microtask link
${rawEngineText("microtask")}, for the default memory link ${rawEngineText("memory")}. Churn: the
raw engine API (bench/lib/raw-engine.ts: the engine calls two stacks make, in a synchronous loop). And
Node's \`net\` over the kernel loopback (bench/lib/node-net.ts). The Duplex rows are tcpwasm/node's
\`bindNet(stack)\` sockets, two stacks in one process over a link that delivers each batch in a
microtask, and over the default memory link (\`createMemoryLinkPair()\`, the README set-up). The stack
API rows are the layer the Duplex sits on, over each of the two links (read through \`onData\`: a copy of
its own per read). Default engine configuration otherwise (256 KiB rings).
Targets (issue 4): Duplex bulk >= 0.5x Node net; a face costs <= 25% against the raw engine (>= 0.75x).
Issue 13: the Duplex over the default memory link >= 1.0x Node net over the loopback and >= 0.8x
the raw engine with that link's MTU and offload.

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every face row (waiting for 'drain' where write() says so),
median of ${RUNS} interleaved runs after one of ${WARM_MIB} MiB per row (bench/lib/sample.ts: each round starts one row
further on, and runs are 50 ms apart, so the garbage a run leaves is not billed to the next). The \`onread\` row runs the other way (the
server writes) and reads with node:net's \`onread\` option into one 64 KiB buffer: what a reader that
keeps no chunk saves, since every 'data' chunk is memory of its own, freshly allocated and often faulted in
(the raw engine's host consumes the ring in place and allocates nothing). That memory is about a third of
the Duplex row's CPU time or more: in paired 32 MiB runs, the Duplex reading into one reused buffer (not
allowed, since a chunk is the reader's) took 0.57-0.66x the CPU time, while no allowed layout did better
than a 64 KiB chunk per read (slabs, larger chunks: src/faces/node-socket.ts READ_CHUNK). The last column is each round's row / Node net of the same round
(min - max), steadier than a ratio of medians when other processes load the cores unevenly.

| bulk | Gbit/s (median) | min - max | / raw engine, same link | / Node net | / Node net, each round |
|---|---:|---:|---:|---:|---:|
${line("raw engine, microtask link's MTU", bulk.raw, bulk.raw)}
${line("raw engine, memory link's MTU and offload", bulk.rawOffload, bulk.rawOffload)}
${line("stack API (StackConnection), microtask link", bulk.stack, bulk.raw)}
${line("Node Duplex (bindNet), microtask link", bulk.duplex, bulk.raw)}
${line("stack API (StackConnection), memory link", bulk.stackMemory, bulk.rawOffload)}
${line("**Node Duplex, memory link**", bulk.duplexMemory, bulk.rawOffload)}
${line("Node Duplex, memory link, read with \`onread\`", bulk.onread, bulk.rawOffload)}
${line("Node net, loopback", bulk.node, bulk.node)}

${coldSection(BULK_MIB, COLD_RUNS, [["**Node Duplex, memory link**", cold.duplex], ["Node Duplex, memory link, read with \`onread\`", cold.onread]], cold.node)}

The same runs per second of this process's CPU time (user + system; for Node net the kernel's loopback
work is system time of this process), which moves less than wall-clock time when other processes share
the two cores:

| bulk | Gbit per CPU-second (median) | min - max | / raw engine, same link | / Node net |
|---|---:|---:|---:|---:|
${cpuLine("raw engine, microtask link's MTU", cpu.raw, cpu.raw)}
${cpuLine("raw engine, memory link's MTU and offload", cpu.rawOffload, cpu.rawOffload)}
${cpuLine("stack API (StackConnection), microtask link", cpu.stack, cpu.raw)}
${cpuLine("Node Duplex (bindNet), microtask link", cpu.duplex, cpu.raw)}
${cpuLine("stack API (StackConnection), memory link", cpu.stackMemory, cpu.rawOffload)}
${cpuLine("Node Duplex, memory link", cpu.duplexMemory, cpu.rawOffload)}
${cpuLine("Node Duplex, memory link, read with \`onread\`", cpu.onread, cpu.rawOffload)}
${cpuLine("Node net, loopback", cpu.node, cpu.node)}

Churn: sequential connections, each: connect, 1 KiB each way, both close. ${churnSamplingText(CHURN)}

| churn | connections/s (median) | min - max | / raw engine | / Node net | µs per connection |
|---|---:|---:|---:|---:|---:|
${churnLine("raw engine API", churn.raw)}
${churnLine("stack API (StackConnection)", churn.stack)}
${churnLine("Node Duplex (bindNet)", churn.duplex)}
${churnLine("Node net, loopback", churn.node)}

The floor node:stream itself sets: two bare Duplexes per cycle, configured and driven as the Socket
rows are (allowHalfOpen, autoDestroy, 'close' after the microtasks, each write delivered to the other
in a microtask), with no TCP and no stack: ${(1e6 / median(churn.bare)).toFixed(1)} µs per cycle, ${((1e6 / median(churn.bare)) / (1e6 / median(churn.raw))).toFixed(2)}x a whole
raw-engine connection. A face costing at most 25% may add ${(0.25 * 1e6 / median(churn.raw) / 0.75 * 1).toFixed(1)} µs to a raw connection
(raw / 0.75 - raw); the stack API row shows what the stack layer under every face already adds.
`;
  return { title: "Node Duplex face against the raw engine and Node net (bench/node-duplex.bench.ts)", markdown };
};
