// The face rows the socket benches measure, browser-safe: bench/sockets.bench.ts and
// bench/node-duplex.bench.ts run them in Node, bench/web-browser.bench.ts in a chromium page.
// - stacks: two stacks, 10.0.0.1 and 10.0.0.2, over the microtask link or the memory link;
// - stackBulk / webBulk: bytes one way in WRITE-byte writes, Gbit/s from the first write to the last
//   byte read;
// - stackChurnRow / webChurnRow: connect, 1 KiB each way, both close, kept warm (bench/lib/sample.ts);
// - streamPairMicros: what constructing one socket's two Web Streams costs on this runtime;
// - withCpuRate: a bulk row that also records Gbit per CPU-second (Node only), the figure that holds
//   still when other processes share the cores.
import { createStack, type Stack } from "../../src/index.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { SOURCE, microtaskLinkPair, nextWrite } from "./raw-engine.js";
import { median, type ChurnRow } from "./sample.js";

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

/**
 * Gbit/s of `bytes` from stack `a` to a listener on stack `b` (10.0.0.2:80) through the stack API,
 * from the first write (after the handshake) to the last byte read. The stacks stay open.
 */
export async function stackApiBulk(a: Stack, b: Stack, bytes: number): Promise<number> {
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
  return (bytes * 8) / ((end - start) / 1000) / 1e9;
}

/** stackApiBulk between two fresh stacks over `link` (the microtask link unless told). */
export async function stackBulk(bytes: number, link: "microtask" | "memory" = "microtask"): Promise<number> {
  const [a, b] = await stacks(link);
  const gbps = await stackApiBulk(a, b, bytes);
  a.close();
  b.close();
  return gbps;
}

/**
 * Gbit/s of `bytes` through the Web face. `reader` "default" reads with a default reader (a new
 * Uint8Array per read); "byob" with a BYOB reader into one 256 KiB buffer, handed back and forth
 * (the stream transfers it on each read), so no read allocates.
 */
export async function webBulk(bytes: number, link: "microtask" | "memory", reader: "default" | "byob" = "default"): Promise<number> {
  const [a, b] = await stacks(link);
  const listener = b.listen({ port: 80 });
  const done = (async () => {
    const s = (await listener.accept())!;
    const { readable } = await s.opened;
    let got = 0;
    if (reader === "byob") {
      const r = readable.getReader({ mode: "byob" });
      let view = new Uint8Array(256 * 1024);
      while (got < bytes) {
        const { done, value } = await r.read(view);
        if (done) break;
        got += value.length;
        view = new Uint8Array(value.buffer);
      }
      return performance.now();
    }
    const r = readable.getReader();
    while (got < bytes) {
      const { done, value } = await r.read();
      if (done) break;
      got += value.length;
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

/** Churn through the stack API, kept warm (bench/lib/sample.ts): the server answers the client's FIN. */
export async function stackChurnRow(): Promise<ChurnRow> {
  const [a, b] = await stacks("microtask");
  const kib = SOURCE.subarray(0, 1024);
  b.openListener({ port: 80 }, (conn) => {
    conn.onData = () => undefined;
    conn.onEnd = () => {
      conn.write(kib);
      conn.end();
    };
  });
  return {
    async run(n: number) {
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
    },
    close() {
      a.close();
      b.close();
    },
  };
}

/** Churn through the Web face (TcpSocket streams on both ends), kept warm. */
export async function webChurnRow(): Promise<ChurnRow> {
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
  return {
    async run(n: number) {
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
    },
    async close() {
      await listener.close();
      a.close();
      b.close();
    },
  };
}

/** µs to construct one socket's two Web Streams (a readable byte stream and a WritableStream, as src/faces/web.ts does), median of 5 batches. */
export function streamPairMicros(batch = 2000): number {
  const once = () => {
    const start = performance.now();
    for (let i = 0; i < batch; i++) {
      new ReadableStream({ type: "bytes", start() {}, pull() {}, cancel() {} }, { highWaterMark: 0 });
      new WritableStream<Uint8Array>({ start() {}, write() {}, close() {}, abort() {} }, { highWaterMark: 1 });
    }
    return ((performance.now() - start) * 1000) / batch;
  };
  once();
  return median([once(), once(), once(), once(), once()]);
}


/**
 * `row` (a bulk run of `bytes` returning Gbit/s), also pushing onto `into` the Gbit moved per second of
 * this process's CPU time (user + system, kernel work for node:net's loopback included). Where the
 * runtime has no process.cpuUsage (a page) nothing is pushed.
 */
export function withCpuRate(row: () => Promise<number>, bytes: number, into: number[]): () => Promise<number> {
  const usage = (globalThis as { process?: { cpuUsage?: (since?: { user: number; system: number }) => { user: number; system: number } } }).process?.cpuUsage;
  if (!usage) return row;
  return async () => {
    const start = usage();
    const gbps = await row();
    const used = usage(start);
    into.push((bytes * 8) / ((used.user + used.system) / 1e6) / 1e9);
    return gbps;
  };
}

/**
 * "min - maxx" of `xs[i] / base[i]`: each interleaved round's row against the baseline run right
 * beside it (bench/lib/sample.ts interleaved), which load from other processes moves together.
 */
export function roundRatios(xs: number[], base: number[]): string {
  const r = xs.map((x, i) => x / base[i]!);
  return `${Math.min(...r).toFixed(2)} - ${Math.max(...r).toFixed(2)}x`;
}
