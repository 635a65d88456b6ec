// The Web face (src/faces/web.ts) where the runtime has no Buffer.allocUnsafeSlow (browsers, Deno): a
// default read's chunk is then a plain new Uint8Array (freshBytes, src/core/arena.ts). This file hides
// allocUnsafeSlow from the global Buffer before anything allocates (freshBytes picks its allocator
// once; the rest of Buffer stays for Node's own use), so it runs in a module graph of its own.
import { afterAll, describe, expect, it, vi } from "vitest";
// The package entry loads the Web face, which adds stack.connect and stack.listen.
import "../../src/index.js";
import { StackPair } from "../fixtures/stack-pair.js";
import { data, firstWebSocket, readChunks, sha } from "../fixtures/stack-util.js";

vi.stubGlobal("Buffer", new Proxy(Buffer, { get: (target, key) => (key === "allocUnsafeSlow" ? undefined : Reflect.get(target, key)) }));
afterAll(() => {
  vi.unstubAllGlobals();
});

describe("Web face without Buffer.allocUnsafeSlow", () => {
  it("default reads hand out chunks of their own, up to 256 KiB, with every byte in order", async () => {
    expect(globalThis.Buffer.allocUnsafeSlow).toBeUndefined();
    const p = await StackPair.create({ flavor: "auto", config: { mslMs: 50 } });
    const accepted = firstWebSocket(p.b, 80, { receiveBufferSize: 1 << 20 });
    const client = p.a.connect({ hostname: "10.0.0.2", port: 80 });
    await p.wait(client.opened);
    const server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    const cInfo = await p.wait(client.opened);
    const payload = data(2 << 20, 41);
    const w = cInfo.writable.getWriter();
    const writing = (async () => {
      for (let at = 0; at < payload.length; at += 64 * 1024) await w.write(payload.subarray(at, at + 64 * 1024));
      await w.close();
    })();
    await p.runUntil(() => server.connection.status().recvQueued >= 512 * 1024, "receive ring filled");
    const read = await readChunks(p, sInfo.readable.getReader(), payload.length, (value) => {
      expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
      expect(value.length).toBeLessThanOrEqual(256 * 1024);
      expect(value.byteOffset).toBe(0);
      expect(value.buffer.byteLength).toBe(value.length);
    });
    await p.wait(writing);
    expect(read.bytes.length).toBe(payload.length);
    expect(sha([read.bytes])).toBe(sha([payload]));
    expect(read.buffers).toBeGreaterThan(payload.length / (256 * 1024) - 1);
    await p.wait(Promise.all([server.close(), client.close()]));
    p.a.close();
    p.b.close();
  });
});
