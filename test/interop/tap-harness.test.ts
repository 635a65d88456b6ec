// Self-test of the TAP harness (tap.ts), with nothing but the kernel and a UdpLink in Ethernet framing:
// the kernel's own frames (IPv6 DAD and router solicitation as the interface comes up, ARP before a
// ping) reach this process one frame per datagram, and frames built here (an ARP reply, echo replies)
// reach the kernel, which completes its ping. No stack is involved: this is the wire the stack's
// Ethernet interface will sit on.

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../../src/core/address.js";
import { createUdpLink, type UdpLink } from "../../src/net/udp-link.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDhcpServer } from "../../src/net/dhcp-server.js";
import { checksumRef, pseudoHeaderSumV4Ref, pseudoHeaderSumV6Ref } from "../fixtures/checksum-reference.js";
import { dhclient, udhcpc } from "../fixtures/interop/guest.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { createTapNetns, formatMac, kernelAddresses, linkLocalFromMac, parseMac, type TapNetns } from "../fixtures/interop/tap.js";

const probe = canRunNetns(["ping", "arping", "ndisc6", "udhcpc", "dhclient"]);
if (!probe.ok) console.warn(`interop TAP harness tests SKIPPED: ${probe.reason}`);

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
/** The MAC this test answers with, standing in for a stack's. */
const NETWORK_MAC = "02:00:00:77:00:02";
const NETWORK_V4 = "10.0.2.2";
const KERNEL_V4 = "10.0.2.15";
const NETWORK_V6 = "fd00:2::2";
const KERNEL_V6 = "fd00:2::f";

const ethertype = (f: Uint8Array) => (f[12] << 8) | f[13];
const ipv4Text = (b: Uint8Array) => formatIpv4(b.subarray(0, 4));
const ipv6Text = (b: Uint8Array) => formatIpv6(b.subarray(0, 16));
const ipv6Bytes = (text: string) => parseIpv6(text)!;

