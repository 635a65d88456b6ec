// The Web face for UDP (src/faces/web-udp.ts): Direct Sockets' UDPSocket shape on two stacks over a
// memory link on the virtual clock. Connected and bound modes, the messages' shape, a slow reader
// (bounded queue, drops counted), what the stack refuses (rejected `opened`), ICMP port unreachable
// (ECONNREFUSED), close, and API misuse with its codes.
import { describe, expect, it } from "vitest";
import "../../src/faces/web-udp.js";
import { bindWebUdp, type UDPMessage, type UDPSocket } from "../../src/faces/web-udp.js";
import { StackPair } from "../fixtures/stack-pair.js";
import { thrownCode } from "../fixtures/thrown.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A bound-mode echo server on `port` of the pair's server stack. */
async function echoServer(pair: StackPair, port: number): Promise<UDPSocket> {
  const server = pair.b.openUDPSocket({ localAddress: "0.0.0.0", localPort: port });
  const { readable, writable } = await pair.wait(server.opened, "server opened");
  const writer = writable.getWriter();
  void (async () => {
    for await (const m of readable as unknown as AsyncIterable<UDPMessage>) {
      await writer.write({ data: m.data, remoteAddress: m.remoteAddress, remotePort: m.remotePort });
    }
  })().catch(() => {});
  return server;
}

