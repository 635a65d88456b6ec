// Kernel-side peers for the interop scenarios, and the tshark checks every capture goes through.
//
// KernelAgent: one node:net socket (client or server) inside the namespace, driven line by line over
// stdin/stdout with JSON, so a test can sequence the kernel's side of a connection step by step
// (write, end = shutdown(SHUT_WR), destroy, reset) and see its events (connect, data totals, end,
// close, error codes) in order. Data the agent writes is random; it reports SHA-256 of everything it
// sent and received, so the test checks integrity without moving the bytes through the pipe.

import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import type { Netns } from "./netns.js";

const AGENT_SCRIPT = String.raw`
const net = require("node:net");
const crypto = require("node:crypto");
const readline = require("node:readline");
const out = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");
let socket = null;
let server = null;
let echo = false;
let received = 0;
let sent = 0;
const rxHash = crypto.createHash("sha256");
const txHash = crypto.createHash("sha256");

function adopt(s) {
  socket = s;
  s.on("data", (chunk) => {
    received += chunk.length;
    rxHash.update(chunk);
    if (echo) {
      sent += chunk.length;
      txHash.update(chunk);
      if (!s.write(chunk)) { s.pause(); s.once("drain", () => s.resume()); }
    }
  });
  s.on("end", () => {
    out({ ev: "end", received, sha: rxHash.copy().digest("hex") });
    if (echo) s.end();
  });
  s.on("error", (err) => out({ ev: "error", code: err.code || String(err) }));
  s.on("close", (hadError) => out({ ev: "close", hadError, received, sent }));
}

function writeRandom(total, chunkSize) {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(chunkSize, left);
      const chunk = crypto.randomBytes(n);
      left -= n;
      sent += n;
      txHash.update(chunk);
      if (left === 0) {
        socket.write(chunk, () => out({ ev: "written", sent, sha: txHash.copy().digest("hex") }));
        return;
      }
      if (!socket.write(chunk)) { socket.once("drain", pump); return; }
    }
  };
  if (total === 0) out({ ev: "written", sent, sha: txHash.copy().digest("hex") });
  else pump();
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  try {
    switch (cmd.op) {
      case "listen":
        echo = !!cmd.echo;
        server = net.createServer({ allowHalfOpen: true }, (s) => {
          out({ ev: "accepted", remote: s.remoteAddress, port: s.remotePort });
          server.close();
          adopt(s);
        });
        server.on("error", (err) => out({ ev: "error", code: err.code || String(err) }));
        server.listen(cmd.port, cmd.host, () => out({ ev: "listening" }));
        break;
      case "connect": {
        echo = !!cmd.echo;
        const s = net.connect({ host: cmd.host, port: cmd.port, allowHalfOpen: true }, () =>
          out({ ev: "connected", local: s.localAddress, port: s.localPort }),
        );
        adopt(s);
        break;
      }
      case "write": writeRandom(cmd.bytes, cmd.chunk || 65536); break;
      case "end": socket.end(); out({ ev: "ended" }); break;
      case "destroy": socket.destroy(); break;
      case "reset": socket.resetAndDestroy(); break;
      case "stats": out({ ev: "stats", received, sent, sha: rxHash.copy().digest("hex") }); break;
      case "exit": process.exit(0);
    }
  } catch (err) {
    out({ ev: "fault", message: String(err && err.stack || err) });
  }
});
out({ ev: "ready" });
`;

export type AgentEvent = { ev: string; [key: string]: unknown };

/** A node:net socket inside the namespace, commanded over stdin and reporting over stdout. */
export class KernelAgent {
  readonly events: AgentEvent[] = [];
  private readonly child: ChildProcess;
  private stderr = "";
  private waiters: (() => void)[] = [];

