// The relay's --rate end to end: a client moving megabytes through the relay is held to its token
// bucket (limits.bytesPerSecond, a burst of max(128 KiB, rate/4)), its connection stays intact, and
// another client (another remote address: 127.0.0.2) has a bucket of its own. The assertion is the
// bucket's own invariant on what the client received, not a speed: at every moment t after the test
// started, the bytes delivered so far never exceed burst + rate * t (plus, in stream mode, the one
// read the relay counts before it pauses: a node:net read is at most 64 KiB). Without the limit the
// same transfers break that bound within milliseconds.
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { bindNet } from "../../src/faces/node-net.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";
import { createStack } from "../../src/tcp/stack.js";
import { createRelay, type RelayLogEntry, type RelayOptions } from "../../src/tools/relay.js";
import { stackAttach } from "../../src/tools/relay-packet.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const KIB = 1024;
const MIB = 1024 * KIB;
const RATE = 512 * KIB;
// ClientAccount's burst for this rate.
const BURST = Math.max(128 * KIB, RATE / 4);
// One node:net read, spent before the stream-mode relay pauses the socket.
const READ = 64 * KIB;

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Delivery samples: at ms `t` after the start, `bytes` received in total. */
type Samples = { t: number; bytes: number }[];

/** The samples that break "bytes <= burst + slack + rate * t" (none, when the bucket held). */
function overBucket(samples: Samples, slack: number): Samples {
  return samples.filter((s) => s.bytes > BURST + slack + (RATE * s.t) / 1000);
}

async function relay(options: RelayOptions) {
  const log: RelayLogEntry[] = [];
  const r = await createRelay({ log: (e) => log.push(e), ...options });
  cleanups.push(() => r.close());
  return { relay: r, log };
}

/** A node:net server on 127.0.0.1 that sends `data` to each connection, then ends. */
async function sender(data: Buffer): Promise<number> {
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.end(data);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

/** A stream-mode client from `localAddress`: every message's arrival (ms after `start`) and the bytes. */
function streamClient(url: string, localAddress: string, start: number): Promise<{ samples: Samples; sha: string; bytes: number; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WsWebSocket(url, { localAddress });
    cleanups.push(() => ws.terminate());
    const samples: Samples = [];
    const h = createHash("sha256");
    let bytes = 0;
    ws.on("message", (data: Buffer) => {
      bytes += data.length;
      h.update(data);
      samples.push({ t: performance.now() - start, bytes });
    });
    ws.on("close", (code) => resolve({ samples, sha: h.digest("hex"), bytes, code }));
    ws.on("error", reject);
  });
}

describe("relay --rate, end to end", () => {
  it("stream mode: each client's delivery stays within its bucket, SHA-256 intact, and a second client has a bucket of its own", { timeout: 120_000 }, async () => {
    const data = body(2 * MIB, 7);
    const port = await sender(data);
    const { relay: r, log } = await relay({ allow: [`127.0.0.1:${port}`], limits: { bytesPerSecond: RATE } });
    const url = `${r.url}?host=127.0.0.1&port=${port}`;
    const start = performance.now();
    const [a, b] = await Promise.all([streamClient(url, "127.0.0.1", start), streamClient(url, "127.0.0.2", start)]);
    for (const c of [a, b]) {
      expect({ code: c.code, bytes: c.bytes, sha: c.sha }).toEqual({ code: 1000, bytes: data.length, sha: sha(data) });
      expect(overBucket(c.samples, READ)).toEqual([]);
    }
    // Together they moved more than one bucket allows: neither was held to the other's.
    const end = Math.max(a.samples.at(-1)!.t, b.samples.at(-1)!.t);
    expect(a.bytes + b.bytes).toBeGreaterThan(BURST + 2 * READ + (RATE * end) / 1000);
    expect(log.filter((e) => e.event === "close").map((e) => [e.client, e.down])).toEqual(expect.arrayContaining([["127.0.0.1", data.length], ["127.0.0.2", data.length]]));
  });

  it("packet mode: a client stack's download through a forwarded port stays within its bucket (packets over it dropped, TCP recovers), SHA-256 intact", { timeout: 120_000 }, async () => {
    const data = body(1 * MIB, 11);
    const httpServer = http.createServer((_req, res) => res.end(data));
    await new Promise<void>((res) => httpServer.listen(0, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => httpServer.close(res)));
    const httpPort = (httpServer.address() as net.AddressInfo).port;
    const { relay: r } = await relay({
      allow: [`127.0.0.1:${httpPort}`],
      limits: { bytesPerSecond: RATE },
      packet: { mtu: 1500, attach: stackAttach(["10.0.0.1/24"], [{ port: 80, host: "127.0.0.1", destPort: httpPort }]) },
    });
    const start = performance.now();
    const link = createWebSocketLink(`${r.url}packet`, { mtu: 1500 });
    const page = await createStack({ addresses: ["10.0.0.2/24"] });
    cleanups.push(() => (page.close(), link.close()));
    page.attach(link);
    await link.opened;
    const samples: Samples = [];
    const got = await new Promise<{ sha: string; bytes: number }>((resolve, reject) => {
      const h = createHash("sha256");
      let bytes = 0;
      const req = http.get({ host: "10.0.0.1", port: 80, path: "/", createConnection: () => bindNet(page).connect({ host: "10.0.0.1", port: 80 }) as unknown as net.Socket }, (res) => {
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          h.update(c);
          samples.push({ t: performance.now() - start, bytes });
        });
        res.on("end", () => resolve({ sha: h.digest("hex"), bytes }));
      });
      req.on("error", reject);
    });
    expect(got).toEqual({ sha: sha(data), bytes: data.length });
    // Every packet is paid for before it passes, so the body (less than the packets that carried it) is held with no slack.
    expect(overBucket(samples, 0)).toEqual([]);
    expect(r.stats.rateDropped).toBeGreaterThan(0);
  });
});
