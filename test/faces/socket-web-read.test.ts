// The Web face's readable side (src/faces/web.ts): a readable byte stream served from the
// connection's receive ring. BYOB reads are filled in the caller's view, default reads get Uint8Arrays
// of their own, and data nobody asked for stays in the ring (the window closes). Two stacks over the
// in-memory link on a virtual clock (test/fixtures/stack-pair.ts); no assertion depends on timing.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createStack } from "../../src/index.js";
import { StackPair } from "../fixtures/stack-pair.js";
import { data, firstWebSocket, sha } from "../fixtures/stack-util.js";

function pair(config: Record<string, number> = {}): Promise<StackPair> {
  return StackPair.create({ flavor: "auto", config: { mslMs: 50, ...config } });
}

async function writeAll(writable: WritableStream<Uint8Array>, payload: Uint8Array, chunk = 64 * 1024): Promise<void> {
  const w = writable.getWriter();
  for (let at = 0; at < payload.length; at += chunk) await w.write(payload.subarray(at, at + chunk));
  await w.close();
}

/**
 * A client socket on `a` connected to a server socket on `b`, both opened. `buffers` fixes both
 * rings of both ends at that size (a ring given explicitly is not auto-sized).
 */
async function connected(p: StackPair, options: { readableHighWaterMark?: number; buffers?: number } = {}) {
  const { buffers, ...socketOptions } = options;
  const accepted = firstWebSocket(p.b, 80, { sendBufferSize: buffers, receiveBufferSize: buffers });
  const client = p.a.connect({ hostname: "10.0.0.2", port: 80, sendBufferSize: buffers, receiveBufferSize: buffers, ...socketOptions });
  const info = await p.wait(client.opened);
  const server = await p.wait(accepted);
  const sInfo = await p.wait(server.opened);
  return { client, info, server, sInfo };
}

