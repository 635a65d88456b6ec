// Connecting by name on both faces: the Web face's connect({ hostname }) and the Node face's
// connect({ host, lookup, family }) resolve a name through the stack's resolver (StackOptions.dns, a
// resolve function here; src/services/resolve-host.ts) or a dns.lookup-shaped function, and try the
// addresses in order (src/tcp/dial.ts). Two stacks over a memory link on a virtual clock: the waits
// are virtual time, and a resolver that never answers costs nothing.
import { afterEach, describe, expect, it } from "vitest";
import "../../src/faces/web.js";
import type { Stack, StackOptions } from "../../src/tcp/stack.js";
import { bindNet, type Socket } from "../../src/faces/node-net.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { ResolveError, resolveHost } from "../../src/services/resolve-host.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { webEcho } from "../fixtures/stack-util.js";

const PORT = 7;
const FAST = { rtoInitialMs: 50, rtoMinMs: 20, mslMs: 50 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

interface Env {
  net: VirtualNet;
  client: Stack;
  server: Stack;
  /** Every call the client's resolve function got. */
  asked: [string, number][];
}

let current: VirtualNet | undefined;
afterEach(() => {
  current?.close();
  current = undefined;
});

/**
 * A client (10.0.0.1, fd00::1) whose resolver is `resolve` (none when null) and a server (10.0.0.2,
 * fd00::2) echoing on port 7 (on `listenOn` only, when given).
 */
async function env(resolve: ((name: string, family: 0 | 4 | 6) => Promise<string[]>) | null, extra: Partial<StackOptions> = {}, listenOn?: string): Promise<Env> {
  const net = new VirtualNet();
  current = net;
  const asked: [string, number][] = [];
  const [la, lb] = net.linkPair();
  const dns = resolve && { dns: { resolve: (name: string, family: 0 | 4 | 6) => (asked.push([name, family]), resolve(name, family)) } };
  const client = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"], name: "client", config: FAST, ...dns, ...extra });
  const server = await net.stack({ addresses: ["10.0.0.2/24", "fd00::2/64"], name: "server", config: FAST });
  client.attach(la);
  server.attach(lb);
  server.openListener({ port: PORT, address: listenOn }, (c) => {
    c.onData = (chunk) => c.write(chunk);
    c.onEnd = () => c.end();
  });
  return { net, client, server, asked };
}

const names: Record<string, string[]> = {
  "server.test": ["10.0.0.2", "fd00::2"],
  "v6.server.test": ["fd00::2"],
};

/** A resolve function over `names`, answering after a tick like a real one. */
async function table(name: string, family: 0 | 4 | 6): Promise<string[]> {
  await Promise.resolve();
  const all = names[name];
  if (!all) throw Object.assign(new Error(`no such name ${name}`), { code: "ENOTFOUND" });
  return all.filter((a) => family === 0 || (family === 6) === a.includes(":"));
}

/** Sends `message` over a Web face socket to `hostname` and reads the echo to its end. */
function webEchoTo(e: Env, hostname: string, message: string, options: { localAddress?: string } = {}) {
  return webEcho(e.net, e.client, { hostname, port: PORT, ...options }, message);
}

async function rejection(p: Promise<unknown>, net: VirtualNet): Promise<TcpwasmError> {
  try {
    await net.wait(p, "rejection");
  } catch (error) {
    return error as TcpwasmError;
  }
  throw new Error("resolved, expected a rejection");
}

describe("Web face: connect({ hostname }) with a name", () => {
  it("resolves the name with the stack's resolve function and connects to its first address", async () => {
    const e = await env(table);
    const { info, got } = await webEchoTo(e, "server.test", "by name");
    expect(got).toBe("by name");
    expect(e.asked).toEqual([["server.test", 0]]);
    expect([info.remoteAddress, info.remotePort, info.localAddress]).toEqual(["10.0.0.2", PORT, "10.0.0.1"]);
  });

  it("asks for the family of localAddress, and reaches the name over IPv6", async () => {
    const e = await env(table);
    const { info, got } = await webEchoTo(e, "server.test", "six", { localAddress: "fd00::1" });
    expect(got).toBe("six");
    expect(e.asked).toEqual([["server.test", 6]]);
    expect(info.remoteAddress).toBe("fd00::2");
  });

  it("never asks the resolver for IP address text (v4, v6, bracketed v6)", async () => {
    const e = await env(table);
    for (const hostname of ["10.0.0.2", "fd00::2", "[fd00::2]"]) expect((await webEchoTo(e, hostname, hostname)).got).toBe(hostname);
    expect(e.asked).toEqual([]);
  });

  it("'localhost' and names under it are the loopback addresses, asked of no resolver (RFC 6761 6.3)", async () => {
    const e = await env(table);
    const { info, got } = await webEcho(e.net, e.server, { hostname: "localhost", port: PORT }, "loop");
    expect([got, info.remoteAddress]).toEqual(["loop", "::1"]);
    expect(await e.net.wait(resolveHost(e.client, "db.localhost.", 4), "v4")).toEqual(["127.0.0.1"]);
    expect(e.asked).toEqual([]);
    e.net.close();
    const v4only = await env(null, { addresses: ["10.0.0.1/24"] });
    expect(await v4only.net.wait(resolveHost(v4only.client, "LOCALHOST", 0), "v4 only")).toEqual(["127.0.0.1"]);
  });

  it("tries the addresses in order: a refused first address gives way to the next", async () => {
    // The server listens on 10.0.0.2 only, so its IPv6 address answers the SYN with RST.
    const e = await env(async () => ["fd00::2", "10.0.0.2"], {}, "10.0.0.2");
    const { info, got } = await webEchoTo(e, "two.test", "second");
    expect(got).toBe("second");
    expect(info.remoteAddress).toBe("10.0.0.2");
  });

  it("rejects opened with the last attempt's error when every address fails", async () => {
    const e = await env(async () => ["fd00::2"], {}, "10.0.0.2");
    const s = e.client.connect({ hostname: "refused.test", port: PORT });
    const err = await rejection(s.opened, e.net);
    expect(err.code).toBe("ECONNREFUSED");
    await expect(s.closed).rejects.toBe(err);
  });

  it("a name the resolver does not know rejects opened with ENOTFOUND naming it", async () => {
    const e = await env(table);
    const s = e.client.connect({ hostname: "nowhere.test", port: PORT });
    const err = await rejection(s.opened, e.net);
    expect(err).toBeInstanceOf(ResolveError);
    expect([err.code, (err as ResolveError).hostname]).toEqual(["ENOTFOUND", "nowhere.test"]);
    expect(err.message).toContain("nowhere.test");
    await expect(s.closed).rejects.toBe(err);
  });

  it("an empty answer, or none of the family asked, is ENOTFOUND", async () => {
    const e = await env(async (name) => (name === "empty.test" ? [] : ["fd00::2"]));
    const err = await rejection(e.client.connect({ hostname: "empty.test", port: PORT }).opened, e.net);
    expect(err.code).toBe("ENOTFOUND");
    const v4only = await rejection(e.client.connect({ hostname: "v6.test", port: PORT, localAddress: "10.0.0.1" }).opened, e.net);
    expect(v4only.code).toBe("ENOTFOUND");
    expect(v4only.message).toContain("no IPv4 address");
  });

  it("a resolver failing otherwise is EAI_AGAIN; ENODATA is ENOTFOUND", async () => {
    const e = await env(async (name) => {
      throw Object.assign(new Error("boom"), { code: name === "nodata.test" ? "ENODATA" : "ESERVFAIL" });
    });
    expect((await rejection(e.client.connect({ hostname: "fail.test", port: PORT }).opened, e.net)).code).toBe("EAI_AGAIN");
    expect((await rejection(e.client.connect({ hostname: "nodata.test", port: PORT }).opened, e.net)).code).toBe("ENOTFOUND");
  });

  it("a resolver that throws synchronously fails the connect, not the caller", async () => {
    const e = await env(() => {
      throw new Error("sync");
    });
    const s = e.client.connect({ hostname: "sync.test", port: PORT });
    expect((await rejection(s.opened, e.net)).code).toBe("EAI_AGAIN");
  });

  it("a resolver that never answers is EAI_AGAIN once the whole retry plan's time has passed (defaults: 1000 x (2^3 - 1) ms)", async () => {
    const e = await env(() => new Promise<string[]>(() => {}));
    const start = e.net.now;
    const err = await rejection(e.client.connect({ hostname: "hang.test", port: PORT }).opened, e.net);
    expect(err.code).toBe("EAI_AGAIN");
    expect(e.net.now - start).toBe(7000);
    expect(err.message).toContain("7000 ms");
  });

  it("timeoutMs and attempts set the budget", async () => {
    const net = new VirtualNet();
    current = net;
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], dns: { resolve: () => new Promise<string[]>(() => {}), timeoutMs: 100, attempts: 2 } });
    stack.attach(net.linkPair()[0]);
    const err = await rejection(stack.connect({ hostname: "hang.test", port: PORT }).opened, net);
    expect([err.code, net.now]).toEqual(["EAI_AGAIN", 300]);
  });

  it("an answer that is not a list of addresses is the resolve function's error, named", async () => {
    const e = await env(async (name) => (name === "bogus.test" ? ["not-an-address"] : ("10.0.0.2" as never)));
    const bad = await rejection(e.client.connect({ hostname: "bogus.test", port: PORT }).opened, e.net);
    expect([bad.code, bad.message.includes("not-an-address")]).toEqual(["ERR_INVALID_IP_ADDRESS", true]);
    const notList = await rejection(e.client.connect({ hostname: "string.test", port: PORT }).opened, e.net);
    expect(notList.code).toBe("ERR_INVALID_RETURN_VALUE");
  });

  it("a stack without a resolver fails a name at once with ENOTFOUND, no timer, nothing sent", async () => {
    const e = await env(null);
    const s = e.client.connect({ hostname: "server.test", port: PORT });
    const err = await rejection(s.opened, e.net);
    expect([err.code, err.message.includes("StackOptions.dns"), e.net.now]).toEqual(["ENOTFOUND", true, 0]);
    expect(e.net.links[0]!.stats.sent).toBe(0);
  });

  it("writes made while the name resolves wait for the connection and go out in order", async () => {
    const e = await env(table);
    const s = e.client.connect({ hostname: "server.test", port: PORT });
    const w = s.writable.getWriter();
    const first = w.write(bytes("early "));
    expect(() => s.connection).toThrow(expect.objectContaining({ code: "ENOTCONN" }));
    const info = await e.net.wait(s.opened, "opened");
    await e.net.wait(first, "first write");
    await e.net.wait(w.write(bytes("late")), "second write");
    await e.net.wait(w.close(), "close");
    let got = "";
    for await (const chunk of info.readable as unknown as AsyncIterable<Uint8Array>) got += text(chunk);
    expect(got).toBe("early late");
  });

  it("close() while the name resolves ends the socket: opened rejects, closed resolves, no connection is made", async () => {
    let answer!: (a: string[]) => void;
    const e = await env(() => new Promise<string[]>((resolve) => (answer = resolve)));
    const s = e.client.connect({ hostname: "slow.test", port: PORT });
    await e.net.advance(10);
    const closed = s.close();
    await e.net.wait(closed, "closed");
    expect((await rejection(s.opened, e.net)).code).toBe("ERR_SOCKET_CLOSED");
    answer(["10.0.0.2"]);
    await e.net.advance(1000);
    expect(e.net.links[0]!.stats.sent).toBe(0);
  });
});

