// The baseline issue 3 names: Node's own `net` over the kernel loopback (127.0.0.1 only), both ends
// in this process, so the engine's figures and these come from the same run on the same machine.
//
// - bulkNodeNet: one connection; the client writes `bytes` as fast as backpressure allows (it waits
//   for 'drain' whenever write() returns false), the server counts what it reads. Gbit/s from the
//   first write to the server's last byte.
// - churnNodeNet: `connections` times, one after another: connect, 1 KiB each way (the client writes,
//   the server echoes 1 KiB back), both close; connections per second. nodeNetChurnRow: the same
//   cycles against one server kept listening, for bench/lib/sample.ts.
// Both are bounded: by their arguments, and by `timeLimitMs`, past which they reject instead of
// hanging a benchmark run.
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import type { ChurnRow } from "./sample.js";

export interface BulkResult {
  bytes: number;
  seconds: number;
  gbitPerSecond: number;
}

export interface ChurnResult {
  connections: number;
  seconds: number;
  perSecond: number;
}

const LOOPBACK = "127.0.0.1";

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function withTimeLimit<T>(what: string, ms: number, run: (fail: (e: Error) => void) => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not finish within ${ms} ms`)), ms);
    run(reject).then(resolve, reject);
  }).finally(() => clearTimeout(timer));
}

/** Bulk transfer of `bytes` from a client to a server over loopback, in `chunkBytes` writes. */
export async function bulkNodeNet(bytes: number, options: { chunkBytes?: number; timeLimitMs?: number } = {}): Promise<BulkResult> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const chunk = Buffer.alloc(chunkBytes, 0xa5);
  let serverSocket: Socket | undefined;
  let client: Socket | undefined;
  const server = createServer();
  try {
    const port = await listen(server);
    return await withTimeLimit("node net bulk", options.timeLimitMs ?? 60_000, (fail) =>
      new Promise<BulkResult>((resolve) => {
        let received = 0;
        let start = 0;
        server.on("connection", (s) => {
          serverSocket = s;
          s.on("error", fail);
          s.on("data", (d: Buffer) => {
            received += d.length;
            if (received >= bytes) {
              const seconds = (performance.now() - start) / 1000;
              resolve({ bytes: received, seconds, gbitPerSecond: (received * 8) / seconds / 1e9 });
            }
          });
        });
        const c = connect({ host: LOOPBACK, port, noDelay: true });
        client = c;
        c.on("error", fail);
        c.once("connect", () => {
          let written = 0;
          start = performance.now();
          const pump = () => {
            while (written < bytes) {
              const n = Math.min(chunkBytes, bytes - written);
              written += n;
              if (!c.write(n === chunkBytes ? chunk : chunk.subarray(0, n))) {
                c.once("drain", pump);
                return;
              }
            }
            c.end();
          };
          pump();
        });
      }),
    );
  } finally {
    client?.destroy();
    serverSocket?.destroy();
    await closeServer(server);
  }
}

/** `connections` sequential connect / 1 KiB each way / close cycles over loopback. */
export async function churnNodeNet(connections: number, options: { timeLimitMs?: number } = {}): Promise<ChurnResult> {
  const row = await nodeNetChurnRow(options.timeLimitMs);
  try {
    const start = performance.now();
    await row.run(connections);
    const seconds = (performance.now() - start) / 1000;
    return { connections, seconds, perSecond: connections / seconds };
  } finally {
    await row.close();
  }
}

/** churnNodeNet's cycles against one server kept listening: run(n) makes `n` of them, within `timeLimitMs`. */
export async function nodeNetChurnRow(timeLimitMs = 60_000): Promise<ChurnRow> {
  const payload = Buffer.alloc(1024, 0x5a);
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = 0;
    s.on("error", () => s.destroy());
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= payload.length) s.end(payload);
    });
  });
  const port = await listen(server);
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const c = connect({ host: LOOPBACK, port, noDelay: true });
      let got = 0;
      c.on("error", reject);
      c.once("connect", () => c.end(payload));
      c.on("data", (d: Buffer) => {
        got += d.length;
      });
      c.once("close", () => (got === payload.length ? resolve() : reject(new Error(`churn: got ${got} of ${payload.length} bytes back`))));
    });
  return {
    async run(n: number) {
      await withTimeLimit("node net churn", timeLimitMs, async () => {
        for (let i = 0; i < n; i++) await one();
      });
    },
    close: () => closeServer(server),
  };
}
