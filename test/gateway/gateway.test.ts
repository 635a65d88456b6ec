// createGateway / createNodeGateway: a guest gets a whole network from one object. The guest first
// plays a DHCP client by hand on its end of an Ethernet memory link (test/fixtures/dhcp-client.ts),
// then becomes a stack with the address, router, DNS server and MTU it was given, resolves a name
// through the gateway's DNS and reaches a node:net server on the host's loopback through the splice.
// ICMP echo policy and refusals are checked on the virtual clock with frames written by hand.
import { afterEach, describe, expect, it } from "vitest";
import { createStack, type Stack } from "../../src/tcp/stack.js";
import type { MemoryLink } from "../../src/net/memory-link.js";
import { createGateway, type Gateway } from "../../src/gateway/gateway.js";
import { createNodeGateway } from "../../src/gateway/node-gateway.js";
import { bindWeb } from "../../src/faces/web.js";
import { resolveHost } from "../../src/services/resolve-host.js";
import { dhcpClientMessage, DISCOVER, REQUEST, CLIENT_MAC } from "../fixtures/dhcp-client.js";
import { BROADCAST_MAC, readUdpFrame, udpFrame } from "../fixtures/ethernet-udp.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { collect, echoRequest } from "../fixtures/stack-util.js";
import { loopbackServer } from "../fixtures/gateway.js";

const CLIENT = CLIENT_MAC.map((b) => b.toString(16).padStart(2, "0")).join(":");
const GATEWAY_MAC = "02:00:00:00:00:02";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

