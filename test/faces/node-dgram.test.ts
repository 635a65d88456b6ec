// The Node face for UDP (src/faces/node-dgram.ts), side by side with node:dgram: the same scenarios
// run against node:dgram over the kernel's loopback and against bindDgram over two stacks joined by a
// memory link (real clock), and the misuse table compares the codes each throws.
import * as nodeDgram from "node:dgram";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindDgram } from "../../src/faces/node-dgram.js";
import { StackPair } from "../fixtures/stack-pair.js";

interface DgramEnv {
  name: string;
  client: { createSocket(type: "udp4" | "udp6"): unknown };
  server: { createSocket(type: "udp4" | "udp6"): unknown };
  /** The address the server binds and the client sends to, and what the server sees as the client's. */
  host: string;
  clientHost: string;
}

let pair: StackPair;
const envs: DgramEnv[] = [];

beforeAll(async () => {
  pair = await StackPair.create({ clock: "real", flavor: "auto" });
  envs.push(
    { name: "node:dgram", client: nodeDgram, server: nodeDgram, host: "127.0.0.1", clientHost: "127.0.0.1" },
    { name: "tcpwasm", client: bindDgram(pair.a), server: bindDgram(pair.b), host: "10.0.0.2", clientHost: "10.0.0.1" },
  );
});

afterAll(() => pair.close());

type AnySocket = nodeDgram.Socket;

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "no throw";
}

function nextMessage(s: AnySocket): Promise<[Buffer, nodeDgram.RemoteInfo]> {
  return once(s, "message") as Promise<[Buffer, nodeDgram.RemoteInfo]>;
}

