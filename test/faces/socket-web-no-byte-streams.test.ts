// The Web face (src/faces/web.ts) on a runtime without readable byte streams (Safari before 26.4:
// ReadableStream throws for type "bytes"): the readable side falls back to a default stream served
// from the receive ring the same way. This file stubs the global ReadableStream before the first
// socket is made (the face asks once), so it runs in a module graph of its own.
import { afterAll, describe, expect, it, vi } from "vitest";
// The package entry loads the Web face, which adds stack.connect and stack.listen.
import "../../src/index.js";
import { StackPair } from "../fixtures/stack-pair.js";
import { data, firstWebSocket, readChunks, sha } from "../fixtures/stack-util.js";

class NoByteStreams extends ReadableStream<Uint8Array> {
  constructor(source: UnderlyingDefaultSource<Uint8Array> = {}, strategy?: QueuingStrategy<Uint8Array>) {
    if ((source as { type?: string }).type === "bytes") throw new RangeError("type bytes is not supported");
    super(source, strategy);
  }
}
vi.stubGlobal("ReadableStream", NoByteStreams);
afterAll(() => {
  vi.unstubAllGlobals();
});

describe("Web face without readable byte streams", () => {
  it("reads through a default stream: owned chunks, the same bytes, nothing taken from the ring unread", async () => {
    const p = await StackPair.create({ flavor: "auto", config: { mslMs: 50 } });
    // Rings given explicitly keep their size (no auto-sizing): the window closes at 64 KiB.
    const accepted = firstWebSocket(p.b, 80, { sendBufferSize: 64 * 1024, receiveBufferSize: 64 * 1024 });
    const client = p.a.connect({ hostname: "10.0.0.2", port: 80, sendBufferSize: 64 * 1024, receiveBufferSize: 64 * 1024 });
    const info = await p.wait(client.opened);
    const server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    expect(info.readable).toBeInstanceOf(NoByteStreams);
    expect(() => info.readable.getReader({ mode: "byob" })).toThrow(TypeError);

    const payload = data(512 * 1024, 40);
    const w = sInfo.writable.getWriter();
    const writing = (async () => {
      for (let at = 0; at < payload.length; at += 8192) await w.write(payload.subarray(at, at + 8192));
      await w.close();
    })();
    await p.runUntil(() => server.connection.status().sndWnd === 0, "zero window");
    expect(client.connection.bytesRead).toBe(0);

    const read = await readChunks(p, info.readable.getReader(), payload.length, (value, got) => {
      expect(value.buffer).not.toBe(p.a.engine.memory.u8.buffer);
      expect(value.byteLength).toBe(value.buffer.byteLength);
      expect(client.connection.bytesRead).toBe(got);
    });
    await p.wait(writing);
    expect(read.bytes.length).toBe(payload.length);
    expect(read.buffers).toBeGreaterThan(1);
    expect(sha([read.bytes])).toBe(sha([payload]));
    await p.wait(client.close());
    p.a.close();
    p.b.close();
  });
});
