// Request/response latency through each face, against Node's `net` over the kernel loopback, in one
// process and run: a client sends 1 byte, the server answers 1 byte as soon as it reads it, the client
// waits for that byte, again and again on one connection. Every tcpwasm row runs two stacks over the
// default memory link (createMemoryLinkPair(), as README sets them up); Node net runs over 127.0.0.1
// with noDelay on both ends, as the other benches do.
// - stack API: StackConnection.write / onData at both ends;
// - Web face: TcpSocket streams (a writer's write(), a reader's read()) at both ends;
// - Node face: bindNet sockets (write(), 'data') at both ends;
// - Node net, loopback.
// Rows are built once and warmed up, then sampled in turn, BLOCK round trips at a time (so load from
// other processes spreads over every row); each round trip is timed on its own, and the table shows
// the median and the 99th percentile of all of them.
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Socket as NetSocket } from "node:net";
import { bindNet } from "../src/faces/node-net.js";
import { stacks } from "./lib/face-rows.js";

const WARM = 500;
const BLOCK = 500;
const BLOCKS = 8;

/** One connection kept open: roundTrip() sends a byte and resolves when the answer is back. */
interface LatencyRow {
  roundTrip(): Promise<void>;
  close(): Promise<void> | void;
}

const BYTE = new Uint8Array([0x2a]);

/** A callback-style connection's round trip: `send` writes the byte, `answer` is its data callback. */
function pingPong(send: () => void): { answer: () => void; roundTrip: () => Promise<void> } {
  let answered: (() => void) | undefined;
  return {
    answer: () => answered?.(),
    roundTrip: () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        send();
      }),
  };
}

async function stackRow(): Promise<LatencyRow> {
  const [a, b] = await stacks("memory");
  b.openListener({ port: 80 }, (conn) => {
    conn.onData = (chunk) => conn.write(chunk);
  });
  const c = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
  await new Promise<void>((r) => (c.onConnect = r));
  const p = pingPong(() => c.write(BYTE));
  c.onData = p.answer;
  return {
    roundTrip: p.roundTrip,
    close() {
      a.close();
      b.close();
    },
  };
}

async function webRow(): Promise<LatencyRow> {
  const [a, b] = await stacks("memory");
  const listener = b.listen({ port: 80 });
  (async () => {
    const s = (await listener.accept())!;
    const { readable, writable } = await s.opened;
    const reader = readable.getReader();
    const writer = writable.getWriter();
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      await writer.write(r.value);
    }
  })().catch(() => undefined);
  const socket = a.connect({ hostname: "10.0.0.2", port: 80 });
  const { readable, writable } = await socket.opened;
  const reader = readable.getReader();
  const writer = writable.getWriter();
  return {
    async roundTrip() {
      await writer.write(BYTE);
      const r = await reader.read();
      if (r.done) throw new Error("latency: the Web face's connection ended");
    },
    async close() {
      await listener.close();
      a.close();
      b.close();
    },
  };
}

async function nodeFaceRow(): Promise<LatencyRow> {
  const [a, b] = await stacks("memory");
  const server = bindNet(b).createServer((s) => s.on("data", (d: Buffer) => s.write(d)));
  await new Promise<void>((r) => server.listen(80, r));
  const c = bindNet(a).connect({ host: "10.0.0.2", port: 80 });
  await new Promise<void>((r) => c.once("connect", r));
  const p = pingPong(() => c.write(BYTE));
  c.on("data", p.answer);
  return {
    roundTrip: p.roundTrip,
    close() {
      c.destroy();
      server.close();
      a.close();
      b.close();
    },
  };
}

async function nodeNetRow(): Promise<LatencyRow> {
  let serverSide: NetSocket | undefined;
  const server = netCreateServer({ noDelay: true }, (s) => {
    serverSide = s;
    s.on("data", (d: Buffer) => s.write(d));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const c = netConnect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise<void>((r) => c.once("connect", r));
  const byte = Buffer.from(BYTE);
  const p = pingPong(() => c.write(byte));
  c.on("data", p.answer);
  return {
    roundTrip: p.roundTrip,
    async close() {
      c.destroy();
      serverSide?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** µs of each of `n` round trips. */
async function sample(row: LatencyRow, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await row.roundTrip();
    into.push((performance.now() - start) * 1000);
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export default async () => {
  const makers = { stack: stackRow, web: webRow, nodeFace: nodeFaceRow, node: nodeNetRow };
  const rows = {} as Record<keyof typeof makers, LatencyRow>;
  const times = {} as Record<keyof typeof makers, number[]>;
  try {
    for (const k of Object.keys(makers) as (keyof typeof makers)[]) {
      rows[k] = await makers[k]();
      await sample(rows[k], WARM, []);
      times[k] = [];
    }
    for (let i = 0; i < BLOCKS; i++) for (const k of Object.keys(rows) as (keyof typeof makers)[]) await sample(rows[k], BLOCK, times[k]);
  } finally {
    for (const row of Object.values(rows)) await row.close();
  }
  const base = { median: quantile(times.node, 0.5), p99: quantile(times.node, 0.99) };
  const line = (name: string, xs: number[]) => {
    const m = quantile(xs, 0.5);
    const p = quantile(xs, 0.99);
    return `| ${name} | ${m.toFixed(1)} | ${p.toFixed(1)} | ${(m / base.median).toFixed(2)}x | ${(p / base.p99).toFixed(2)}x |`;
  };
  const markdown = `Baseline: Node's \`net\` over the kernel loopback (127.0.0.1, noDelay on both ends) in the same
process and run. Each row keeps one connection open; the client sends 1 byte, the server writes it back
as soon as it reads it, the client waits for it. The tcpwasm rows run two stacks over the default
memory link (\`createMemoryLinkPair()\`, as README sets them up), default engine configuration. ${WARM}
warm-up round trips per row, then ${BLOCKS} blocks of ${BLOCK} per row taken in turn; each round trip
timed on its own. Target: each face's median <= Node net's (ratio <= 1.00x).

| 1-byte request/response | median µs | p99 µs | median / Node net | p99 / Node net |
|---|---:|---:|---:|---:|
${line("stack API (StackConnection)", times.stack)}
${line("Web face (TcpSocket streams)", times.web)}
${line("Node face (bindNet sockets)", times.nodeFace)}
${line("Node net, loopback", times.node)}
`;
  return { title: "Request/response latency through the faces (bench/latency.bench.ts)", markdown };
};
