// The Node face's Socket takes every form node:net's types give net.Socket (so that it is one wherever
// Node's APIs expect one; test/host/published-types.test.ts proves the assignment with tsc): connect's
// port-only form goes to "localhost", which the stack answers with its loopback addresses; the IPC
// form throws, a stack having no Unix domain sockets; setKeepAlive's interval, count and options form;
// and where Node's APIs take a net.Socket, one of these works (TLS both ways).
// Virtual clock (test/fixtures/stack-pair.ts).
import type { Server, Socket } from "node:net";
import * as tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { closeServer, closed, tcpwasmEnv, type TcpwasmEnv } from "../fixtures/node-face-env.js";
import { bindNet } from "../../src/faces/node-net.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { TEST_CERT, TEST_KEY } from "../fixtures/tls-cert.js";

const envs: TcpwasmEnv[] = [];
afterAll(async () => {
  for (const e of envs) await e.dispose();
});

async function env(): Promise<TcpwasmEnv> {
  const e = await tcpwasmEnv({ clock: "virtual" });
  envs.push(e);
  return e;
}

/** A server on the client's own stack that answers each connection with its remote address, then ends. */
async function loopServer(e: TcpwasmEnv, port: number): Promise<Server> {
  const server = e.clientNet.createServer((s) => s.end(`from ${s.remoteAddress}`));
  await e.pair.wait(new Promise<void>((r) => server.listen(port, r)), "listen");
  return server as unknown as Server;
}

/** Reads `socket` to its close; the text and the address it connected to. */
async function answer(e: TcpwasmEnv, socket: ReturnType<TcpwasmEnv["clientNet"]["connect"]>): Promise<{ text: string; remote: string | undefined }> {
  let text = "";
  let remote: string | undefined;
  socket.on("connect", () => (remote = socket.remoteAddress));
  socket.on("data", (d: Buffer) => (text += d.toString()));
  expect(await e.pair.wait(closed(socket as unknown as Socket), "close")).toBe(false);
  return { text, remote };
}

describe("connect(port): node:net's default host, localhost, is the stack's loopback", () => {
  it("connect(port), connect(port, listener), new Socket().connect(port), connect({ port }) and an empty host reach a server on the same stack", async () => {
    const e = await env();
    const server = await loopServer(e, 7007);
    let heard = 0;
    const sockets = [
      e.clientNet.connect(7007),
      e.clientNet.connect(7007, () => heard++),
      new e.clientNet.Socket().connect(7007),
      e.clientNet.createConnection({ port: 7007 }),
      e.clientNet.connect({ port: 7007, host: "" }),
      e.clientNet.connect(7007, "localhost"),
    ];
    const got = await Promise.all(sockets.map((s) => answer(e, s)));
    // Both families on the stack: "localhost" is ::1 first, then 127.0.0.1 (RFC 6761 6.3).
    for (const g of got) expect(g).toEqual({ text: "from ::1", remote: "::1" });
    expect(heard).toBe(1);
    await e.pair.wait(closeServer(server), "server close");
  });

  it("on an IPv4-only stack, localhost is 127.0.0.1", async () => {
    const e = await tcpwasmEnv({ clock: "virtual", addresses: { a: ["10.0.0.1/24"], b: ["10.0.0.2/24"] } });
    envs.push(e);
    const server = await loopServer(e, 7008);
    expect(await answer(e, e.clientNet.connect(7008))).toEqual({ text: "from 127.0.0.1", remote: "127.0.0.1" });
    await e.pair.wait(closeServer(server), "server close");
  });

  it("a `lookup` of yours is asked for localhost, as node:net asks dns.lookup", async () => {
    const e = await env();
    const server = await loopServer(e, 7009);
    const asked: string[] = [];
    const socket = e.clientNet.connect({
      port: 7009,
      lookup: (host, _options, callback) => {
        asked.push(host);
        callback(null, [{ address: "127.0.0.1", family: 4 }]);
      },
    });
    expect(await answer(e, socket)).toEqual({ text: "from 127.0.0.1", remote: "127.0.0.1" });
    expect(asked).toEqual(["localhost"]);
    await e.pair.wait(closeServer(server), "server close");
  });
});

