// The baseline for tcpwasm's TUN throughput: the kernel's TCP talking to the kernel's
// TCP over the same kind of path tcpwasm uses, TUN -> socat -> UDP -> ... -> TUN, with one namespace,
// TUN and socat per side:
//
//   A: kernel 10.77.0.1 / fd77::1 -- tw0 -- socat ==UDP==> socat -- tw0 -- kernel 10.77.0.2 / fd77::2 :B
//
// Two ways to carry the UDP between the relays:
//   "socat": socat A sends straight to socat B over a veth pair between the two namespaces
//            (10.77.1.1/30 <-> 10.77.1.2/30, MTU 65535 so a 1500-byte packet is never fragmented).
//            Pure kernel and socat: the strictest baseline.
//   "node":  each socat sends to a UDP socket on its own namespace's loopback, and this process, which
//            holds both sockets (see netns.ts), forwards each datagram to the other side. This is the
//            exact shape of the tcpwasm path (a Node process owning the relay's socket), so the
//            difference between the two modes is the cost of Node's UDP handling.
//
// The traffic is one bulk TCP transfer from A to B, by a small node:net sender/receiver pair (the same
// scripts a tcpwasm benchmark can run as its kernel-side peer) or by iperf3.

import type { ChildProcess } from "node:child_process";
import type * as dgram from "node:dgram";
import { Netns } from "./netns.js";

export type RelayMode = "socat" | "node";

export interface KernelPair {
  a: Netns;
  b: Netns;
  relay: RelayMode;
  /** The kernel addresses on each side's TUN. */
  addrA: { v4: string; v6: string };
  addrB: { v4: string; v6: string };
  /** Datagrams forwarded by this process ("node" mode only; 0 otherwise). */
  forwarded(): number;
  destroy(): Promise<void>;
}

export interface BulkOptions {
  family?: 4 | 6;
  tool?: "node" | "iperf3";
  /** node: bytes to move, in MiB, exactly. Default 64. */
  mebibytes?: number;
  /**
   * iperf3: seconds to run (-t). iperf3 is measured by time, not size: with -n its receiver stops
   * counting while the last bytes are still in flight, so a short transfer under-reports. Default 3.
   */
  seconds?: number;
  /** Everything is killed after this long. Default 60 s. */
  timeoutMs?: number;
  port?: number;
}

export interface BulkResult {
  tool: "node" | "iperf3";
  family: 4 | 6;
  relay: RelayMode;
  bytes: number;
  seconds: number;
  bitsPerSecond: number;
}

/** Two namespaces whose kernels reach each other only through their TUNs and socat relays. */
export async function createKernelPair(relay: RelayMode = "socat"): Promise<KernelPair> {
  const a = await Netns.create();
  let b: Netns | undefined;
  const sockets: dgram.Socket[] = [];
  let forwarded = 0;
  try {
    b = await Netns.create();
    const tunA = { v4: "10.77.0.1/24", v6: "fd77::1/64" };
    const tunB = { v4: "10.77.0.2/24", v6: "fd77::2/64" };
    if (relay === "socat") {
      await a.run("ip", ["link", "add", "vab", "type", "veth", "peer", "name", "vba", "netns", b.name]);
      await a.run("ip", ["addr", "add", "10.77.1.1/30", "dev", "vab"]);
      await b.run("ip", ["addr", "add", "10.77.1.2/30", "dev", "vba"]);
      await a.run("ip", ["link", "set", "vab", "mtu", "65535", "up"]);
      await b.run("ip", ["link", "set", "vba", "mtu", "65535", "up"]);
      await a.startTunRelay({ ...tunA, relayHost: "10.77.1.1", relayPort: 7001, engineHost: "10.77.1.2", enginePort: 7001 });
      await b.startTunRelay({ ...tunB, relayHost: "10.77.1.2", relayPort: 7001, engineHost: "10.77.1.1", enginePort: 7001 });
    } else {
      const linkA = await a.openUdp(7000);
      const linkB = await b.openUdp(7000);
      sockets.push(linkA, linkB);
      await a.startTunRelay(tunA);
      await b.startTunRelay(tunB);
      linkA.on("message", (packet: Buffer) => {
        forwarded++;
        linkB.send(packet, 7001, "127.0.0.1");
      });
      linkB.on("message", (packet: Buffer) => {
        forwarded++;
        linkA.send(packet, 7001, "127.0.0.1");
      });
    }
    const nsB = b;
    return {
      a,
      b: nsB,
      relay,
      addrA: { v4: "10.77.0.1", v6: "fd77::1" },
      addrB: { v4: "10.77.0.2", v6: "fd77::2" },
      forwarded: () => forwarded,
      destroy: async () => {
        await Promise.all([a.destroy(), nsB.destroy()]);
      },
    };
  } catch (err) {
    await Promise.all([a.destroy(), b?.destroy()]);
    throw err;
  }
}

