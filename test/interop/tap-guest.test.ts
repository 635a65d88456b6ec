// The Linux kernel as a guest behind a TAP device, with tcpwasm as its whole network (tap-scene.ts): it
// takes its IPv4 address from tcpwasm's DHCP server (busybox udhcpc, then ISC dhclient) and its IPv6
// address from tcpwasm's router advertisements, finds tcpwasm's MAC with ARP (arping) and neighbour
// discovery (ndisc6), pings it over both families, resolves names through tcpwasm's DNS (dig, getent),
// and fetches 16 MiB over HTTP by name with curl from node:http running on tcpwasm's node:net face, over
// IPv4 and IPv6, clean and with 5% of the packets lost each way. The capture of the Ethernet link opens
// in tshark as LINKTYPE_ETHERNET without a malformed frame. Last, the `tcpwasm` command itself: serve
// --tap --dhcp --dns as the guest's whole network, and connect --tap dialling a server on the guest.

import { createHash, randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import http from "node:http";
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindNet } from "../../src/node.js";
import { lookupThroughNode } from "../../src/tools/cli-network.js";
import { bundleCli } from "../fixtures/interop/cli.js";
import { dhclient, inGuest, udhcpc, type Lease } from "../fixtures/interop/guest.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { captureFields, captureHealth } from "../fixtures/interop/peers.js";
import { within } from "../fixtures/interop/scene.js";
import { createTapNetns, kernelAddresses, linkLocalFromMac, type TapNetns } from "../fixtures/interop/tap.js";
import {
  createTapScene, DOMAIN, GATEWAY_MAC, GATEWAY_NAME, GATEWAY_V4, GATEWAY_V6, LEASE_SECONDS, type TapScene,
} from "../fixtures/interop/tap-scene.js";

