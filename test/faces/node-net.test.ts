// The Node face (src/faces/node-net.ts) side by side with node:net: each scenario is one script, run against
// node:net over 127.0.0.1 and against tcpwasm (bindNet over two stacks on the in-memory link), and the
// observable event sequences must be the same. Logs are per socket (the interleaving of two sockets'
// events depends on scheduling), except in the backpressure scenario, whose point is an ordering
// across the two ends. No assertion depends on how long anything takes. The side-by-side scenarios
// run on the real clock (node:net, socket.setTimeout and the scenarios' own stall detector use real
// timers); the tcpwasm-only tests run on the StackPair's virtual clock (test/fixtures/stack-pair.ts).
import { createHash } from "node:crypto";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { FAST_CONFIG, closeServer, closed, listen, nodeEnv, tcpwasmEnv, type Env } from "../fixtures/node-face-env.js";
import { Socket as TcpwasmSocket, NetError, bindNet } from "../../src/faces/node-net.js";
import { createStack } from "../../src/tcp/stack.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import type { TraceEvent } from "../../src/core/trace.js";
import { reachedState, sentSegments } from "../fixtures/trace-util.js";

type Log = string[];

/** Records a socket's events with its readyState at the time; 'data' is summed and shown at 'end'. */
function record(socket: Socket, log: Log): void {
  let bytes = 0;
  socket.on("data", (d: Buffer) => {
    bytes += d.length;
  });
  for (const ev of ["connect", "ready", "finish", "timeout", "pause", "resume"]) {
    socket.on(ev, () => log.push(`${ev} ${socket.readyState}`));
  }
  socket.on("end", () => log.push(`end ${socket.readyState} read=${bytes}`));
  socket.on("error", (e: NodeJS.ErrnoException) => log.push(`error ${e.code} ${e.syscall}`));
  socket.on("close", (hadError: boolean) =>
    log.push(`close hadError=${hadError} ${socket.readyState} bytesRead=${socket.bytesRead} bytesWritten=${socket.bytesWritten}`),
  );
}

/** Runs `scenario` against node:net, then against tcpwasm; returns both results. */
async function bothWays<T>(scenario: (env: Env) => Promise<T>): Promise<{ node: T; tcpwasm: T }> {
  const results: Partial<Record<Env["name"], T>> = {};
  for (const make of [nodeEnv, () => tcpwasmEnv()]) {
    const env = await make();
    try {
      results[env.name] = await scenario(env);
    } finally {
      await env.dispose();
    }
  }
  return { node: results["node:net"]!, tcpwasm: results.tcpwasm! };
}

/** A server whose first connection is recorded; `closedLater` resolves once that socket closed. */
function recordedServer(env: Env, options: { allowHalfOpen?: boolean }, onSocket: (s: Socket) => void) {
  const log: Log = [];
  let socketClosed!: Promise<boolean>;
  let resolveAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (resolveAccepted = resolve));
  const server = env.server.createServer(options, (s) => {
    record(s, log);
    socketClosed = closed(s);
    onSocket(s);
    resolveAccepted(s);
  });
  return { log, server, accepted, closedLater: () => accepted.then(() => socketClosed) };
}

