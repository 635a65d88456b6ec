// The Web face (src/faces/web.ts): Direct Sockets / Cloudflare-shaped sockets with Web Streams, two
// stacks over the in-memory link on a virtual clock (test/fixtures/stack-pair.ts). Data is checked
// with SHA-256; no assertion depends on how long anything takes.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
// From the package entry, as README shows it: the entry loads the Web face, which adds stack.connect and
// stack.listen.
import { createStack, type Stack } from "../../src/index.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { bindWeb } from "../../src/faces/web.js";
import { Prng } from "../../src/core/prng.js";
import type { TraceEvent } from "../../src/core/trace.js";
import { reachedState, sentSegments } from "../fixtures/trace-util.js";
import { StackPair } from "../fixtures/stack-pair.js";
import { data, firstWebSocket, sha } from "../fixtures/stack-util.js";

/** Two stacks on the release build (8 MiB each way), default RTO bounds, a short MSL. */
function pair(config: Record<string, number> = {}, trace = false): Promise<StackPair> {
  return StackPair.create({ flavor: "auto", config: { mslMs: 50, ...config }, trace });
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<{ sha: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha: h.digest("hex"), bytes };
}

async function writeAll(writable: WritableStream<Uint8Array>, payload: Uint8Array, chunk = 64 * 1024): Promise<void> {
  const w = writable.getWriter();
  for (let at = 0; at < payload.length; at += chunk) await w.write(payload.subarray(at, at + chunk));
  await w.close();
}

