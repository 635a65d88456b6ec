// DNS bound to stacks: a gateway runs serveDns (src/services/serve-dns.ts) on UDP and TCP port 53, a
// client resolves names through StackOptions.dns.servers over its own UDP (src/services/dns-client.ts)
// and connects by name. Two stacks over a memory link on a virtual clock: timeouts and retries cost
// no real time, and the faults are the memory link's own (seeded loss).
import { afterEach, describe, expect, it } from "vitest";
import "../../src/faces/web.js";
import type { Stack, StackOptions } from "../../src/tcp/stack.js";
import type { MemoryLinkOptions } from "../../src/net/memory-link.js";
import { createDnsResponder, type DnsLookup } from "../../src/net/dns-responder.js";
import { encodeDnsMessage, parseDnsMessage } from "../../src/net/dns-message.js";
import { DnsTcpReader, frameDnsTcp } from "../../src/net/dns-tcp.js";
import { bindNet, type Socket } from "../../src/faces/node-net.js";
import { dnsClientCounters, resolveHost } from "../../src/services/resolve-host.js";
import { serveDns, type DnsService } from "../../src/services/serve-dns.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { webEcho } from "../fixtures/stack-util.js";

const ECHO = 7;
const FAST = { rtoInitialMs: 50, rtoMinMs: 20, mslMs: 50 };

