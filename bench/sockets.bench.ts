// What the socket faces cost on top of the engine (issue 4 target: <= 25%), in one process and run:
//
// - raw engine (bench/lib/raw-engine.ts): two Engines driven by a synchronous loop: send copies in, recv copies
//   out (the copies the faces make too), each TX batch copied straight into the peer's RX region: the
//   baseline.
// - stack API: two stacks (src/stack.ts) over a link that hands each batch to the peer in a
//   microtask; StackConnection.write / onData.
// - Web face: the same stacks through TcpSocket's Web streams (64 KiB writes, a reader loop).
// - Web face over the memory link: the same, over src/link/memory.ts (one macrotask per delivery).
// - Node net over 127.0.0.1 (bench/lib/node-net.ts), for scale.
// Bulk: BULK_MIB MiB one way, Gbit/s from the first write to the last byte read, median of RUNS runs,
// interleaved. Churn: sequential connections, each: connect, 1 KiB each way, both close.
// H9's Node Duplex rows live in their own bench file, against the same baselines.
import { createStack, type Stack } from "../src/stack.js";
import { createMemoryLinkPair } from "../src/link/memory.js";
import { bulkNodeNet, churnNodeNet } from "./lib/node-net.js";
import { SOURCE, WRITE, microtaskLinkPair, nextWrite, rawBulk, rawChurn } from "./lib/raw-engine.js";

const BULK_MIB = 128;
const RUNS = 3;
const CHURN = 2000;

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

export default async () => {
  const bytes = BULK_MIB << 20;
  const rows: Record<string, number[]> = { raw: [], stack: [], web: [], webMemory: [], node: [] };
  // Warm-up, then interleaved runs so load from other processes spreads over all of them.
  await rawBulk(16 << 20);
  await webBulk(16 << 20, "microtask");
  for (let i = 0; i < RUNS; i++) {
    rows.raw!.push(await rawBulk(bytes));
    rows.stack!.push(await stackBulk(bytes));
    rows.web!.push(await webBulk(bytes, "microtask"));
    rows.webMemory!.push(await webBulk(bytes, "memory"));
    rows.node!.push((await bulkNodeNet(bytes)).gbitPerSecond);
  }
  const raw = median(rows.raw!);
  const line = (name: string, xs: number[]) =>
    `| ${name} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)} - ${Math.max(...xs).toFixed(2)} | ${(median(xs) / raw).toFixed(2)}x |`;

  await rawChurn(200);
  await webChurn(200);
  await stackChurn(200);
  const churn = {
    raw: await rawChurn(CHURN), stack: await stackChurn(CHURN), web: await webChurn(CHURN), node: (await churnNodeNet(CHURN)).perSecond,
  };

  const markdown = `Baseline: the raw engine API (src/engine.ts: two Engines, SIMD release build, a synchronous loop:
send copies in, recv copies out, each TX batch is copied into the peer's RX region; bench/lib/raw-engine.ts,
shared with bench/node-duplex.bench.ts), in the same run. The stack and Web face rows run two stacks in one
process over a link that delivers each batch in a microtask (the Web face over the memory link,
one macrotask per delivery, is shown too). Default engine configuration (256 KiB rings, MTU 1500).

Bulk: ${BULK_MIB} MiB one way, median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine |
|---|---:|---:|---:|
${line("raw engine API", rows.raw!)}
${line("stack API (StackConnection)", rows.stack!)}
${line("Web face (TcpSocket streams)", rows.web!)}
${line("Web face, memory link", rows.webMemory!)}
${line("Node net, loopback", rows.node!)}

Churn: ${CHURN} sequential connections, each: connect, 1 KiB each way, both close; default 256 KiB
rings everywhere.

| churn | connections/s | / raw engine |
|---|---:|---:|
| raw engine API | ${churn.raw.toFixed(0)} | 1.00x |
| stack API (StackConnection) | ${churn.stack.toFixed(0)} | ${(churn.stack / churn.raw).toFixed(2)}x |
| Web face (TcpSocket streams) | ${churn.web.toFixed(0)} | ${(churn.web / churn.raw).toFixed(2)}x |
| Node net, loopback | ${churn.node.toFixed(0)} | ${(churn.node / churn.raw).toFixed(2)}x |
`;
  return { title: "Socket faces against the raw engine (bench/sockets.bench.ts)", markdown };
};