describe("UDPSocket (Direct Sockets shape)", () => {
  it("connected mode: opened names both ends; messages go to the peer and come back with its address", async () => {
    const pair = await StackPair.create();
    await echoServer(pair, 7);
    const socket = pair.a.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 7 });
    const info = await pair.wait(socket.opened, "opened");
    expect(info).toMatchObject({ remoteAddress: "10.0.0.2", remotePort: 7, localAddress: "0.0.0.0" });
    expect(info.localPort).toBeGreaterThanOrEqual(49152);
    const writer = info.writable.getWriter();
    const reader = info.readable.getReader();
    await pair.wait(writer.write({ data: enc("one") }), "write");
    await pair.wait(writer.write({ data: enc("two") }), "write");
    const got = [await pair.wait(reader.read(), "read"), await pair.wait(reader.read(), "read")];
    expect(got.map((r) => ({ ...r.value!, data: dec(r.value!.data) }))).toEqual([
      { data: "one", remoteAddress: "10.0.0.2", remotePort: 7 },
      { data: "two", remoteAddress: "10.0.0.2", remotePort: 7 },
    ]);
    reader.releaseLock();
    await pair.wait(socket.close(), "close");
    pair.close();
  });

  it("bound mode over IPv6: each message written names its destination; bindWebUdp gives the same socket", async () => {
    const pair = await StackPair.create();
    await echoServer(pair, 9);
    const socket = bindWebUdp(pair.a).openUDPSocket({ localAddress: "fd00::1", localPort: 4000 });
    const { readable, writable, localAddress, localPort } = await pair.wait(socket.opened, "opened");
    expect([localAddress, localPort]).toEqual(["fd00::1", 4000]);
    // Server on v4 only ("0.0.0.0"): ask a v6 echo.
    const echo6 = pair.b.openUDPSocket({ localAddress: "[fd00::2]", localPort: 9 });
    const e6 = await pair.wait(echo6.opened, "echo6");
    const w6 = e6.writable.getWriter();
    const r6 = e6.readable.getReader();
    void pair.wait(r6.read(), "echo read").then(({ value }) => w6.write({ data: value!.data, remoteAddress: value!.remoteAddress, remotePort: value!.remotePort }));
    await pair.wait(writable.getWriter().write({ data: enc("six"), remoteAddress: "fd00::2", remotePort: 9 }), "write");
    const { value } = await pair.wait(readable.getReader().read(), "read");
    expect({ ...value!, data: dec(value!.data) }).toEqual({ data: "six", remoteAddress: "fd00::2", remotePort: 9 });
    pair.close();
  });

  it("bound to \"::\" the socket takes IPv4 and IPv6 unless ipv6Only", async () => {
    const pair = await StackPair.create();
    const dual = pair.b.openUDPSocket({ localAddress: "::", localPort: 5000 });
    const only6 = pair.b.openUDPSocket({ localAddress: "::", localPort: 5001, ipv6Only: true });
    const d = (await pair.wait(dual.opened, "dual")).readable.getReader();
    await pair.wait(only6.opened, "only6");
    const sender = pair.a.openUdp({}, () => {});
    sender.send(enc("four"), "10.0.0.2", 5000);
    sender.send(enc("six"), "fd00::2", 5000);
    const got = [(await pair.wait(d.read(), "read")).value!, (await pair.wait(d.read(), "read")).value!];
    expect(got.map((m) => [dec(m.data), m.remoteAddress])).toEqual([["four", "10.0.0.1"], ["six", "fd00::1"]]);
    sender.send(enc("four"), "10.0.0.2", 5001);
    await pair.runUntil(() => pair.b.counters().udpNoPort === 1, "the v4 datagram meets a closed port");
    pair.close();
  });

  it("a slow reader: the readable queue holds readableHighWaterMark messages, the rest are dropped and counted", async () => {
    const pair = await StackPair.create();
    const socket = pair.b.openUDPSocket({ localAddress: "10.0.0.2", localPort: 5000, readableHighWaterMark: 4 });
    const { readable } = await pair.wait(socket.opened, "opened");
    const sender = pair.a.openUdp({}, () => {});
    for (let i = 0; i < 20; i++) sender.send(enc(String(i)), "10.0.0.2", 5000);
    await pair.runUntil(() => socket.droppedMessages === 16, "16 drops");
    const reader = readable.getReader();
    const first = [];
    for (let i = 0; i < 4; i++) first.push(dec((await pair.wait(reader.read(), "read")).value!.data));
    expect(first).toEqual(["0", "1", "2", "3"]);
    // Reading made room: the next datagram is queued again.
    sender.send(enc("20"), "10.0.0.2", 5000);
    expect(dec((await pair.wait(reader.read(), "read")).value!.data)).toBe("20");
    expect(socket.droppedMessages).toBe(16);
    pair.close();
  });

  it("what the stack refuses rejects opened and closed: EADDRINUSE, EADDRNOTAVAIL", async () => {
    const pair = await StackPair.create();
    const first = pair.a.openUDPSocket({ localAddress: "10.0.0.1", localPort: 5000 });
    await pair.wait(first.opened, "first");
    const second = pair.a.openUDPSocket({ localAddress: "10.0.0.1", localPort: 5000 });
    await expect(second.opened).rejects.toMatchObject({ code: "EADDRINUSE" });
    await expect(second.closed).rejects.toMatchObject({ code: "EADDRINUSE" });
    await expect(pair.a.openUDPSocket({ localAddress: "10.9.9.9" }).opened).rejects.toMatchObject({ code: "EADDRNOTAVAIL" });
    // Closing frees the port.
    await pair.wait(first.close(), "close");
    await pair.wait(pair.a.openUDPSocket({ localAddress: "10.0.0.1", localPort: 5000 }).opened, "again");
    pair.close();
  });

  it("a connected socket whose peer's port is closed ends with ECONNREFUSED (ICMP port unreachable)", async () => {
    const pair = await StackPair.create();
    const socket = pair.a.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 9 });
    const { readable, writable } = await pair.wait(socket.opened, "opened");
    const reading = readable.getReader().read();
    await pair.wait(writable.getWriter().write({ data: enc("anyone?") }), "write");
    await expect(pair.wait(socket.closed.then(() => "resolved", (e) => e.code), "closed")).resolves.toBe("ECONNREFUSED");
    await expect(reading).rejects.toMatchObject({ code: "ECONNREFUSED" });
    pair.close();
  });

  it("close() ends the readable, fails later writes and resolves closed; a second close is harmless", async () => {
    const pair = await StackPair.create();
    const socket = pair.a.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 9 });
    const { readable, writable } = await pair.wait(socket.opened, "opened");
    const reader = readable.getReader();
    const writer = writable.getWriter();
    await pair.wait(socket.close(), "close");
    await pair.wait(socket.close(), "close again");
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    await expect(writer.write({ data: enc("late") })).rejects.toMatchObject({ code: "ERR_SOCKET_DGRAM_NOT_RUNNING" });
    pair.close();
  });

  it("closing the stack closes its UDP sockets: closed rejects with ERR_SOCKET_CLOSED", async () => {
    const pair = await StackPair.create();
    const socket = pair.a.openUDPSocket({ localAddress: "0.0.0.0", localPort: 5000, sendBufferSize: 65536, receiveBufferSize: 65536, ipv6Only: false });
    const { readable } = await pair.wait(socket.opened, "opened");
    const reading = readable.getReader().read();
    pair.a.close();
    await expect(socket.closed).rejects.toMatchObject({ code: "ERR_SOCKET_CLOSED" });
    await expect(reading).rejects.toMatchObject({ code: "ERR_SOCKET_CLOSED" });
    pair.close();
  });

  it("API misuse throws at once with Node's codes; a bad message errors the write", async () => {
    const pair = await StackPair.create();
    const s = pair.a;
    const rows: Array<[string, () => unknown, string]> = [
      ["no mode", () => s.openUDPSocket({}), "ERR_INVALID_ARG_VALUE"],
      ["not an object", () => s.openUDPSocket(7 as never), "ERR_INVALID_ARG_TYPE"],
      ["unknown option", () => s.openUDPSocket({ localAddress: "0.0.0.0", color: 1 } as never), "ERR_INVALID_ARG_VALUE"],
      ["remotePort without remoteAddress", () => s.openUDPSocket({ remotePort: 7 }), "ERR_INVALID_ARG_TYPE"],
      ["remotePort out of range", () => s.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 70000 }), "ERR_OUT_OF_RANGE"],
      ["remoteAddress no address", () => s.openUDPSocket({ remoteAddress: "example.test", remotePort: 7 }), "ERR_INVALID_ARG_VALUE"],
      ["localPort out of range", () => s.openUDPSocket({ localAddress: "0.0.0.0", localPort: -1 }), "ERR_OUT_OF_RANGE"],
      ["readableHighWaterMark 0", () => s.openUDPSocket({ localAddress: "0.0.0.0", readableHighWaterMark: 0 }), "ERR_OUT_OF_RANGE"],
      ["bindWebUdp of no stack", () => bindWebUdp({} as never), "ERR_INVALID_ARG_TYPE"],
    ];
    for (const [what, f, code] of rows) expect([what, thrownCode(f)]).toEqual([what, code]);

    const bound = s.openUDPSocket({ localAddress: "10.0.0.1" });
    const w = (await pair.wait(bound.opened, "opened")).writable.getWriter();
    await expect(w.write({ data: enc("x") } as UDPMessage)).rejects.toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
    const connected = s.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 7 });
    const cw = (await pair.wait(connected.opened, "opened")).writable.getWriter();
    await expect(cw.write({ data: enc("x"), remoteAddress: "10.0.0.3", remotePort: 7 })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    const big = s.openUDPSocket({ remoteAddress: "10.0.0.2", remotePort: 7 });
    const bw = (await pair.wait(big.opened, "opened")).writable.getWriter();
    await expect(bw.write({ data: new Uint8Array(1500) })).rejects.toMatchObject({ code: "EMSGSIZE" });
    pair.close();
  });
});
