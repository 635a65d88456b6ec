// The WebSocket link over a real `ws` server on 127.0.0.1: two stacks moving 16 MiB through it
// (SHA-256 checked), backpressure when the peer stops reading (drops counted, the socket's buffer
// bounded), reconnection after the server restarts, hostile messages counted and dropped, and the
// argument checks. No assertion depends on how long anything takes.
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, WebSocket as WsWebSocket } from "ws";
import { TcpwasmError } from "../../src/core/errors.js";
import { bindNet } from "../../src/faces/node-net.js";
import { BATCH_MESSAGE_BYTES, BATCH_PROTOCOL, createWebSocketLink as createBrowserSafeLink, type WebSocketLink } from "../../src/net/websocket-link.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";
import { createStack } from "../../src/tcp/stack.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function wsServer(port = 0, handleProtocols?: (offered: Set<string>) => string | false): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, handleProtocols });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const bound = (wss.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return { wss, url: `ws://127.0.0.1:${bound}/`, port: bound };
}

/** A server that selects batched framing when offered, as `tcpwasm relay` does in packet mode. */
const selectBatch = (offered: Set<string>) => (offered.has(BATCH_PROTOCOL) ? BATCH_PROTOCOL : false);

/** Batched records: each payload after its 4-byte big-endian length. */
function records(...payloads: (Uint8Array | { claim: number; bytes: Uint8Array })[]): Buffer {
  return Buffer.concat(payloads.map((p) => {
    const bytes = p instanceof Uint8Array ? p : p.bytes;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(p instanceof Uint8Array ? p.length : p.claim);
    return Buffer.concat([head, bytes]);
  }));
}