  private constructor(ns: Netns) {
    this.child = ns.spawn(process.execPath, ["-e", AGENT_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    let buffered = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line) this.events.push(JSON.parse(line) as AgentEvent);
      this.wake();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk));
    this.child.on("exit", () => this.wake());
    this.child.stdin!.on("error", () => {});
  }

  static async start(ns: Netns): Promise<KernelAgent> {
    const agent = new KernelAgent(ns);
    await agent.next("ready", 10_000);
    return agent;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(op: string, args: Record<string, unknown> = {}): void {
    this.child.stdin!.write(JSON.stringify({ op, ...args }) + "\n");
  }

  /** The first event named `ev` not yet taken, removed from the queue; rejects after `timeoutMs`. */
  async next(ev: string, timeoutMs = 20_000): Promise<AgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.ev === ev);
      if (i >= 0) return this.events.splice(i, 1)[0];
      const fault = this.events.find((e) => e.ev === "fault");
      if (fault) throw new Error(`kernel agent fault: ${String(fault.message)}`);
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`kernel agent exited (${this.child.exitCode ?? this.child.signalCode}) waiting for "${ev}": ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`kernel agent: no "${ev}" within ${timeoutMs} ms; events so far: ${JSON.stringify(this.events)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Whether an event named `ev` is queued (without taking it). */
  has(ev: string): boolean {
    return this.events.some((e) => e.ev === ev);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

// ---- tshark ----

export interface TsharkResult {
  stdout: string;
  stderr: string;
}

// Reading a lossy 64 MiB-each-way capture (about 100,000 frames) takes tshark 20 s on a quiet machine
// and several times that on a loaded one.
export const CAPTURE_READ_MS = 300_000;

export function tshark(args: string[], timeoutMs = CAPTURE_READ_MS): Promise<TsharkResult> {
  return new Promise((resolve, reject) => {
    execFile("tshark", args, { maxBuffer: 512 * 2 ** 20, timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tshark ${args.join(" ")}: ${err.message} ${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

const CHECKSUM_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"];
// Every frame is still dissected whole; reassembling tens of MiB of HTTP bodies would only cost time.
const NO_REASSEMBLY = ["-o", "tcp.desegment_tcp_streams:FALSE"];

let noTcpHeuristics: Promise<string[]> | undefined;
/**
 * `--disable-protocol` for every protocol with a heuristic dissector over TCP: the test streams are
 * random bytes, which heuristics take for Thrift, RPC and the like and then report as those
 * protocols' malformed messages. The health check is about IP and TCP; HTTP (also among them) is not
 * needed for it.
 */
function withoutTcpHeuristics(): Promise<string[]> {
  return (noTcpHeuristics ??= tshark(["-G", "heuristic-decodes"]).then(({ stdout }) =>
    stdout
      .split("\n")
      .map((line) => line.split("\t"))
      .filter(([over, , enabled]) => over === "tcp" && enabled === "T")
      .flatMap(([, protocol]) => ["--disable-protocol", protocol]),
  ));
}

export interface CaptureHealth {
  packets: number;
  tcp: number;
  /** Frames with a bad IPv4 header, TCP, UDP, ICMP or ICMPv6 checksum. */
  badChecksums: string[];
  /**
   * Frames tshark cannot decode (malformed, short segments) or flags with any other expert error:
   * every expert-info entry of severity Error except the bad-checksum ones counted above.
   */
  malformed: string[];
  /**
   * The peer's TCP checksums written as 0xffff where the computation gives 0x0000: the same value in
   * ones'-complement arithmetic (-0 and +0; RFC 1624 3), so receivers accept it, but tshark reports
   * it as bad. Linux does this whenever it computes the checksum in software (skb_checksum_help
   * stores CSUM_MANGLED_0 for a zero result), as on a TUN without offloads. Listed here, not in
   * `badChecksums`, unless the stack sent it.
   */
  peerMinusZero: string[];
}

const PI_ERROR = "8388608"; // 0x00800000, epan/proto.h

/**
 * Reads a capture with checksum validation on: one line per frame with its protocols, checksum
 * statuses (0 bad, 1 good, 2 unverified) and expert-info entries.
 */
export async function captureHealth(path: string, stackAddresses: string[] = ["10.77.0.2", "fd77::2"]): Promise<CaptureHealth> {
  const fields = [
    "frame.number", "frame.protocols", "ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
    "icmp.checksum.status", "icmpv6.checksum.status", "_ws.expert.severity", "_ws.expert.message",
    // For the reports only: who sent it, and the checksum as sent.
    "ip.src", "ipv6.src", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.len", "tcp.checksum",
  ];
  const { stdout } = await tshark([
    "-r", path, ...CHECKSUM_PREFS, ...NO_REASSEMBLY, ...(await withoutTcpHeuristics()), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\u0001",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  const health: CaptureHealth = { packets: 0, tcp: 0, badChecksums: [], malformed: [], peerMinusZero: [] };
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    health.packets++;
    const cols = line.split("\t");
    const [number, protocols] = cols;
    const statuses = cols.slice(2, 7).flatMap((c) => c.split("\u0001"));
    const severities = (cols[7] ?? "").split("\u0001");
    const messages = (cols[8] ?? "").split("\u0001");
    if (protocols.split(":").includes("tcp")) health.tcp++;
    const sender = `${cols[9] || cols[10]}:${cols[11]} -> :${cols[12]} seq ${cols[13]} len ${cols[14]} checksum ${cols[15]}`;
    const minusZero = cols[15] === "0xffff" && messages.some((m) => m.startsWith("TCP Checksum 0xffff instead of 0x0000"));
    if (statuses.includes("0") && minusZero && !stackAddresses.includes(cols[9] || cols[10])) {
      health.peerMinusZero.push(`frame ${number} ${sender}`);
    } else if (statuses.includes("0")) {
      health.badChecksums.push(`frame ${number} (${protocols}) ${sender}: ${messages.filter((m, i) => severities[i] !== "2097152").join("; ")}`);
    }
    const errors = messages.filter((m, i) => severities[i] === PI_ERROR && !m.startsWith("Bad checksum"));
    if (protocols.includes("_ws.malformed") || errors.length) health.malformed.push(`frame ${number} (${protocols}) ${sender}: ${errors.join("; ")}`);
  }
  return health;
}

/** `tshark -r path -Y filter -T fields -e ...` as rows of field values. */
export async function captureFields(path: string, filter: string, fields: string[]): Promise<string[][]> {
  const { stdout } = await tshark([
    "-r", path, ...NO_REASSEMBLY, "-Y", filter, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  return stdout.split("\n").filter(Boolean).map((line) => line.split("\t"));
}

/** Number of frames matching a display filter. */
export async function captureCount(path: string, filter: string): Promise<number> {
  return (await captureFields(path, filter, ["frame.number"])).length;
}
