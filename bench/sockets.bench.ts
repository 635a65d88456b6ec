// What the socket faces cost on top of the engine (issue 4 target: <= 25%, i.e. >= 0.75x), in one
// process and run. Every row moves the same bytes with the same copies; what differs is only what a
// face adds.
//
// - raw engine API (bench/lib/raw-engine.ts): two Engines in a synchronous loop. Engine.send copies
//   in, Engine.recv copies out, each TX batch is copied out once and handed to the peer's
//   Engine.input (which copies it into the RX region), events are drained with visitEvents: the
//   copies and engine calls two stacks make, without link, scheduling, dispatch or objects.
// - stack API: two stacks (src/stack.ts) over a link that hands each batch to the peer in a
//   microtask (bench/lib/raw-engine.ts microtaskLinkPair); StackConnection.write / onData / onEnd.
// - Web face: the same stacks through TcpSocket (src/socket-web.ts): a WritableStream writer that
//   awaits each write, a ReadableStream reader loop (default 64 KiB highWaterMark).
// - Web face over the memory link: the same, over src/link/memory.ts (one macrotask per delivery).
// - Node net over 127.0.0.1 (bench/lib/node-net.ts), for scale.
// Bulk: BULK_MIB MiB one way in 64 KiB writes (WRITE) on every row, Gbit/s from the first write to
// the last byte read, median of RUNS interleaved runs. Churn: CHURN sequential connections, each:
// connect, 1 KiB each way, both close; median of ROUNDS interleaved rounds.
// The Node Duplex rows live in bench/node-duplex.bench.ts, against the same baselines.
import { createStack, type Stack } from "../src/stack.js";
import { createMemoryLinkPair } from "../src/link/memory.js";
import { bulkNodeNet, churnNodeNet } from "./lib/node-net.js";
import { SOURCE, WRITE, microtaskLinkPair, nextWrite, rawBulk, rawChurn } from "./lib/raw-engine.js";

const BULK_MIB = 128;
const RUNS = 5;
const CHURN = 2000;
const ROUNDS = 3;

/** Two stacks, 10.0.0.1 and 10.0.0.2, joined by a microtask link or the memory link. */
export async function stacks(link: "microtask" | "memory"): Promise<[Stack, Stack]> {
  const [la, lb] = link === "memory" ? createMemoryLinkPair() : microtaskLinkPair();
  const a = await createStack({ addresses: ["10.0.0.1/24"], flavor: "simd" });
  const b = await createStack({ addresses: ["10.0.0.2/24"], flavor: "simd" });
  a.attach(la);
  b.attach(lb);
  return [a, b];
}

// ---- stack API and Web face ----

export async function stackBulk(bytes: number): Promise<number> {
  const [a, b] = await stacks("microtask");
  const done = new Promise<number>((resolve) => {
    b.openListener({ port: 80 }, (conn) => {
      let got = 0;
      conn.onData = (chunk) => {
        got += chunk.length;
        if (got >= bytes) resolve(performance.now());
      };
    });
  });
  const c = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
  await new Promise<void>((r) => (c.onConnect = r));
  const start = performance.now();
  let sent = 0;
  const write = () => {
    while (sent < bytes) {
      const piece = nextWrite(sent, bytes);
      const n = c.write(piece);
      sent += n;
      if (n < piece.length) return;
    }
  };
  c.onWritable = write;
  write();
  const end = await done;
  a.close();
  b.close();
  return (bytes * 8) / ((end - start) / 1000) / 1e9;
}

export async function webBulk(bytes: number, link: "microtask" | "memory"): Promise<number> {
  const [a, b] = await stacks(link);
  const listener = b.listen({ port: 80 });
  const done = (async () => {
    const s = (await listener.accept())!;
    const reader = (await s.opened).readable.getReader();
    let got = 0;
    while (got < bytes) {
      const r = await reader.read();
      if (r.done) break;
      got += r.value.length;
    }
    return performance.now();
  })();
  const socket = a.connect({ hostname: "10.0.0.2", port: 80 });
  const writer = (await socket.opened).writable.getWriter();
  const start = performance.now();
  for (let sent = 0; sent < bytes; ) {
    const piece = nextWrite(sent, bytes);
    await writer.write(piece);
    sent += piece.length;
  }
  const end = await done;
  a.close();
  b.close();
  return (bytes * 8) / ((end - start) / 1000) / 1e9;
}

export async function stackChurn(n: number): Promise<number> {
  const [a, b] = await stacks("microtask");
  const kib = SOURCE.subarray(0, 1024);
  b.openListener({ port: 80 }, (conn) => {
    conn.onData = () => undefined;
    conn.onEnd = () => {
      conn.write(kib);
      conn.end();
    };
  });
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const c = a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    let back = 0;
    await new Promise<void>((resolve, reject) => {
      c.onConnect = () => {
        c.write(kib);
        c.end();
      };
      c.onData = (chunk) => (back += chunk.length);
      c.onClose = (err) => (err ? reject(err) : resolve());
    });
    if (back !== 1024) throw new Error(`churn: ${back} bytes back`);
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  a.close();
  b.close();
  return perSecond;
}

