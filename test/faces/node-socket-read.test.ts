// How the Node face's Socket hands received bytes to its reader (src/faces/node-socket.ts): each
// 'data' chunk is a Buffer of its own of at most 64 KiB (net.Socket's read size), read straight from
// the receive ring; a chunk the reader keeps is never written again, whatever the socket reads after
// it; a reader that stops reading leaves the bytes in the receive ring (the window closes), not in
// the stream's buffer. tcpwasm only, over two stacks on the in-memory link (segmentation offload:
// 64 KiB segments, so the ring often holds more than one chunk's worth), on the virtual clock.
import type { Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeServer, closed, listen, tcpwasmEnv, type TcpwasmEnv } from "../fixtures/node-face-env.js";
import type { Socket as TcpwasmSocket } from "../../src/faces/node-net.js";
import { data as prngData, sha as shaParts } from "../fixtures/stack-util.js";

/** net.Socket's read size: the largest 'data' chunk. */
const READ_CHUNK = 64 * 1024;

/** `n` seeded pseudo-random bytes, as a Buffer (a misplaced or rewritten byte shows in the SHA-256). */
const payload = (n: number, seed: number): Buffer => Buffer.from(prngData(n, seed));
const sha = (b: Uint8Array) => shaParts([b]);

let env: TcpwasmEnv | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

/** A server on `env` that hands each accepted socket to `onSocket`; resolves with its port. */
async function serve(e: TcpwasmEnv, options: { allowHalfOpen?: boolean }, onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = e.serverNet.createServer(options, (s) => onSocket(s as unknown as Socket)) as unknown as Server;
  const port = await e.pair.wait(listen(server, e.host), "listen");
  return { server, port };
}