describe("Web face", () => {
  it("sits on the stack as the Node face does: bindWeb(stack) is the same face as stack.connect / stack.listen", async () => {
    const p = await pair();
    const { a, b } = p;
    const web = bindWeb(b);
    const listener = web.listen({ port: 7 });
    expect((await p.wait(listener.opened)).localAddress).toBe("::");
    const client = bindWeb(a).connect({ hostname: "10.0.0.2", port: 7 });
    const server = (await p.wait(listener.accept()))!;
    const w = (await p.wait(client.opened)).writable.getWriter();
    await p.wait(w.write(new Uint8Array([1, 2, 3])));
    await p.wait(w.close());
    expect((await p.wait(readAll((await p.wait(server.opened)).readable))).bytes).toBe(3);
    await p.wait(server.close());
    await p.wait(client.closed);
    await p.wait(listener.close());
    expect(() => bindWeb({} as Stack)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    // The stack's methods are the face's, added to the class by src/faces/web.ts.
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(a), "connect")?.enumerable).toBe(false);
    a.close();
    b.close();
  });

  it("closed resolves once the final ACK has left: a capture taken then holds the whole close", async () => {
    const p = await pair({}, true);
    const server = firstWebSocket(p.b, 7);
    const client = p.a.connect({ hostname: "10.0.0.2", port: 7 });
    const w = (await p.wait(client.opened)).writable.getWriter();
    await p.wait(w.close());
    let onLink = -1;
    const closed = client.closed.then(() => (onLink = p.la.stats.sent));
    const s = await p.wait(server);
    await p.wait(readAll((await p.wait(s.opened)).readable));
    await p.wait(s.close());
    await p.wait(closed);
    // Every segment the client built, its last ACK (for the server's FIN) included, was on the link.
    expect(p.sent("client").at(-1)).toBe("ACK 0");
    expect(onLink).toBe(p.sent("client").length);
    p.a.close();
    p.b.close();
  });

  it("moves 8 MiB each way at once with matching SHA-256, then both closed promises resolve", async () => {
    const p = await pair();
    const { a, b } = p;
    const up = data(8 << 20, 11);
    const down = data(8 << 20, 12);
    const accepted = firstWebSocket(b, 443);
    const client = a.connect({ hostname: "10.0.0.2", port: 443 });
    const info = await p.wait(client.opened);
    expect(info.remoteAddress).toBe("10.0.0.2");
    expect(info.remotePort).toBe(443);
    expect(info.localAddress).toBe("10.0.0.1");
    const server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    expect(sInfo.remotePort).toBe(info.localPort);
    const [clientGot, serverGot] = await p.wait(Promise.all([
      readAll(info.readable),
      readAll(sInfo.readable),
      writeAll(info.writable, up),
      writeAll(sInfo.writable, down),
    ]));
    expect(serverGot).toEqual({ sha: sha([up]), bytes: up.length });
    expect(clientGot).toEqual({ sha: sha([down]), bytes: down.length });
    await expect(p.wait(client.closed)).resolves.toBeUndefined();
    await expect(p.wait(server.closed)).resolves.toBeUndefined();
    a.close();
    b.close();
  });

  it("works over IPv6 with a bracketed hostname", async () => {
    const p = await pair();
    const { a, b } = p;
    const accepted = firstWebSocket(b, 80);
    const client = a.connect({ hostname: "[fd00::2]", port: 80 });
    const info = await p.wait(client.opened);
    expect(info.remoteAddress).toBe("fd00::2");
    const server = await p.wait(accepted);
    const msg = new TextEncoder().encode("hello over v6");
    await p.wait(writeAll(info.writable, msg));
    const got = await p.wait(readAll((await p.wait(server.opened)).readable));
    expect(got.sha).toBe(sha([msg]));
    a.close();
    b.close();
  });

  it("a reader that stops reading stalls the peer's writes and closes the window; reading again resumes", async () => {
    const p = await pair({ recvBuffer: 64 * 1024, sendBuffer: 64 * 1024 });
    const { a, b } = p;
    const accepted = firstWebSocket(b, 80);
    const client = a.connect({ hostname: "10.0.0.2", port: 80, readableHighWaterMark: 16 * 1024 });
    const info = await p.wait(client.opened);
    const server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    // The server writes 1 MiB and nobody reads at the client: the stream queue, then the receive ring
    // fill, the client advertises a zero window and the server's writes stop resolving.
    const payload = data(1 << 20, 13);
    let written = 0;
    const writer = sInfo.writable.getWriter();
    const writing = (async () => {
      for (let at = 0; at < payload.length; at += 8192) {
        await writer.write(payload.subarray(at, at + 8192));
        written = at + 8192;
      }
      await writer.close();
    })();
    // The window field counts units of 2^7 bytes (the scale is chosen for the 4 MiB the ring may grow
    // to, recvBufferMax): it reads zero once fewer than 128 bytes are free (RFC 7323 2.3).
    const unit = 1 << client.connection.status().rcvShift;
    await p.runUntil(() => server.connection.status().sndWnd === 0 && client.connection.status().recvQueued > 64 * 1024 - unit, "zero window");
    expect(client.connection.isPaused).toBe(true);
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(payload.length);
    await p.advance(2_000);
    expect(written).toBe(stalledAt);
    expect(server.connection.status().sndWnd).toBe(0);
    expect(client.connection.status().rcvWnd).toBeLessThan(unit);
    // A reader that reads nothing never grows its ring (assembly/engine/autosize.ts).
    expect(client.connection.status().recvBuffer).toBe(64 * 1024);
    // Reading drains the queue, resumes the connection, reopens the window; everything arrives.
    const got = await p.wait(readAll(info.readable));
    await p.wait(writing);
    expect(got).toEqual({ sha: sha([payload]), bytes: payload.length });
    a.close();
    b.close();
  });

  it("half-close: closing the writable sends FIN while the readable side keeps receiving", async () => {
    const p = await pair();
    const { a, b } = p;
    const accepted = firstWebSocket(b, 80);
    const client = a.connect({ hostname: "10.0.0.2", port: 80 });
    const info = await p.wait(client.opened);
    const server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    const request = new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n");
    await p.wait(writeAll(info.writable, request));
    // The server reads to the end (the client's FIN), and only then answers.
    const got = await p.wait(readAll(sInfo.readable));
    expect(got.sha).toBe(sha([request]));
    expect(server.connection.state).toBe("CLOSE-WAIT");
    // The client's FIN is acknowledged; its side stays open for reading.
    await p.runUntil(() => client.connection.state === "FIN-WAIT-2", "FIN-WAIT-2");
    const response = data(300_000, 14);
    await p.wait(writeAll(sInfo.writable, response));
    const back = await p.wait(readAll(info.readable));
    expect(back.sha).toBe(sha([response]));
    await expect(p.wait(client.closed)).resolves.toBeUndefined();
    await expect(p.wait(server.closed)).resolves.toBeUndefined();
    a.close();
    b.close();
  });

  it("closed and opened outcomes: refused, reset by the peer, close()", async () => {
    const p = await pair();
    const { a, b } = p;
    // Refused.
    const refused = a.connect({ hostname: "10.0.0.2", port: 7 });
    await expect(p.wait(refused.opened)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await expect(p.wait(refused.closed)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    // Reset: the server aborts its writable side; the client's readable errors and closed rejects.
    let accepted = firstWebSocket(b, 80);
    const victim = a.connect({ hostname: "10.0.0.2", port: 80 });
    const vInfo = await p.wait(victim.opened);
    let server = await p.wait(accepted);
    await p.wait((await p.wait(server.opened)).writable.abort(new Error("go away")));
    await expect(p.wait(victim.closed)).rejects.toMatchObject({ code: "ECONNRESET" });
    await expect(p.wait(vInfo.readable.getReader().read())).rejects.toMatchObject({ code: "ECONNRESET" });
    await expect(p.wait(vInfo.writable.getWriter().write(new Uint8Array(1)))).rejects.toMatchObject({ code: "ECONNRESET" });
    await expect(p.wait(server.closed)).resolves.toBeUndefined();

    // close(): FIN both ways; both sides' closed resolve once the peer closes too.
    accepted = firstWebSocket(b, 81);
    const polite = a.connect({ hostname: "10.0.0.2", port: 81 });
    await p.wait(polite.opened);
    server = await p.wait(accepted);
    const sInfo = await p.wait(server.opened);
    const closing = polite.close();
    await expect(p.wait(readAll(sInfo.readable))).resolves.toMatchObject({ bytes: 0 });
    await p.wait(server.close());
    await expect(p.wait(closing)).resolves.toBeUndefined();
    await expect(p.wait(server.closed)).resolves.toBeUndefined();
    a.close();
    b.close();
  });

  it("a listener is an async iterable of sockets that ends when closed", async () => {
    const p = await pair();
    const { a, b } = p;
    const listener = b.listen({ port: 9000 });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const s of listener) {
        const { writable } = await s.opened;
        seen.push(s.remotePort);
        await writeAll(writable, new TextEncoder().encode(`hello ${seen.length}`));
      }
    })();
    for (let i = 1; i <= 3; i++) {
      const c = a.connect({ hostname: "10.0.0.2", port: 9000 });
      const { readable, localPort } = await p.wait(c.opened);
      const got = await p.wait(readAll(readable));
      expect(got.sha).toBe(sha([new TextEncoder().encode(`hello ${i}`)]));
      expect(seen).toContain(localPort);
      await p.wait(c.close());
    }
    await p.wait(listener.close());
    await p.wait(loop);
    expect(seen).toHaveLength(3);
    // Closed: a new connection is refused.
    await expect(p.wait(a.connect({ hostname: "10.0.0.2", port: 9000 }).opened)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    a.close();
    b.close();
  });
});