describe("connect(path): node:net's IPC form, which a user-space TCP/IP stack cannot serve", () => {
  const ipc = "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM";
  it("throws TcpwasmError ERR_FEATURE_UNAVAILABLE_ON_PLATFORM from every entry; nothing is opened", async () => {
    const e = await env();
    const net = bindNet(e.pair.a);
    const before = e.pair.a.counters();
    const calls: [string, () => unknown][] = [
      ["connect(path)", () => net.connect("/tmp/app.sock")],
      ["connect(path, listener)", () => net.connect("/tmp/app.sock", () => undefined)],
      ["connect({ path })", () => net.connect({ path: "/tmp/app.sock" })],
      ["connect({ path, port })", () => net.connect({ path: "\\\\.\\pipe\\app", port: 80 } as never)],
      ["createConnection(path)", () => net.createConnection("/tmp/app.sock")],
      ["new Socket().connect(path)", () => new net.Socket().connect("/tmp/app.sock")],
      ["new Socket().connect({ path })", () => new net.Socket().connect({ path: "/tmp/app.sock" })],
    ];
    for (const [name, call] of calls) {
      let thrown: unknown;
      try {
        call();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, name).toBeInstanceOf(TcpwasmError);
      expect((thrown as TcpwasmError).code, name).toBe(ipc);
    }
    expect(e.pair.a.counters()).toEqual(before);
  });

  it("a string of digits is a port, not a path (node:net's rule)", async () => {
    const e = await env();
    const server = await loopServer(e, 7010);
    expect(await answer(e, e.clientNet.connect("7010" as never))).toEqual({ text: "from ::1", remote: "::1" });
    await e.pair.wait(closeServer(server), "server close");
  });
});

describe("setKeepAlive: net.Socket's interval, count and options form", () => {
  /** An established client whose peer then hears nothing more (its link's input is dropped). */
  async function silentPeer(): Promise<{ e: TcpwasmEnv; c: ReturnType<TcpwasmEnv["clientNet"]["connect"]> }> {
    const e = await env();
    let accepted!: () => void;
    const server = e.serverNet.createServer(() => accepted());
    await e.pair.wait(new Promise<void>((r) => server.listen(80, r)), "listen");
    const c = e.clientNet.connect({ host: e.host, port: 80 });
    // Once the server has the handshake's last ACK (it would otherwise repeat its SYN,ACK, and each
    // arrival restarts the client's idle time).
    await e.pair.wait(new Promise<void>((r) => (accepted = r)), "accepted");
    e.pair.lb.onReceive(() => undefined);
    return { e, c };
  }

  for (const [name, apply] of [
    ["setKeepAlive(true, 200, 50, 2)", (c: Socket) => c.setKeepAlive(true, 200, 50, 2)],
    ["setKeepAlive({ enable, initialDelay, interval, count })", (c: Socket) => c.setKeepAlive({ enable: true, initialDelay: 200, interval: 50, count: 2 })],
  ] as const) {
    it(`${name}: probes at 200 ms idle and 50 ms later, then ETIMEDOUT after the second goes unanswered`, async () => {
      const { e, c } = await silentPeer();
      const start = e.pair.now;
      apply(c as unknown as Socket);
      const error = new Promise<NodeJS.ErrnoException>((r) => c.once("error", r));
      const probes = () => e.pair.a.counters().keepaliveProbes;
      await e.pair.advance(199);
      expect(probes()).toBe(0);
      await e.pair.advance(2);
      expect(probes()).toBe(1);
      await e.pair.advance(50);
      expect(probes()).toBe(2);
      const err = await e.pair.wait(error, "error");
      expect(err.code).toBe("ETIMEDOUT");
      expect(e.pair.now - start).toBeLessThanOrEqual(301);
      expect(probes()).toBe(2);
    });
  }

  it("rejects a delay, interval or count that is not a number >= 0, as TcpwasmError", async () => {
    const e = await env();
    const c = new e.clientNet.Socket();
    expect(() => c.setKeepAlive(true, 10, -1)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => c.setKeepAlive({ enable: true, count: "3" as never })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    c.destroy();
  });
});

describe("a Socket where Node's APIs take a net.Socket", () => {
  it("tls.connect({ socket }) to a tls.Server fed with the face's server sockets: the certificate checks and the data echoes", async () => {
    const e = await env();
    const tlsServer = tls.createServer({ key: TEST_KEY, cert: TEST_CERT }, (s) => s.pipe(s));
    const server = e.serverNet.createServer((socket) => tlsServer.emit("connection", socket));
    await e.pair.wait(new Promise<void>((r) => server.listen(443, "10.0.0.2", r)), "listen");
    const secure = tls.connect({ socket: e.clientNet.connect(443, "10.0.0.2"), servername: "tcpwasm.test", ca: TEST_CERT });
    let text = "";
    secure.setEncoding("utf8");
    secure.on("data", (d: string) => (text += d));
    await e.pair.wait(new Promise<void>((r) => secure.once("secureConnect", r)), "TLS handshake");
    expect(secure.authorized).toBe(true);
    secure.end("hello over TLS over tcpwasm");
    await e.pair.wait(new Promise((r) => secure.once("close", r)), "close");
    expect(text).toBe("hello over TLS over tcpwasm");
    await e.pair.wait(closeServer(server as unknown as Server), "server close");
  });
});