export async function webChurn(n: number): Promise<number> {
  const [a, b] = await stacks("microtask");
  const kib = SOURCE.subarray(0, 1024);
  const listener = b.listen({ port: 80 });
  (async () => {
    for await (const s of listener) {
      (async () => {
        const { readable, writable } = await s.opened;
        for await (const _ of readable as unknown as AsyncIterable<Uint8Array>) {
          // The client's 1 KiB, then its FIN.
        }
        const w = writable.getWriter();
        await w.write(kib);
        await w.close();
      })();
    }
  })();
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const socket = a.connect({ hostname: "10.0.0.2", port: 80 });
    const { readable, writable } = await socket.opened;
    const w = writable.getWriter();
    await w.write(kib);
    await w.close();
    let back = 0;
    for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) back += chunk.length;
    if (back !== 1024) throw new Error(`churn: ${back} bytes back`);
    await socket.closed;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  await listener.close();
  a.close();
  b.close();
  return perSecond;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** Interleaved rounds of `rows`, each row's results in order (load from other processes spreads over all). */
export async function interleaved<K extends string>(rounds: number, rows: Record<K, () => Promise<number>>): Promise<Record<K, number[]>> {
  const out = {} as Record<K, number[]>;
  for (const k in rows) out[k] = [];
  for (let i = 0; i < rounds; i++) for (const k in rows) out[k].push(await rows[k]());
  return out;
}

/** A markdown row: median, min - max, and the median's ratio to each baseline's median. */
export function tableRow(name: string, xs: number[], baselines: number[][], digits = 2): string {
  const m = median(xs);
  const ratios = baselines.map((b) => ` ${(m / median(b)).toFixed(2)}x |`).join("");
  return `| ${name} | ${m.toFixed(digits)} | ${Math.min(...xs).toFixed(digits)} - ${Math.max(...xs).toFixed(digits)} |${ratios}`;
}

export default async () => {
  const bytes = BULK_MIB << 20;
  // Warm-up, then interleaved runs.
  await rawBulk(16 << 20);
  await stackBulk(16 << 20);
  await webBulk(16 << 20, "microtask");
  const bulk = await interleaved(RUNS, {
    raw: () => rawBulk(bytes),
    stack: () => stackBulk(bytes),
    web: () => webBulk(bytes, "microtask"),
    webMemory: () => webBulk(bytes, "memory"),
    node: async () => (await bulkNodeNet(bytes)).gbitPerSecond,
  });

  await rawChurn(200);
  await stackChurn(200);
  await webChurn(200);
  const churn = await interleaved(ROUNDS, {
    raw: () => rawChurn(CHURN),
    stack: () => stackChurn(CHURN),
    web: () => webChurn(CHURN),
    node: async () => (await churnNodeNet(CHURN)).perSecond,
  });

  const markdown = `Baseline: the raw engine API in the same run (bench/lib/raw-engine.ts, shared with
bench/node-duplex.bench.ts): two Engines (src/engine.ts, SIMD release build) in a synchronous loop that
makes the same copies as two stacks: send copies in, recv copies out, each TX batch is copied out once
and handed to the peer's Engine.input, events are drained without an object each (visitEvents). The
stack and Web face rows run two stacks in one process over a link that delivers each batch in a
microtask (the Web face over the memory link, one macrotask per delivery, is shown too). Default
engine configuration (256 KiB rings, MTU 1500). Target (issue 4): a face costs <= 25%, i.e. >= 0.75x.

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every row, median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine |
|---|---:|---:|---:|
${tableRow("raw engine API", bulk.raw, [bulk.raw])}
${tableRow("stack API (StackConnection)", bulk.stack, [bulk.raw])}
${tableRow("Web face (TcpSocket streams)", bulk.web, [bulk.raw])}
${tableRow("Web face, memory link", bulk.webMemory, [bulk.raw])}
${tableRow("Node net, loopback", bulk.node, [bulk.raw])}

Churn: ${CHURN} sequential connections per round, each: connect, 1 KiB each way, both close; median
of ${ROUNDS} interleaved rounds; default 256 KiB rings everywhere.

| churn | connections/s (median) | min - max | / raw engine |
|---|---:|---:|---:|
${tableRow("raw engine API", churn.raw, [churn.raw], 0)}
${tableRow("stack API (StackConnection)", churn.stack, [churn.raw], 0)}
${tableRow("Web face (TcpSocket streams)", churn.web, [churn.raw], 0)}
${tableRow("Node net, loopback", churn.node, [churn.raw], 0)}
`;
  return { title: "Socket faces against the raw engine (bench/sockets.bench.ts)", markdown };
};
