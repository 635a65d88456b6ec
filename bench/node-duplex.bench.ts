// What the Node face (src/node-net.ts: a stream.Duplex per connection) costs, in one process and run,
// against two baselines (issue 4 targets: Duplex bulk >= 0.5x Node net; the faces cost <= 25%
// against the raw engine):
// - raw engine: two Engines driven by a synchronous loop (bench/lib/raw-engine.ts);
// - Node net over the kernel loopback, 127.0.0.1 (bench/lib/node-net.ts), the same workloads.
// In between, for attribution: the stack API (StackConnection) the Duplex sits on.
// Stacks run over a link that delivers each batch in a microtask; the Duplex over the memory link
// (one macrotask per delivery) is shown too.
// Bulk: BULK_MIB MiB one way, 64 KiB writes that wait for 'drain', Gbit/s from the first write to the
// last byte read, median of RUNS interleaved runs. Churn: sequential connections, each: connect,
// 1 KiB each way, both close.
import { bindNet } from "../src/node-net.js";
import { bulkNodeNet, churnNodeNet } from "./lib/node-net.js";
import { SOURCE, WRITE, nextWrite, rawBulk, rawChurn } from "./lib/raw-engine.js";
import { stackBulk, stackChurn, stacks } from "./sockets.bench.js";

const BULK_MIB = 128;
const RUNS = 3;
const CHURN = 2000;

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

export async function duplexChurn(n: number): Promise<number> {
  const [a, b] = await stacks("microtask");
  const kib = Buffer.from(SOURCE.subarray(0, 1024));
  const server = bindNet(b).createServer({ allowHalfOpen: true }, (s) => {
    s.on("data", () => undefined);
    s.on("end", () => s.end(kib));
  });
  await new Promise<void>((r) => server.listen(80, r));
  const net = bindNet(a);
  const start = performance.now();
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
  const perSecond = n / ((performance.now() - start) / 1000);
  a.close();
  b.close();
  return perSecond;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

export default async () => {
  const bytes = BULK_MIB << 20;
  const rows: Record<"raw" | "stack" | "duplex" | "duplexMemory" | "node", number[]> = {
    raw: [], stack: [], duplex: [], duplexMemory: [], node: [],
  };
  // Warm-up, then interleaved runs so load from other processes spreads over all of them.
  await rawBulk(16 << 20);
  await duplexBulk(16 << 20, "microtask");
  await bulkNodeNet(16 << 20);
  for (let i = 0; i < RUNS; i++) {
    rows.raw.push(await rawBulk(bytes));
    rows.stack.push(await stackBulk(bytes));
    rows.duplex.push(await duplexBulk(bytes, "microtask"));
    rows.duplexMemory.push(await duplexBulk(bytes, "memory"));
    rows.node.push((await bulkNodeNet(bytes)).gbitPerSecond);
  }
  const raw = median(rows.raw);
  const node = median(rows.node);
  const line = (name: string, xs: number[]) =>
    `| ${name} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)} - ${Math.max(...xs).toFixed(2)} | ${(median(xs) / raw).toFixed(2)}x | ${(median(xs) / node).toFixed(2)}x |`;

  await rawChurn(200);
  await stackChurn(200);
  await duplexChurn(200);
  const churn = {
    raw: await rawChurn(CHURN), stack: await stackChurn(CHURN), duplex: await duplexChurn(CHURN), node: (await churnNodeNet(CHURN)).perSecond,
  };
  const churnLine = (name: string, x: number) =>
    `| ${name} | ${x.toFixed(0)} | ${(x / churn.raw).toFixed(2)}x | ${(x / churn.node).toFixed(2)}x |`;

  const markdown = `Baselines, in the same run: the raw engine API (src/engine.ts: two Engines, SIMD release build,
a synchronous loop that copies packets across; bench/lib/raw-engine.ts) and Node's \`net\` over the
kernel loopback (bench/lib/node-net.ts). The Duplex rows are tcpwasm/node's \`bindNet(stack)\`
sockets, two stacks in one process over a link that delivers each batch in a microtask (and over the
memory link: one macrotask per delivery). The stack API row is the layer the Duplex sits on.
Default engine configuration (256 KiB rings, MTU 1500). Targets (issue 4): Duplex bulk >= 0.5x
Node net; the face costs <= 25% against the raw engine (>= 0.75x).

Bulk: ${BULK_MIB} MiB one way, ${WRITE / 1024} KiB writes waiting for 'drain', median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine | / Node net |
|---|---:|---:|---:|---:|
${line("raw engine API", rows.raw)}
${line("stack API (StackConnection)", rows.stack)}
${line("Node Duplex (bindNet)", rows.duplex)}
${line("Node Duplex, memory link", rows.duplexMemory)}
${line("Node net, loopback", rows.node)}

Churn: ${CHURN} sequential connections, each: connect, 1 KiB each way, both close.

| churn | connections/s | / raw engine | / Node net |
|---|---:|---:|---:|
${churnLine("raw engine API", churn.raw)}
${churnLine("stack API (StackConnection)", churn.stack)}
${churnLine("Node Duplex (bindNet)", churn.duplex)}
${churnLine("Node net, loopback", churn.node)}
`;
  return { title: "Node Duplex face against the raw engine and Node net (bench/node-duplex.bench.ts)", markdown };
};