describe("Web face segments (Node: the drain waits for the microtask queue)", () => {
  it("a write and a close awaited one after the other leave as one segment, and so does the answer", async () => {
    const p = await pair({}, true);
    const { a, b } = p;
    const listener = b.listen({ port: 7 });
    const served = (async () => {
      const s = (await listener.accept())!;
      const { readable, writable } = await s.opened;
      const got = await readAll(readable);
      const w = writable.getWriter();
      await w.write(data(300, 2));
      await w.close();
      return got.bytes;
    })();
    const socket = a.connect({ hostname: "10.0.0.2", port: 7 });
    const { readable, writable } = await p.wait(socket.opened);
    const w = writable.getWriter();
    await p.wait(w.write(data(100, 1)));
    await p.wait(w.close());
    expect((await p.wait(readAll(readable))).bytes).toBe(300);
    expect(await p.wait(served)).toBe(100);
    await p.wait(socket.closed);
    await p.runUntil(() => p.reached("server", "CLOSED"), "server CLOSED");
    expect(p.sent("client")).toEqual(["SYN 0", "FIN,PSH,ACK 100", "ACK 0"]);
    expect(p.sent("server")).toEqual(["SYN,ACK 0", "FIN,PSH,ACK 300"]);
    await listener.close();
    a.close();
    b.close();
  });
});
