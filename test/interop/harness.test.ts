// Self-test of the interop harness (netns.ts), with nothing but the kernel: its ping reaches this
// process as UDP datagrams through the TUN relay, and echo replies built here complete it.

import { execFileSync, spawn } from "node:child_process";
import type { RemoteInfo } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns, createTunNetns, Netns, sweepStaleNamespaces, TunNetns } from "../fixtures/interop/netns.js";

const probe = canRunNetns(["ping", "nft"]);
if (!probe.ok) console.warn(`interop harness tests SKIPPED: ${probe.reason}`);

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter(Boolean);
}

function onesComplement(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * The echo reply (RFC 792 / RFC 4443 4.2) for an ICMP or ICMPv6 echo request, or null when the packet
 * is something else (MLD reports and the like also cross the link).
 */
function echoReply(request: Buffer): Buffer | null {
  const reply = Buffer.from(request);
  if (request[0] >> 4 === 4) {
    const ihl = (request[0] & 0x0f) * 4;
    if (request[9] !== 1 || request[ihl] !== 8) return null;
    request.copy(reply, 12, 16, 20); // swap addresses
    request.copy(reply, 16, 12, 16);
    reply[8] = 64;
    reply.writeUInt16BE(0, 10);
    reply.writeUInt16BE(~onesComplement(reply.subarray(0, ihl)) & 0xffff, 10);
    reply[ihl] = 0; // echo reply
    reply.writeUInt16BE(0, ihl + 2);
    reply.writeUInt16BE(~onesComplement(reply.subarray(ihl)) & 0xffff, ihl + 2);
    return reply;
  }
  if (request[0] >> 4 === 6) {
    if (request[6] !== 58 || request[40] !== 128) return null;
    request.copy(reply, 8, 24, 40);
    request.copy(reply, 24, 8, 24);
    reply[7] = 64;
    reply[40] = 129;
    reply.writeUInt16BE(0, 42);
    const body = reply.subarray(40);
    const pseudo = Buffer.alloc(40);
    reply.copy(pseudo, 0, 8, 40);
    pseudo.writeUInt32BE(body.length, 32);
    pseudo[39] = 58;
    reply.writeUInt16BE(~onesComplement(body, onesComplement(pseudo)) & 0xffff, 42);
    return reply;
  }
  return null;
}

describe.skipIf(!probe.ok)("interop harness: namespace + TUN + socat relay", () => {
  let t: TunNetns;
  const requests: { family: number; from: RemoteInfo }[] = [];
  let answering = true;

  beforeAll(async () => {
    t = await createTunNetns();
    t.link.on("message", (packet: Buffer, from: RemoteInfo) => {
      const reply = echoReply(packet);
      if (!reply) return;
      requests.push({ family: packet[0] >> 4, from });
      if (answering) void t.sendPacket(reply);
    });
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it("runs commands inside its own namespace, where the TUN has both addresses", async () => {
    const inside = (await t.ns.run("readlink", ["/proc/self/ns/net"])).trim();
    const outside = execFileSync("readlink", ["/proc/self/ns/net"], { encoding: "utf8" }).trim();
    expect(inside).toMatch(/^net:\[\d+\]$/);
    expect(inside).not.toBe(outside);
    const addrs = await t.ns.run("ip", ["-o", "addr", "show", "dev", t.relay.tun]);
    expect(addrs).toContain("inet 10.77.0.1/24");
    expect(addrs).toContain("inet6 fd77::1/64");
  });

  it("delivers the kernel's IPv4 ping to this process as a datagram and returns our echo reply", async () => {
    requests.length = 0;
    const ping = await t.ns.exec("ping", ["-c1", "-W3", t.peerV4]);
    expect(ping.stdout).toContain("1 received");
    expect(ping.code).toBe(0);
    expect(requests).toHaveLength(1);
    expect(requests[0].family).toBe(4);
    // It came from socat's end of the relay, on the namespace's loopback.
    expect(requests[0].from).toMatchObject({ address: "127.0.0.1", port: t.relay.relayPort });
  });

  it("does the same for ping -6", async () => {
    requests.length = 0;
    const ping = await t.ns.exec("ping", ["-6", "-c1", "-W3", t.peerV6]);
    expect(ping.stdout).toContain("1 received");
    expect(ping.code).toBe(0);
    expect(requests.map((r) => r.family)).toEqual([6]);
  });

  it("a ping nobody answers fails: the replies above really came from this process", async () => {
    answering = false;
    try {
      requests.length = 0;
      const ping = await t.ns.exec("ping", ["-c1", "-W1", t.peerV4]);
      expect(ping.code).not.toBe(0);
      expect(requests).toHaveLength(1);
    } finally {
      answering = true;
    }
  });

  it("drops packets at random with nftables: every ping is either counted as dropped or arrives", async () => {
    await t.ns.setLoss(t.relay.tun, 0, 100);
    requests.length = 0;
    const blocked = await t.ns.exec("ping", ["-c3", "-i0.05", "-W1", t.peerV4]);
    expect(blocked.code).not.toBe(0);
    expect(requests).toHaveLength(0);
    expect(await t.ns.lossCounters()).toEqual({ inbound: 0, outbound: 3 });

    await t.ns.setLoss(t.relay.tun, 0, 50);
    requests.length = 0;
    await t.ns.exec("ping", ["-c200", "-i0.002", "-W1", t.peerV4]);
    const { outbound } = await t.ns.lossCounters();
    expect(outbound + requests.length).toBe(200);
    // Binomial(200, 0.5): 60..140 is more than five standard deviations either side.
    expect(outbound).toBeGreaterThan(60);
    expect(outbound).toBeLessThan(140);

    await t.ns.setLoss(t.relay.tun, 0, 0);
    const clear = await t.ns.exec("ping", ["-c1", "-W3", t.peerV4]);
    expect(clear.code).toBe(0);
  });

  it("destroy() kills socat, closes the link and deletes the namespace", async () => {
    const extra = await createTunNetns();
    const name = extra.ns.name;
    const socat = extra.relay.process;
    expect(namespaces()).toContain(name);
    const closed = new Promise<void>((resolve) => extra.link.once("close", () => resolve()));
    await extra.destroy();
    await closed;
    expect(namespaces()).not.toContain(name);
    expect(socat.exitCode !== null || socat.signalCode !== null).toBe(true);
    await extra.destroy(); // idempotent
  });
});

describe.skipIf(!probe.ok)("interop harness: cleanup when the test process dies", () => {
  let dir: string;
  const here = dirname(fileURLToPath(import.meta.url));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tcpwi-harness-"));
    await build({
      entryPoints: [join(here, "../fixtures/interop/netns.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: join(dir, "netns.mjs"),
      logLevel: "silent",
    });
    writeFileSync(
      join(dir, "victim.mjs"),
      `import { createTunNetns } from "./netns.mjs";
const t = await createTunNetns();
process.stdout.write(t.ns.name + "\\n");
if (process.argv[2] === "throw") setTimeout(() => { throw new Error("a failing test"); }, 50);
else setInterval(() => {}, 1000);
`,
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a process that creates a namespace, and returns it with the namespace's name. */
  function victim(mode: "throw" | "wait"): Promise<{ name: string; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, [join(dir, "victim.mjs"), mode], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk;
        if (out.includes("\n")) resolve({ name: out.trim(), exited });
      });
      child.on("exit", (code) => reject(new Error(`victim exited with ${code} before creating its namespace`)));
      setTimeout(() => reject(new Error("victim did not report its namespace within 20 s")), 20_000).unref();
      victims.push(child);
    });
  }
  const victims: ReturnType<typeof spawn>[] = [];
  afterAll(() => {
    for (const child of victims) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  it("an uncaught exception still deletes the namespace", async () => {
    const { name, exited } = await victim("throw");
    expect(namespaces()).toContain(name);
    expect(await exited).not.toBe(0);
    expect(namespaces()).not.toContain(name);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} deletes the namespace and the process still dies of the signal`, async () => {
      const { name, exited } = await victim("wait");
      expect(namespaces()).toContain(name);
      const child = victims[victims.length - 1];
      child.kill(signal);
      await exited;
      expect(child.signalCode).toBe(signal);
      expect(namespaces()).not.toContain(name);
    });
  }

  it("a namespace left by a SIGKILLed process is swept by the next run", async () => {
    const { name, exited } = await victim("wait");
    victims[victims.length - 1].kill("SIGKILL");
    await exited;
    expect(namespaces()).toContain(name); // nothing can run on SIGKILL
    expect(sweepStaleNamespaces()).toContain(name);
    expect(namespaces()).not.toContain(name);
  });
});

describe("interop harness: probe", () => {
  it("canRunNetns() gives a reason either way", () => {
    const result = canRunNetns();
    expect(typeof result.ok).toBe("boolean");
    expect(result.reason.length).toBeGreaterThan(10);
    if (!result.ok) console.warn(`canRunNetns: ${result.reason}`);
  });
  it("a missing tool is named in the reason", () => {
    const result = canRunNetns(["tcpwi-no-such-tool"]);
    expect(result.ok).toBe(false);
    if (canRunNetns().ok) expect(result.reason).toContain("tcpwi-no-such-tool");
  });
  it.skipIf(!probe.ok)("Netns.create() refuses nothing on a capable machine", async () => {
    const ns = await Netns.create();
    expect(namespaces()).toContain(ns.name);
    await ns.destroy();
    expect(namespaces()).not.toContain(ns.name);
  });
});
