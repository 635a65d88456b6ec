// The link MTU through the stack (src/tcp/stack.ts, assembly/engine/pmtu.ts): every connection takes its
// MSS from the MTU of the link it uses, whatever that MTU, on every link a stack has; routers on a
// narrower path make it smaller with ICMP errors (RFC 1191, RFC 8201); a link's MTU is checked at
// attach. The stacks and links run on a virtual clock (VirtualNet, test/fixtures/stack-pair.ts). Data
// is checked with SHA-256; no assertion depends on time.
import { describe, expect, it } from "vitest";
import { createStack, type Stack, type StackConnection } from "../../src/tcp/stack.js";
import { createMemoryLinkPair, type MemoryLink } from "../../src/net/memory-link.js";
import { parseIpv4, parseIpv6 } from "../../src/core/wire.js";
import { accepted, collect, connected, data, echoRequest, sha, writeAll } from "../fixtures/stack-util.js";
import { tooBigError } from "../fixtures/icmp-too-big.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { VirtualNet } from "../fixtures/stack-pair.js";

const FAST = { rtoInitialMs: 200, rtoMinMs: 100, mslMs: 50 };

/** A link that records the largest packet sent through it. */
class Measured implements Link {
  largest = 0;
  readonly mtu: number | undefined;
  constructor(private readonly inner: Link, mtu = inner.mtu) {
    this.mtu = mtu;
  }
  send(packets: Uint8Array[]): void {
    for (const p of packets) this.largest = Math.max(this.largest, p.length);
    this.inner.send(packets);
  }
  onReceive(handler: PacketHandler): void {
    this.inner.onReceive(handler);
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * A first hop of the link's MTU followed by a router whose next hop carries only `pathMtu`: packets
 * bigger than that are dropped there, and the router tells the sender with an ICMP error.
 */
class NarrowPath implements Link {
  reported = 0;
  largestPassed = 0;
  private handler: PacketHandler | undefined;
  constructor(private readonly inner: MemoryLink, private readonly pathMtu: number) {}
  get mtu(): number {
    return this.inner.mtu;
  }
  send(packets: Uint8Array[]): void {
    const pass: Uint8Array[] = [];
    const errors: Uint8Array[] = [];
    for (const p of packets) {
      if (p.length <= this.pathMtu) {
        this.largestPassed = Math.max(this.largestPassed, p.length);
        pass.push(p);
        continue;
      }
      this.reported++;
      const router = p[0]! >> 4 === 6 ? parseIpv6("fd00::fe")! : parseIpv4("10.0.0.254")!;
      errors.push(tooBigError({ packet: p, mtu: this.pathMtu, router }));
    }
    if (pass.length) this.inner.send(pass);
    // The Link contract: never deliver before send returns.
    if (errors.length) queueMicrotask(() => this.handler?.(errors));
  }
  onReceive(handler: PacketHandler): void {
    this.handler = handler;
    this.inner.onReceive(handler);
  }
  close(): void {
    this.handler = undefined;
    this.inner.close();
  }
}

async function stacks(net: VirtualNet, la: Link, lb: Link): Promise<{ a: Stack; b: Stack }> {
  const common = { config: FAST };
  const a = await net.stack({ ...common, addresses: ["10.0.0.1/24", "fd00::1/64"], name: "client" });
  const b = await net.stack({ ...common, addresses: ["10.0.0.2/24", "fd00::2/64"], name: "server" });
  a.attach(la);
  b.attach(lb);
  return { a, b };
}

interface Transferred {
  client: StackConnection;
  server: StackConnection;
  /** STATUS of each side once established. */
  clientMss: { localMss: number; peerMss: number; sendMss: number };
  serverMss: { localMss: number; peerMss: number; sendMss: number };
}

/** `up` bytes client -> server, then `down` bytes back, both SHA-256 checked; orderly close. */
async function transfer(net: VirtualNet, a: Stack, b: Stack, remote: string, port: number, up: number, down: number): Promise<Transferred> {
  const request = data(up, port);
  const response = data(down, port + 1);
  const server = accepted(b, port);
  const client = a.openConnection({ remote, remotePort: port });
  const clientIn = collect(client);
  await net.wait(connected(client), "connect");
  const pick = (c: StackConnection) => {
    const st = c.status();
    return { localMss: st.localMss, peerMss: st.peerMss, sendMss: st.sendMss };
  };
  const clientMss = pick(client);
  const sending = writeAll(client, request, true);
  const s = await net.wait(server, "accept");
  const serverMss = pick(s);
  const serverIn = collect(s);
  await net.wait(serverIn.ended, "request and FIN");
  await net.wait(sending, "request written");
  expect(sha(serverIn.chunks)).toBe(sha([request]));
  await net.wait(writeAll(s, response, true), "response written");
  await net.wait(clientIn.ended, "response and FIN");
  expect(sha(clientIn.chunks)).toBe(sha([response]));
  return { client, server: s, clientMss, serverMss };
}

const MiB = 1 << 20;

describe("the MSS comes from the link's MTU", () => {
  const cases: Array<[number, 4 | 6]> = [[576, 4], [1280, 4], [1280, 6], [9000, 4], [9000, 6], [65535, 4], [65535, 6]];
  for (const [mtu, version] of cases) {
    it(`MTU ${mtu}, IPv${version}: full-sized segments of exactly the MTU, none too big, 3 MiB up and 1 MiB down intact`, async () => {
      const net = new VirtualNet();
      const [la, lb] = net.linkPair({ mtu });
      const ma = new Measured(la);
      const mb = new Measured(lb);
      const { a, b } = await stacks(net, ma, mb);
      const headers = version === 6 ? 60 : 40;
      const t = await transfer(net, a, b, version === 6 ? "fd00::2" : "10.0.0.2", 8000 + mtu % 1000, 3 * MiB, MiB);
      // Timestamps take 12 bytes of every segment (RFC 7323 3.2).
      const expected = { localMss: mtu - headers, peerMss: mtu - headers, sendMss: mtu - headers - 12 };
      expect(t.clientMss).toEqual(expected);
      expect(t.serverMss).toEqual(expected);
      expect(la.stats.tooBig).toBe(0);
      expect(lb.stats.tooBig).toBe(0);
      expect(ma.largest).toBe(mtu);
      expect(mb.largest).toBe(mtu);
      a.close();
      b.close();
    });
  }

  it("asymmetric MTUs: each side advertises its own link's MSS and sends with the smaller of both", async () => {
    const net = new VirtualNet();
    const [la, lb] = net.linkPair({ aToB: { mtu: 9000 }, bToA: { mtu: 1280 } });
    expect([la.mtu, lb.mtu]).toEqual([9000, 1280]);
    const { a, b } = await stacks(net, la, lb);
    const t = await transfer(net, a, b, "10.0.0.2", 8100, 2 * MiB, 2 * MiB);
    expect(t.clientMss).toEqual({ localMss: 8960, peerMss: 1240, sendMss: 1228 });
    expect(t.serverMss).toEqual({ localMss: 1240, peerMss: 8960, sendMss: 1228 });
    expect(la.stats.tooBig + lb.stats.tooBig).toBe(0);
    a.close();
    b.close();
  });

  it("a stack with two links of different MTUs: each connection, active or passive, takes the MTU of its own link", async () => {
    const net = new VirtualNet();
    const [narrowA, narrowB] = net.linkPair({ mtu: 1280 });
    const [wideA, wideC] = net.linkPair({ mtu: 9000 });
    const common = { config: FAST };
    const a = await net.stack({ ...common, addresses: ["10.0.0.1/24", "10.1.0.1/24"], name: "a" });
    const b = await net.stack({ ...common, addresses: ["10.0.0.2/24"], name: "b" });
    const c = await net.stack({ ...common, addresses: ["10.1.0.2/24"], name: "c" });
    a.attach(narrowA, { routes: ["10.0.0.0/24"] });
    a.attach(wideA, { routes: ["10.1.0.0/24"] });
    b.attach(narrowB);
    c.attach(wideC);
    const [aToB, cToA, bToA, aToC] = await Promise.all([
      transfer(net, a, b, "10.0.0.2", 8201, MiB, MiB),
      transfer(net, c, a, "10.1.0.1", 8202, MiB, MiB),
      transfer(net, b, a, "10.0.0.1", 8203, MiB, MiB),
      transfer(net, a, c, "10.1.0.2", 8204, MiB, MiB),
    ]);
    // Active opens over the route's link, passive ones over the link their SYN came in on.
    expect(aToB.clientMss.localMss).toBe(1240);
    expect(aToC.clientMss.localMss).toBe(8960);
    expect(bToA.serverMss.localMss).toBe(1240);
    expect(cToA.serverMss.localMss).toBe(8960);
    expect(aToC.clientMss.sendMss).toBe(8948);
    expect(bToA.serverMss.sendMss).toBe(1228);
    for (const l of [narrowA, narrowB, wideA, wideC]) expect(l.stats.tooBig).toBe(0);
    a.close();
    b.close();
    c.close();
  });
});

describe("Path MTU Discovery behind a narrower router (RFC 1191, RFC 8201)", () => {
  for (const [version, pathMtu] of [[4, 1000], [6, 1280]] as const) {
    it(`IPv${version}: links of 9000, a path of ${pathMtu}: the ICMP errors shrink the segments and every byte arrives`, async () => {
      const net = new VirtualNet();
      const [la, lb] = net.linkPair({ mtu: 9000 });
      const pa = new NarrowPath(la, pathMtu);
      const pb = new NarrowPath(lb, pathMtu);
      const { a, b } = await stacks(net, pa, pb);
      const t = await transfer(net, a, b, version === 6 ? "fd00::2" : "10.0.0.2", 8300 + version, 2 * MiB, 2 * MiB);
      expect(t.clientMss.localMss).toBe(9000 - (version === 6 ? 60 : 40));
      expect(pa.reported).toBeGreaterThan(0);
      expect(pb.reported).toBeGreaterThan(0);
      expect(a.counters().icmpTooBig).toBeGreaterThan(0);
      expect(b.counters().icmpTooBig).toBeGreaterThan(0);
      // The path's MTU was reached: full-sized segments of exactly it went through.
      expect(pa.largestPassed).toBe(pathMtu);
      expect(pb.largestPassed).toBe(pathMtu);
      a.close();
      b.close();
    });
  }
});

describe("link.mtu at attach", () => {
  const link = (mtu: unknown) => ({ send() {}, onReceive() {}, close() {}, mtu }) as unknown as Link;

  it("throws for an MTU that is not an integer in 576..65535, naming link.mtu", async () => {
    const stack = await new VirtualNet().stack({ addresses: ["10.0.0.1/24"] });
    for (const mtu of [40, 575, 0, -1, NaN, 1500.5, 65536, Infinity]) {
      expect(() => stack.attach(link(mtu)), String(mtu)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE", message: expect.stringContaining("link.mtu") }));
    }
    for (const mtu of ["1500", null, {}]) {
      expect(() => stack.attach(link(mtu)), String(mtu)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining("link.mtu") }));
    }
    for (const mtu of [576, 1280, 65535, undefined]) expect(() => stack.attach(link(mtu))).not.toThrow();
    stack.close();
  });

  it("a link below 1280 carries IPv4 only: no IPv6 route may go to it, and IPv6 from it is counted and dropped", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
    expect(() => stack.attach(link(1000), { routes: ["::/0"] })).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringContaining("link.mtu") }));
    const [l, wire] = net.linkPair({ mtu: 1000 });
    stack.attach(l);
    const replies: Uint8Array[] = [];
    wire.onReceive((p) => replies.push(...p));
    wire.send([echoRequest(parseIpv4("10.0.0.2")!, parseIpv4("10.0.0.1")!), echoRequest(parseIpv6("fd00::2")!, parseIpv6("fd00::1")!)]);
    await net.runUntil(() => replies.length >= 1 && stack.stackCounters.linkDropped >= 1, "echo reply");
    expect(replies.map((r) => r[0]! >> 4)).toEqual([4]);
    expect(stack.counters()).toMatchObject({ icmpEchoReplies: 1, linkDropped: 1 });
    // An IPv6 connection has no link to go over: refused at once (src/core/validate.ts, EHOSTUNREACH).
    expect(() => stack.openConnection({ remote: "fd00::2", remotePort: 80 })).toThrow(expect.objectContaining({ code: "EHOSTUNREACH" }));
    stack.close();
    wire.close();
  });
});
