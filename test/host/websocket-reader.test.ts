// A URL link's `ws` client reads binary frames straight from its TCP connection (websocket-reader.ts):
// the server here writes frames by hand to its net.Socket, split at every byte, several to a write,
// with pings, a text message, a fragmented message and a close frame among them, and the link must
// hand over exactly the binary messages, in order, answer the pings, count the text as not binary,
// and close as before. No assertion depends on how long anything takes.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket as WsWebSocket } from "ws";
import { type WebSocketLinkCloseInfo } from "../../src/net/websocket-link.js";
import { createWebSocketLink } from "../../src/net/websocket-node.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function wsServer(): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/` };
}

const until = async (what: string, cond: () => boolean) => {
  for (let i = 0; i < 20_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error(`never happened: ${what}`);
};

/** An unmasked frame (a server's, RFC 6455 5.2): FIN and `opcode` in the first byte unless `first` is given. */
function frame(opcode: number, payload: Uint8Array, first = 0x80 | opcode): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([first, n]) : n < 65536 ? Buffer.from([first, 126, n >> 8, n & 0xff]) : Buffer.from([first, 127, 0, 0, 0, 0, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, payload]);
}

/** A packet-sized payload whose bytes say which one it is. */
const packet = (i: number, n: number) => new Uint8Array(n).fill(i & 0xff).map((b, k) => (k < 2 ? (k === 0 ? i >> 8 : i & 0xff) : b));

/** The server's raw TCP socket under an accepted `ws` socket: where hand-made frames are written. */
const rawOf = (ws: WsWebSocket) => (ws as unknown as { _socket: { write(b: Uint8Array): boolean } })._socket;

async function linkAndPeer() {
  const { wss, url } = await wsServer();
  const accepted = new Promise<WsWebSocket>((r) => wss.once("connection", (ws) => r(ws)));
  const link = createWebSocketLink(url, { mtu: 65535 });
  cleanups.push(() => link.close());
  const got: Uint8Array[] = [];
  link.onReceive((packets) => got.push(...packets.map((p) => p.slice())), { copies: true });
  await link.opened;
  const peer = await accepted;
  return { link, peer, got, raw: rawOf(peer) };
}

describe("websocket link: a ws client's frames read from the connection", () => {
  it("hands over binary messages split at every byte, several to a write, in order", async () => {
    const { link, raw, got } = await linkAndPeer();
    // Sizes across the three header forms' boundaries: 7-bit, 16-bit and the 64-bit length (those
    // over the MTU are read past and counted too big).
    const sizes = [1, 125, 126, 127, 1400, 1500, 65535, 65536, 70000, 3];
    const payloads = sizes.map((n, i) => packet(i, n));
    const stream = Buffer.concat(payloads.map((p) => frame(2, p)));
    // First a byte at a time through the first few frames' headers and payloads, then odd slices.
    let at = 0;
    for (; at < 400; at++) raw.write(stream.subarray(at, at + 1));
    for (const step of [3, 7, 1000, 4093]) {
      const end = Math.min(stream.length, at + step * 5);
      for (; at < end; at += step) raw.write(stream.subarray(at, Math.min(end, at + step)));
    }
    raw.write(stream.subarray(at));
    const fit = payloads.filter((p) => p.length <= 65535);
    await until("all messages", () => got.length >= fit.length);
    expect(got.map((p) => p.length)).toEqual(fit.map((p) => p.length));
    for (let i = 0; i < fit.length; i++) expect(Buffer.from(got[i]!).equals(Buffer.from(fit[i]!))).toBe(true);
    expect(link.stats.received).toBe(fit.length);
    expect(link.stats.tooBig).toBe(2);
  });

  it("does not emit binary messages as the socket's events (the link reads them itself)", async () => {
    const { link, raw, got } = await linkAndPeer();
    let events = 0;
    (link.socket as unknown as WsWebSocket).on("message", () => events++);
    for (let i = 0; i < 10; i++) raw.write(frame(2, packet(i, 1500)));
    await until("ten messages", () => got.length === 10);
    expect(events).toBe(0);
  });

  it("answers pings between messages and keeps reading; a text message is counted and ws reads on", async () => {
    const { link, peer, raw, got } = await linkAndPeer();
    const pongs: string[] = [];
    peer.on("pong", (d: Buffer) => pongs.push(d.toString()));
    // A ping split across writes, between two binary messages.
    const ping = frame(9, Buffer.from("are you there"));
    raw.write(Buffer.concat([frame(2, packet(1, 1500)), ping.subarray(0, 5)]));
    raw.write(Buffer.concat([ping.subarray(5), frame(2, packet(2, 1500))]));
    await until("a pong and two messages", () => pongs.length === 1 && got.length === 2);
    expect(pongs).toEqual(["are you there"]);
    // A text message: `ws` takes the connection from there, and binary messages still arrive.
    raw.write(Buffer.concat([frame(1, Buffer.from("hello")), frame(2, packet(3, 100)), frame(2, packet(4, 200))]));
    await until("two more messages", () => got.length === 4);
    expect(link.stats.notBinary).toBe(1);
    expect(got.map((p) => p.length)).toEqual([1500, 1500, 100, 200]);
    // A fragmented binary message (FIN clear, then a continuation), which `ws` reassembles.
    peer.send(packet(5, 300));
    raw.write(Buffer.concat([frame(2, packet(6, 50), 0x02), frame(0, packet(6, 50))]));
    await until("the fragmented message", () => got.length === 6);
    expect(got.map((p) => p.length)).toEqual([1500, 1500, 100, 200, 300, 100]);
  });

  it("gives a fragmented message to ws mid-stream, and a close frame closes the link as before", async () => {
    const { link, raw, got } = await linkAndPeer();
    const closed = new Promise<WebSocketLinkCloseInfo>((r) => link.onClose(r));
    raw.write(Buffer.concat([frame(2, packet(1, 10)), frame(2, packet(2, 20), 0x02), frame(0, packet(2, 20)), frame(2, packet(3, 30))]));
    await until("three messages", () => got.length === 3);
    expect(got.map((p) => p.length)).toEqual([10, 40, 30]);
    const code = Buffer.from([0x0f, 0xa0]); // 4000
    raw.write(frame(8, code));
    expect((await closed).code).toBe(4000);
    expect(link.state).toBe("closed");
  });

  it("leaves a payload over its limit to ws, which delivers it and the link counts it too big", async () => {
    const { link, raw, got } = await linkAndPeer();
    // Over the reader's 1 MiB: `ws` reads it (its maxPayload is 100 MiB); over the MTU: dropped, counted.
    raw.write(Buffer.concat([frame(2, packet(1, 1500)), frame(2, new Uint8Array((1 << 20) + 1)), frame(2, packet(2, 1500))]));
    await until("two messages and one too big", () => got.length === 2 && link.stats.tooBig === 1);
    expect(got.map((p) => p.length)).toEqual([1500, 1500]);
  });
});