const nextConnection = (wss: WebSocketServer) => new Promise<WsWebSocket>((r) => wss.once("connection", (ws) => r(ws)));
const until = async (what: string, cond: () => boolean) => {
  for (let i = 0; i < 20_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error(`never happened: ${what}`);
};

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Two stacks over the two ends of a WebSocket link: 16 MiB through the Node face, SHA-256 checked. */
async function carry16MiB(clientLink: WebSocketLink, serverLink: WebSocketLink): Promise<void> {
  const client = await createStack({ addresses: ["10.9.0.1/24"] });
  const server = await createStack({ addresses: ["10.9.0.2/24"] });
  cleanups.push(() => (client.close(), server.close(), clientLink.close(), serverLink.close()));
  client.attach(clientLink);
  server.attach(serverLink);
  const data = pattern(16 << 20);
  const received = new Promise<string>((resolve, reject) => {
    bindNet(server).createServer((sock) => {
      const h = createHash("sha256");
      sock.on("data", (c: Buffer) => h.update(c));
      sock.on("end", () => (resolve(h.digest("hex")), sock.end()));
      sock.on("error", reject);
    }).listen(5001);
  });
  const sock = bindNet(client).connect({ host: "10.9.0.2", port: 5001 });
  sock.on("error", () => {});
  sock.end(Buffer.from(data.buffer));
  expect(await received).toBe(createHash("sha256").update(data).digest("hex"));
}

describe("WebSocket link", () => {
  it("carries 16 MiB between two stacks over a ws server, SHA-256 intact", async () => {
    const { wss, url } = await wsServer();
    const accepted = nextConnection(wss);
    const clientLink = createWebSocketLink(url);
    const serverLink = createWebSocketLink(await accepted);
    await clientLink.opened;
    await serverLink.opened;
    await carry16MiB(clientLink, serverLink);
    expect(clientLink.stats.sent).toBeGreaterThan((16 << 20) / 1500);
    expect(serverLink.stats.received).toBe(clientLink.stats.sent);
    expect(clientLink.stats.tooBig + clientLink.stats.notBinary + serverLink.stats.notBinary).toBe(0);
  });

  it("drops and counts packets once the socket holds maxBufferedBytes while the peer stalls", async () => {
    const { wss, url } = await wsServer();
    const accepted = nextConnection(wss);
    const link = createWebSocketLink(url, { maxBufferedBytes: 64 * 1024 });
    cleanups.push(() => link.close());
    await link.opened;
    const peer = await accepted;
    // The peer stops reading: the kernel's buffers fill, then the socket's own queue.
    peer.pause();
    const packet = pattern(1400);
    const total = 40_000;
    for (let i = 0; i < total; i += 100) {
      link.send(Array.from({ length: 100 }, () => packet.slice()));
      await new Promise((r) => setImmediate(r));
    }
    expect(link.stats.dropped).toBeGreaterThan(0);
    expect(link.stats.sent + link.stats.dropped).toBe(total);
    // What was queued stays within the budget (plus the one message that may straddle it).
    expect(link.socket.bufferedAmount).toBeLessThanOrEqual(64 * 1024 + 1400);
    // The peer reads again and gets exactly what was sent, in order.
    let got = 0;
    peer.on("message", () => got++);
    peer.resume();
    await until("the peer read everything sent", () => got === link.stats.sent);
  });

  it("queues within the budget while connecting and delivers in order on open", async () => {
    const { wss, url } = await wsServer();
    const link = createWebSocketLink(url, { maxBufferedBytes: 10_000 });
    cleanups.push(() => link.close());
    const seen: number[] = [];
    wss.once("connection", (ws) => ws.on("message", (d: Buffer) => seen.push(d[0]!)));
    link.send(Array.from({ length: 12 }, (_, i) => new Uint8Array(1000).fill(i)));
    expect(link.state).toBe("connecting");
    expect(link.stats.dropped).toBe(2);
    await link.opened;
    await until("ten packets arrived", () => seen.length === 10);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("reconnects with back-off after the server restarts, and carries packets again", async () => {
    const first = await wsServer();
    const link = createWebSocketLink(first.url, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    cleanups.push(() => link.close());
    const closes: { code: number; reconnecting: boolean }[] = [];
    const errors: string[] = [];
    link.onClose((i) => closes.push({ code: i.code, reconnecting: i.reconnecting }));
    link.onError((e) => errors.push(e.code));
    const peer1 = nextConnection(first.wss);
    await link.opened;
    await peer1;
    // The server goes away (connections dropped without a close frame) ...
    await new Promise<void>((r) => {
      for (const c of first.wss.clients) c.terminate();
      first.wss.close(() => r());
    });
    await until("the link noticed", () => closes.length > 0);
    expect(closes[0]).toEqual({ code: 1006, reconnecting: true });
    expect(errors[0]).toBe("ECONNRESET");
    expect(link.state).toBe("reconnecting");
    // ... and comes back on the same port: the link finds it.
    const second = await wsServer(first.port);
    const got: Uint8Array[] = [];
    second.wss.on("connection", (ws) => ws.on("message", (d: Buffer) => got.push(new Uint8Array(d))));
    await until("the link reopened", () => link.state === "open");
    expect(link.stats.reconnects).toBe(1);
    link.send([new Uint8Array([0x45, 1, 2, 3])]);
    await until("a packet crossed the new socket", () => got.length === 1);
    expect([...got[0]!]).toEqual([0x45, 1, 2, 3]);
  });

  it("gives up after maxAttempts and closes for good", async () => {
    const first = await wsServer();
    const link = createWebSocketLink(first.url, { reconnect: { initialDelayMs: 5, maxAttempts: 2 } });
    cleanups.push(() => link.close());
    await link.opened;
    const closes: boolean[] = [];
    link.onClose((i) => closes.push(i.reconnecting));
    await new Promise<void>((r) => {
      for (const c of first.wss.clients) c.terminate();
      first.wss.close(() => r());
    });
    await until("the link gave up", () => link.state === "closed");
    expect(closes).toEqual([true, true, false]);
    expect(link.stats.reconnects).toBe(0);
  });

  it("counts and drops text, empty and oversized messages; never throws out of the socket's callback", async () => {
    const { wss, url } = await wsServer();
    const accepted = nextConnection(wss);
    const link = createWebSocketLink(url, { mtu: 1280 });
    cleanups.push(() => link.close());
    const batches: Uint8Array[][] = [];
    link.onReceive((b) => batches.push(b));
    await link.opened;
    const peer = await accepted;
    peer.send("GET / HTTP/1.1");
    peer.send(Buffer.alloc(0));
    peer.send(Buffer.alloc(1281));
    peer.send(Buffer.alloc(65536));
    peer.send(Buffer.from([0x45, 0, 0, 20]));
    await until("the good one arrived", () => batches.length > 0);
    expect(link.stats).toMatchObject({ notBinary: 1, empty: 1, tooBig: 2, received: 1 });
    expect(batches.flat().map((p) => p.length)).toEqual([4]);
    // An Ethernet link takes its MTU plus the 14-byte header.
    const accepted2 = nextConnection(wss);
    const eth = createWebSocketLink(url, { mtu: 1280, framing: "ethernet" });
    cleanups.push(() => eth.close());
    const frames: number[] = [];
    eth.onReceive((b) => b.forEach((f) => frames.push(f.length)));
    await eth.opened;
    const peer2 = await accepted2;
    peer2.send(Buffer.alloc(1294));
    peer2.send(Buffer.alloc(1295));
    await until("the frame arrived", () => frames.length === 1);
    expect(frames).toEqual([1294]);
    expect(eth.stats.tooBig).toBe(1);
  });

  it("sends a drain's packets as one message each, in the order given, through the corked socket", async () => {
    const { wss, url } = await wsServer();
    const accepted = nextConnection(wss);
    const link = createWebSocketLink(url);
    cleanups.push(() => link.close());
    const peer = await accepted;
    await link.opened;
    expect(link.batching).toBe(false);
    const got: number[][] = [];
    peer.on("message", (d: Buffer) => got.push([d.length, d[0]!]));
    const sent = Array.from({ length: 300 }, (_, i) => new Uint8Array(1 + ((i * 613) % 1500)).fill(i & 0xff));
    link.send(sent.slice(0, 200));
    link.send(sent.slice(200));
    await until("all 300 arrived", () => got.length === 300);
    expect(got).toEqual(sent.map((p) => [p.length, p[0]]));
    expect(link.stats.sent).toBe(300);
  });

  it("carries several packets per message when the server selects batched framing, in order", async () => {
    const { wss, url } = await wsServer(0, selectBatch);
    const accepted = nextConnection(wss);
    const clientLink = createWebSocketLink(url, { batch: true });
    const peer = await accepted;
    const serverLink = createWebSocketLink(peer);
    await clientLink.opened;
    await serverLink.opened;
    cleanups.push(() => (clientLink.close(), serverLink.close()));
    expect(peer.protocol).toBe(BATCH_PROTOCOL);
    expect(clientLink.batching).toBe(true);
    expect(serverLink.batching).toBe(true);
    let messages = 0;
    peer.on("message", () => messages++);
    const got: Uint8Array[] = [];
    serverLink.onReceive((b) => got.push(...b.map((p) => p.slice())));
    // 200 packets of 1..1500 bytes, each filled with its index: more than one message's worth.
    const sent = Array.from({ length: 200 }, (_, i) => new Uint8Array(1 + ((i * 977) % 1500)).fill(i));
    clientLink.send(sent.slice(0, 150));
    clientLink.send(sent.slice(150));
    await until("all 200 arrived", () => got.length === 200);
    expect(got.map((p) => [p.length, p[0]])).toEqual(sent.map((p) => [p.length, p[0]]));
    expect(got.every((p, i) => p.every((x) => x === i))).toBe(true);
    const bytes = sent.reduce((n, p) => n + p.length, 0);
    expect(messages).toBeGreaterThanOrEqual(Math.ceil((bytes + 4 * 200) / BATCH_MESSAGE_BYTES));
    expect(messages).toBeLessThan(10);
    expect(clientLink.stats).toMatchObject({ sent: 200, bytesSent: bytes });
    expect(serverLink.stats).toMatchObject({ received: 200, bytesReceived: bytes, malformed: 0 });
  });

  it("carries 16 MiB between two stacks with batched framing, SHA-256 intact", async () => {
    const { wss, url } = await wsServer(0, selectBatch);
    const accepted = nextConnection(wss);
    const clientLink = createWebSocketLink(url, { batch: true });
    const serverLink = createWebSocketLink(await accepted);
    await clientLink.opened;
    await serverLink.opened;
    expect(serverLink.batching).toBe(true);
    await carry16MiB(clientLink, serverLink);
    expect(serverLink.stats.malformed).toBe(0);
  });

  it("stays at one packet per message when the server selects another subprotocol", async () => {
    // (A server selecting none would do as well in a browser; `ws`'s client refuses that handshake.)
    const { wss, url } = await wsServer(0, (offered) => (offered.has("chat") ? "chat" : false));
    const accepted = nextConnection(wss);
    const link = createWebSocketLink(url, { batch: true, protocols: ["chat"] });
    cleanups.push(() => link.close());
    const peer = await accepted;
    await link.opened;
    expect(peer.protocol).toBe("chat");
    expect(link.batching).toBe(false);
    const messages: number[] = [];
    peer.on("message", (d: Buffer) => messages.push(d.length));
    link.send([new Uint8Array(20), new Uint8Array(40), new Uint8Array(60)]);
    await until("three messages", () => messages.length === 3);
    expect(messages).toEqual([20, 40, 60]);
  });

  it("counts malformed batches and drops only what cannot be parsed; never throws out of the socket's callback", async () => {
    const { wss, url } = await wsServer(0, selectBatch);
    const accepted = nextConnection(wss);
    const link = createWebSocketLink(url, { batch: true, mtu: 1280 });
    cleanups.push(() => link.close());
    const got: number[][] = [];
    link.onReceive((b) => got.push(...b.map((p) => [p.length, p[0]!])));
    await link.opened;
    const peer = await accepted;
    const good = (n: number, v: number) => new Uint8Array(n).fill(v);
    // An empty record and one over the MTU are skipped; the records around them still arrive.
    peer.send(records(good(20, 1), new Uint8Array(0), good(1281, 2), good(30, 3)));
    // A length past the end of the message: what came before it arrives, the rest is dropped.
    peer.send(records(good(40, 4), { claim: 500, bytes: good(100, 5) }));
    // Fewer than four bytes left for a length.
    peer.send(Buffer.concat([records(good(50, 6)), Buffer.from([0, 0])]));
    peer.send("text");
    peer.send(Buffer.alloc(0));
    peer.send(records(good(60, 7)));
    await until("the last good one", () => got.some(([, v]) => v === 7));
    expect(got).toEqual([[20, 1], [30, 3], [40, 4], [50, 6], [60, 7]]);
    expect(link.stats).toMatchObject({ received: 5, empty: 2, tooBig: 1, malformed: 2, notBinary: 1 });
  });

  it("adopts a socket a ws server accepted, and surfaces the peer's close", async () => {
    const { wss, url } = await wsServer();
    const accepted = nextConnection(wss);
    const client = new WsWebSocket(url);
    cleanups.push(() => client.terminate());
    const link = createWebSocketLink(await accepted);
    const closed = new Promise<number>((r) => link.onClose((i) => r(i.code)));
    const errors: string[] = [];
    link.onError((e) => errors.push(e.code));
    await link.opened;
    if (client.readyState !== WsWebSocket.OPEN) await new Promise((r) => client.once("open", r));
    // A close frame without a code (1005) is a clean close too.
    client.close();
    expect(await closed).toBe(1005);
    expect(errors).toEqual([]);
    expect(link.state).toBe("closed");
    link.send([new Uint8Array(10)]);
    expect(link.stats.sent).toBe(0);
  });

  it("rejects opened with ECONNREFUSED when nothing listens", async () => {
    const { wss, url } = await wsServer();
    await new Promise<void>((r) => wss.close(() => r()));
    const link = createWebSocketLink(url);
    const err = await link.opened.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TcpwasmError);
    expect((err as TcpwasmError).code).toBe("ECONNREFUSED");
    expect(link.state).toBe("closed");
  });

  it("checks its arguments with typed errors", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as TcpwasmError).code;
      }
      return "no error";
    };
    expect(code(() => createWebSocketLink(42 as never))).toBe("ERR_INVALID_ARG_TYPE");
    expect(code(() => createWebSocketLink("http://127.0.0.1/"))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink("not a url"))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink("ws://127.0.0.1:1/", { mtu: 100 }))).toBe("ERR_OUT_OF_RANGE");
    expect(code(() => createWebSocketLink("ws://127.0.0.1:1/", { framing: "tap" as never }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink("ws://127.0.0.1:1/", { colour: 1 } as never))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink("ws://127.0.0.1:1/", { reconnect: { maxAttempts: 0 } }))).toBe("ERR_OUT_OF_RANGE");
    const fake = { readyState: 1, bufferedAmount: 0, binaryType: "arraybuffer", send() {}, close() {}, addEventListener() {}, removeEventListener() {} };
    expect(code(() => createWebSocketLink(fake, { reconnect: true }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink({ ...fake, readyState: 3 }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink(fake, { batch: true }))).toBe("ERR_INVALID_ARG_VALUE");
    expect(code(() => createWebSocketLink("ws://127.0.0.1:1/", { batch: "yes" as never }))).toBe("ERR_INVALID_ARG_TYPE");
    // The browser-safe entry has no constructor to fall back on in Node 20.
    if (!(globalThis as { WebSocket?: unknown }).WebSocket) expect(code(() => createBrowserSafeLink("ws://127.0.0.1:1/"))).toBe("ERR_INVALID_ARG_TYPE");
    const link: WebSocketLink = createWebSocketLink(fake);
    expect(code(() => link.send("x" as never))).toBe("ERR_INVALID_ARG_TYPE");
    expect(code(() => link.onReceive(1 as never))).toBe("ERR_INVALID_ARG_TYPE");
    link.close();
  });
});