describe("Web face reading", () => {
  it("a BYOB read fills the caller's own memory, one read after another, and the bytes stay put", async () => {
    const p = await pair();
    const { client, info, sInfo } = await connected(p);
    const payload = data(1 << 20, 21);
    const writing = writeAll(sInfo.writable, payload);
    const reader = info.readable.getReader({ mode: "byob" });
    const ringMemory = p.b.engine.memory.u8.buffer;
    const received = new Uint8Array(payload.length);
    const kept: { view: Uint8Array; at: number }[] = [];
    let buffer = new ArrayBuffer(48 * 1024);
    let at = 0;
    for (;;) {
      // A view that starts inside its buffer: the read fills at most that window of it.
      const room = buffer.byteLength - 16;
      const { done, value } = await p.wait(reader.read(new Uint8Array(buffer, 16, room)));
      if (done) break;
      expect(value.buffer).not.toBe(ringMemory);
      expect(value.byteOffset).toBe(16);
      expect(value.buffer.byteLength).toBe(48 * 1024);
      expect(value.length).toBeGreaterThan(0);
      expect(value.length).toBeLessThanOrEqual(room);
      received.set(value, at);
      // Every fifth read keeps its buffer (the next read gets a fresh one) to check it later.
      if (kept.length < 8 && at % 5 === 0) {
        kept.push({ view: value, at });
        buffer = new ArrayBuffer(48 * 1024);
      } else buffer = value.buffer;
      at += value.length;
    }
    await p.wait(writing);
    expect(at).toBe(payload.length);
    expect(sha([received])).toBe(sha([payload]));
    // What a read handed out is never overwritten by later traffic through the ring.
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) expect(sha([k.view])).toBe(sha([payload.subarray(k.at, k.at + k.view.length)]));
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });

  it("a default reader gets Uint8Arrays that each own their whole buffer, small chunks too", async () => {
    const p = await pair();
    const { info, sInfo, client } = await connected(p);
    const reader = info.readable.getReader();
    const w = sInfo.writable.getWriter();
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const message = data(100 + i, 30 + i);
      await p.wait(w.write(message));
      const { value } = await p.wait(reader.read());
      expect(sha([value!])).toBe(sha([message]));
      chunks.push(value!);
    }
    const buffers = new Set<ArrayBufferLike>();
    for (const c of chunks) {
      // A plain Uint8Array, also where the memory came from Node's Buffer (whose slice() is a view).
      expect(Object.getPrototypeOf(c)).toBe(Uint8Array.prototype);
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.byteLength);
      buffers.add(c.buffer);
    }
    expect(buffers.size).toBe(chunks.length);
    await p.wait(w.close());
    expect((await p.wait(reader.read())).done).toBe(true);
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });

  it("a default read hands out at most 256 KiB, however much the ring holds; every byte arrives, in order", async () => {
    const p = await pair();
    const { client, info, sInfo } = await connected(p, { buffers: 1 << 20 });
    const payload = data(3 << 20, 27);
    const writing = writeAll(sInfo.writable, payload);
    // Nobody reads yet: the ring fills far past one chunk, in one contiguous piece.
    await p.runUntil(() => client.connection.status().recvQueued >= 768 * 1024, "receive ring filled");
    const reader = info.readable.getReader();
    const received = new Uint8Array(payload.length);
    const sizes: number[] = [];
    let got = 0;
    for (;;) {
      const { done, value } = await p.wait(reader.read());
      if (done) break;
      expect(value.length).toBeLessThanOrEqual(256 * 1024);
      // The chunk's whole buffer is received bytes: nothing else of the process's memory shows.
      expect(value.byteOffset).toBe(0);
      expect(value.buffer.byteLength).toBe(value.length);
      received.set(value, got);
      got += value.length;
      sizes.push(value.length);
    }
    await p.wait(writing);
    expect(sizes[0]).toBe(256 * 1024);
    expect(got).toBe(payload.length);
    expect(sha([received])).toBe(sha([payload]));
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });

  it("takes nothing out of the receive ring that was not read: a slow reader holds the window shut", async () => {
    const p = await pair();
    const { client, server, info, sInfo } = await connected(p, { buffers: 64 * 1024 });
    const payload = data(512 * 1024, 22);
    const writing = writeAll(sInfo.writable, payload, 8192);
    // Full to the last byte the scaled window can still offer (window scale 1: 65534 of 65536).
    await p.runUntil(() => server.connection.status().sndWnd === 0 && client.connection.status().recvQueued >= 64 * 1024 - 2, "zero window");
    expect(client.connection.bytesRead).toBe(0);
    expect(client.connection.isPaused).toBe(true);
    // Slow BYOB reads of 1000 bytes: each takes exactly that from the ring, and no more follows
    // until the next read, however long the reader waits.
    const reader = info.readable.getReader({ mode: "byob" });
    const received = new Uint8Array(payload.length);
    let got = 0;
    for (let i = 0; i < 5; i++) {
      const { value } = await p.wait(reader.read(new Uint8Array(1000)));
      expect(value!.length).toBe(1000);
      received.set(value!, got);
      got += value!.length;
      await p.advance(500);
      expect(client.connection.bytesRead).toBe(got);
      expect(client.connection.isPaused).toBe(true);
    }
    for (;;) {
      const { done, value } = await p.wait(reader.read(new Uint8Array(32 * 1024)));
      if (done) break;
      received.set(value, got);
      got += value.length;
    }
    await p.wait(writing);
    expect(got).toBe(payload.length);
    expect(sha([received])).toBe(sha([payload]));
    p.a.close();
    p.b.close();
  });

  it("a BYOB read waiting at the peer's FIN ends done, with its view back empty", async () => {
    const p = await pair();
    const { client, info, sInfo } = await connected(p);
    const reader = info.readable.getReader({ mode: "byob" });
    const pending = reader.read(new Uint8Array(4096));
    await p.advance(100);
    await p.wait(sInfo.writable.close());
    const { done, value } = await p.wait(pending);
    expect(done).toBe(true);
    expect(value).toBeInstanceOf(Uint8Array);
    expect(value!.byteLength).toBe(0);
    expect(value!.buffer.byteLength).toBe(4096);
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });

  it("cancelling the readable side drops what arrives and keeps the window open: the peer's writes all complete", async () => {
    const p = await pair();
    const { client, server, info, sInfo } = await connected(p, { buffers: 64 * 1024 });
    const reader = info.readable.getReader({ mode: "byob" });
    const first = data(1000, 25);
    const w = sInfo.writable.getWriter();
    await p.wait(w.write(first));
    const { value } = await p.wait(reader.read(new Uint8Array(4096)));
    expect(sha([value!])).toBe(sha([first]));
    await p.wait(reader.cancel());
    // Eight times the receive buffer: only a reader that keeps draining lets it all through.
    const rest = data(512 * 1024, 26);
    for (let at = 0; at < rest.length; at += 16 * 1024) await p.wait(w.write(rest.subarray(at, at + 16 * 1024)));
    await p.wait(w.close());
    await p.runUntil(() => client.connection.bytesRead === first.length + rest.length, "everything drained");
    expect(server.connection.status().sendQueued).toBe(0);
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });

  it("readableHighWaterMark takes up to that many bytes out of the ring ahead of the reads", async () => {
    const p = await pair();
    const { client, info, sInfo } = await connected(p, { readableHighWaterMark: 16 * 1024, buffers: 64 * 1024 });
    const payload = data(256 * 1024, 23);
    const writing = writeAll(sInfo.writable, payload, 8192);
    await p.runUntil(() => client.connection.status().recvQueued >= 64 * 1024 - 2, "receive ring full");
    // The stream holds what it took ahead (at least its high-water mark) and nothing is read yet.
    expect(client.connection.bytesRead).toBeGreaterThanOrEqual(16 * 1024);
    expect(client.connection.bytesRead).toBeLessThanOrEqual(16 * 1024 + 64 * 1024);
    const received = new Uint8Array(payload.length);
    const reader = info.readable.getReader();
    let got = 0;
    for (;;) {
      const { done, value } = await p.wait(reader.read());
      if (done) break;
      received.set(value, got);
      got += value.length;
    }
    await p.wait(writing);
    expect(sha([received])).toBe(sha([payload]));
    p.a.close();
    p.b.close();
  });
});

describe("Web face reading over the default memory link", () => {
  it("moves 16 MiB with BYOB reads into one reused buffer, SHA-256 checked", async () => {
    const { createMemoryLinkPair } = await import("../../src/net/memory-link.js");
    const [la, lb] = createMemoryLinkPair();
    const a = await createStack({ addresses: ["10.0.0.1/24"] });
    const b = await createStack({ addresses: ["10.0.0.2/24"] });
    a.attach(la);
    b.attach(lb);
    const payload = data(16 << 20, 24);
    const accepted = firstWebSocket(b, 80);
    const client = a.connect({ hostname: "10.0.0.2", port: 80 });
    const writing = writeAll((await client.opened).writable, payload);
    const reader = (await (await accepted).opened).readable.getReader({ mode: "byob" });
    const h = createHash("sha256");
    let view = new Uint8Array(256 * 1024);
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read(view);
      if (done) break;
      h.update(value);
      got += value.length;
      view = new Uint8Array(value.buffer);
    }
    await writing;
    expect(got).toBe(payload.length);
    expect(h.digest("hex")).toBe(sha([payload]));
    a.close();
    b.close();
  });
});