/**
 * A node:net sink: listens on argv host and port, prints "ready", then for the first connection reads
 * to the end and prints { bytes, seconds } (from the connection's arrival to its end) as JSON.
 */
export const BULK_RECEIVER_SCRIPT = `
const net = require("node:net");
const [host, port] = process.argv.slice(1);
const server = net.createServer((socket) => {
  const start = process.hrtime.bigint();
  let bytes = 0;
  socket.on("data", (chunk) => { bytes += chunk.length; });
  socket.on("end", () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ bytes, seconds }) + "\\n");
    socket.end();
    server.close();
  });
  socket.on("error", (err) => { console.error(String(err)); process.exit(1); });
});
server.listen(Number(port), host, () => process.stdout.write("ready\\n"));
`;

/** A node:net source: connects to argv host and port, writes argv MiB in 1 MiB chunks with backpressure, ends. */
export const BULK_SENDER_SCRIPT = `
const net = require("node:net");
const [host, port, mebibytes] = process.argv.slice(1);
const chunk = Buffer.alloc(1 << 20, 0x5a);
let left = Number(mebibytes);
const socket = net.connect({ host, port: Number(port) }, function pump() {
  while (left > 0) {
    left--;
    if (!socket.write(chunk)) { socket.once("drain", pump); return; }
  }
  socket.end();
});
socket.on("error", (err) => { console.error(String(err)); process.exit(1); });
socket.resume();
`;

/** Waits for a line on a child's stdout. */
function firstLine(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk));
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk;
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!out.includes("\n")) reject(new Error(`${what} exited with ${code}: ${err.trim()}`));
    });
  });
}

/** Moves bulk data from A's kernel to B's kernel over the pair's relay path and measures it. */
export async function measureBulk(pair: KernelPair, options: BulkOptions = {}): Promise<BulkResult> {
  const family = options.family ?? 4;
  const tool = options.tool ?? "node";
  const mebibytes = options.mebibytes ?? 64;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const port = options.port ?? 5201;
  const to = family === 4 ? pair.addrB.v4 : pair.addrB.v6;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());

  if (tool === "node") {
    const receiver = pair.b.spawn(process.execPath, ["-e", BULK_RECEIVER_SCRIPT, to, String(port)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      receiver.stdout!.setEncoding("utf8");
      const lines: string[] = [];
      let buffered = "";
      receiver.stdout!.on("data", (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        lines.push(...parts);
      });
      const until = async (n: number, what: string) => {
        while (lines.length < n) {
          if (Date.now() > deadline) throw new Error(`bulk receiver: no ${what} within ${timeoutMs} ms`);
          if (receiver.exitCode !== null) throw new Error(`bulk receiver exited with ${receiver.exitCode}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(1, "ready");
      const sender = await pair.a.exec(process.execPath, ["-e", BULK_SENDER_SCRIPT, to, String(port), String(mebibytes)], {
        timeoutMs: left(),
      });
      if (sender.code !== 0) throw new Error(`bulk sender ended with ${sender.code ?? sender.signal}: ${sender.stderr.trim()}`);
      await until(2, "result");
      const { bytes, seconds } = JSON.parse(lines[1]) as { bytes: number; seconds: number };
      if (bytes !== mebibytes * 2 ** 20) throw new Error(`receiver got ${bytes} bytes, expected ${mebibytes * 2 ** 20}`);
      return { tool, family, relay: pair.relay, bytes, seconds, bitsPerSecond: (bytes * 8) / seconds };
    } finally {
      if (receiver.exitCode === null) receiver.kill("SIGKILL");
    }
  }

  const server = pair.b.spawn("iperf3", ["-s", "-1", "--forceflush", "-B", to, "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    await firstLine(server, "iperf3 server", left());
    const client = await pair.a.exec(
      "iperf3",
      ["-c", to, "-p", String(port), "-t", String(options.seconds ?? 3), "-J", ...(family === 6 ? ["-6"] : [])],
      { timeoutMs: left() },
    );
    if (client.code !== 0) throw new Error(`iperf3 client ended with ${client.code ?? client.signal}: ${client.stdout.slice(-500)}`);
    const report = JSON.parse(client.stdout) as {
      end: { sum_received: { bytes: number; seconds: number; bits_per_second: number } };
    };
    const received = report.end.sum_received;
    return { tool, family, relay: pair.relay, bytes: received.bytes, seconds: received.seconds, bitsPerSecond: received.bits_per_second };
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
  }
}

/** One measurement from scratch: creates the pair, moves the data, tears everything down. */
export async function kernelToKernelThroughput(options: BulkOptions & { relay?: RelayMode } = {}): Promise<BulkResult> {
  const pair = await createKernelPair(options.relay ?? "socat");
  try {
    return await measureBulk(pair, options);
  } finally {
    await pair.destroy();
  }
}