/** A DHCP reply's yiaddr and options by code (RFC 2132: code, length, value). */
function dhcpReply(payload: Uint8Array): { yiaddr: string; options: Map<number, Uint8Array> } {
  const options = new Map<number, Uint8Array>();
  for (let i = 240; i < payload.length && payload[i] !== 255;) {
    const code = payload[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    const len = payload[i + 1]!;
    options.set(code, payload.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return { yiaddr: Array.from(payload.subarray(16, 20)).join("."), options };
}

const ip = (b: Uint8Array) => Array.from(b.subarray(0, 4)).join(".");

/** DISCOVER, OFFER, REQUEST, ACK by hand from the guest's end; returns the ACK. */
async function dhcp(guest: MemoryLink, wait: (done: () => boolean) => Promise<void>): Promise<ReturnType<typeof dhcpReply>> {
  const got: ReturnType<typeof dhcpReply>[] = [];
  guest.onReceive((frames) => {
    for (const f of frames) {
      const u = readUdpFrame(f);
      if (u && u.dstPort === 68) got.push(dhcpReply(u.payload));
    }
  });
  const send = (payload: Uint8Array) =>
    guest.send([udpFrame({ dstMac: BROADCAST_MAC, srcMac: CLIENT, src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload })]);
  send(dhcpClientMessage({ type: DISCOVER, xid: 7 }));
  await wait(() => got.length === 1);
  const offer = got[0]!;
  expect(offer.options.get(53)?.[0]).toBe(2);
  send(dhcpClientMessage({ type: REQUEST, xid: 7, requestedIp: offer.yiaddr, serverId: ip(offer.options.get(54)!) }));
  await wait(() => got.length === 2);
  expect(got[1]!.options.get(53)?.[0]).toBe(5);
  return got[1]!;
}

function realWait(done: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => (done() ? resolve() : Date.now() - start > ms ? reject(new Error("timed out")) : setTimeout(tick, 2));
    tick();
  });
}

describe("createNodeGateway: a whole network for a guest", () => {
  it("DHCP (router, DNS, MTU 9000 as option 26), a name through the gateway's DNS, a node:net server through the splice with MSS 8960", async () => {
    const net = new VirtualNet("real");
    const [guestEnd, gatewayEnd] = net.linkPair({ framing: "ethernet", mtu: 9000 });
    const server = await loopbackServer((s) => s.end("hello from the host"));
    const gw = await createNodeGateway({
      link: gatewayEnd,
      mac: GATEWAY_MAC,
      hostLoopback: { v4: "127.0.0.1" },
      dns: { names: { "host.test": "10.0.2.2" } },
    });
    let guest: Stack | undefined;
    cleanup.push(() => {
      guest?.close();
      gw.close();
      void server.close();
    });
    const ack = await dhcp(guestEnd, realWait);
    expect(ack.yiaddr).toMatch(/^10\.0\.2\.\d+$/);
    expect(ip(ack.options.get(3)!)).toBe("10.0.2.2");
    expect(ip(ack.options.get(6)!)).toBe("10.0.2.2");
    const mtu = ack.options.get(26)!;
    expect((mtu[0]! << 8) | mtu[1]!).toBe(9000);

    guest = await createStack({ addresses: [`${ack.yiaddr}/24`], dns: { servers: [ip(ack.options.get(6)!)] } });
    guest.attach(guestEnd, { mac: CLIENT, gateway: ip(ack.options.get(3)!) });
    expect(await resolveHost(guest, "host.test", 4)).toEqual(["10.0.2.2"]);
    const conn = guest.openConnection({ remote: "10.0.2.2", remotePort: server.port });
    const got = collect(conn);
    await got.ended;
    expect(new TextDecoder().decode(Buffer.concat(got.chunks))).toBe("hello from the host");
    // MSS 8960 from the 9000-byte MTU, less 12 bytes of timestamps in every segment.
    expect(conn.status().sendMss).toBe(9000 - 40 - 12);
    expect(gw.forwarder.counters.spliced).toBe(1);
  }, 30_000);

  it("DNS over UDP to any address is answered from that address (a guest configured with another resolver)", async () => {
    const net = new VirtualNet("real");
    const [guestEnd, gatewayEnd] = net.linkPair({ framing: "ethernet" });
    const gw = await createNodeGateway({ link: gatewayEnd, dns: { names: { "far.test": "198.51.100.7" } } });
    const guest = await createStack({ addresses: ["10.0.2.15/24"], dns: { servers: ["192.0.2.53"] } });
    cleanup.push(() => {
      guest.close();
      gw.close();
    });
    guest.attach(guestEnd, { gateway: "10.0.2.2" });
    expect(await resolveHost(guest, "far.test", 4)).toEqual(["198.51.100.7"]);
    expect(gw.dns!.counters.udpQueries).toBeGreaterThan(0);
  }, 30_000);
});

/** An ARP request (RFC 826) from the guest for `target`: the gateway learns the guest's MAC from it. */
function arpRequest(senderIp: string, target: string): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(CLIENT_MAC, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  f.set(CLIENT_MAC, 22);
  f.set(senderIp.split(".").map(Number), 28);
  f.set(target.split(".").map(Number), 38);
  return f;
}

function ethernet(dstMac: string, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dstMac.split(":").map((h) => parseInt(h, 16)), 0);
  f.set(CLIENT_MAC, 6);
  f[12] = 0x08;
  f.set(payload, 14);
  return f;
}

async function virtualGateway(options: { echo?: boolean; connect?: () => "admin" | "port" | "host" | "reset" } = {}): Promise<{ net: VirtualNet; gw: Gateway; guest: MemoryLink; frames: Uint8Array[] }> {
  const net = new VirtualNet();
  const [guest, gatewayEnd] = net.linkPair({ framing: "ethernet" });
  const gw = await createGateway({
    link: gatewayEnd,
    mac: GATEWAY_MAC,
    dhcp: false,
    dns: false,
    echo: options.echo,
    connect: options.connect ?? (() => "reset"),
    stack: { now: net.clock.read, timers: net.clock },
  });
  cleanup.push(() => {
    gw.close();
    net.close();
  });
  // Every frame the gateway sends, whoever reads the guest's end.
  const frames: Uint8Array[] = [];
  const send = gatewayEnd.send.bind(gatewayEnd);
  gatewayEnd.send = (batch: Uint8Array[]) => {
    for (const f of batch) frames.push(f.slice());
    send(batch);
  };
  guest.onReceive(() => {});
  guest.send([arpRequest("10.0.2.15", "10.0.2.2")]);
  await net.advance(10);
  return { net, gw, guest, frames };
}

