// UDP datagrams per second (targets: >= 1 M/s of 64 bytes between two stacks over a memory
// link; >= 1.0x node:dgram over the kernel loopback for 1,200-byte datagrams, same run).
//
// Every row runs the same workload: a sender writes a burst of datagrams in one turn, the
// receiver counts them, and the next burst goes once the last one has arrived (or after a quiet
// IDLE_MS, counting what never came as lost), so no row can win by dropping. Datagrams/s from the
// first send to the last arrival, median of RUNS interleaved runs.
// - tcpwasm: two stacks (createStack, SIMD release build) over createMemoryLinkPair, StackUdpSocket.send
//   and the onMessage handler (src/tcp/udp.ts): the stack's own UDP API, which both faces sit on.
// - Node dgram face: the same stacks through bindDgram (src/faces/node-dgram.ts): 'message' events
//   with a Buffer and rinfo each.
// - node:dgram: two sockets in this process over the kernel's loopback (127.0.0.1).
import * as dgram from "node:dgram";
import { createStack, type Stack } from "../src/tcp/stack.js";
import { createMemoryLinkPair } from "../src/net/memory-link.js";
import { bindDgram } from "../src/faces/node-dgram.js";
import { interleaved, median, tableRow } from "./lib/sample.js";

const RUNS = 5;
/** Datagrams per burst between two stacks, 64-byte rows. */
const BURST_SMALL = 256;
/**
 * Datagrams per burst in the comparison with node:dgram: the most the kernel's default socket
 * receive buffer (net.core.rmem_default, about 208 KiB of skb memory) takes of 1,200-byte datagrams
 * without dropping; with 64 in a burst the kernel already drops some.
 */
const BURST_COMPARE = 32;
const IDLE_MS = 50;

interface Result {
  perSecond: number;
  lost: number;
}

/** Waits until `count()` reaches `target` or nothing arrived for IDLE_MS. */
function arrival(count: () => number, target: number, wake: { fn: (() => void) | undefined }): Promise<void> {
  return new Promise((resolve) => {
    if (count() >= target) return resolve();
    let last = count();
    const timer = setInterval(() => {
      if (count() === last) finish();
      last = count();
    }, IDLE_MS);
    const finish = () => {
      clearInterval(timer);
      wake.fn = undefined;
      resolve();
    };
    wake.fn = () => {
      if (count() >= target) finish();
    };
  });
}

async function pair(): Promise<{ a: Stack; b: Stack; close(): void }> {
  const [la, lb] = createMemoryLinkPair();
  const a = await createStack({ addresses: ["10.0.0.1/24"] });
  const b = await createStack({ addresses: ["10.0.0.2/24"] });
  a.attach(la);
  b.attach(lb);
  return { a, b, close: () => (a.close(), b.close()) };
}

/** `total` datagrams of `size` bytes through the stack API. */
async function stackRun(total: number, size: number, burst: number): Promise<Result> {
  const p = await pair();
  let got = 0;
  const wake = { fn: undefined as (() => void) | undefined };
  p.b.openUdp({ localPort: 9 }, () => {
    got++;
    wake.fn?.();
  });
  const sock = p.a.openUdp({}, () => {});
  const payload = new Uint8Array(size).fill(7);
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(burst, total - sent);
    for (let i = 0; i < n; i++) sock.send(payload, "10.0.0.2", 9);
    sent += n;
    await arrival(() => got, sent, wake);
  }
  const seconds = (performance.now() - start) / 1000;
  p.close();
  return { perSecond: got / seconds, lost: total - got };
}

/** The same through the Node dgram face. */
async function faceRun(total: number, size: number, burst: number): Promise<Result> {
  const p = await pair();
  let got = 0;
  const wake = { fn: undefined as (() => void) | undefined };
  const server = bindDgram(p.b).createSocket("udp4");
  server.on("message", () => {
    got++;
    wake.fn?.();
  });
  server.bind(9, "10.0.0.2");
  const client = bindDgram(p.a).createSocket("udp4");
  const payload = Buffer.alloc(size, 7);
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(burst, total - sent);
    for (let i = 0; i < n; i++) client.send(payload, 9, "10.0.0.2");
    sent += n;
    await arrival(() => got, sent, wake);
  }
  const seconds = (performance.now() - start) / 1000;
  p.close();
  return { perSecond: got / seconds, lost: total - got };
}

