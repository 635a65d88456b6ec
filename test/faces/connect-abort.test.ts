// Ending a connect early on both faces: the caller's AbortSignal and a connect timeout. Two stacks
// on a virtual clock (test/fixtures/stack-pair.ts); a link that drops everything is the black hole
// a connect would otherwise wait on for synRetries retransmissions (2 minutes by default). Each case
// checks that the connection is gone from the engine afterwards (no slot left behind) and that
// nothing more was sent.
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, TcpwasmError } from "../../src/index.js";
import type { TcpSocket } from "../../src/faces/web.js";
import { bindNet } from "../../src/faces/node-net.js";
import type { Socket } from "../../src/faces/node-socket.js";
import { StackPair } from "../fixtures/stack-pair.js";

const pairs: StackPair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.close();
});

/** A traced pair on the release build; `blackHole`: the link drops every packet both ways. */
async function pair(blackHole: boolean): Promise<StackPair> {
  const p = await StackPair.create({ flavor: "auto", trace: true, config: { mslMs: 50 }, ...(blackHole && { link: { loss: 1 } }) });
  pairs.push(p);
  return p;
}

/** What a promise settles with, without throwing. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { resolved: await promise };
  } catch (error) {
    return error;
  }
}

describe("Web face: stack.connect({ signal, timeout })", () => {
  it("timeout: a connect into a black hole rejects opened with ETIMEDOUT at the timeout, and leaves nothing", async () => {
    const p = await pair(true);
    const socket = p.a.connect({ hostname: "10.0.0.9", port: 80, timeout: 500 });
    const opened = outcome(socket.opened);
    await p.advance(499);
    expect(p.a.engine.liveConnections()).toBe(1);
    const synsBefore = p.sent("client").length;
    await p.advance(1);
    const error = await p.wait(opened, "opened");
    expect(error).toBeInstanceOf(TcpwasmError);
    expect(error).toMatchObject({ code: "ETIMEDOUT" });
    expect(await outcome(socket.closed)).toBe(error);
    expect(p.now).toBe(500);
    expect(p.a.engine.liveConnections()).toBe(0);
    // RFC 9293 3.10.5: an ABORT in SYN-SENT sends nothing, and no retransmission follows.
    await p.advance(10_000);
    expect(p.sent("client").length).toBe(synsBefore);
    expect(p.sent("client").every((s) => s.startsWith("SYN"))).toBe(true);
  });

  it("timeout: covers the name lookup too (a resolver that never answers)", async () => {
    const p = await pair(false);
    const stack = await p.stack({ addresses: ["10.0.0.3/24"], dns: { resolve: () => new Promise<string[]>(() => {}), timeoutMs: 60_000 } });
    const socket = stack.connect({ hostname: "slow.test", port: 80, timeout: 300 });
    const error = await p.wait(outcome(socket.opened), "opened");
    expect(error).toMatchObject({ code: "ETIMEDOUT" });
    expect(p.now).toBe(300);
  });

  it("timeout: no longer applies once opened resolves", async () => {
    const p = await pair(false);
    const listener = p.b.listen({ port: 80 });
    const socket = p.a.connect({ hostname: "10.0.0.2", port: 80, timeout: 200 });
    await p.wait(socket.opened, "opened");
    await p.advance(1000);
    expect(socket.connection.state).toBe("ESTABLISHED");
    expect(socket.error).toBeUndefined();
    await listener.close();
  });

  it("signal: aborting while the SYN is unanswered rejects opened with an AbortError (ABORT_ERR, cause = reason)", async () => {
    const p = await pair(true);
    const controller = new AbortController();
    const socket = p.a.connect({ hostname: "10.0.0.9", port: 80, signal: controller.signal });
    const opened = outcome(socket.opened);
    await p.advance(1500);
    const sent = p.sent("client").length;
    controller.abort("user gave up");
    const error = await p.wait(opened, "opened");
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toBeInstanceOf(TcpwasmError);
    expect(error).toMatchObject({ name: "AbortError", code: "ABORT_ERR", cause: "user gave up" });
    expect(p.a.engine.liveConnections()).toBe(0);
    await p.advance(200_000);
    expect(p.sent("client").length).toBe(sent);
  });

  it("signal: already aborted, nothing is opened and nothing sent", async () => {
    const p = await pair(false);
    const socket = p.a.connect({ hostname: "10.0.0.2", port: 80, signal: AbortSignal.abort() });
    expect(await p.wait(outcome(socket.opened), "opened")).toMatchObject({ code: "ABORT_ERR" });
    expect(p.sent("client")).toEqual([]);
    expect(p.a.engine.liveConnections()).toBe(0);
  });

  it("signal: aborting an open connection resets it; closed rejects with the AbortError, the peer sees ECONNRESET", async () => {
    const p = await pair(false);
    const listener = p.b.listen({ port: 80 });
    const accepted = listener.accept() as Promise<TcpSocket>;
    const controller = new AbortController();
    const socket = p.a.connect({ hostname: "10.0.0.2", port: 80, signal: controller.signal });
    await p.wait(socket.opened, "opened");
    const peer = (await p.wait(accepted, "accept"))!;
    controller.abort();
    expect(await p.wait(outcome(socket.closed), "closed")).toMatchObject({ code: "ABORT_ERR" });
    expect(await p.wait(outcome(peer.closed), "peer closed")).toMatchObject({ code: "ECONNRESET" });
    expect(p.sent("client").at(-1)).toMatch(/^RST/);
    await listener.close();
  });

  it("misuse throws at once: a signal that is no AbortSignal, a timeout out of range", async () => {
    const p = await pair(false);
    expect(() => p.a.connect({ hostname: "10.0.0.2", port: 80, signal: {} as AbortSignal })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining("options.signal") }),
    );
    for (const timeout of [0, -1, 1.5, 2 ** 31]) {
      expect(() => p.a.connect({ hostname: "10.0.0.2", port: 80, timeout })).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    }
  });
});

describe("Node face: signal and connectTimeout", () => {
  /** The socket's 'error' and whether 'close' said hadError. */
  function ending(socket: Socket): Promise<{ error: Error | undefined; hadError: boolean }> {
    let error: Error | undefined;
    socket.on("error", (e) => (error = e));
    return new Promise((resolve) => socket.once("close", (hadError: boolean) => resolve({ error, hadError })));
  }

  it("connectTimeout: a connect into a black hole is destroyed with 'connect ETIMEDOUT' at the timeout", async () => {
    const p = await pair(true);
    const socket = bindNet(p.a).connect({ host: "10.0.0.9", port: 80, connectTimeout: 700 });
    const { error, hadError } = await p.wait(ending(socket), "close");
    expect(hadError).toBe(true);
    expect(error).toMatchObject({ code: "ETIMEDOUT", syscall: "connect", address: "10.0.0.9", port: 80 });
    expect(error!.message).toBe("connect ETIMEDOUT 10.0.0.9:80");
    expect(p.now).toBe(700);
    expect(p.a.engine.liveConnections()).toBe(0);
  });

  it("connectTimeout: cleared by 'connect'", async () => {
    const p = await pair(false);
    const net = bindNet(p.b);
    const server = net.createServer(() => undefined).listen(80);
    const socket = bindNet(p.a).connect({ host: "10.0.0.2", port: 80, connectTimeout: 100 });
    await p.wait(new Promise((r) => socket.once("connect", r)), "connect");
    await p.advance(1000);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
    server.close();
  });

  it("signal: abort while connecting destroys the socket with an AbortError (ABORT_ERR), as node:net's signal option", async () => {
    const p = await pair(true);
    const controller = new AbortController();
    const socket = bindNet(p.a).connect({ host: "10.0.0.9", port: 80, signal: controller.signal });
    const end = ending(socket);
    await p.advance(1000);
    controller.abort();
    const { error, hadError } = await p.wait(end, "close");
    expect(hadError).toBe(true);
    expect(error).toMatchObject({ name: "AbortError", code: "ABORT_ERR" });
    expect(p.a.engine.liveConnections()).toBe(0);
  });

  it("signal: already aborted, 'error' ABORT_ERR and nothing sent", async () => {
    const p = await pair(false);
    const socket = bindNet(p.a).connect({ host: "10.0.0.2", port: 80, signal: AbortSignal.abort() });
    const { error } = await p.wait(ending(socket), "close");
    expect(error).toMatchObject({ code: "ABORT_ERR" });
    expect(p.sent("client")).toEqual([]);
  });

  it("misuse throws at once", async () => {
    const p = await pair(false);
    const net = bindNet(p.a);
    expect(() => net.connect({ host: "10.0.0.2", port: 80, connectTimeout: 0 })).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => net.connect({ host: "10.0.0.2", port: 80, signal: "x" as unknown as AbortSignal })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
    );
  });
});