describe("half-close, side by side with node:net", () => {
  for (const allowHalfOpen of [false, true]) {
    it(`client end() first; server allowHalfOpen ${allowHalfOpen}${allowHalfOpen ? ": the server answers 1 MiB after the client's FIN and the client keeps reading" : ": the server's side ends with it"}`, async () => {
      const reply = Buffer.alloc(1 << 20, 0x42);
      const r = await bothWays(async (env) => {
        const srv = recordedServer(env, { allowHalfOpen }, (s) => {
          s.on("end", () => {
            if (allowHalfOpen) s.end(reply);
          });
        });
        const port = await listen(srv.server, env.host);
        const client: Log = [];
        const c = env.client.connect({ host: env.host, port });
        client.push(`start ${c.readyState} connecting=${c.connecting} pending=${c.pending}`);
        record(c, client);
        c.on("connect", () => {
          client.push(`connected pending=${c.pending} remote=${c.remoteAddress === env.host}:${c.remotePort === port} ${c.remoteFamily}`);
          c.write("hello");
          c.end();
        });
        const s = await srv.accepted;
        const ends = {
          clientLocalPort: c.localPort === undefined ? "unset" : "set",
          serverSeesClientPort: s.remotePort === c.localPort || c.localPort === undefined,
          serverLocal: s.localAddress === env.host && s.localPort === port,
          serverAddress: (srv.server.address() as AddressInfo).port === port,
        };
        await closed(c);
        await srv.closedLater();
        await closeServer(srv.server);
        return { client, server: srv.log, ends };
      });
      expect(r.tcpwasm).toEqual(r.node);
      // What node:net does, so that the comparison above is known to compare something.
      expect(r.node.client).toContain("finish readOnly");
      expect(r.node.client.some((l) => l.startsWith(`end closed read=${allowHalfOpen ? reply.length : 0}`))).toBe(true);
      expect(r.node.server.some((l) => l.startsWith("end ") && l.endsWith("read=5"))).toBe(true);
      expect(r.node.ends).toEqual({ clientLocalPort: "set", serverSeesClientPort: true, serverLocal: true, serverAddress: true });
    });
  }

  it("server end() first; client allowHalfOpen true keeps writing 256 KiB after the peer's FIN", async () => {
    const upload = Buffer.alloc(256 << 10, 0x17);
    const r = await bothWays(async (env) => {
      const srv = recordedServer(env, {}, (s) => s.end("bye"));
      const port = await listen(srv.server, env.host);
      const client: Log = [];
      const c = env.client.connect({ host: env.host, port, allowHalfOpen: true });
      record(c, client);
      c.on("end", () => {
        client.push(`after end: ${c.readyState} writable=${c.writable}`);
        c.end(upload);
      });
      await closed(c);
      await srv.closedLater();
      await closeServer(srv.server);
      return { client, server: srv.log };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.client).toContain("after end: writeOnly writable=true");
    expect(r.node.server.some((l) => l === `end readOnly read=${upload.length}` || l === `end closed read=${upload.length}`)).toBe(true);
  });

  it("destroy() after connect: the peer sees a plain end (FIN), not an error", async () => {
    const r = await bothWays(async (env) => {
      const srv = recordedServer(env, {}, () => {});
      const port = await listen(srv.server, env.host);
      const client: Log = [];
      const c = env.client.connect({ host: env.host, port });
      record(c, client);
      c.on("connect", () => c.destroy());
      await closed(c);
      await srv.closedLater();
      await closeServer(srv.server);
      return { client, server: srv.log };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.server.some((l) => l.startsWith("end "))).toBe(true);
  });
});

describe("backpressure, side by side with node:net", () => {
  it("a paused reader stalls the writer: write() returns false, and 'drain' comes only after resume()", async () => {
    const chunk = Buffer.alloc(16 << 10, 0x33);
    const cap = 64 << 20;
    const windows: Record<string, boolean> = {};
    const r = await bothWays(async (env) => {
      const log: Log = [];
      let read = 0;
      let reader!: Socket;
      const server = env.server.createServer({}, (s) => {
        reader = s;
        s.on("data", (d: Buffer) => {
          read += d.length;
        });
        s.on("resume", () => log.push("reader resume"));
        s.on("pause", () => log.push("reader pause"));
        s.on("end", () => log.push("reader end"));
        s.pause();
      });
      const port = await listen(server, env.host);
      const w = env.client.connect({ host: env.host, port });
      let written = 0;
      let stalled = false;
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      const done = closed(w);
      // The writer writes until write() returns false and again on each 'drain'. Once no 'drain' has
      // come for 200 ms after a false write() (the buffers are full: nothing moves), the reader resumes.
      const pump = () => {
        while (written < cap) {
          written += chunk.length;
          if (!w.write(chunk)) {
            stallTimer = setTimeout(() => {
              stalled = true;
              log.push("writer stalled: write() returned false, no drain");
              if (env.name === "tcpwasm") {
                const rs = (reader as unknown as TcpwasmSocket).tcpStatus()!;
                const ws = (w as unknown as TcpwasmSocket).tcpStatus()!;
                // Closed for all practical purposes: less than one segment (SWS avoidance keeps the
                // sender from sending the last few bytes, RFC 9293 3.8.6.2.1). The edge the reader
                // holds may lie up to 2^shift - 1 bytes beyond what its last window field could say
                // (RFC 7323 2.4), 127 with the scale of 7 chosen for the ring's 4 MiB maximum.
                windows.readerAdvertisesLessThanASegment = rs.rcvWnd < ws.sendMss + (1 << rs.rcvShift);
                windows.writerSeesLessThanASegment = ws.sndWnd < ws.sendMss;
                windows.readerRingHoldsTheData = rs.recvQueued + rs.rcvWnd === rs.recvBuffer;
                windows.writerRingFull = ws.sendQueued === ws.sendBuffer;
              }
              reader.resume();
            }, 200);
            return;
          }
        }
        throw new Error(`write() never returned false in ${cap} bytes`);
      };
      w.on("drain", () => {
        clearTimeout(stallTimer);
        if (!stalled) {
          pump();
          return;
        }
        log.push("writer drain");
        w.end();
      });
      w.on("finish", () => log.push("writer finish"));
      w.on("connect", pump);
      await done;
      await closeServer(server);
      return { log, complete: read === written && written > 0 };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.log).toEqual([
      "reader pause", // pause() right after on("data"), whose 'resume' is emitted on the next tick
      "reader resume",
      "writer stalled: write() returned false, no drain",
      "reader resume",
      "writer drain",
      "writer finish",
      "reader end",
    ]);
    // tcpwasm only: the stall is a closed TCP window, not just a full stream buffer.
    expect(windows).toEqual({
      readerAdvertisesLessThanASegment: true,
      writerSeesLessThanASegment: true,
      readerRingHoldsTheData: true,
      writerRingFull: true,
    });
  });
});

describe("setTimeout, side by side with node:net", () => {
  it("'timeout' after idleness leaves the socket open; end() then closes it normally", async () => {
    const r = await bothWays(async (env) => {
      const srv = recordedServer(env, {}, () => {});
      const port = await listen(srv.server, env.host);
      const client: Log = [];
      const c = env.client.connect({ host: env.host, port });
      record(c, client);
      c.setTimeout(50, () => {
        client.push(`timeout callback ${c.readyState} destroyed=${c.destroyed}`);
        c.setTimeout(0);
        c.end();
      });
      await closed(c);
      await srv.closedLater();
      await closeServer(srv.server);
      return { client, server: srv.log };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.client).toContain("timeout callback open destroyed=false");
  });
});

describe("errors, side by side with node:net", () => {
  it("refused: 'error' ECONNREFUSED (syscall connect, the peer's address and port), then 'close'(true)", async () => {
    const r = await bothWays(async (env) => {
      const probe = env.server.createServer({});
      const port = await listen(probe, env.host);
      await closeServer(probe);
      const client: Log = [];
      const c = env.client.connect({ host: env.host, port });
      record(c, client);
      const error = new Promise<NodeJS.ErrnoException & { address?: string; port?: number }>((resolve) => c.once("error", resolve));
      await closed(c);
      const e = await error;
      return { client, errno: e.errno, peer: e.address === env.host && e.port === port, message: e.message.replace(/\S+:\d+$/, "<peer>") };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.client).toEqual(["resume opening", "error ECONNREFUSED connect", "close hadError=true closed bytesRead=0 bytesWritten=0"]);
  });

  it("reset: the peer's resetAndDestroy() gives 'error' ECONNRESET (syscall read), then 'close'(true)", async () => {
    const r = await bothWays(async (env) => {
      const srv = recordedServer(env, {}, (s) => s.once("data", () => s.resetAndDestroy()));
      const port = await listen(srv.server, env.host);
      const client: Log = [];
      const c = env.client.connect({ host: env.host, port });
      record(c, client);
      c.on("connect", () => c.write("x"));
      let errno: number | undefined;
      c.once("error", (e: NodeJS.ErrnoException) => (errno = e.errno));
      await closed(c);
      await srv.closedLater();
      await closeServer(srv.server);
      return { client, server: srv.log, errno };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.client).toContain("error ECONNRESET read");
  });

  it("address in use: a second listen() on the same port emits 'error' EADDRINUSE (syscall listen)", async () => {
    const r = await bothWays(async (env) => {
      const first = env.server.createServer({});
      const port = await listen(first, env.host);
      const second = env.server.createServer({});
      const e = await new Promise<NodeJS.ErrnoException>((resolve) => {
        second.once("error", resolve);
        second.listen(port, env.host);
      });
      const listening = second.listening;
      await closeServer(first);
      return { code: e.code, syscall: e.syscall, errno: e.errno, listening };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.code).toBe("EADDRINUSE");
  });
});

describe("servers, side by side with node:net", () => {
  it("close() stops accepting; 'close' comes after the last connection closed; a second close() is ERR_SERVER_NOT_RUNNING", async () => {
    const r = await bothWays(async (env) => {
      const log: Log = [];
      let socketClosed!: Promise<boolean>;
      const server = env.server.createServer({}, (s) => {
        log.push(`connection server.listening=${server.listening}`);
        socketClosed = closed(s);
        s.on("close", () => log.push("socket close"));
        server.close(() => log.push(`close callback address=${String(server.address())}`));
        log.push(`after close() listening=${server.listening}`);
      });
      const serverClosed = new Promise<void>((resolve) =>
        server.on("close", () => {
          log.push("server close");
          resolve();
        }),
      );
      server.on("listening", () => log.push("listening"));
      const port = await listen(server, env.host);
      const c = env.client.connect({ host: env.host, port });
      await new Promise((resolve) => c.once("connect", resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push("client end");
      c.end();
      await closed(c);
      await socketClosed;
      await serverClosed;
      const again = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => server.close(resolve));
      return { log, again: again?.code };
    });
    expect(r.tcpwasm).toEqual(r.node);
    expect(r.node.again).toBe("ERR_SERVER_NOT_RUNNING");
  });
});

describe("tcpwasm only", () => {
  const envs: Env[] = [];
  afterAll(async () => {
    for (const e of envs) await e.dispose();
  });

  it("an answer written on 'end' leaves in the segment that acknowledges the data and FIN (five segments in all)", async () => {
    const env = await tcpwasmEnv({ clock: "virtual", trace: true });
    const p = env.pair;
    envs.push(env);
    const server = env.serverNet.createServer({ allowHalfOpen: true }, (s) => {
      s.on("data", () => undefined);
      s.on("end", () => s.end(Buffer.alloc(300, 2)));
    });
    await p.wait(new Promise<void>((r) => server.listen(80, r)), "listen");
    const c = env.clientNet.connect({ host: "10.0.0.2", port: 80 });
    c.once("connect", () => c.end(Buffer.alloc(100, 1)));
    let back = 0;
    c.on("data", (d: Buffer) => (back += d.length));
    expect(await p.wait(closed(c as unknown as Socket), "client close")).toBe(false);
    expect(back).toBe(300);
    await p.runUntil(() => p.reached("server", "CLOSED"), "server CLOSED");
    expect(p.sent("client")).toEqual(["SYN 0", "FIN,PSH,ACK 100", "ACK 0"]);
    expect(p.sent("server")).toEqual(["SYN,ACK 0", "FIN,PSH,ACK 300"]);
    server.close();
  });

  it("timed out: a link that drops everything gives 'error' ETIMEDOUT (syscall connect), then 'close'(true)", async () => {
    const env = await tcpwasmEnv({ clock: "virtual", link: { loss: 1 }, config: { rtoInitialMs: 20, rtoMinMs: 10, synRetries: 2 } });
    envs.push(env);
    const log: Log = [];
    const c = env.clientNet.connect({ host: env.host, port: 80 });
    record(c as unknown as Socket, log);
    const error = new Promise<Error>((resolve) => c.once("error", resolve));
    await env.pair.wait(closed(c as unknown as Socket), "close");
    const e = await error;
    expect(log).toEqual(["resume opening", "error ETIMEDOUT connect", "close hadError=true closed bytesRead=0 bytesWritten=0"]);
    expect(e).toBeInstanceOf(NetError);
    expect(e).toMatchObject({ code: "ETIMEDOUT", syscall: "connect", address: "10.0.0.2", port: 80, errno: -110 });
    expect(e.message).toBe("connect ETIMEDOUT 10.0.0.2:80");
  });

  it("setKeepAlive(true, 200) on an established socket probes after 200 ms idle, as net.Socket does", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    envs.push(env);
    const server = env.serverNet.createServer(() => undefined);
    await p.wait(new Promise<void>((r) => server.listen(80, r)), "listen");
    const c = env.clientNet.connect({ host: env.host, port: 80 });
    await p.wait(new Promise<void>((r) => c.once("connect", r)), "connect");
    c.setKeepAlive(true, 200);
    const probes = () => p.a.counters().keepaliveProbes;
    await p.advance(150);
    expect(probes()).toBe(0);
    await p.advance(100);
    expect(probes()).toBe(1);
    c.destroy();
    await p.wait(closeServer(server as unknown as Server), "server close");
  });

  it("a port given as a string of digits is a port, as node:net takes it (listen and connect)", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    envs.push(env);
    const server = env.serverNet.createServer((s) => s.end("ok"));
    await p.wait(new Promise<void>((r) => server.listen({ port: "8080" as never }, r)), "listen");
    expect(server.address()!.port).toBe(8080);
    const c = env.clientNet.connect({ host: env.host, port: "8080" });
    let text = "";
    c.on("data", (d: Buffer) => (text += d.toString()));
    await p.wait(closed(c as unknown as Socket), "close");
    expect([text, c.remotePort]).toEqual(["ok", 8080]);
    await p.wait(closeServer(server as unknown as Server), "server close");
  });

  it("IPv6: both ends' addresses, families and server.address()", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    envs.push(env);
    let serverSide: { remote: string | undefined; family: string | undefined; local: unknown } | undefined;
    const server = env.serverNet.createServer((s) => {
      serverSide = { remote: s.remoteAddress, family: s.remoteFamily, local: s.address() };
      s.end("over IPv6");
    });
    const any = await p.wait(new Promise<unknown>((resolve) => server.listen(0, () => resolve(server.address()))), "listen");
    const port = server.address()!.port;
    expect(any).toEqual({ address: "::", family: "IPv6", port });
    const c = env.clientNet.connect({ host: "fd00::2", port });
    let text = "";
    c.on("data", (d: Buffer) => (text += d.toString()));
    await p.wait(closed(c as unknown as Socket), "close");
    expect(text).toBe("over IPv6");
    expect([c.remoteAddress, c.remotePort, c.remoteFamily, c.localAddress, c.localFamily]).toEqual(["fd00::2", port, "IPv6", "fd00::1", "IPv6"]);
    expect(serverSide).toEqual({ remote: "fd00::1", family: "IPv6", local: { address: "fd00::2", family: "IPv6", port } });
    await p.wait(closeServer(server as unknown as Server), "server close");
  });

  it("a host that is not an IP address is an asynchronous ENOTFOUND, as node:net for a name it cannot resolve (a stack has no resolver)", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    envs.push(env);
    const c = env.clientNet.connect({ host: "example.com", port: 80 });
    const e = await env.pair.wait(new Promise<NodeJS.ErrnoException>((resolve) => c.once("error", resolve)), "error");
    expect(e.code).toBe("ENOTFOUND");
    expect(await env.pair.wait(closed(c as unknown as Socket), "close")).toBe(true);
  });

  it("moves 8 MiB each way at once through one socket pair, SHA-256 checked, with members counted", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    envs.push(env);
    const size = 8 << 20;
    const up = createHash("sha256");
    const down = createHash("sha256");
    const payload = (seed: number) => {
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) b.writeUInt32LE((Math.imul(i, 2654435761) ^ seed) >>> 0, i);
      return b;
    };
    const toServer = payload(1);
    const toClient = payload(2);
    let serverEnded!: Promise<void>;
    const server = env.serverNet.createServer({ allowHalfOpen: true }, (s) => {
      s.on("data", (d: Buffer) => up.update(d));
      serverEnded = new Promise((resolve) => s.on("end", resolve));
      s.end(toClient);
    });
    const port = await p.wait(listen(server as unknown as Server, env.host), "listen");
    const c = env.clientNet.connect({ host: env.host, port, allowHalfOpen: true });
    c.on("data", (d: Buffer) => down.update(d));
    c.end(toServer);
    // The client closes once its data is in the send ring and the server's FIN came; the engine
    // delivers the rest after the handle is released, as a kernel after close(2).
    await p.wait(closed(c as unknown as Socket), "client close");
    await p.wait(serverEnded, "server end");
    expect(up.digest("hex")).toBe(createHash("sha256").update(toServer).digest("hex"));
    expect(down.digest("hex")).toBe(createHash("sha256").update(toClient).digest("hex"));
    expect(c.bytesRead).toBe(size);
    expect(c.bytesWritten).toBe(size);
    await p.wait(closeServer(server as unknown as Server), "server close");
  });
});

describe("net.Socket's type of service, attempted addresses and bufferSize; net.Server's connections and asyncDispose", () => {
  /** The IPv4 TOS byte (RFC 791 3.1) or the IPv6 Traffic Class (RFC 8200 3) of an IP packet. */
  const tosOf = (packet: Uint8Array): number => (packet[0] >> 4 === 4 ? packet[1] : ((packet[0] & 0x0f) << 4) | (packet[1] >> 4));

  /** Every packet each end puts on the link, as its TOS / Traffic Class byte. */
  function recordTos(env: Awaited<ReturnType<typeof tcpwasmEnv>>): { client: number[]; server: number[] } {
    const seen = { client: [] as number[], server: [] as number[] };
    for (const [link, list] of [[env.pair.la, seen.client], [env.pair.lb, seen.server]] as const) {
      const send = link.send.bind(link);
      link.send = (packets) => {
        for (const packet of packets) list.push(tosOf(packet));
        send(packets);
      };
    }
    return seen;
  }

  for (const host of ["10.0.0.2", "fd00::2"]) {
    it(`setTypeOfService before connect marks every packet from the SYN on, and after it the next ones (${host})`, async () => {
      const env = await tcpwasmEnv({ clock: "virtual" });
      const p = env.pair;
      const seen = recordTos(env);
      let accepted!: TcpwasmSocket;
      const server = env.serverNet.createServer((s) => {
        accepted = s;
        s.on("data", () => s.setTypeOfService(0xb8).end("back"));
      });
      await p.wait(new Promise<void>((r) => server.listen(80, r)), "listen");
      const c = new env.clientNet.Socket();
      expect(c.setTypeOfService(0x28)).toBe(c);
      expect(c.getTypeOfService()).toBe(0x28);
      c.connect({ host, port: 80 }, () => c.end("hello"));
      c.resume();
      await p.wait(closed(c as unknown as Socket), "client close");
      await p.runUntil(() => accepted?.destroyed, "server side closed");
      expect(new Set(seen.client)).toEqual(new Set([0x28]));
      // The SYN,ACK and the ACK of the data went out before the server socket asked for 0xb8.
      expect(seen.server[0]).toBe(0);
      expect(seen.server.at(-1)).toBe(0xb8);
      expect(accepted.getTypeOfService()).toBe(0xb8);
      expect(c.autoSelectFamilyAttemptedAddresses).toEqual([`${host}:80`]);
      await p.wait(closeServer(server as unknown as Server), "server close");
      await env.dispose();
    });
  }

  it("setTypeOfService checks its argument as net.Socket does; getTypeOfService is 0 until set", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const c = new env.clientNet.Socket();
    expect(c.getTypeOfService()).toBe(0);
    expect(() => c.setTypeOfService(256)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => c.setTypeOfService(-1)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => c.setTypeOfService(1.5)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => c.setTypeOfService("16" as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    expect(c.getTypeOfService()).toBe(0);
    c.destroy();
    await env.dispose();
  });

  it("autoSelectFamilyAttemptedAddresses lists a name's addresses as they were tried; bufferSize is writableLength", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    const server = env.serverNet.createServer(() => undefined);
    // Only the IPv4 address listens: the IPv6 attempt is refused (RST), the IPv4 one connects.
    await p.wait(new Promise<void>((r) => server.listen({ port: 80, host: "10.0.0.2" }, r)), "listen");
    const lookup = ((_name: string, _opts: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
      cb(null, [{ address: "fd00::2", family: 6 }, { address: "10.0.0.2", family: 4 }])) as never;
    const c = env.clientNet.connect({ host: "server.test", port: 80, lookup });
    await p.wait(new Promise<void>((r) => c.once("connect", r)), "connect");
    expect(c.autoSelectFamilyAttemptedAddresses).toEqual(["fd00::2:80", "10.0.0.2:80"]);
    // Corked, the write waits in the stream's buffer: bufferSize counts it, as writableLength does.
    c.cork();
    c.write(Buffer.alloc(1000));
    expect([c.bufferSize, c.writableLength]).toEqual([1000, 1000]);
    c.destroy();
    server.close();
    await env.dispose();
  });

  it("Server[Symbol.asyncDispose] closes the server and resolves once it has closed; connections counts open sockets", async () => {
    const env = await tcpwasmEnv({ clock: "virtual" });
    const p = env.pair;
    const server = env.serverNet.createServer((s) => s.resume());
    await p.wait(new Promise<void>((r) => server.listen(80, r)), "listen");
    const c = env.clientNet.connect({ host: "10.0.0.2", port: 80 });
    await p.wait(new Promise<void>((r) => c.once("connect", r)), "connect");
    await p.runUntil(() => server.connections === 1, "accepted");
    let closedEvent = false;
    server.once("close", () => (closedEvent = true));
    const disposed = server[Symbol.asyncDispose]();
    expect(server.listening).toBe(false);
    c.end();
    await p.wait(disposed, "dispose");
    expect(closedEvent).toBe(true);
    expect(server.connections).toBe(0);
    // Not listening any more: resolves at once, as net.Server's.
    await server[Symbol.asyncDispose]();
    await env.dispose();
  });
});
