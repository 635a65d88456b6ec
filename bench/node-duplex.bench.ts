// What the Node face (src/faces/node-net.ts: a stream.Duplex per connection) costs, in one process and run,
// against two baselines (issue 4 targets: Duplex bulk >= 0.5x Node net; a face costs <= 25%
// against the raw engine, i.e. >= 0.75x):
// - raw engine API (bench/lib/raw-engine.ts): two Engines in a synchronous loop making the same
//   copies and engine calls as two stacks (send in, recv out, each TX batch copied once and handed to
//   the peer's Engine.input, events drained with Engine.events), without link, scheduling or objects;
// - Node net over the kernel loopback, 127.0.0.1 (bench/lib/node-net.ts), the same workloads.
// In between, for attribution: the stack API rows of bench/sockets.bench.ts (the layer the Duplex
// sits on). Stacks run over a link that delivers each batch in a microtask; the Duplex over the
// memory link (the default link README sets up) is shown too.
// Bulk: BULK_MIB MiB one way in 64 KiB writes on every row (the Duplex and Node net wait for 'drain'
// when write() returns false), Gbit/s from the first write to the last byte read, median of RUNS
// interleaved runs. Churn: sequential connections, each: connect, 1 KiB each way (the client
// end(kib), the server end(kib) on 'end', allowHalfOpen), 'close' awaited; rows built once, kept
// warm and sampled in turn (CHURN in bench/sockets.bench.ts, bench/lib/sample.ts).
import { Duplex } from "node:stream";
import { bindNet } from "../src/faces/node-net.js";
import { bulkNodeNet, nodeNetChurnRow } from "./lib/node-net.js";
import { SOURCE, WRITE, nextWrite, rawBulk, rawChurnRow } from "./lib/raw-engine.js";
import { churnRow, churnSamplingText, interleaved, median, sampleChurn, tableRow, type ChurnRow } from "./lib/sample.js";
import { stackBulk, stackChurnRow, stacks, withCpuRate } from "./lib/face-rows.js";
import { CHURN } from "./sockets.bench.js";

const BULK_MIB = 128;
const RUNS = 5;

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
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      const piece = nextWrite(sent, bytes);
      sent += piece.length;
      if (!c.write(piece)) {
        c.once("drain", pump);
        return;
      }
    }
  };
  pump();
  const end = await done;
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
  // Warm-up, then interleaved runs.
  await rawBulk(16 << 20);
  await duplexBulk(16 << 20, "microtask");
  await bulkNodeNet(16 << 20);
  const cpu = { raw: [] as number[], stack: [] as number[], duplex: [] as number[], duplexMemory: [] as number[], node: [] as number[] };
  const bulk = await interleaved(RUNS, {
    raw: withCpuRate(() => rawBulk(bytes), bytes, cpu.raw),
    stack: withCpuRate(() => stackBulk(bytes), bytes, cpu.stack),
    duplex: withCpuRate(() => duplexBulk(bytes, "microtask"), bytes, cpu.duplex),
    duplexMemory: withCpuRate(() => duplexBulk(bytes, "memory"), bytes, cpu.duplexMemory),
    node: withCpuRate(async () => (await bulkNodeNet(bytes)).gbitPerSecond, bytes, cpu.node),
  });
  const line = (name: string, xs: number[]) => tableRow(name, xs, [bulk.raw, bulk.node]);
  const cpuLine = (name: string, xs: number[]) => tableRow(name, xs, [cpu.raw, cpu.node]);

  const churn = await sampleChurn(
    { raw: rawChurnRow, stack: stackChurnRow, duplex: duplexChurnRow, bare: duplexPairRow, node: nodeNetChurnRow },
    CHURN,
  );
  const churnLine = (name: string, xs: number[]) => churnRow(name, xs, churn.raw, [churn.node]);

  const markdown = `Baselines, in the same run: the raw engine API (bench/lib/raw-engine.ts: two Engines, SIMD
release build, in a synchronous loop making the same copies as two stacks: send copies in, recv copies
out, each TX batch copied out once and handed to the peer's Engine.input, events drained without an
object each) and Node's \`net\` over the kernel loopback (bench/lib/node-net.ts). The Duplex rows are
tcpwasm/node's \`bindNet(stack)\` sockets, two stacks in one process over a link that delivers each
batch in a microtask (and over the default memory link). The stack API row is the
layer the Duplex sits on. Default engine configuration (256 KiB rings, MTU 1500). Targets (issue 4):
Duplex bulk >= 0.5x Node net; a face costs <= 25% against the raw engine (>= 0.75x). Targets for the
Duplex over the default memory link (the README set-up; a plain pair declares segmentation offload,
offloadMtu 65535): >= 1.0x Node net over the loopback and >= 0.8x the raw engine.

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every row (waiting for 'drain' where write() says so), median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine | / Node net |
|---|---:|---:|---:|---:|
${line("raw engine API", bulk.raw)}
${line("stack API (StackConnection)", bulk.stack)}
${line("Node Duplex (bindNet)", bulk.duplex)}
${line("Node Duplex, memory link", bulk.duplexMemory)}
${line("Node net, loopback", bulk.node)}

The same runs per second of this process's CPU time (user + system; for Node net the kernel's loopback
work is system time of this process), which moves less than wall-clock time when other processes share
the two cores:

| bulk | Gbit per CPU-second (median) | min - max | / raw engine | / Node net |
|---|---:|---:|---:|---:|
${cpuLine("raw engine API", cpu.raw)}
${cpuLine("stack API (StackConnection)", cpu.stack)}
${cpuLine("Node Duplex (bindNet)", cpu.duplex)}
${cpuLine("Node Duplex, memory link", cpu.duplexMemory)}
${cpuLine("Node net, loopback", cpu.node)}

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
