// DHCP bound to a stack: serveDhcp (src/services/serve-dhcp.ts) on a stack's Ethernet link, and a
// scripted client on the other end of the memory link writing Ethernet frames by hand
// (test/fixtures/ethernet-udp.ts) with scapy's messages (test/fixtures/dhcp-frames.ts) and the
// fixture's own (test/fixtures/dhcp-client.ts). Checked: where each reply goes (RFC 2131 4.1:
// broadcast, or unicast to yiaddr at chaddr without ARP), its bytes, the exchanges of RFC 2131 4.3
// (DISCOVER/OFFER/REQUEST/ACK, RELEASE, NAK) and a lease's expiry, on a virtual clock.
import { afterEach, describe, expect, it } from "vitest";
import type { Stack } from "../../src/tcp/stack.js";
import type { MemoryLink } from "../../src/net/memory-link.js";
import { serveDhcp, type DhcpService, type ServeDhcpOptions } from "../../src/services/serve-dhcp.js";
import { DHCP_FRAMES } from "../fixtures/dhcp-frames.js";
import { dhcpClientMessage, DISCOVER, RELEASE, REQUEST } from "../fixtures/dhcp-client.js";
import { BROADCAST_MAC, readUdpFrame, udpFrame, type UdpFrame } from "../fixtures/ethernet-udp.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { Prng } from "../../src/core/prng.js";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const STACK_MAC = "02:00:00:00:00:01";
const CLIENT = "52:54:00:12:34:56";
const OTHER = "52:54:00:ab:cd:ef";
const SERVER = "10.0.2.2";
/** The configuration test/fixtures/dhcp-frames.py builds its expected replies for. */
const CONFIG = { serverAddress: SERVER, pool: "10.0.2.15-10.0.2.99", subnet: "10.0.2.0/24", dnsServers: ["10.0.2.3"], domainName: "example.test", mtu: 1500 };

interface Env {
  net: VirtualNet;
  stack: Stack;
  /** The guest's end of the Ethernet link. */
  guest: MemoryLink;
  dhcp: DhcpService;
  /** Every frame the stack sent the guest. */
  frames: Uint8Array[];
}

let current: VirtualNet | undefined;
afterEach(() => {
  current?.close();
  current = undefined;
});

async function env(options: Partial<ServeDhcpOptions> = {}): Promise<Env> {
  const net = new VirtualNet();
  current = net;
  const [guest, own] = net.linkPair({ framing: "ethernet" });
  const stack = await net.stack({ addresses: [`${SERVER}/24`], name: "gateway" });
  stack.attach(own, { mac: STACK_MAC });
  const frames: Uint8Array[] = [];
  guest.onReceive((batch) => frames.push(...batch));
  const dhcp = serveDhcp(stack, { ...CONFIG, ...options, link: own });
  await net.advance(0);
  return { net, stack, guest, dhcp, frames };
}

/** Sends one DHCP message from the guest (a client without an address: 0.0.0.0 to 255.255.255.255 unless said). */
function send(e: Env, payload: Uint8Array, over: Partial<UdpFrame> = {}): void {
  e.guest.send([udpFrame({ dstMac: BROADCAST_MAC, srcMac: CLIENT, src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload, ...over })]);
}

/** The DHCP replies (UDP to port 68) the guest received since `from`, after the net ran `ms`. */
async function replies(e: Env, from: number, ms = 10): Promise<UdpFrame[]> {
  await e.net.advance(ms);
  return e.frames.slice(from).map(readUdpFrame).filter((f): f is UdpFrame => f !== null && f.dstPort === 68);
}

/** ARP requests the stack sent for `target` (RFC 826: EtherType 0x0806, operation 1, target protocol address at 24). */
function arpRequestsFor(e: Env, target: string): number {
  const t = target.split(".").map(Number);
  return e.frames.filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[14 + 7] === 1 && t.every((b, i) => f[14 + 24 + i] === b)).length;
}

const yiaddr = (f: UdpFrame) => Array.from(f.payload.subarray(16, 20)).join(".");
const messageType = (f: UdpFrame) => {
  for (let at = 240; at < f.payload.length; at += 2 + f.payload[at + 1]!) if (f.payload[at] === 53) return f.payload[at + 2];
  return undefined;
};