/** The same with node:dgram over the kernel loopback. */
async function nodeRun(total: number, size: number, burst: number): Promise<Result> {
  let got = 0;
  const wake = { fn: undefined as (() => void) | undefined };
  const server = dgram.createSocket("udp4");
  server.on("message", () => {
    got++;
    wake.fn?.();
  });
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
  const port = server.address().port;
  const client = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  const payload = Buffer.alloc(size, 7);
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(burst, total - sent);
    for (let i = 0; i < n; i++) client.send(payload, port, "127.0.0.1");
    sent += n;
    await arrival(() => got, sent, wake);
  }
  const seconds = (performance.now() - start) / 1000;
  client.close();
  server.close();
  return { perSecond: got / seconds, lost: total - got };
}

function lossText(name: string, rs: Result[]): string {
  const lost = rs.reduce((s, r) => s + r.lost, 0);
  return lost === 0 ? "" : `${name} lost ${lost} datagrams over its runs. `;
}

export default async () => {
  const small = 1_000_000;
  const large = 200_000;
  // Warm-up.
  await stackRun(100_000, 64, BURST_SMALL);
  await faceRun(20_000, 64, BURST_SMALL);
  await nodeRun(20_000, 1200, BURST_COMPARE);
  const s: Record<string, Result[]> = { stack64: [], face64: [], stack1200: [], face1200: [], node1200: [], node64: [] };
  const rows = await interleaved(RUNS, {
    stack64: async () => (s.stack64!.push(await stackRun(small, 64, BURST_SMALL)), s.stack64!.at(-1)!.perSecond),
    face64: async () => (s.face64!.push(await faceRun(small / 4, 64, BURST_SMALL)), s.face64!.at(-1)!.perSecond),
    node64: async () => (s.node64!.push(await nodeRun(large, 64, BURST_COMPARE)), s.node64!.at(-1)!.perSecond),
    stack1200: async () => (s.stack1200!.push(await stackRun(large, 1200, BURST_COMPARE)), s.stack1200!.at(-1)!.perSecond),
    face1200: async () => (s.face1200!.push(await faceRun(large, 1200, BURST_COMPARE)), s.face1200!.at(-1)!.perSecond),
    node1200: async () => (s.node1200!.push(await nodeRun(large, 1200, BURST_COMPARE)), s.node1200!.at(-1)!.perSecond),
  });
  const k = (xs: number[]) => xs.map((x) => x / 1000);
  const markdown = `Baseline: node:dgram in the same run, two sockets in this process over the kernel's loopback
(127.0.0.1). Each row sends bursts of datagrams, one burst per turn, the next once the last has
arrived (${BURST_SMALL} a burst for 64-byte datagrams between stacks; ${BURST_COMPARE} for node:dgram and every 1,200-byte row, the most the
kernel's default receive buffer takes without dropping); thousands of datagrams/s from the first send to the last arrival, median of ${RUNS}
interleaved runs (min - max). tcpwasm rows: two stacks (SIMD release build) over createMemoryLinkPair;
"stack API" is StackUdpSocket.send and its onMessage handler (src/tcp/udp.ts), "Node dgram face" the
same stacks through bindDgram (src/faces/node-dgram.ts, a Buffer and an rinfo per 'message').
64-byte rows send ${small.toLocaleString("en")} datagrams (the face ${(small / 4).toLocaleString("en")}, node:dgram ${large.toLocaleString("en")}), 1,200-byte rows ${large.toLocaleString("en")}.

| row | k datagrams/s | min - max | vs node:dgram (same size) |
|---|---|---|---|
${tableRow("stack API, 64 B", k(rows.stack64), [k(rows.node64)], 0)}
${tableRow("Node dgram face, 64 B", k(rows.face64), [k(rows.node64)], 0)}
${tableRow("node:dgram, 64 B", k(rows.node64), [k(rows.node64)], 0)}
${tableRow("stack API, 1,200 B", k(rows.stack1200), [k(rows.node1200)], 0)}
${tableRow("Node dgram face, 1,200 B", k(rows.face1200), [k(rows.node1200)], 0)}
${tableRow("node:dgram, 1,200 B", k(rows.node1200), [k(rows.node1200)], 0)}

Targets: 64-byte datagrams between two stacks ${median(rows.stack64) >= 1e6 ? "meet" : "miss"} 1 M/s (${(median(rows.stack64) / 1e6).toFixed(2)} M/s);
1,200-byte datagrams through the stack API run at ${(median(rows.stack1200) / median(rows.node1200)).toFixed(2)}x node:dgram, the Node face at ${(median(rows.face1200) / median(rows.node1200)).toFixed(2)}x.
${lossText("node:dgram", [...s.node64!, ...s.node1200!])}${lossText("tcpwasm", [...s.stack64!, ...s.stack1200!, ...s.face64!, ...s.face1200!])}`;
  return { title: "UDP: datagrams/s between two stacks vs node:dgram", markdown };
};