const probe = canRunNetns(["udhcpc", "dhclient", "arping", "ndisc6", "rdisc6", "ping", "dig", "getent", "curl", "sha256sum", "tshark", "nft"]);
if (!probe.ok) console.warn(`interop TAP guest tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
const LOSS_PERCENT = 5;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** An IPv4 address as a number, to compare with a range. */
const u32 = (text: string) => text.split(".").reduce((n, part) => n * 256 + Number(part), 0);

/** getent ahosts's first line for a name: "ADDRESS   STREAM NAME". */
const streamLine = (address: string, name: string) => new RegExp(`^${address.replace(/[.]/g, "\\.")}\\s+STREAM ${name.replace(/[.]/g, "\\.")}$`, "m");

/** Polls `probe` until it returns something truthy; bounded. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | null | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The address SLAAC forms on the kernel's TAP from fd00:2::/64 (RFC 4862 5.5.3, EUI-64 identifier). */
const slaacAddress = (t: TapNetns) => `fd00:2::${linkLocalFromMac(t.kernelMac).slice("fe80::".length)}`;

describe.skipIf(!probe.ok)("the Linux kernel as a guest behind a TAP, tcpwasm as its network", () => {
  let s: TapScene;
  let lease: Lease;
  let guestV6: string;
  const body = randomBytes(16 * MIB);
  let site: http.Server;
  let server: ReturnType<ReturnType<typeof bindNet>["createServer"]>;

  beforeAll(async () => {
    // Names under .invalid (RFC 6761 6.4) never exist: answered here, so the NXDOMAIN check does not
    // depend on this machine reaching a DNS server. Every other name goes through Node's lookup.
    s = await createTapScene({ pcapName: "guest.pcap", lookup: async (name, type) => (name.endsWith(".invalid") ? null : lookupThroughNode(name, type)) });
    site = http.createServer((req, res) => {
      if (req.url === "/blob") {
        res.setHeader("content-length", body.length);
        res.end(body);
      } else res.end(`hello ${req.socket.remoteAddress}\n`);
    });
    server = bindNet(s.stack).createServer((socket) => site.emit("connection", socket));
    await new Promise<void>((resolve) => server.listen(80, resolve));
  });
  afterAll(async () => {
    if (server) await new Promise<void>((resolve) => {
      server.close(() => resolve());
      site.closeAllConnections();
    });
    await s?.destroy();
  });

  /** A command run as the DHCP-configured guest: its resolv.conf names the DNS server of its lease. */
  const guest = (command: string, args: string[], timeoutMs = 30_000) => inGuest(s.t.ns, s.dir, lease.dns, command, args, { timeoutMs });

  it("udhcpc gets an address, router, DNS server, domain and lease time from tcpwasm's DHCP server", async () => {
    lease = await udhcpc(s.t.ns, s.t.tap, s.dir);
    expect(u32(lease.ip)).toBeGreaterThanOrEqual(u32("10.0.2.15"));
    expect(u32(lease.ip)).toBeLessThanOrEqual(u32("10.0.2.100"));
    expect(lease).toMatchObject({
      mask: "24", router: GATEWAY_V4, dns: GATEWAY_V4, domain: DOMAIN, lease: String(LEASE_SECONDS), serverid: GATEWAY_V4, broadcast: "10.0.2.255",
    });
    expect((await kernelAddresses(s.t.ns, s.t.tap)).v4).toEqual([lease.ip]);
    expect(await s.t.ns.run("ip", ["route", "show", "default"])).toContain(`default via ${GATEWAY_V4} dev ${s.t.tap}`);
  });

  it("dhclient, the same machine asking again, is given the same address (RFC 2131 4.3.1)", async () => {
    const again = await dhclient(s.t.ns, s.t.tap, s.dir);
    expect(again).toMatchObject({ ip: lease.ip, mask: "255.255.255.0", router: GATEWAY_V4, dns: GATEWAY_V4, serverid: GATEWAY_V4, domain: DOMAIN });
    expect(Number(again.lease)).toBeGreaterThan(0);
    expect(Number(again.lease)).toBeLessThanOrEqual(LEASE_SECONDS);
  });

  it("the kernel configures an IPv6 address from tcpwasm's router advertisement and routes through it", async () => {
    // The kernel's own router solicitations (tap.ts turns them on) draw the advertisement.
    guestV6 = await until("a SLAAC address", 15_000, async () => (await kernelAddresses(s.t.ns, s.t.tap)).v6.find((a) => a === slaacAddress(s.t)));
    // rdisc6 solicits again and prints the advertisement.
    const ra = await s.t.ns.exec("rdisc6", ["-1", "-r", "3", s.t.tap], { timeoutMs: 15_000 });
    expect({ code: ra.code, stderr: ra.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ra.stdout).toMatch(/Prefix\s*:\s*fd00:2::\/64/);
    expect(ra.stdout).toMatch(/Autonomous address conf\.\s*:\s*Yes/);
    expect(ra.stdout.toLowerCase()).toContain(`source link-layer address: ${GATEWAY_MAC}`);
    const route = await s.t.ns.run("ip", ["-6", "route", "show", "default"]);
    expect(route).toMatch(new RegExp(`default via fe80::\\S+ dev ${s.t.tap} proto ra`));
  });

  it("arping and ndisc6 find tcpwasm's MAC; ping and ping -6 reach it, also at its link-local address", async () => {
    const arping = await s.t.ns.exec("arping", ["-c", "2", "-w", "5", "-i", s.t.tap, GATEWAY_V4], { timeoutMs: 10_000 });
    expect(arping.code).toBe(0);
    expect(arping.stdout.toLowerCase()).toContain(`from ${GATEWAY_MAC} (${GATEWAY_V4})`);
    const ndisc = await s.t.ns.exec("ndisc6", ["-1", "-r", "3", GATEWAY_V6, s.t.tap], { timeoutMs: 10_000 });
    expect(ndisc.code).toBe(0);
    expect(ndisc.stdout.toLowerCase()).toContain(`target link-layer address: ${GATEWAY_MAC}`);
    expect(await s.t.ns.run("ping", ["-c", "3", "-i", "0.2", "-W", "3", GATEWAY_V4])).toContain("3 received");
    expect(await s.t.ns.run("ping", ["-6", "-c", "3", "-i", "0.2", "-W", "3", GATEWAY_V6])).toContain("3 received");
    const router = /default via (fe80::\S+)/.exec(await s.t.ns.run("ip", ["-6", "route", "show", "default"]))![1];
    expect(await s.t.ns.run("ping", ["-6", "-c", "1", "-W", "3", `${router}%${s.t.tap}`])).toContain("1 received");
    // What the kernel learnt: tcpwasm's MAC for both of its addresses.
    expect(await s.t.ns.run("ip", ["neigh", "show", GATEWAY_V4, "dev", s.t.tap])).toContain(`lladdr ${GATEWAY_MAC}`);
    expect(await s.t.ns.run("ip", ["-6", "neigh", "show", GATEWAY_V6, "dev", s.t.tap])).toContain(`lladdr ${GATEWAY_MAC}`);
  });

  it("dig and getent resolve names through tcpwasm's DNS: its own names, PTR, NXDOMAIN, over TCP, and names it looks up", async () => {
    const dig = async (args: string[]) => (await s.t.ns.run("dig", ["+time=2", "+tries=2", ...args])).trim();
    expect(await dig([`@${GATEWAY_V4}`, "+short", GATEWAY_NAME, "A"])).toBe(GATEWAY_V4);
    expect(await dig([`@${GATEWAY_V6}`, "+short", GATEWAY_NAME, "AAAA"])).toBe(GATEWAY_V6);
    expect(await dig([`@${GATEWAY_V4}`, "+short", "-x", GATEWAY_V4])).toBe(`${GATEWAY_NAME}.`);
    expect(await dig([`@${GATEWAY_V4}`, "+short", "-x", GATEWAY_V6])).toBe(`${GATEWAY_NAME}.`);
    expect(await dig([`@${GATEWAY_V4}`, "+tcp", "+short", GATEWAY_NAME, "A"])).toBe(GATEWAY_V4);
    // Its own names are answered with authority (RFC 1035 4.1.1 AA).
    expect(await dig([`@${GATEWAY_V4}`, GATEWAY_NAME, "A"])).toMatch(/;; flags: qr aa rd\b/);
    expect(await dig([`@${GATEWAY_V4}`, "no-such-name.invalid", "A"])).toContain("status: NXDOMAIN");
    // A name tcpwasm does not own goes to the lookup function: Node's dns.promises here, which reads
    // this machine's /etc/hosts (the guest's own /etc/hosts is replaced, so the guest must ask DNS).
    const localhost = (await lookup("localhost", { family: 4, all: true })).map((a) => a.address);
    expect((await dig([`@${GATEWAY_V4}`, "+short", "localhost", "A"])).split("\n")).toEqual(localhost);
    const v4 = await guest("getent", ["ahostsv4", GATEWAY_NAME]);
    expect(v4.code).toBe(0);
    expect(v4.stdout).toMatch(streamLine(GATEWAY_V4, GATEWAY_NAME));
    const v6 = await guest("getent", ["ahostsv6", GATEWAY_NAME]);
    expect(v6.stdout).toMatch(streamLine(GATEWAY_V6, GATEWAY_NAME));
    const local = await guest("getent", ["ahostsv4", "localhost"]);
    expect(local.stdout).toMatch(streamLine(localhost[0]!, "localhost"));
  });

  /** curl in the guest fetches by name (through tcpwasm's DNS), over one family. */
  async function fetchBlob(family: 4 | 6): Promise<void> {
    const r = await guest("sh", ["-c", `curl -${family} -sS --max-time 100 http://${GATEWAY_NAME}/blob | sha256sum`], 110_000);
    expect(r.stderr).toBe("");
    expect(r.stdout.split(" ")[0]).toBe(sha256(body));
    const hello = await guest("curl", [`-${family}`, "-sS", "--max-time", "20", `http://${GATEWAY_NAME}/`]);
    expect(hello.stdout).toBe(`hello ${family === 4 ? lease.ip : guestV6}\n`);
  }

  it("curl fetches 16 MiB by name over IPv4 from node:http on tcpwasm, SHA-256 intact", async () => {
    await fetchBlob(4);
  });

  it("and over IPv6, from its SLAAC address", async () => {
    await fetchBlob(6);
  });

  it("the capture so far is LINKTYPE_ETHERNET: DHCP, ARP, neighbour discovery, router advertisements, DNS and TCP, no malformed frame, no bad checksum", async () => {
    s.closeCapture();
    const fd = openSync(s.pcapPath, "r");
    const header = Buffer.alloc(24);
    readSync(fd, header, 0, 24, 0);
    closeSync(fd);
    expect(header.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(header.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
    // tshark reads it so too: WTAP_ENCAP_ETHERNET (1) for every frame.
    expect(new Set((await captureFields(s.pcapPath, "frame", ["frame.encap_type"])).map(([e]) => e))).toEqual(new Set(["1"]));
    const health = await captureHealth(s.pcapPath, [GATEWAY_V4, GATEWAY_V6]);
    expect(health.malformed).toEqual([]);
    expect(health.badChecksums).toEqual([]);
    expect(health.tcp).toBeGreaterThan((2 * 16 * MIB) / 1500);
    // What tcpwasm sent: DHCP offers and acks, ARP replies, neighbour and router advertisements, DNS
    // answers, SYN,ACKs over both families.
    const sent = await captureFields(
      s.pcapPath,
      `eth.src == ${GATEWAY_MAC} && (dhcp || arp.opcode == 2 || icmpv6.type == 134 || icmpv6.type == 136 || dns.flags.response == 1 || tcp.flags.syn == 1)`,
      ["dhcp.option.dhcp", "arp.opcode", "icmpv6.type", "dns.flags.response", "ip.src", "ipv6.src"],
    );
    const kinds = new Set(sent.map(([dhcp, arp, icmp6, dns, v4, v6]) =>
      dhcp ? `dhcp ${dhcp}` : arp ? "arp reply" : icmp6 ? `icmpv6 ${icmp6}` : dns ? "dns answer" : v4 ? "syn,ack v4" : v6 ? "syn,ack v6" : "?"));
    // DHCP message types 2 and 5: OFFER and ACK (RFC 2132 9.6).
    expect([...kinds].sort()).toEqual(["arp reply", "dhcp 2", "dhcp 5", "dns answer", "icmpv6 134", "icmpv6 136", "syn,ack v4", "syn,ack v6"]);
  });
  it(`curl fetches both again, SHA-256 intact, while ${LOSS_PERCENT}% of the packets each way are dropped`, async () => {
    await s.t.ns.setLoss(s.t.tap, LOSS_PERCENT, LOSS_PERCENT);
    try {
      await fetchBlob(4);
      await fetchBlob(6);
      const dropped = await s.t.ns.lossCounters();
      // 2 x 16 MiB is about 23 000 data segments to the kernel: 5% of them is over a thousand.
      expect(dropped.inbound).toBeGreaterThan(500);
      expect(dropped.outbound).toBeGreaterThan(100);
    } finally {
      await s.t.ns.setLoss(s.t.tap, 0, 0);
    }
  }, 240_000);

});