describe.each([0, 1])("dgram scenario %#", (index) => {
  const env = () => envs[index]!;

  it("bind, 'listening', send with a callback, 'message' with rinfo; offset/length and arrays of buffers", async () => {
    const e = env();
    const server = e.server.createSocket("udp4") as unknown as AnySocket;
    server.bind(0, e.host);
    await once(server, "listening");
    const { port, address, family } = server.address();
    expect({ address, family }).toEqual({ address: e.host, family: "IPv4" });
    const client = e.client.createSocket("udp4") as unknown as AnySocket;
    const sent = await new Promise<number>((resolve, reject) => client.send("hello", port, e.host, (err, n) => (err ? reject(err) : resolve(n))));
    expect(sent).toBe(5);
    const [msg, rinfo] = await nextMessage(server);
    expect(msg.toString()).toBe("hello");
    expect(rinfo).toEqual({ address: e.clientHost, family: "IPv4", port: client.address().port, size: 5 });
    client.send(Buffer.from("xxabcxx"), 2, 3, port, e.host);
    expect((await nextMessage(server))[0].toString()).toBe("abc");
    client.send([Buffer.from("ab"), "cd", new Uint8Array([0x65])], port, e.host);
    expect((await nextMessage(server))[0].toString()).toBe("abcde");
    // An echo back to the client's address.
    server.on("message", (m, r) => server.send(m, r.port, r.address));
    client.send("ping", port, e.host);
    const [back, from] = await nextMessage(client);
    expect([back.toString(), from.port]).toEqual(["ping", port]);
    await new Promise<void>((resolve) => client.close(resolve));
    await new Promise<void>((resolve) => server.close(resolve));
  });

  it("connect: sends go to the peer without an address, remoteAddress(), 'connect', disconnect", async () => {
    const e = env();
    const server = e.server.createSocket("udp4") as unknown as AnySocket;
    server.bind(0, e.host);
    await once(server, "listening");
    const port = server.address().port;
    const client = e.client.createSocket("udp4") as unknown as AnySocket;
    client.connect(port, e.host);
    await once(client, "connect");
    expect(client.remoteAddress()).toEqual({ address: e.host, family: "IPv4", port });
    client.send("to the peer");
    expect((await nextMessage(server))[0].toString()).toBe("to the peer");
    expect(code(() => client.connect(port, e.host))).toBe("ERR_SOCKET_DGRAM_IS_CONNECTED");
    client.disconnect();
    expect(code(() => client.remoteAddress())).toBe("ERR_SOCKET_DGRAM_NOT_CONNECTED");
    client.close();
    server.close();
  });

  it("EADDRINUSE is an 'error' event from bind, with syscall, address and port", async () => {
    const e = env();
    const a = e.server.createSocket("udp4") as unknown as AnySocket;
    a.bind(0, e.host);
    await once(a, "listening");
    const port = a.address().port;
    const b = e.server.createSocket("udp4") as unknown as AnySocket;
    b.bind(port, e.host);
    const [err] = (await once(b, "error")) as [NodeJS.ErrnoException & { address: string; port: number }];
    expect({ code: err.code, syscall: err.syscall, address: err.address, port: err.port }).toEqual({ code: "EADDRINUSE", syscall: "bind", address: e.host, port });
    expect(err.message).toBe(`bind EADDRINUSE ${e.host}:${port}`);
    a.close();
    b.close();
  });

  it("a connected socket whose peer's port is closed hears ECONNREFUSED as an 'error' event (syscall recvmsg)", async () => {
    const e = env();
    const probe = e.server.createSocket("udp4") as unknown as AnySocket;
    probe.bind(0, e.host);
    await once(probe, "listening");
    const closedPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(resolve));
    const client = e.client.createSocket("udp4") as unknown as AnySocket;
    client.connect(closedPort, e.host);
    await once(client, "connect");
    client.send("anyone?");
    const [error] = (await once(client, "error")) as [NodeJS.ErrnoException];
    expect({ code: error.code, syscall: error.syscall }).toEqual({ code: "ECONNREFUSED", syscall: "recvmsg" });
    client.close();
  });

  it("misuse throws node:dgram's codes", async () => {
    const e = env();
    const s = e.client.createSocket("udp4") as unknown as AnySocket;
    const rows: Array<[string, () => unknown]> = [
      ["send without a port", () => s.send("x")],
      ["send to port 0", () => s.send("x", 0, e.host)],
      ["send to port 70000", () => s.send("x", 70000, e.host)],
      ["send a number", () => s.send(5 as never, 1234, e.host)],
      ["disconnect unconnected", () => s.disconnect()],
      ["remoteAddress unconnected", () => s.remoteAddress()],
      ["address unbound", () => s.address()],
      ["connect to port 0", () => s.connect(0)],
      ["createSocket udp5", () => e.client.createSocket("udp5" as never)],
    ];
    const codes = rows.map(([what, f]) => [what, code(f)]);
    expect(codes).toEqual([
      ["send without a port", "ERR_SOCKET_BAD_PORT"],
      ["send to port 0", "ERR_SOCKET_BAD_PORT"],
      ["send to port 70000", "ERR_SOCKET_BAD_PORT"],
      ["send a number", "ERR_INVALID_ARG_TYPE"],
      ["disconnect unconnected", "ERR_SOCKET_DGRAM_NOT_CONNECTED"],
      ["remoteAddress unconnected", "ERR_SOCKET_DGRAM_NOT_CONNECTED"],
      ["address unbound", "EBADF"],
      ["connect to port 0", "ERR_SOCKET_BAD_PORT"],
      ["createSocket udp5", "ERR_SOCKET_BAD_TYPE"],
    ]);
    s.bind(0, e.clientHost);
    await once(s, "listening");
    expect(code(() => s.bind(0))).toBe("ERR_SOCKET_ALREADY_BOUND");
    await new Promise<void>((resolve) => s.close(resolve));
    expect([code(() => s.send("x", 1, e.host)), code(() => s.close()), code(() => s.address())]).toEqual([
      "ERR_SOCKET_DGRAM_NOT_RUNNING", "ERR_SOCKET_DGRAM_NOT_RUNNING", "ERR_SOCKET_DGRAM_NOT_RUNNING",
    ]);
  });
});