const v4 = (s: string) => Uint8Array.from(s.split("."), Number);
const icmpFrames = (frames: Uint8Array[]) => frames.filter((f) => f[12] === 0x08 && f[13] === 0 && f[14 + 9] === 1);

describe("createGateway: ICMP", () => {
  it("an echo request to any address is answered from that address", async () => {
    const { net, guest, frames } = await virtualGateway();
    guest.send([ethernet(GATEWAY_MAC, echoRequest(v4("10.0.2.15"), v4("203.0.113.9")))]);
    await net.advance(10);
    const replies = icmpFrames(frames).filter((f) => f[34] === 0);
    expect(replies.length).toBe(1);
    expect(ip(replies[0]!.subarray(26))).toBe("203.0.113.9");
    expect(ip(replies[0]!.subarray(30))).toBe("10.0.2.15");
  });

  it("with echo: false, echo requests to other addresses go unanswered and the gateway's own still answer", async () => {
    const { net, gw, guest, frames } = await virtualGateway({ echo: false });
    guest.send([ethernet(GATEWAY_MAC, echoRequest(v4("10.0.2.15"), v4("203.0.113.9")))]);
    await net.advance(10);
    expect(icmpFrames(frames)).toEqual([]);
    guest.send([ethernet(GATEWAY_MAC, echoRequest(v4("10.0.2.15"), v4("10.0.2.2")))]);
    await net.advance(10);
    expect(icmpFrames(frames).length).toBe(1);
    expect(gw.stack.counters().icmpEchoReplies).toBe(1);
  });

  for (const [how, code] of [["admin", 13], ["host", 1], ["port", 3]] as const) {
    it(`a connection refused as "${how}": ICMP destination unreachable code ${code} quoting the guest's SYN, no SYN,ACK`, async () => {
      const { net, guest, frames } = await virtualGateway({ connect: () => how });
      // The guest: a stack on the link's other end.
      const stack = await net.stack({ addresses: ["10.0.2.15/24"] });
      stack.attach(guest, { mac: CLIENT, gateway: "10.0.2.2" });
      const own = frames.length;
      const conn = stack.openConnection({ remote: "198.51.100.7", remotePort: 25 });
      await net.advance(50);
      const errors = icmpFrames(frames.slice(own)).filter((f) => f[34] === 3);
      expect(errors.length).toBe(1);
      const e = errors[0]!;
      expect(e[35]).toBe(code);
      expect(ip(e.subarray(26))).toBe("198.51.100.7");
      // The quoted IP header and TCP ports: the guest's SYN.
      const quoted = e.subarray(42);
      expect(ip(quoted.subarray(12))).toBe("10.0.2.15");
      expect(ip(quoted.subarray(16))).toBe("198.51.100.7");
      expect((quoted[20]! << 8) | quoted[21]!).toBe(conn.localPort);
      expect((quoted[22]! << 8) | quoted[23]!).toBe(25);
      expect(frames.slice(own).some((f) => f[12] === 0x08 && f[14 + 9] === 6 && (f[14 + 20 + 13]! & 0x12) === 0x12)).toBe(false);
      conn.abort();
    });
  }
  // RFC 1122 4.2.3.9: the guest's stack acts on the error in SYN-SENT instead of retrying its SYN
  // (first retry after 1 s) until it gives up.
  for (const [how, code] of [["port", "ECONNREFUSED"], ["host", "EHOSTUNREACH"], ["admin", "EHOSTUNREACH"]] as const) {
    it(`a guest's Web-face connect refused as "${how}" rejects with ${code} within the round trip`, async () => {
      const { net, guest } = await virtualGateway({ connect: () => how });
      const stack = await net.stack({ addresses: ["10.0.2.15/24"] });
      stack.attach(guest, { mac: CLIENT, gateway: "10.0.2.2" });
      const socket = bindWeb(stack).connect({ hostname: "198.51.100.7", port: 25 });
      let outcome: string | undefined;
      socket.opened.then(() => (outcome = "open"), (e: { code?: string }) => (outcome = e.code));
      await net.advance(50);
      expect(outcome).toBe(code);
      expect(stack.counters().icmpUnreachable).toBe(1);
    });
  }
});
