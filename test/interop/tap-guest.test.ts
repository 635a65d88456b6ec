// The Linux kernel as a guest behind a TAP device, with tcpwasm as its network (tap-scene.ts): it takes
// its IPv6 address from tcpwasm's router advertisements, finds tcpwasm's MAC with ARP (arping) and
// neighbour discovery (ndisc6), pings it over both families, and fetches 16 MiB over HTTP with curl
// from node:http running on tcpwasm's node:net face, over IPv4 and IPv6, clean and with 5% of the
// packets lost each way. The capture of the Ethernet link then opens in tshark as LINKTYPE_ETHERNET
// without a malformed frame. Last, the `tcpwasm` command itself is the guest's network.

import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindNet } from "../../src/node.js";
import { bundleCli } from "../fixtures/interop/cli.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { captureFields, captureHealth } from "../fixtures/interop/peers.js";
import { within } from "../fixtures/interop/scene.js";
import { createTapNetns, kernelAddresses, linkLocalFromMac, type TapNetns } from "../fixtures/interop/tap.js";
import { createTapScene, GATEWAY_MAC, GATEWAY_V4, GATEWAY_V6, type TapScene } from "../fixtures/interop/tap-scene.js";

const probe = canRunNetns(["arping", "ndisc6", "rdisc6", "ping", "curl", "sha256sum", "tshark", "nft"]);
if (!probe.ok) console.warn(`interop TAP guest tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
const LOSS_PERCENT = 5;
const GUEST_V4 = "10.0.2.15";
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

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
  let guestV6: string;
  const body = randomBytes(16 * MIB);
  let site: http.Server;
  let server: ReturnType<ReturnType<typeof bindNet>["createServer"]>;

  beforeAll(async () => {
    s = await createTapScene({ pcapName: "guest.pcap", tap: { v4: `${GUEST_V4}/24` } });
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

  async function fetchBlob(family: 4 | 6): Promise<void> {
    const host = family === 4 ? GATEWAY_V4 : `[${GATEWAY_V6}]`;
    const r = await s.t.ns.exec("sh", ["-c", `curl -gsS --max-time 100 http://${host}/blob | sha256sum`], { timeoutMs: 110_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.split(" ")[0]).toBe(sha256(body));
    const hello = await s.t.ns.run("curl", ["-gsS", "--max-time", "20", `http://${host}/`]);
    expect(hello).toBe(`hello ${family === 4 ? GUEST_V4 : guestV6}\n`);
  }

  it("curl fetches 16 MiB over IPv4 from node:http on tcpwasm, SHA-256 intact", async () => {
    await fetchBlob(4);
  });

  it("and over IPv6, from its SLAAC address", async () => {
    await fetchBlob(6);
  });

  it("the capture so far is LINKTYPE_ETHERNET: ARP, neighbour discovery, router advertisements and TCP, no malformed frame, no bad checksum", async () => {
    s.closeCapture();
    const fd = openSync(s.pcapPath, "r");
    const header = Buffer.alloc(24);
    readSync(fd, header, 0, 24, 0);
    closeSync(fd);
    expect(header.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(header.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
    const health = await captureHealth(s.pcapPath, [GATEWAY_V4, GATEWAY_V6]);
    expect(health.malformed).toEqual([]);
    expect(health.badChecksums).toEqual([]);
    expect(health.tcp).toBeGreaterThan((2 * 16 * MIB) / 1500);
    // What tcpwasm sent: ARP replies, neighbour and router advertisements, SYN,ACKs over both families.
    const sent = await captureFields(s.pcapPath, `eth.src == ${GATEWAY_MAC} && (arp.opcode == 2 || icmpv6.type == 134 || icmpv6.type == 136 || tcp.flags.syn == 1)`, [
      "arp.opcode", "icmpv6.type", "ip.src", "ipv6.src",
    ]);
    const kinds = new Set(sent.map(([arp, icmp6, v4, v6]) => (arp ? "arp reply" : icmp6 ? `icmpv6 ${icmp6}` : v4 ? "syn,ack v4" : v6 ? "syn,ack v6" : "?")));
    expect([...kinds].sort()).toEqual(["arp reply", "icmpv6 134", "icmpv6 136", "syn,ack v4", "syn,ack v6"]);
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

// The same guest, but the network is the `tcpwasm` command itself, run in the namespace with --tap.
describe.skipIf(!probe.ok)("tcpwasm serve --tap with the kernel as its guest", () => {
  it("answers ARP and neighbour discovery as --mac, advertises its prefix, and serves curl over both families", async () => {
    const cli = await bundleCli();
    const t = await createTapNetns({ handOver: false, v4: `${GUEST_V4}/24` });
    try {
      const serve = t.ns.spawn(process.execPath, [
        cli.path, "serve", "--tap", "--mac", GATEWAY_MAC, "--ip", `${GATEWAY_V4}/24`, "--ip6", `${GATEWAY_V6}/64`,
        "--udp-bind", `127.0.0.1:${t.enginePort}`, "--udp-peer", `${t.relay.host}:${t.relay.port}`, "--port", "80", "--mode", "http",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      serve.stderr!.on("data", (c: Buffer) => (err += c));
      await within(15_000, "tcpwasm serve: listening", new Promise<void>((resolve, reject) => {
        serve.stdout!.on("data", (c: Buffer) => (out += c).includes("listening") && resolve());
        serve.on("exit", (code) => reject(new Error(`tcpwasm serve exited with ${code}: ${err}`)));
      }));
      expect(out).toBe(`listening http on ${GATEWAY_V4}:80 and [${GATEWAY_V6}]:80 (UDP 127.0.0.1:${t.enginePort} <-> ${t.relay.host}:${t.relay.port}, TAP as ${GATEWAY_MAC})\n`);
      await t.up();
      const arping = await t.ns.exec("arping", ["-c", "1", "-w", "5", "-i", t.tap, GATEWAY_V4], { timeoutMs: 10_000 });
      expect(arping.stdout.toLowerCase()).toContain(`from ${GATEWAY_MAC} (${GATEWAY_V4})`);
      await until("a SLAAC address", 15_000, async () => (await kernelAddresses(t.ns, t.tap)).v6.includes(slaacAddress(t)));
      const expected = sha256(Uint8Array.from({ length: 3_000_000 }, (_, i) => i & 0xff));
      for (const host of [GATEWAY_V4, `[${GATEWAY_V6}]`]) {
        const fetched = await t.ns.exec("sh", ["-c", `curl -gsS --max-time 60 http://${host}/bytes/3000000 | sha256sum`], { timeoutMs: 70_000 });
        expect(fetched.stderr).toBe("");
        expect(fetched.stdout.split(" ")[0]).toBe(expected);
      }
      expect(await new Promise<number | null>((resolve) => {
        serve.on("exit", resolve);
        serve.kill("SIGTERM");
      })).toBe(0);
    } finally {
      await t.destroy();
      cli.dispose();
    }
  }, 120_000);
});
