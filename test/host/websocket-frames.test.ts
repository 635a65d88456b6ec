// A WebSocket link on a `ws` server-side socket (what `tcpwasm relay` gives each packet-mode client)
// writes each drain's packets as frames laid out in one buffer, with one write to the TCP connection:
// every frame reaches a real `ws` client as its own message, byte for byte, at every length encoding
// (RFC 6455 5.2: 7-bit, 16-bit and 64-bit); the link copies on send; bufferedAmount still bounds what
// it queues (drops counted); frames `ws` queued itself (a Blob being read) keep their order.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, WebSocket as WsWebSocket } from "ws";
import { BATCH_PROTOCOL, type WebSocketLink } from "../../src/net/websocket-link.js";
import { frameHeaderLength, writeFrameHeader } from "../../src/net/websocket-frames.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (what: string, cond: () => boolean) => {
  for (let i = 0; i < 20_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error(`never happened: ${what}`);
};

/** The TCP socket under a `ws` server-side socket, and how many times it was written to. */
interface Raw {
  write(...args: unknown[]): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * A ws server, a ws client connected to it, and a link over the server's side. The client records
 * every message; `writes()` counts the writes made to the server socket's TCP connection.
 */
async function serverSideLink(options: { protocols?: string[]; framing?: "ip" | "ethernet"; mtu?: number; maxBufferedBytes?: number } = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, handleProtocols: (offered) => (offered.has(BATCH_PROTOCOL) ? BATCH_PROTOCOL : false) });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const accepted = new Promise<WsWebSocket>((r) => wss.once("connection", (ws) => r(ws)));
  const client = new WsWebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, options.protocols ?? []);
  const messages: Buffer[] = [];
  client.on("message", (d: Buffer) => messages.push(Buffer.from(d)));
  await new Promise((r) => client.once("open", r));
  const peer = await accepted;
  const raw = (peer as unknown as { _socket: Raw })._socket;
  let writes = 0;
  const written: Uint8Array[] = [];
  const write = raw.write.bind(raw);
  raw.write = (...args: unknown[]) => (writes++, written.push(args[0] as Uint8Array), write(...args));
  const link = createWebSocketLink(peer as never, { framing: options.framing, mtu: options.mtu, maxBufferedBytes: options.maxBufferedBytes });
  cleanups.push(() => new Promise<void>((r) => {
    link.close();
    client.terminate();
    wss.close(() => r());
  }));
  return { link, peer, client, raw, messages, written, writes: () => writes };
}

/** `n` bytes, each derived from `seed` and its index. */
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);