describe("Node face reads", () => {
  it("'data' chunks are Buffers of at most 64 KiB, and every chunk the reader keeps stays intact while the socket reads on", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    // Tiny writes first (Nagle off), each read before the next is written: chunks of their own, slices
    // of Node's shared Buffer pool. Then a large write fills the ring with more than a chunk at a time.
    const big = payload(3 << 20, 7);
    const tiny = payload(4096, 9);
    const kept: Buffer[] = [];
    let received = 0;
    let ended!: Promise<void>;
    const { server, port } = await serve(e, {}, (s) => {
      s.on("data", (d: Buffer) => {
        kept.push(d);
        received += d.length;
      });
      ended = new Promise((resolve) => s.on("end", resolve));
    });
    const c = e.clientNet.connect({ host: e.host, port, noDelay: true });
    await e.pair.wait(new Promise<void>((r) => c.once("connect", r)), "connect");
    for (let i = 0; i < tiny.length; i += 64) {
      c.write(tiny.subarray(i, i + 64));
      await e.pair.runUntil(() => received >= i + 64, "small write read");
    }
    c.end(big);
    await e.pair.wait(ended, "server end");
    // The kept chunks, read again only now: every byte still the one that arrived.
    expect(sha(Buffer.concat(kept))).toBe(sha(Buffer.concat([tiny, big])));
    expect(kept.every((d) => Buffer.isBuffer(d) && d.length > 0 && d.length <= READ_CHUNK)).toBe(true);
    // Both kinds were seen: each small write as a chunk of its own, and full-size chunks.
    expect(kept.slice(0, tiny.length / 64).map((d) => d.length)).toEqual(new Array(tiny.length / 64).fill(64));
    expect(kept.some((d) => d.length === READ_CHUNK)).toBe(true);
    await e.pair.wait(closed(c as unknown as Socket), "client close");
    await e.pair.wait(closeServer(server), "server close");
  });

  it("chunks are independent: scribbling over each one as it arrives changes no other chunk and no byte still to come; pause() stops 'data' until resume(), and every byte arrives in order", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const data = payload(3 << 20, 31);
    const { server, port } = await serve(e, {}, (s) => s.end(data));
    const c = e.clientNet.connect({ host: e.host, port });
    // What each chunk held on arrival, and the chunk itself, overwritten at once with its index.
    const copies: Buffer[] = [];
    const chunks: Buffer[] = [];
    let whilePaused = 0;
    let closedNow = false;
    c.on("data", (d: Buffer) => {
      if (c.isPaused()) whilePaused++;
      copies.push(Buffer.from(d));
      chunks.push(d);
      d.fill(chunks.length & 0xff);
      // Every third chunk, stop reading: the rest waits in the receive ring until resume().
      if (chunks.length % 3 === 0) c.pause();
    });
    c.on("close", () => (closedNow = true));
    let pauses = 0;
    while (!closedNow) {
      await e.pair.runUntil(() => closedNow || c.isPaused(), "a pause or the close");
      if (closedNow) break;
      pauses++;
      const seen = chunks.length;
      await e.pair.advance(20);
      expect(chunks.length).toBe(seen);
      c.resume();
    }
    expect(pauses).toBeGreaterThan(3);
    expect(whilePaused).toBe(0);
    // The bytes each chunk carried are the stream, in order: no scribble reached a later read.
    expect(sha(Buffer.concat(copies))).toBe(sha(data));
    // Each chunk still holds only its own scribble: no later read wrote into it.
    expect(chunks.every((d, i) => d.every((b) => b === ((i + 1) & 0xff)))).toBe(true);
    // Chunks that share an ArrayBuffer (small ones, from Node's pool) do not overlap in it.
    const ranges = new Map<ArrayBufferLike, [number, number][]>();
    for (const d of chunks) {
      const list = ranges.get(d.buffer) ?? [];
      list.push([d.byteOffset, d.byteOffset + d.length]);
      ranges.set(d.buffer, list);
    }
    for (const list of ranges.values()) {
      list.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThanOrEqual(list[i - 1]![1]);
    }
    await e.pair.wait(closeServer(server), "server close");
  });

  it("a reader that stops reading holds at most a chunk beyond the stream's highWaterMark: the rest waits in the receive ring, behind a closed window", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const data = payload(2 << 20, 11);
    let reader!: Socket;
    const { server, port } = await serve(e, {}, (s) => {
      reader = s;
      // 'readable' without read(): the stream fills to its highWaterMark, then push() says stop.
      s.on("readable", () => undefined);
    });
    const c = e.clientNet.connect({ host: e.host, port });
    let drained = false;
    c.on("drain", () => (drained = true));
    await e.pair.wait(new Promise<void>((r) => c.once("connect", r)), "connect");
    c.write(data);
    // Until the writer's send ring stays full: every window the reader opened has been used.
    await e.pair.runUntil(() => {
      const w = (c as unknown as TcpwasmSocket).tcpStatus();
      return w !== undefined && w.sendQueued === w.sendBuffer && w.sndWnd < w.sendMss;
    }, "writer stalled");
    const status = (reader as unknown as TcpwasmSocket).tcpStatus()!;
    expect(reader.readableLength).toBeGreaterThan(0);
    expect(reader.readableLength).toBeLessThanOrEqual(reader.readableHighWaterMark + READ_CHUNK);
    expect(status.recvQueued).toBe(status.recvBuffer - status.rcvWnd);
    expect(status.recvQueued).toBeGreaterThan(READ_CHUNK);
    expect(drained).toBe(false);
    // Reading everything now gets every byte, in order.
    const got: Buffer[] = [];
    let total = 0;
    const all = new Promise<void>((resolve) => {
      const take = () => {
        for (let d: Buffer | null; (d = reader.read() as Buffer | null) !== null; ) {
          got.push(d);
          total += d.length;
        }
        if (total === data.length) resolve();
      };
      reader.removeAllListeners("readable");
      reader.on("readable", take);
      take();
    });
    await e.pair.wait(all, "all read");
    expect(sha(Buffer.concat(got))).toBe(sha(data));
    c.end();
    await e.pair.wait(closed(c as unknown as Socket), "client close");
    await e.pair.wait(closeServer(server), "server close");
  });

  it("half-close: the bytes before the peer's FIN all come, in kept chunks that stay intact, then 'end'; the reader answers after it", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const up = payload(1 << 20, 13);
    const down = payload(300_000, 17);
    const kept: Buffer[] = [];
    const { server, port } = await serve(e, { allowHalfOpen: true }, (s) => {
      s.on("data", (d: Buffer) => kept.push(d));
      s.on("end", () => {
        // After the FIN: everything before it arrived.
        expect(sha(Buffer.concat(kept))).toBe(sha(up));
        s.end(down);
      });
    });
    const c = e.clientNet.connect({ host: e.host, port, allowHalfOpen: true });
    const back: Buffer[] = [];
    c.on("data", (d: Buffer) => back.push(d));
    c.end(up);
    await e.pair.wait(closed(c as unknown as Socket), "client close");
    expect(sha(Buffer.concat(back))).toBe(sha(down));
    expect(sha(Buffer.concat(kept))).toBe(sha(up));
    expect([...kept, ...back].every((d) => d.length <= READ_CHUNK)).toBe(true);
    await e.pair.wait(closeServer(server), "server close");
  });

  it("a reset after data: the chunks read before it stay intact, then 'error' ECONNRESET (syscall read) and 'close'(true)", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const data = payload(200_000, 19);
    const kept: Buffer[] = [];
    const events: string[] = [];
    let total = 0;
    let client!: Socket;
    const { server, port } = await serve(e, {}, (s) => {
      s.on("data", (d: Buffer) => {
        kept.push(d);
        total += d.length;
        // Once everything arrived, the client resets the connection.
        if (total === data.length) client.resetAndDestroy();
      });
      s.on("error", (err: NodeJS.ErrnoException) => events.push(`error ${err.code} ${err.syscall}`));
      s.on("close", (hadError: boolean) => events.push(`close ${hadError}`));
    });
    client = e.clientNet.connect({ host: e.host, port }) as unknown as Socket;
    client.on("error", () => undefined);
    client.write(data);
    await e.pair.runUntil(() => events.length === 2, "server close");
    expect(events).toEqual(["error ECONNRESET read", "close true"]);
    expect(sha(Buffer.concat(kept))).toBe(sha(data));
    await e.pair.wait(closeServer(server), "server close");
  });

  it("onread, as node:net's option: every byte goes through the caller's one buffer (no 'data'), false pauses reading until resume() with the window closed meanwhile, then 'end'", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const data = payload(1 << 20, 23);
    const { server, port } = await serve(e, {}, (s) => s.end(data));
    const buffer = Buffer.alloc(10_000);
    const copies: Buffer[] = [];
    const buffersSeen = new Set<Uint8Array>();
    let calls = 0;
    let stopped = false;
    const c = e.clientNet.connect({
      host: e.host,
      port,
      onread: {
        buffer,
        callback: (n, buf) => {
          calls++;
          buffersSeen.add(buf);
          copies.push(Buffer.from(buf.subarray(0, n)));
          // Stop once, a third of the way in.
          if (!stopped && copies.reduce((sum, b) => sum + b.length, 0) > data.length / 3) {
            stopped = true;
            return false;
          }
          return true;
        },
      },
    });
    let datas = 0;
    c.on("data", () => datas++);
    let ended = false;
    c.on("end", () => (ended = true));
    await e.pair.runUntil(() => stopped, "stopped");
    const callsWhenStopped = calls;
    await e.pair.advance(50);
    // Paused: no callback since, the rest waits in the ring and the window is closed.
    expect(calls).toBe(callsWhenStopped);
    expect(c.isPaused()).toBe(true);
    const st = (c as unknown as TcpwasmSocket).tcpStatus()!;
    expect(st.recvQueued).toBeGreaterThan(0);
    expect(st.rcvWnd).toBeLessThan(st.sendMss);
    c.resume();
    await e.pair.wait(closed(c as unknown as Socket), "client close");
    expect(ended).toBe(true);
    expect(datas).toBe(0);
    expect([...buffersSeen]).toEqual([buffer]);
    expect(sha(Buffer.concat(copies))).toBe(sha(data));
    expect(c.bytesRead).toBe(data.length);
    await e.pair.wait(closeServer(server), "server close");
  });

  it("onread with a function: each read goes into the buffer it returns; an onread of another shape is ignored, as in node:net ('data' as usual); a function returning no Uint8Array ends the socket with ERR_INVALID_RETURN_VALUE", async () => {
    env = await tcpwasmEnv({ clock: "virtual" });
    const e = env;
    const data = payload(300_000, 29);
    const serverErrors: string[] = [];
    const { server, port } = await serve(e, {}, (s) => {
      s.on("error", (err: NodeJS.ErrnoException) => serverErrors.push(String(err.code)));
      s.end(data);
    });
    const given: Uint8Array[] = [];
    const pieces: Buffer[] = [];
    const c = e.clientNet.connect({
      host: e.host,
      port,
      onread: {
        buffer: () => {
          given.push(new Uint8Array(4096));
          return given[given.length - 1]!;
        },
        callback: (n, buf) => {
          expect(buf).toBe(given[given.length - 1]);
          pieces.push(Buffer.from(buf.subarray(0, n)));
        },
      },
    });
    await e.pair.wait(closed(c as unknown as Socket), "client close");
    expect(sha(Buffer.concat(pieces))).toBe(sha(data));
    expect(given.length).toBe(pieces.length);
    // No callback: not node:net's shape, so the socket reads as usual.
    const chunks: Buffer[] = [];
    const d = e.clientNet.connect({ host: e.host, port, onread: { buffer: new Uint8Array(10) } } as never);
    d.on("data", (chunk: Buffer) => chunks.push(chunk));
    await e.pair.wait(closed(d as unknown as Socket), "second client close");
    expect(sha(Buffer.concat(chunks))).toBe(sha(data));
    // A buffer function that returns something else: the socket ends with ERR_INVALID_RETURN_VALUE.
    const bad = e.clientNet.connect({ host: e.host, port, onread: { buffer: () => "no" as unknown as Uint8Array, callback: () => undefined } });
    const error = new Promise<NodeJS.ErrnoException>((resolve) => bad.once("error", resolve));
    expect((await e.pair.wait(error, "bad onread error")).code).toBe("ERR_INVALID_RETURN_VALUE");
    await e.pair.wait(closed(bad as unknown as Socket), "bad onread close");
    // The bad socket went with 300 kB unread: it resets the connection (as node:net's destroy does),
    // and the server's socket, still sending, hears ECONNRESET; the first two ended cleanly.
    await e.pair.runUntil(() => serverErrors.length > 0, "server hears the reset");
    expect(serverErrors).toEqual(["ECONNRESET"]);
    await e.pair.wait(closeServer(server), "server close");
  });
});