describe("Node face: connect({ host }) with a name", () => {
  function closed(s: Socket): Promise<boolean> {
    return new Promise((resolve) => s.once("close", resolve));
  }

  async function nodeEcho(e: Env, socket: Socket, message: string): Promise<string> {
    let got = "";
    socket.on("data", (d: Buffer) => (got += d.toString()));
    socket.once("connect", () => socket.end(message));
    expect(await e.net.wait(closed(socket), "close")).toBe(false);
    return got;
  }

  it("looks the name up with the stack's resolver, emits 'lookup' per address, connects to the first", async () => {
    const e = await env(table);
    const s = bindNet(e.client).connect({ host: "server.test", port: PORT });
    const lookups: unknown[][] = [];
    const attempts: unknown[][] = [];
    s.on("lookup", (...a: unknown[]) => lookups.push(a));
    s.on("connectionAttempt", (...a: unknown[]) => attempts.push(a));
    expect(await nodeEcho(e, s, "node by name")).toBe("node by name");
    expect(lookups).toEqual([[null, "10.0.0.2", 4, "server.test"], [null, "fd00::2", 6, "server.test"]]);
    expect(attempts).toEqual([["10.0.0.2", PORT, 4]]);
    expect(e.asked).toEqual([["server.test", 0]]);
    expect([s.remoteAddress, s.remoteFamily]).toEqual(["10.0.0.2", "IPv4"]);
  });

  it("family: 6 (or 'IPv6') asks for IPv6 only", async () => {
    const e = await env(table);
    const s = bindNet(e.client).connect({ host: "server.test", port: PORT, family: "IPv6" });
    expect(await nodeEcho(e, s, "v6")).toBe("v6");
    expect(e.asked).toEqual([["server.test", 6]]);
    expect(s.remoteAddress).toBe("fd00::2");
  });

  it("honours a lookup option with dns.lookup's signature, in both callback forms, and skips the stack's resolver", async () => {
    const e = await env(table);
    const calls: unknown[][] = [];
    const all = bindNet(e.client).connect({
      host: "mine.test", port: PORT,
      lookup: (host, options, cb) => {
        calls.push([host, options]);
        queueMicrotask(() => cb(null, [{ address: "10.0.0.2", family: 4 }]));
      },
    });
    expect(await nodeEcho(e, all, "all")).toBe("all");
    const one = bindNet(e.client).connect({ host: "mine.test", port: PORT, family: 4, hints: 32, lookup: (_h, _o, cb) => queueMicrotask(() => cb(null, "10.0.0.2", 4)) });
    const seen: unknown[][] = [];
    one.on("lookup", (...a: unknown[]) => seen.push(a));
    expect(await nodeEcho(e, one, "one")).toBe("one");
    expect(calls).toEqual([["mine.test", { family: 0, hints: 0, all: true }]]);
    expect(seen).toEqual([[null, "10.0.0.2", 4, "mine.test"]]);
    expect(e.asked).toEqual([]);
  });

  it("an unknown name fails as getaddrinfo does: ENOTFOUND with errno, syscall and hostname; 'lookup' then 'error' then 'close'(true)", async () => {
    const e = await env(table);
    const s = bindNet(e.client).connect({ host: "nowhere.test", port: PORT });
    const order: string[] = [];
    let lookupError: unknown;
    s.on("lookup", (err: unknown) => (order.push("lookup"), (lookupError = err)));
    const error = new Promise<NodeJS.ErrnoException & { hostname: string }>((resolve) => s.once("error", (err) => (order.push("error"), resolve(err as never))));
    s.once("close", () => order.push("close"));
    const err = await e.net.wait(error, "error");
    await e.net.wait(closed(s), "close").catch(() => {});
    await e.net.advance(0);
    expect({ code: err.code, errno: err.errno, syscall: err.syscall, hostname: err.hostname, message: err.message }).toEqual({
      code: "ENOTFOUND", errno: -3008, syscall: "getaddrinfo", hostname: "nowhere.test", message: "getaddrinfo ENOTFOUND nowhere.test",
    });
    expect(err).toBeInstanceOf(TcpwasmError);
    expect(lookupError).toBe(err);
    expect(order).toEqual(["lookup", "error", "close"]);
  });

  it("a resolver failure is EAI_AGAIN with errno -3001", async () => {
    const e = await env(async () => {
      throw new Error("servers down");
    });
    const s = bindNet(e.client).connect({ host: "down.test", port: PORT });
    const err = await e.net.wait(new Promise<NodeJS.ErrnoException>((resolve) => s.once("error", resolve)), "error");
    expect([err.code, err.errno, err.syscall, (err as { hostname?: string }).hostname]).toEqual(["EAI_AGAIN", -3001, "getaddrinfo", "down.test"]);
  });

  it("a stack without a resolver: ENOTFOUND at once", async () => {
    const e = await env(null);
    const s = bindNet(e.client).connect({ host: "server.test", port: PORT });
    const err = await e.net.wait(new Promise<NodeJS.ErrnoException>((resolve) => s.once("error", resolve)), "error");
    expect([err.code, err.syscall, e.net.now]).toEqual(["ENOTFOUND", "getaddrinfo", 0]);
  });

  it("tries each address in turn with 'connectionAttempt' and 'connectionAttemptFailed'; the error is the last attempt's", async () => {
    const e = await env(async () => ["fd00::2", "10.0.0.2"], {}, "10.0.0.2");
    const s = bindNet(e.client).connect({ host: "two.test", port: PORT });
    const events: unknown[][] = [];
    s.on("connectionAttempt", (a: string) => events.push(["attempt", a]));
    s.on("connectionAttemptFailed", (a: string, _p: number, f: number, err: NodeJS.ErrnoException) => events.push(["failed", a, f, err.code]));
    expect(await nodeEcho(e, s, "second")).toBe("second");
    expect(events).toEqual([["attempt", "fd00::2"], ["failed", "fd00::2", 6, "ECONNREFUSED"], ["attempt", "10.0.0.2"]]);

    const e2 = await env(async () => ["fd00::2"], {}, "10.0.0.2");
    const s2 = bindNet(e2.client).connect({ host: "refused.test", port: PORT });
    const err = await e2.net.wait(new Promise<NodeJS.ErrnoException & { address?: string }>((resolve) => s2.once("error", resolve as never)), "error");
    expect([err.code, err.syscall, err.address, err.message]).toEqual(["ECONNREFUSED", "connect", "fd00::2", `connect ECONNREFUSED fd00::2:${PORT}`]);
  });

  it("an IP address never reaches lookup", async () => {
    const e = await env(table);
    let looked = 0;
    const s = bindNet(e.client).connect({ host: "10.0.0.2", port: PORT, lookup: () => void looked++ });
    expect(await nodeEcho(e, s, "literal")).toBe("literal");
    expect([looked, e.asked.length]).toEqual([0, 0]);
  });

  it("a lookup answering with something that is no IP address fails with ERR_INVALID_IP_ADDRESS", async () => {
    const e = await env(table);
    const s = bindNet(e.client).connect({ host: "x.test", port: PORT, lookup: (_h, _o, cb) => queueMicrotask(() => cb(null, "bogus", 4)) });
    const err = await e.net.wait(new Promise<NodeJS.ErrnoException>((resolve) => s.once("error", resolve)), "error");
    expect(err.code).toBe("ERR_INVALID_IP_ADDRESS");
  });

  it("destroy() during the lookup: the answer is not heard, no connection is made", async () => {
    let answer!: (a: string[]) => void;
    const e = await env(() => new Promise<string[]>((resolve) => (answer = resolve)));
    const s = bindNet(e.client).connect({ host: "slow.test", port: PORT });
    s.on("lookup", () => expect.unreachable("'lookup' after destroy"));
    await e.net.advance(10);
    s.destroy();
    expect(await e.net.wait(closed(s), "close")).toBe(false);
    answer(["10.0.0.2"]);
    await e.net.advance(1000);
    expect(e.net.links[0]!.stats.sent).toBe(0);
  });
});