describe("serveDhcp on a stack's Ethernet link", () => {
  it("DISCOVER -> OFFER and REQUEST -> ACK unicast to yiaddr at the client's MAC, with no ARP for it (RFC 2131 4.1), byte for byte scapy's", async () => {
    const e = await env();
    let at = e.frames.length;
    send(e, hex(DHCP_FRAMES.discover));
    const [offer, ...more] = await replies(e, at);
    expect(more).toEqual([]);
    expect({ ...offer, payload: undefined }).toEqual({ dstMac: CLIENT, srcMac: STACK_MAC, src: SERVER, dst: "10.0.2.15", srcPort: 67, dstPort: 68, payload: undefined });
    expect(Buffer.from(offer!.payload).toString("hex")).toBe(DHCP_FRAMES.offer);
    at = e.frames.length;
    send(e, hex(DHCP_FRAMES.request));
    const [ack] = await replies(e, at);
    expect([ack!.dstMac, ack!.dst]).toEqual([CLIENT, "10.0.2.15"]);
    expect(Buffer.from(ack!.payload).toString("hex")).toBe(DHCP_FRAMES.ack);
    expect(arpRequestsFor(e, "10.0.2.15")).toBe(0);
    expect(e.dhcp.leases()).toMatchObject([{ address: "10.0.2.15", state: "leased" }]);
    expect(e.dhcp.counters).toMatchObject({ received: 2, offers: 1, acks: 1, unsent: 0 });
  });

  it("a client that sets the broadcast bit gets its OFFER at ff:ff:ff:ff:ff:ff / 255.255.255.255", async () => {
    const e = await env();
    const at = e.frames.length;
    send(e, hex(DHCP_FRAMES.discoverBroadcast));
    const [offer] = await replies(e, at);
    expect([offer!.dstMac, offer!.dst, offer!.src, yiaddr(offer!)]).toEqual([BROADCAST_MAC, "255.255.255.255", SERVER, "10.0.2.15"]);
  });

  it("a REQUEST for an address that is not the client's is NAKed, broadcast", async () => {
    const e = await env();
    const at = e.frames.length;
    // INIT-REBOOT (RFC 2131 4.3.2): no server identifier, an address outside the subnet.
    send(e, dhcpClientMessage({ type: REQUEST, requestedIp: "192.168.9.9" }));
    const [nak] = await replies(e, at);
    expect(messageType(nak!)).toBe(6);
    expect([nak!.dstMac, nak!.dst]).toEqual([BROADCAST_MAC, "255.255.255.255"]);
    expect(e.dhcp.counters.naks).toBe(1);
  });

  it("RELEASE, sent to the server from the leased address, frees the lease and draws no reply", async () => {
    const e = await env();
    send(e, hex(DHCP_FRAMES.discover));
    send(e, hex(DHCP_FRAMES.request));
    await e.net.advance(10);
    expect(e.dhcp.leases()).toHaveLength(1);
    const at = e.frames.length;
    send(e, dhcpClientMessage({ type: RELEASE, ciaddr: "10.0.2.15", serverId: SERVER }), { src: "10.0.2.15", dst: SERVER, dstMac: STACK_MAC });
    expect(await replies(e, at)).toEqual([]);
    expect(e.dhcp.leases()).toEqual([]);
    expect(e.dhcp.counters.releases).toBe(1);
  });

  it("a lease not renewed expires, and its address goes to the next client", async () => {
    const e = await env({ pool: "10.0.2.15-10.0.2.15", leaseTimeSeconds: 60 });
    send(e, hex(DHCP_FRAMES.discover));
    send(e, hex(DHCP_FRAMES.request));
    await e.net.advance(10);
    let at = e.frames.length;
    const other = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
    send(e, dhcpClientMessage({ type: DISCOVER, mac: other, xid: 7 }), { srcMac: OTHER });
    expect(await replies(e, at)).toEqual([]);
    expect(e.dhcp.counters.poolExhausted).toBe(1);
    await e.net.advance(60_000);
    at = e.frames.length;
    send(e, dhcpClientMessage({ type: DISCOVER, mac: other, xid: 8 }), { srcMac: OTHER });
    const [offer] = await replies(e, at);
    expect([offer!.dstMac, yiaddr(offer!)]).toEqual([OTHER, "10.0.2.15"]);
  });

  it("a malformed request is counted by reason and draws nothing", async () => {
    const e = await env();
    const at = e.frames.length;
    send(e, hex(DHCP_FRAMES.discover).subarray(0, 100));
    expect(await replies(e, at)).toEqual([]);
    expect(e.dhcp.counters.malformed.truncated).toBe(1);
  });

  it("a flood of DISCOVERs from 5,000 random MACs only recycles offers; a real client is still served", async () => {
    const e = await env();
    const prng = new Prng(11);
    for (let batch = 0; batch < 50; batch++) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 100; i++) {
        const mac = [0x02, prng.nextInt(256), prng.nextInt(256), prng.nextInt(256), prng.nextInt(256), prng.nextInt(256)];
        const srcMac = mac.map((b) => b.toString(16).padStart(2, "0")).join(":");
        frames.push(udpFrame({ dstMac: BROADCAST_MAC, srcMac, src: "0.0.0.0", dst: "255.255.255.255", srcPort: 68, dstPort: 67, payload: dhcpClientMessage({ type: DISCOVER, mac, xid: batch * 100 + i }) }));
      }
      e.guest.send(frames);
      await e.net.advance(1);
    }
    const c = e.dhcp.counters;
    expect(c.received).toBe(5000);
    expect(c.offers).toBe(5000);
    expect(c.offersEvicted).toBe(5000 - 85);
    expect(e.dhcp.leases()).toHaveLength(85);
    e.frames.length = 0;
    send(e, hex(DHCP_FRAMES.discover));
    const [offer] = await replies(e, 0);
    send(e, dhcpClientMessage({ type: REQUEST, xid: 0x3903f326, serverId: SERVER, requestedIp: yiaddr(offer!) }));
    const [ack] = await replies(e, 1);
    expect([offer!.dstMac, messageType(ack!), ack!.dstMac, yiaddr(ack!)]).toEqual([CLIENT, 5, CLIENT, yiaddr(offer!)]);
  });

  it("close() frees port 67: requests after it draw nothing", async () => {
    const e = await env();
    e.dhcp.close();
    const at = e.frames.length;
    send(e, hex(DHCP_FRAMES.discover));
    expect(await replies(e, at)).toEqual([]);
    expect(e.dhcp.counters.received).toBe(0);
  });
});