describe("tcpwasm's dgram only", () => {
  it("EMSGSIZE from a datagram larger than the link's MTU, as the send callback's error; EACCES for broadcast without setBroadcast", async () => {
    const dgram = bindDgram(pair.a);
    const s = dgram.createSocket("udp4");
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => s.send(Buffer.alloc(1500), 9, "10.0.0.2", (e: Error | null) => resolve(e)));
    expect(err).toMatchObject({ code: "EMSGSIZE", syscall: "send" });
    const bcast = await new Promise<NodeJS.ErrnoException | null>((resolve) => s.send("x", 67, "255.255.255.255", (e: Error | null) => resolve(e)));
    expect(bcast).toMatchObject({ code: "EACCES" });
    // Without a callback the error is an 'error' event.
    s.send(Buffer.alloc(1500), 9, "10.0.0.2");
    const [event] = await once(s, "error");
    expect(event).toMatchObject({ code: "EMSGSIZE" });
    s.close();
  });

  it("closing the stack closes its dgram sockets: 'close', then ERR_SOCKET_DGRAM_NOT_RUNNING", async () => {
    const p = await StackPair.create({ clock: "real", flavor: "auto" });
    const s = bindDgram(p.a).createSocket("udp4");
    s.bind(0, "10.0.0.1");
    await once(s, "listening");
    const closed = once(s, "close");
    p.a.close();
    await closed;
    expect(code(() => s.send("x", 1, "10.0.0.2"))).toBe("ERR_SOCKET_DGRAM_NOT_RUNNING");
    p.close();
  });

  it("a udp6 socket on \"::\" takes IPv4 too, shown IPv4-mapped, and answers that way; ipv6Only keeps it to IPv6", async () => {
    const server = bindDgram(pair.b).createSocket("udp6");
    server.on("message", (m, r) => server.send(m, r.port, r.address));
    server.bind(0);
    await once(server, "listening");
    expect(server.address()).toMatchObject({ address: "::", family: "IPv6" });
    const port = server.address().port;
    const client = bindDgram(pair.a).createSocket("udp4");
    const heard = once(server, "message") as Promise<[Buffer, { address: string; family: string }]>;
    client.send("four", port, "10.0.0.2");
    const [, rinfo] = await heard;
    expect([rinfo.address, rinfo.family]).toEqual(["::ffff:10.0.0.1", "IPv6"]);
    const [echo, from] = (await once(client, "message")) as [Buffer, { address: string }];
    expect([echo.toString(), from.address]).toEqual(["four", "10.0.0.2"]);
    const only6 = bindDgram(pair.b).createSocket({ type: "udp6", ipv6Only: true });
    only6.bind(0);
    await once(only6, "listening");
    const probe = bindDgram(pair.a).createSocket("udp4");
    probe.connect(only6.address().port, "10.0.0.2");
    await once(probe, "connect");
    probe.send("not for a v6-only socket");
    const [err] = (await once(probe, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNREFUSED");
    for (const s of [server, client, only6, probe]) s.close();
  });

  it("an AbortSignal closes the socket, as node:dgram's signal option", async () => {
    const controller = new AbortController();
    const s = bindDgram(pair.a).createSocket({ type: "udp4", signal: controller.signal });
    s.bind(0, "10.0.0.1");
    await once(s, "listening");
    const closed = once(s, "close");
    controller.abort();
    await closed;
    expect(code(() => s.address())).toBe("ERR_SOCKET_DGRAM_NOT_RUNNING");
  });

  it("udp6 sockets speak IPv6; ref/unref return the socket", async () => {
    const server = bindDgram(pair.b).createSocket("udp6");
    server.bind(0, "fd00::2");
    await once(server, "listening");
    const client = bindDgram(pair.a).createSocket({ type: "udp6" });
    expect(client.ref()).toBe(client);
    expect(client.unref()).toBe(client);
    client.send("six", server.address().port, "fd00::2");
    const [msg, rinfo] = (await once(server, "message")) as [Buffer, { address: string; family: string }];
    expect([msg.toString(), rinfo.address, rinfo.family]).toEqual(["six", "fd00::1", "IPv6"]);
    client.close();
    server.close();
  });
});