describe("WebSocket link frames on a ws server-side socket", () => {
  it("lays out the 7-, 16- and 64-bit length encodings of RFC 6455 5.2", () => {
    const cases: [number, number[]][] = [
      [0, [0x82, 0]],
      [125, [0x82, 125]],
      [126, [0x82, 126, 0, 126]],
      [65535, [0x82, 126, 0xff, 0xff]],
      [65536, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
      [65549, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 13]],
    ];
    for (const [n, header] of cases) {
      const out = new Uint8Array(12).fill(0xee);
      expect(writeFrameHeader(out, 1, n)).toBe(1 + header.length);
      expect(frameHeaderLength(n)).toBe(header.length);
      expect([...out.subarray(1, 1 + header.length)]).toEqual(header);
    }
  });

  it("writes each send's packets with one write to the TCP connection; the client reads each as its own message, byte for byte", async () => {
    const { link, messages, writes } = await serverSideLink({ framing: "ethernet", mtu: 65535 });
    await link.opened;
    // Every length encoding: 7-bit (1, 125), 16-bit (126 .. 65535) and, with an Ethernet header on a
    // 65535-byte IP packet, 64-bit (65549).
    const sizes = [1, 125, 126, 127, 1500, 65535, 65536, 65549, 60, 1514];
    const sent = sizes.map((n, i) => bytes(n, i));
    const before = writes();
    link.send(sent.slice(0, 6));
    expect(writes() - before).toBe(1);
    link.send(sent.slice(6));
    expect(writes() - before).toBe(2);
    await until("every frame arrived", () => messages.length === sent.length);
    expect(messages.map((m) => m.length)).toEqual(sizes);
    expect(messages.every((m, i) => Buffer.compare(m, Buffer.from(sent[i]!)) === 0)).toBe(true);
    expect(link.stats).toMatchObject({ sent: sizes.length, bytesSent: sizes.reduce((a, b) => a + b, 0), dropped: 0 });
  });

  it("writes batched framing's messages the same way when the client offered it", async () => {
    const { link, messages, writes } = await serverSideLink({ protocols: [BATCH_PROTOCOL] });
    await link.opened;
    expect(link.batching).toBe(true);
    const sent = Array.from({ length: 120 }, (_, i) => bytes(1 + ((i * 977) % 1500), i));
    const before = writes();
    link.send(sent);
    expect(writes() - before).toBe(1);
    await until("the batch arrived", () => messages.reduce((n, m) => n + m.length, 0) === sent.reduce((n, p) => n + 4 + p.length, 0));
    // Records: a 4-byte big-endian length, then the packet; in order across the messages.
    const got: Buffer[] = [];
    for (const m of messages) for (let at = 0; at < m.length; at += 4 + m.readUInt32BE(at)) got.push(m.subarray(at + 4, at + 4 + m.readUInt32BE(at)));
    expect(got.length).toBe(sent.length);
    expect(got.every((p, i) => Buffer.compare(p, Buffer.from(sent[i]!)) === 0)).toBe(true);
    expect(messages.length).toBeGreaterThan(1);
  });

  it("reuses a frame buffer once the TCP connection has written it, never while it still holds it", async () => {
    const { link, raw, messages, written } = await serverSideLink();
    await link.opened;
    const batch = (seed: number) => Array.from({ length: 20 }, (_, i) => bytes(1400, seed + i));
    // Corked, the first batch's buffer is not written yet: the second must not reuse it.
    raw.cork();
    link.send(batch(0));
    link.send(batch(100));
    expect(written.length).toBe(2);
    expect(written[1]!.buffer).not.toBe(written[0]!.buffer);
    raw.uncork();
    await until("40 messages", () => messages.length === 40);
    // Both written: the next batch takes one of their buffers.
    link.send(batch(200));
    expect([written[0]!.buffer, written[1]!.buffer]).toContain(written[2]!.buffer);
    await until("60 messages", () => messages.length === 60);
    const expected = [...batch(0), ...batch(100), ...batch(200)];
    expect(messages.every((m, i) => Buffer.compare(m, Buffer.from(expected[i]!)) === 0)).toBe(true);
  });

  it("copies on send: what it was given may be overwritten as soon as send returns, before and after the socket is adopted", async () => {
    const { link, messages } = await serverSideLink();
    expect(link.copiesOnSend).toBe(true);
    // Sent in the turn the link was made, the packets wait for the link to adopt the open socket.
    const early = [bytes(700, 1), bytes(800, 2)];
    const earlyCopy = early.map((p) => p.slice());
    link.send(early);
    expect(link.state).toBe("connecting");
    for (const p of early) p.fill(0xee);
    await link.opened;
    const late = [bytes(900, 3), bytes(1000, 4)];
    const lateCopy = late.map((p) => p.slice());
    link.send(late);
    for (const p of late) p.fill(0xee);
    await until("four messages", () => messages.length === 4);
    expect(messages.map((m) => Buffer.from(m).toString("hex"))).toEqual([...earlyCopy, ...lateCopy].map((p) => Buffer.from(p).toString("hex")));
  });

  it("does not claim to copy on a client's socket, whose frames ws masks and sends itself", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const link: WebSocketLink = createWebSocketLink(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    cleanups.push(() => new Promise<void>((r) => (link.close(), wss.close(() => r()))));
    expect(link.copiesOnSend).toBe(false);
  });

  it("counts its frames in bufferedAmount: with the TCP connection corked, packets past maxBufferedBytes are dropped and counted", async () => {
    const budget = 64 * 1024;
    const { link, raw, messages, peer } = await serverSideLink({ maxBufferedBytes: budget });
    await link.opened;
    raw.cork();
    const total = 2000;
    for (let i = 0; i < total; i += 100) link.send(Array.from({ length: 100 }, (_, k) => bytes(1400, i + k)));
    expect(link.stats.dropped).toBeGreaterThan(0);
    expect(link.stats.sent + link.stats.dropped).toBe(total);
    // The budget, and the frame headers of one send's packets (4 bytes each) on top at most.
    expect(peer.bufferedAmount).toBeGreaterThan(budget - 1400);
    expect(peer.bufferedAmount).toBeLessThanOrEqual(budget + 4 * Math.ceil(budget / 1400));
    raw.uncork();
    await until("the client read everything sent", () => messages.length === link.stats.sent);
    // What was sent is the first packets given, in order (the first send fits the budget whole).
    expect(messages.slice(0, 46).every((m, i) => m[0] === bytes(1400, i)[0] && m.length === 1400)).toBe(true);
  });

  it("keeps the order of frames ws queued itself: while it reads a Blob, packets go through its sender", async () => {
    const { link, peer, messages, writes } = await serverSideLink();
    await link.opened;
    // ws reads a Blob's bytes asynchronously and queues every frame sent meanwhile behind it.
    peer.send(new Blob([bytes(3000, 9)]));
    const before = writes();
    link.send([bytes(100, 1), bytes(200, 2)]);
    expect(writes()).toBe(before);
    link.send([bytes(300, 3)]);
    await until("four messages", () => messages.length === 4);
    expect(messages.map((m) => m.length)).toEqual([3000, 100, 200, 300]);
    expect(Buffer.compare(messages[3]!, Buffer.from(bytes(300, 3)))).toBe(0);
    expect(link.stats).toMatchObject({ sent: 3, dropped: 0 });
  });
});