/** Names the gateway's lookup knows beyond its own; "many.test" has more AAAA records than fit 1232 octets. */
const MANY = Array.from({ length: 100 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
const lookup: DnsLookup = async (asked, type) => {
  const name = asked.toLowerCase(); // DNS names are case-insensitive (RFC 4343)
  if (name === "www.test") return type === "A" ? ["10.0.0.2"] : ["fd00::2"];
  if (name === "many.test") return type === "AAAA" ? ["fd00::2", ...MANY] : [];
  if (name === "v4only.test") return type === "A" ? ["10.0.0.2"] : [];
  return null;
};

interface Env {
  net: VirtualNet;
  client: Stack;
  gateway: Stack;
  dns: DnsService | undefined;
}

let current: VirtualNet | undefined;
afterEach(() => {
  current?.close();
  current = undefined;
});

/** A client (10.0.0.1, fd00::1) asking `servers`, and a gateway (10.0.0.2, fd00::2) answering DNS (unless `serve` is false) with an echo on port 7. */
async function env(servers: string[] = ["10.0.0.2"], link: Omit<MemoryLinkOptions, "clock" | "now"> = {}, serve = true): Promise<Env> {
  const net = new VirtualNet();
  current = net;
  const [lc, lg] = net.linkPair(link);
  const client = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"], name: "client", config: FAST, dns: { servers } });
  const gateway = await net.stack({ addresses: ["10.0.0.2/24", "fd00::2/64"], name: "gateway", config: FAST });
  client.attach(lc);
  gateway.attach(lg);
  const dns = serve ? serveDns(gateway, { names: { "gateway.test": ["10.0.0.2", "fd00::2"] }, lookup }) : undefined;
  gateway.openListener({ port: ECHO }, (c) => {
    c.onData = (chunk) => c.write(chunk);
    c.onEnd = () => c.end();
  });
  return { net, client, gateway, dns };
}

async function echoByName(e: Env, hostname: string, localAddress?: string): Promise<{ remote: string; got: string }> {
  const { info, got } = await webEcho(e.net, e.client, { hostname, port: ECHO, localAddress }, hostname);
  return { remote: info.remoteAddress, got };
}

/** Two IPv4 stacks over a memory link: a client (10.0.0.1) and a server (10.0.0.2), the client with `clientOptions`. */
async function v4Pair(clientOptions: Partial<StackOptions> = {}): Promise<{ net: VirtualNet; client: Stack; server: Stack }> {
  const net = new VirtualNet();
  current = net;
  const [lc, ls] = net.linkPair();
  const client = await net.stack({ addresses: ["10.0.0.1/24"], name: "client", config: FAST, ...clientOptions });
  const server = await net.stack({ addresses: ["10.0.0.2/24"], name: "server", config: FAST });
  client.attach(lc);
  server.attach(ls);
  return { net, client, server };
}

async function failure(p: Promise<unknown>, net: VirtualNet): Promise<{ code: string; message: string }> {
  try {
    await net.wait(p, "rejection");
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("resolved, expected a rejection");
}

describe("a client resolving over the stack's UDP from a gateway's serveDns", () => {
  it("connects by name over IPv4 and IPv6: the gateway's own name, AAAA first when both are asked", async () => {
    const e = await env();
    expect(await e.net.wait(resolveHost(e.client, "gateway.test", 0), "resolve")).toEqual(["fd00::2", "10.0.0.2"]);
    expect(await echoByName(e, "gateway.test", "10.0.0.1")).toEqual({ remote: "10.0.0.2", got: "gateway.test" });
    expect(await echoByName(e, "gateway.test", "fd00::1")).toEqual({ remote: "fd00::2", got: "gateway.test" });
    expect(e.dns!.counters).toMatchObject({ udpQueries: 2, noerror: 2, truncated: 0, tcpQueries: 0 });
  });

  it("asks a server over IPv6 and answers a name through the gateway's lookup", async () => {
    const e = await env(["fd00::2"]);
    expect(await echoByName(e, "www.test")).toEqual({ remote: "fd00::2", got: "www.test" });
    expect(e.dns!.counters.udpQueries).toBe(2);
  });

  it("uses the cache: the same name again sends no query", async () => {
    const e = await env();
    await e.net.wait(resolveHost(e.client, "www.test", 4), "first");
    const sent = e.net.links[0]!.stats.sent;
    expect(await e.net.wait(resolveHost(e.client, "www.test", 4), "second")).toEqual(["10.0.0.2"]);
    expect(e.net.links[0]!.stats.sent).toBe(sent);
    expect(dnsClientCounters(e.client)).toMatchObject({ lookups: 2, cacheHits: 1, queries: 1 });
  });

  it("connects to the same name at once share one lookup", async () => {
    const e = await env();
    const all = await e.net.wait(Promise.all(["www.test", "WWW.test", "www.TEST."].map((n) => resolveHost(e.client, n, 4))), "resolve");
    expect(all).toEqual([["10.0.0.2"], ["10.0.0.2"], ["10.0.0.2"]]);
    expect(dnsClientCounters(e.client)).toMatchObject({ lookups: 3, queries: 1 });
    expect(e.dns!.counters.udpQueries).toBe(1);
  });

  it("a large answer comes truncated over UDP (TC) and whole over the stack's TCP", async () => {
    const e = await env(["fd00::2"]);
    const addresses = await e.net.wait(resolveHost(e.client, "many.test", 6), "resolve");
    expect(addresses).toEqual(["fd00::2", ...MANY]);
    expect(dnsClientCounters(e.client)).toMatchObject({ queries: 1, tcpFallbacks: 1 });
    expect(e.dns!.counters).toMatchObject({ udpQueries: 1, truncated: 1, tcpQueries: 1, tcpConnections: 1 });
    expect(await echoByName(e, "many.test", "fd00::1")).toEqual({ remote: "fd00::2", got: "many.test" });
  });

  it("a lost query is asked again after its timeout (seeded loss on the client's direction)", async () => {
    // Seed 2 loses the first packet from the client and lets the next three through.
    const e = await env(["10.0.0.2"], { aToB: { loss: 0.5 }, seed: 2 });
    const start = e.net.now;
    expect(await e.net.wait(resolveHost(e.client, "www.test", 4), "resolve")).toEqual(["10.0.0.2"]);
    expect(e.net.links[0]!.stats.lost).toBe(1);
    expect(dnsClientCounters(e.client)).toMatchObject({ queries: 2, timeouts: 1 });
    // The first attempt waited its 1000 ms; the retry was answered at once.
    expect(e.net.now - start).toBe(1000);
  });

  it("a name nobody has is ENOTFOUND; no server listening is EAI_AGAIN long before the timeouts run out (ICMP port unreachable)", async () => {
    const e = await env();
    const nx = await failure(resolveHost(e.client, "nowhere.test", 0), e.net);
    expect([nx.code, nx.message.includes("nowhere.test")]).toEqual(["ENOTFOUND", true]);

    const down = await env(["10.0.0.2"], {}, false);
    const start = down.net.now;
    const err = await failure(down.client.connect({ hostname: "www.test", port: ECHO }).opened, down.net);
    expect(err.code).toBe("EAI_AGAIN");
    // Both families asked (AAAA and A), three rounds each, every query refused at once.
    expect(dnsClientCounters(down.client)).toMatchObject({ lookups: 2, queries: 6, serverFailures: 6, timeouts: 0 });
    expect(down.net.now - start).toBeLessThan(1000);
  });

  it("close() stops the service: port 53 is closed over UDP and TCP, and closing again (or after the stack) is harmless", async () => {
    const e = await env();
    e.dns!.close();
    const err = await failure(resolveHost(e.client, "www.test", 4), e.net);
    expect(err.code).toBe("EAI_AGAIN");
    expect(dnsClientCounters(e.client)).toMatchObject({ serverFailures: 3 });
    const tcp = e.client.openConnection({ remote: "10.0.0.2", remotePort: 53 });
    const refused = new Promise<string | undefined>((resolve) => (tcp.onClose = (error) => resolve(error?.code)));
    expect(await e.net.wait(refused, "refused")).toBe("ECONNREFUSED");
    e.gateway.close();
    expect(() => e.dns!.close()).not.toThrow();
  });

  it("a name with no AAAA asked for IPv6 only is ENOTFOUND (NODATA)", async () => {
    const e = await env();
    const err = await failure(resolveHost(e.client, "v4only.test", 6), e.net);
    expect([err.code, err.message.includes("NODATA")]).toEqual(["ENOTFOUND", true]);
  });

  it("over an Ethernet link too: the first query waits for ARP / neighbour discovery, then both families resolve and connect", async () => {
    const e = await env(["10.0.0.2"], { framing: "ethernet" });
    expect(await echoByName(e, "www.test", "10.0.0.1")).toEqual({ remote: "10.0.0.2", got: "www.test" });
    expect(await echoByName(e, "gateway.test", "fd00::1")).toEqual({ remote: "fd00::2", got: "gateway.test" });
    expect(dnsClientCounters(e.client)).toMatchObject({ timeouts: 0, serverFailures: 0 });
  });

  it("the Node face connects by name through the same resolver", async () => {
    const e = await env(["fd00::2"]);
    const s = bindNet(e.client).connect({ host: "www.test", port: ECHO, family: 6 });
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.once("connect", () => s.end("over dns"));
    await e.net.wait(new Promise((resolve) => (s as Socket).once("close", resolve)), "close");
    expect([got, s.remoteAddress]).toEqual(["over dns", "fd00::2"]);
  });
});

describe("serveDns under a flood", () => {
  it("answers at most maxPendingQueries at once: the rest are dropped and counted, and it serves again once they are answered", async () => {
    const { net, client, server } = await v4Pair();
    const waiting: (() => void)[] = [];
    const dns = serveDns(server, {
      maxPendingQueries: 4,
      lookup: (name) => (name.startsWith("slow") ? new Promise((resolve) => waiting.push(() => resolve(["10.0.0.9"]))) : Promise.resolve(["10.0.0.8"])),
    });
    const replies: number[] = [];
    const sock = client.openUdp({ remoteAddress: "10.0.0.2", remotePort: 53 }, (m) => replies.push((m.data[0]! << 8) | m.data[1]!));
    const ask = (name: string, id: number) => sock.send(encodeDnsMessage({ id, rd: true, questions: [{ name, type: 1, class: 1 }] }));
    for (let id = 1; id <= 10; id++) ask(`slow${id}.test`, id);
    await net.advance(10);
    expect([waiting.length, dns.counters.udpQueries, dns.counters.overloaded, replies.length]).toEqual([4, 10, 6, 0]);
    for (const release of waiting.splice(0)) release();
    await net.advance(10);
    expect(replies.sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    ask("fast.test", 11);
    await net.advance(10);
    expect(replies).toContain(11);
    expect(dns.counters.overloaded).toBe(6);
  });
});

describe("serveDns over TCP (RFC 7766)", () => {
  /** A raw TCP client on the client stack: what it writes, and every octet the server sends back. */
  function tcpClient(e: Env, port = 53) {
    const conn = e.client.openConnection({ remote: "10.0.0.2", remotePort: port });
    const reader = new DnsTcpReader();
    const answers: Uint8Array[] = [];
    const state = { connected: false, ended: false, closed: false, error: undefined as string | undefined };
    conn.onConnect = () => (state.connected = true);
    conn.onData = (chunk) => answers.push(...reader.push(chunk));
    conn.onEnd = () => (state.ended = true);
    conn.onClose = (err) => ((state.closed = true), (state.error = err?.code));
    return { conn, answers, state };
  }
  const query = (name: string, id: number) => frameDnsTcp(encodeDnsMessage({ id, rd: true, questions: [{ name, type: 1, class: 1 }] }));

  it("answers pipelined queries on one connection, and a client that half-closes after them still gets every answer", async () => {
    const e = await env();
    const c = tcpClient(e);
    await e.net.runUntil(() => c.state.connected, "connected");
    c.conn.write(query("www.test", 1));
    c.conn.write(query("gateway.test", 2));
    c.conn.end();
    await e.net.runUntil(() => c.state.ended, "server FIN");
    const parsed = c.answers.map((a) => parseDnsMessage(a));
    // Each answered as it completes (RFC 7766 6.2.1.1): the gateway's own name before the looked-up one.
    expect(parsed.map((p) => (p.ok ? [p.message.id, p.message.answers[0]?.data] : p.reason))).toEqual([[2, "10.0.0.2"], [1, "10.0.0.2"]]);
    expect(e.dns!.counters).toMatchObject({ tcpQueries: 2, tcpConnections: 1 });
  });

  it("closes a connection idle for tcpIdleMs, and resets one past maxTcpConnections", async () => {
    const { net, client, server } = await v4Pair();
    const dns = serveDns(server, { names: { "a.test": "10.0.0.2" }, tcpIdleMs: 5000, maxTcpConnections: 1 });
    const e = { net, client, gateway: server, dns };
    const first = tcpClient(e);
    await net.runUntil(() => first.state.connected, "first connected");
    const second = tcpClient(e);
    await net.runUntil(() => second.state.closed, "second reset");
    expect(second.state.error).toBe("ECONNRESET");
    const start = net.now;
    await net.runUntil(() => first.state.ended, "idle close");
    expect(net.now - start).toBeGreaterThanOrEqual(4900);
    expect(net.now - start).toBeLessThan(5100);
    expect(dns.counters).toMatchObject({ tcpConnections: 2, tcpRefused: 1 });
  });
});

describe("answers that must not be believed", () => {
  /**
   * A client, and a server stack whose port 53 first sends what `forge` makes of each query, then the
   * real answer unless `answer` says no.
   */
  async function rogue(forge: (query: Uint8Array) => Promise<Uint8Array[]>, answer: (query: Uint8Array) => boolean = () => true) {
    // A fixed secret: the client's ephemeral ports are the same on every run.
    const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const { net, client, server } = await v4Pair({ dns: { servers: ["10.0.0.2"] }, secret });
    const responder = createDnsResponder({ names: { "www.test": "10.0.0.2" } });
    const sources: number[] = [];
    const sock = server.openUdp({ localPort: 53 }, async (m) => {
      sources.push(m.remotePort);
      for (const b of await forge(m.data)) sock.send(b, m.remoteAddress, m.remotePort);
      if (answer(m.data)) sock.send((await responder.handle(m.data))!, m.remoteAddress, m.remotePort);
    });
    return { net, client, sources };
  }

  /** The query's header with QR set, rcode `rcode`, and its question only (no OPT record). */
  function bare(query: Uint8Array, rcode: number): Uint8Array {
    const q = parseDnsMessage(query);
    if (!q.ok) throw new Error(q.reason);
    return encodeDnsMessage({ id: q.message.id, qr: true, rd: true, rcode, questions: q.message.questions });
  }
  const hasOpt = (query: Uint8Array) => query[11] !== 0;

  it("a server without EDNS0 (FORMERR, no OPT) is asked again without OPT, in the same attempt (RFC 6891 7)", async () => {
    const { net, client } = await rogue(async (q) => (hasOpt(q) ? [bare(q, 1)] : []), (q) => !hasOpt(q));
    const start = net.now;
    expect(await net.wait(resolveHost(client, "www.test", 4), "resolve")).toEqual(["10.0.0.2"]);
    expect(dnsClientCounters(client)).toMatchObject({ queries: 2, serverFailures: 1, timeouts: 0 });
    expect(net.now - start).toBeLessThan(1000);
  });

  it("a server that never answers is EAI_AGAIN after every round's timeout: 1000 + 2000 + 4000 ms; each query from its own port", async () => {
    const { net, client, sources } = await rogue(async () => [], () => false);
    const start = net.now;
    const err = await failure(resolveHost(client, "www.test", 4), net);
    expect([err.code, net.now - start]).toEqual(["EAI_AGAIN", 7000]);
    expect(dnsClientCounters(client)).toMatchObject({ queries: 3, timeouts: 3 });
    // RFC 5452 9.2: a fresh random source port per query.
    expect(sources).toHaveLength(3);
    expect(new Set(sources).size).toBe(3);
  });

  it("SERVFAIL moves on to the next round at once", async () => {
    let failures = 1;
    const { net, client } = await rogue(async (q) => (failures-- > 0 ? [bare(q, 2)] : []), () => failures < 0);
    expect(await net.wait(resolveHost(client, "www.test", 4), "resolve")).toEqual(["10.0.0.2"]);
    expect(dnsClientCounters(client)).toMatchObject({ queries: 2, serverFailures: 1, timeouts: 0 });
  });

  it("a malformed answer is counted and dropped, and the real one still taken", async () => {
    const { net, client } = await rogue(async (q) => {
      const junk = q.slice();
      junk[2] |= 0x80; // QR: a response
      junk[5] = 9; // nine questions where there is one: runs off the end
      return [junk];
    });
    expect(await net.wait(resolveHost(client, "www.test", 4), "resolve")).toEqual(["10.0.0.2"]);
    expect(dnsClientCounters(client)).toMatchObject({ queries: 1, malformed: 1, mismatched: 0 });
  });

  it("an answer with another ID is counted and dropped, the real one taken (RFC 5452)", async () => {
    const forger = createDnsResponder({ names: { "www.test": "10.0.0.9" } });
    const { net, client } = await rogue(async (q) => {
      const forged = (await forger.handle(q))!;
      forged[1] ^= 1;
      return [forged];
    });
    expect(await net.wait(resolveHost(client, "www.test", 4), "resolve")).toEqual(["10.0.0.2"]);
    expect(dnsClientCounters(client)).toMatchObject({ queries: 1, mismatched: 1, malformed: 0 });
  });
});