function frame(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** The ARP reply (RFC 826) to a request for `NETWORK_V4`, or null. */
function arpReply(f: Uint8Array): Uint8Array | null {
  if (ethertype(f) !== ETHERTYPE_ARP) return null;
  const a = f.subarray(14);
  if (a.length < 28 || ((a[6] << 8) | a[7]) !== 1 || ipv4Text(a.subarray(24, 28)) !== NETWORK_V4) return null;
  const r = new Uint8Array(28);
  r.set(a.subarray(0, 6), 0); // hardware and protocol types and sizes
  r[7] = 2; // reply
  r.set(parseMac(NETWORK_MAC), 8);
  r.set(a.subarray(24, 28), 14);
  r.set(a.subarray(8, 14), 18); // the requester's MAC and address
  r.set(a.subarray(14, 18), 24);
  return frame(a.subarray(8, 14), parseMac(NETWORK_MAC), ETHERTYPE_ARP, r);
}

/** The neighbour advertisement (RFC 4861 4.4) answering a solicitation for `NETWORK_V6`, or null. */
function neighbourAdvert(f: Uint8Array): Uint8Array | null {
  if (ethertype(f) !== ETHERTYPE_IPV6) return null;
  const ip = f.subarray(14);
  if (ip[6] !== 58 || ip[40] !== 135 || ipv6Text(ip.subarray(48, 64)) !== NETWORK_V6) return null;
  const p = new Uint8Array(40 + 32);
  p[0] = 0x60;
  p[5] = 32;
  p[6] = 58;
  p[7] = 255;
  p.set(ipv6Bytes(NETWORK_V6), 8);
  p.set(ip.subarray(8, 24), 24);
  p[40] = 136;
  p[44] = 0x60; // solicited, override
  p.set(ipv6Bytes(NETWORK_V6), 48);
  p[64] = 2; // target link-layer address option
  p[65] = 1;
  p.set(parseMac(NETWORK_MAC), 66);
  const sum = checksumRef(p.subarray(40), pseudoHeaderSumV6Ref(p.subarray(8, 24), p.subarray(24, 40), 58, 32));
  p[42] = sum >> 8;
  p[43] = sum & 0xff;
  return frame(f.subarray(6, 12), parseMac(NETWORK_MAC), ETHERTYPE_IPV6, p);
}

/** The echo reply (RFC 792, RFC 4443 4.2) in a frame back to the sender, or null. */
function echoReply(f: Uint8Array): Uint8Array | null {
  const type = ethertype(f);
  const r = f.slice(14);
  const swap = (at: number, len: number) => {
    const src = r.slice(at, at + len);
    r.copyWithin(at, at + len, at + 2 * len);
    r.set(src, at + len);
  };
  const put16 = (at: number, v: number) => {
    r[at] = v >> 8;
    r[at + 1] = v & 0xff;
  };
  if (type === ETHERTYPE_IPV4) {
    const ihl = (r[0] & 0x0f) * 4;
    if (r[9] !== 1 || r[ihl] !== 8) return null;
    swap(12, 4);
    put16(10, 0);
    put16(10, checksumRef(r.subarray(0, ihl)));
    r[ihl] = 0;
    put16(ihl + 2, 0);
    put16(ihl + 2, checksumRef(r.subarray(ihl)));
  } else if (type === ETHERTYPE_IPV6) {
    if (r[6] !== 58 || r[40] !== 128) return null;
    swap(8, 16);
    r[40] = 129;
    put16(42, 0);
    put16(42, checksumRef(r.subarray(40), pseudoHeaderSumV6Ref(r.subarray(8, 24), r.subarray(24, 40), 58, r.length - 40)));
  } else return null;
  return frame(f.subarray(6, 12), parseMac(NETWORK_MAC), type, r);
}

describe.skipIf(!probe.ok)("interop TAP harness: the kernel on an Ethernet link, frames only", () => {
  let t: TapNetns;
  let link: UdpLink;
  const frames: Uint8Array[] = [];
  const waiters: (() => void)[] = [];
  let answering = true;

  /** Resolves with the first frame received so far or later that `match` accepts; bounded. */
  async function frameWhere(what: string, match: (f: Uint8Array) => boolean, ms = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms (${frames.length} frames seen)`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  beforeAll(async () => {
    t = await createTapNetns({ v4: `${KERNEL_V4}/24`, v6: `${KERNEL_V6}/64` });
    link = await createUdpLink({ socket: t.socket!, peer: { host: t.relay.host, port: t.relay.port }, framing: "ethernet" });
    link.onReceive((batch) => {
      frames.push(...batch);
      for (const w of waiters.splice(0)) w();
      if (!answering) return;
      const replies = batch.map((f) => arpReply(f) ?? neighbourAdvert(f) ?? echoReply(f)).filter((r): r is Uint8Array => r !== null);
      if (replies.length) link.send(replies);
    });
    await t.up();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it("the interface is a TAP with the requested MAC and addresses, inside the namespace", async () => {
    const info = JSON.parse(await t.ns.run("ip", ["-j", "-d", "link", "show", t.tap]))[0];
    expect(info.link_type).toBe("ether");
    expect(info.address).toBe(t.kernelMac);
    expect(info.linkinfo?.info_kind).toBe("tun");
    expect(info.linkinfo?.info_data?.type).toBe("tap");
    expect(info.linkinfo?.info_data?.pi).toBe(false);
    const addrs = await t.ns.run("ip", ["-o", "addr", "show", "dev", t.tap]);
    expect(addrs).toContain(`inet ${KERNEL_V4}/24`);
    expect(addrs).toContain(`inet6 ${KERNEL_V6}/64`);
    expect(addrs).toContain(`inet6 ${linkLocalFromMac(t.kernelMac)}/64`);
    // Not visible outside the namespace.
    expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(`${t.tap}:`);
    expect(link.framing).toBe("ethernet");
  });

  it("delivers the kernel's DAD solicitation for its link-local address as one Ethernet frame", async () => {
    const target = ipv6Bytes(t.kernelLinkLocal);
    const ns = await frameWhere("DAD neighbour solicitation", (f) => {
      const ip = f.subarray(14);
      return ethertype(f) === ETHERTYPE_IPV6 && ip[6] === 58 && ip[40] === 135 && ipv6Text(ip.subarray(48, 64)) === ipv6Text(target);
    });
    // RFC 4862 5.4.2: from the unspecified address to the target's solicited-node group (RFC 4291
    // 2.7.1), whose MAC is 33:33 and the group's last 32 bits (RFC 2464 7).
    expect(formatMac(ns.subarray(6, 12))).toBe(t.kernelMac);
    expect(formatMac(ns.subarray(0, 6))).toBe(`33:33:ff:${formatMac(target.subarray(13)).slice(0, 8)}`);
    expect(ipv6Text(ns.subarray(14 + 8, 14 + 24))).toBe("::");
    const group = ipv6Bytes("ff02::1:ff00:0");
    group.set(target.subarray(13), 13);
    expect([...ns.subarray(14 + 24, 14 + 40)]).toEqual([...group]);
    expect(ns[14 + 7]).toBe(255); // hop limit
    // The frame is exactly the IPv6 packet plus 14 octets: no packet information, no FCS.
    expect(ns.length).toBe(14 + 40 + ((ns[14 + 4] << 8) | ns[14 + 5]));
  });

  it("delivers the kernel's router solicitation once its link-local address is usable", async () => {
    const rs = await frameWhere("router solicitation", (f) => ethertype(f) === ETHERTYPE_IPV6 && f[14 + 6] === 58 && f[14 + 40] === 133);
    expect(formatMac(rs.subarray(0, 6))).toBe("33:33:00:00:00:02");
    expect(ipv6Text(rs.subarray(14 + 24, 14 + 40))).toBe("ff02::2");
  });

  it("ARP before IPv4: the kernel's request arrives broadcast, our reply lets its ping through", async () => {
    const ping = await t.ns.exec("ping", ["-c2", "-i0.2", "-W3", NETWORK_V4]);
    expect(ping.stdout).toContain("2 received");
    const request = await frameWhere("ARP request", (f) => ethertype(f) === ETHERTYPE_ARP);
    expect(formatMac(request.subarray(0, 6))).toBe("ff:ff:ff:ff:ff:ff");
    const arp = request.subarray(14);
    // RFC 826: Ethernet (1), IPv4, sizes 6 and 4, request (1), sender = the kernel, target = us.
    expect([...arp.subarray(0, 8)]).toEqual([0, 1, 8, 0, 6, 4, 0, 1]);
    expect(formatMac(arp.subarray(8, 14))).toBe(t.kernelMac);
    expect(ipv4Text(arp.subarray(14, 18))).toBe(KERNEL_V4);
    expect(ipv4Text(arp.subarray(24, 28))).toBe(NETWORK_V4);
    // The echo requests came to our MAC once the kernel had it.
    const echo = frames.filter((f) => ethertype(f) === ETHERTYPE_IPV4 && f[14 + 9] === 1);
    expect(echo.length).toBeGreaterThanOrEqual(2);
    for (const f of echo) expect(formatMac(f.subarray(0, 6))).toBe(NETWORK_MAC);
    const neigh = await t.ns.run("ip", ["neigh", "show", NETWORK_V4, "dev", t.tap]);
    expect(neigh).toContain(`lladdr ${NETWORK_MAC}`);
  });

  it("arping and ndisc6 get their answers through the relay", async () => {
    const arping = await t.ns.exec("arping", ["-c", "2", "-w", "5", "-i", t.tap, NETWORK_V4], { timeoutMs: 10_000 });
    expect(arping.code).toBe(0);
    expect(arping.stdout.toLowerCase()).toContain(NETWORK_MAC);
    const ndisc = await t.ns.exec("ndisc6", ["-1", "-r", "3", NETWORK_V6, t.tap], { timeoutMs: 10_000 });
    expect(ndisc.code).toBe(0);
    expect(ndisc.stdout.toUpperCase()).toContain(NETWORK_MAC.toUpperCase());
    const ping6 = await t.ns.exec("ping", ["-6", "-c1", "-W3", NETWORK_V6]);
    expect(ping6.stdout).toContain("1 received");
  });

  it("with nobody answering, the ping fails: the replies above came from this process", async () => {
    answering = false;
    try {
      await t.ns.run("ip", ["neigh", "flush", "dev", t.tap]);
      const ping = await t.ns.exec("ping", ["-c1", "-W1", NETWORK_V4]);
      expect(ping.code).not.toBe(0);
    } finally {
      answering = true;
    }
  });

  it("counts nothing foreign and nothing too big", () => {
    expect(link.stats.received).toBe(frames.length);
    expect(link.stats.foreign).toBe(0);
    expect(link.stats.tooBig).toBe(0);
  });
});

/** A UDP datagram (RFC 768) from `src`:`srcPort` in an IPv4 packet (RFC 791), checksums filled in. */
function udp4(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + 8 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 17;
  p.set(parseIpv4(src)!, 12);
  p.set(parseIpv4(dst)!, 16);
  dv.setUint16(10, checksumRef(p.subarray(0, 20)));
  dv.setUint16(20, srcPort);
  dv.setUint16(22, dstPort);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  dv.setUint16(26, checksumRef(p.subarray(20), pseudoHeaderSumV4Ref(p.subarray(12, 16), p.subarray(16, 20), 17, 8 + payload.length)) || 0xffff);
  return p;
}

// The kernel's DHCP clients against tcpwasm's sans-I/O DHCP server (src/net/dhcp-server.ts), with the
// Ethernet, IPv4 and UDP around it done here: the clients' scripts (guest.ts) and the relay are checked
// before a stack speaks any of it.
describe.skipIf(!probe.ok)("interop TAP harness: the kernel's DHCP clients, frames only", () => {
  let t: TapNetns;
  let dir: string;
  const server = createDhcpServer({ serverAddress: NETWORK_V4, pool: "10.0.2.15-10.0.2.20", subnet: "10.0.2.0/24", dnsServers: [NETWORK_V4], domainName: "harness.test", leaseTimeSeconds: 900 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tcpwi-tap-dhcp-"));
    t = await createTapNetns();
    const link = await createUdpLink({ socket: t.socket!, peer: { host: t.relay.host, port: t.relay.port }, framing: "ethernet" });
    link.onReceive((batch) => {
      for (const f of batch) {
        const ip = f.subarray(14);
        // IPv4, UDP, to port 67: a client's message (RFC 2131 4.1).
        if (ethertype(f) !== ETHERTYPE_IPV4 || ip[9] !== 17) continue;
        const ihl = (ip[0] & 0x0f) * 4;
        if (((ip[ihl + 2] << 8) | ip[ihl + 3]) !== 67) continue;
        const reply = server.handle(ip.slice(ihl + 8, (ip[2] << 8) | ip[3]), Date.now());
        if (!reply) continue;
        const packet = udp4(NETWORK_V4, reply.destinationIp, 67, reply.destinationPort, reply.bytes);
        link.send([frame(reply.destinationMac ?? f.subarray(6, 12), parseMac(NETWORK_MAC), ETHERTYPE_IPV4, packet)]);
      }
    });
    await t.up();
  });
  afterAll(async () => {
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("udhcpc takes a lease and its script configures the address and the default route", async () => {
    const lease = await udhcpc(t.ns, t.tap, dir);
    expect(lease).toEqual({
      ip: "10.0.2.15", mask: "24", router: NETWORK_V4, dns: NETWORK_V4, domain: "harness.test", lease: "900", mtu: "", serverid: NETWORK_V4, broadcast: "10.0.2.255",
    });
    expect((await kernelAddresses(t.ns, t.tap)).v4).toEqual(["10.0.2.15"]);
    expect(await t.ns.run("ip", ["route", "show", "default"])).toContain(`default via ${NETWORK_V4} dev ${t.tap}`);
  });

  it("dhclient, the same MAC, gets the same address back", async () => {
    const lease = await dhclient(t.ns, t.tap, dir);
    expect(lease).toMatchObject({ ip: "10.0.2.15", mask: "255.255.255.0", router: NETWORK_V4, dns: NETWORK_V4, domain: "harness.test", serverid: NETWORK_V4 });
    expect((await kernelAddresses(t.ns, t.tap)).v4).toEqual(["10.0.2.15"]);
    expect(server.counters).toMatchObject({ offers: 2, acks: 2, naks: 0 });
  });
});