// The same guest, but the network is the `tcpwasm` command itself, run in the namespace: one command
// gives the guest its address, its router, its names and a web server.
describe.skipIf(!probe.ok)("tcpwasm serve and connect --tap with the kernel as the guest", () => {
  it("the guest takes a lease, resolves the server by name, fetches from it over both families", async () => {
    const cli = await bundleCli();
    const t = await createTapNetns({ handOver: false });
    const dir = mkdtempSync(join(tmpdir(), "tcpwi-guest-cli-"));
    try {
      const serve = t.ns.spawn(process.execPath, [
        cli.path, "serve", "--tap", "--mac", GATEWAY_MAC, "--ip", `${GATEWAY_V4}/24`, "--ip6", `${GATEWAY_V6}/64`, "--dhcp", "10.0.2.15-10.0.2.100",
        "--dns", "--dns-name", `www.tcpwasm.test=${GATEWAY_V4}`, "--dns-name", `www.tcpwasm.test=${GATEWAY_V6}`,
        "--udp-bind", `127.0.0.1:${t.enginePort}`, "--udp-peer", `${t.relay.host}:${t.relay.port}`, "--port", "80", "--mode", "http",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      serve.stderr!.on("data", (c: Buffer) => (err += c));
      await within(15_000, "tcpwasm serve: listening", new Promise<void>((resolve, reject) => {
        serve.stdout!.on("data", (c: Buffer) => (out += c).includes("listening") && resolve());
        serve.on("exit", (code) => reject(new Error(`tcpwasm serve exited with ${code}: ${err}`)));
      }));
      expect(out).toBe(
        `listening http on ${GATEWAY_V4}:80 and [${GATEWAY_V6}]:80 (UDP 127.0.0.1:${t.enginePort} <-> ${t.relay.host}:${t.relay.port}, TAP as ${GATEWAY_MAC}, DHCP 10.0.2.15-10.0.2.100, DNS)\n`,
      );
      await t.up();
      const lease = await udhcpc(t.ns, t.tap, dir);
      expect(lease).toMatchObject({ router: GATEWAY_V4, dns: GATEWAY_V4, serverid: GATEWAY_V4, mask: "24" });
      await until("a SLAAC address", 15_000, async () => (await kernelAddresses(t.ns, t.tap)).v6.includes(slaacAddress(t)));
      const expected = sha256(Uint8Array.from({ length: 3_000_000 }, (_, i) => i & 0xff));
      for (const family of [4, 6]) {
        const fetched = await inGuest(t.ns, dir, lease.dns, "sh", ["-c", `curl -${family} -sS --max-time 60 http://www.tcpwasm.test/bytes/3000000 | sha256sum`], {
          timeoutMs: 70_000,
        });
        expect(fetched.stderr).toBe("");
        expect(fetched.stdout.split(" ")[0]).toBe(expected);
      }
      // A name the command does not own: resolved through Node's dns.promises inside the command (this
      // machine's /etc/hosts), not by the guest's own /etc/hosts, which inGuest replaces.
      const localhost = (await lookup("localhost", { family: 4, all: true })).map((a) => a.address);
      const resolved = await inGuest(t.ns, dir, lease.dns, "getent", ["ahostsv4", "localhost"]);
      expect(resolved.stdout).toMatch(streamLine(localhost[0]!, "localhost"));
      expect(await new Promise<number | null>((resolve) => {
        serve.on("exit", resolve);
        serve.kill("SIGTERM");
      })).toBe(0);
    } finally {
      await t.destroy();
      rmSync(dir, { recursive: true, force: true });
      cli.dispose();
    }
  }, 120_000);

  it("tcpwasm connect --tap dials a kernel server on the guest (ARP and NDP from the stack's side) and echoes stdin", async () => {
    const cli = await bundleCli();
    const t = await createTapNetns({ handOver: false, v4: "10.0.2.15/24", v6: "fd00:2::f/64" });
    try {
      await t.up();
      t.ns.spawn("socat", ["TCP6-LISTEN:5000,ipv6only=0,reuseaddr,fork", "EXEC:cat"]);
      const udp = ["--udp-bind", `127.0.0.1:${t.enginePort}`, "--udp-peer", `${t.relay.host}:${t.relay.port}`];
      const input = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join("");
      for (const host of ["10.0.2.15", "fd00:2::f"]) {
        const args = [cli.path, "connect", "--tap", "--ip", `${GATEWAY_V4}/24`, "--ip6", `${GATEWAY_V6}/64`, ...udp, host, "5000"];
        let echoed = await t.ns.exec(process.execPath, args, { input, timeoutMs: 30_000 });
        // socat may not be listening yet.
        for (let i = 0; i < 20 && echoed.code === 1 && echoed.stderr.includes("ECONNREFUSED"); i++) {
          await new Promise((r) => setTimeout(r, 100));
          echoed = await t.ns.exec(process.execPath, args, { input, timeoutMs: 30_000 });
        }
        expect({ host, code: echoed.code, stderr: echoed.stderr }).toEqual({ host, code: 0, stderr: "" });
        expect(echoed.stdout === input).toBe(true);
      }
    } finally {
      await t.destroy();
      cli.dispose();
    }
  }, 120_000);
});
