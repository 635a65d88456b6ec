// Network namespaces with a TUN device relayed by socat to UDP: the way tests talk to the Linux kernel's
// TCP (see ../shared/TCP.md). Root only; CI runs as root.
//
// Layout of one TunNetns (all inside the namespace):
//
//     kernel TCP/ICMP  <->  tw0 (10.77.0.1/24, fd77::1/64)  <->  socat  <->  UDP 127.0.0.1:7001
//                                                                               ^ one IP packet
//                                                                               v per datagram
//                                                      test process: `link`, UDP 127.0.0.1:7000
//
// Where the stack runs. socat's UDP end lives on the namespace's loopback, which no process in the
// root namespace can reach. Rather than moving the whole test into the namespace (`ip netns exec ...
// node`, which would put every engine test in a child process) or routing through a veth into the root
// namespace (which would add addresses outside our own namespaces), a short-lived helper is started
// inside the namespace, binds the UDP socket there and hands the socket's file descriptor to the test
// process over Node's IPC channel (`process.send(msg, dgramSocket)`). A socket stays in the namespace it
// was created in, so the test process itself, in the root namespace, sends and receives the relay's
// datagrams: the engine runs in-process, next to the assertions. Kernel-side peers (curl, ping, node:net
// servers) run inside the namespace through `exec` / `spawn`.
//
// Cleanup. `destroy()` kills what was spawned in the namespace, closes the handed-over sockets and
// deletes the namespace. Every namespace is also registered for a synchronous cleanup on process exit,
// uncaught exceptions, SIGINT, SIGTERM and SIGHUP; a namespace left by a SIGKILLed process (its pid is
// in the name) is swept by the next `createNetns`.

import { ChildProcess, execFileSync, spawn, SpawnOptions } from "node:child_process";
import * as dgram from "node:dgram";
import { existsSync } from "node:fs";

/** Why the interop tests can or cannot run here. */
export interface NetnsProbe {
  ok: boolean;
  reason: string;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Killed (SIGKILL) after this many milliseconds; the result then has `signal` set. Default 30 s. */
  timeoutMs?: number;
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
}

export interface TunRelayOptions {
  /** Interface name inside the namespace. Default "tw0". */
  tun?: string;
  /** The kernel's IPv4 address and prefix on the TUN. Default "10.77.0.1/24". */
  v4?: string;
  /** The kernel's IPv6 address and prefix on the TUN (added with nodad). Default "fd77::1/64"; null for none. */
  v6?: string | null;
  /** TUN MTU; the kernel's default (1500) when unset. */
  mtu?: number;
  /** socat's UDP socket. Default 127.0.0.1:7001. */
  relayHost?: string;
  relayPort?: number;
  /** Where socat sends the packets it reads from the TUN. Default 127.0.0.1:7000. */
  engineHost?: string;
  enginePort?: number;
}

export interface TunRelay {
  tun: string;
  relayHost: string;
  relayPort: number;
  engineHost: string;
  enginePort: number;
  process: ChildProcess;
}

const NAME_PREFIX = "tcpwi-";
const live = new Set<Netns>();
let sequence = 0;
let exitHooksInstalled = false;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function which(tool: string): boolean {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (dir && existsSync(`${dir}/${tool}`)) return true;
  }
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function listNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out.split("\n").map((line) => line.split(" ")[0]).filter(Boolean);
}

function pidsIn(name: string): number[] {
  try {
    const out = execFileSync("ip", ["netns", "pids", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.split(/\s+/).filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** Kills every process in the namespace and deletes it; synchronous so exit handlers can use it. */
function removeNamespaceSync(name: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = pidsIn(name);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    execFileSync("sleep", ["0.02"]);
  }
  try {
    execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
  } catch {
    // already deleted
  }
}

/** Deletes namespaces this harness created in processes that no longer exist (killed with SIGKILL). */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    const match = new RegExp(`^${NAME_PREFIX}(\\d+)-(\\d+|probe)$`).exec(name);
    if (!match) continue;
    const owner = Number(match[1]);
    if (owner === process.pid || pidAlive(owner)) continue;
    removeNamespaceSync(name);
    removed.push(name);
  }
  return removed;
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const ns of live) ns.destroySync();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      for (const ns of live) ns.destroySync();
      process.removeListener(signal, onSignal);
      // Re-raise so the process ends the way it would have without us.
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let probed: NetnsProbe | undefined;

/**
 * Whether this machine can run the namespace tests: root, iproute2, socat, /dev/net/tun, and a namespace
 * that can actually be created (containers without CAP_SYS_ADMIN fail there). `tools` adds programs a
 * particular test needs (nft, ping, tshark, iperf3, curl).
 */
export function canRunNetns(tools: string[] = []): NetnsProbe {
  if (!probed) probed = probeBase();
  if (!probed.ok) return probed;
  const missing = tools.filter((tool) => !which(tool));
  if (missing.length) return { ok: false, reason: `missing ${missing.join(", ")} (apt-get install it, as .ci/run does)` };
  return probed;
}

function probeBase(): NetnsProbe {
  if (process.platform !== "linux") return { ok: false, reason: `network namespaces need Linux, not ${process.platform}` };
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return { ok: false, reason: "not root: creating network namespaces and TUN devices needs root (CI runs as root)" };
  }
  if (!which("ip")) return { ok: false, reason: "no `ip` command (install iproute2)" };
  if (!which("socat")) return { ok: false, reason: "no `socat` (install socat)" };
  if (!existsSync("/dev/net/tun")) return { ok: false, reason: "no /dev/net/tun: the kernel has no TUN support here" };
  const name = `${NAME_PREFIX}${process.pid}-probe`;
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    return { ok: false, reason: `cannot create a network namespace: ${stderr}` };
  }
  try {
    execFileSync("ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    return { ok: false, reason: `cannot run commands in a namespace: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}` };
  } finally {
    removeNamespaceSync(name);
  }
  return { ok: true, reason: "root, iproute2, socat and /dev/net/tun present; namespaces work" };
}

/** The helper run inside the namespace: binds a UDP socket there and hands it to the parent. */
const UDP_HANDOFF_SCRIPT = `
const dgram = require("node:dgram");
const [type, host, port] = process.argv.slice(1);
const socket = dgram.createSocket({ type, reuseAddr: false });
socket.on("error", (err) => { process.send({ error: String(err) }, () => process.exit(1)); });
socket.bind(Number(port), host, () => {
  const { address, port: bound } = socket.address();
  process.send({ address, port: bound }, socket, () => { socket.close(); process.disconnect(); });
});
`;

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();
  private readonly sockets = new Set<dgram.Socket>();
  private destroyed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** A fresh namespace named tcpwi-<pid>-<n> with its loopback up. */
  static async create(): Promise<Netns> {
    const probe = canRunNetns();
    if (!probe.ok) throw new Error(`cannot create a namespace: ${probe.reason}`);
    installExitHooks();
    sweepStaleNamespaces();
    const ns = new Netns(`${NAME_PREFIX}${process.pid}-${sequence++}`);
    execFileSync("ip", ["netns", "add", ns.name], { stdio: ["ignore", "ignore", "pipe"] });
    live.add(ns);
    try {
      await ns.run("ip", ["link", "set", "lo", "up"]);
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside the namespace to completion. Never throws on a non-zero exit: see `run`. */
  exec(command: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertAlive();
    const child = this.spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stdin!.on("error", () => {});
    child.stdin!.end(options.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    return new Promise((resolve, reject) => {
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
      });
    });
  }

  /** `exec`, but rejects unless the command exits with status 0. */
  async run(command: string, args: string[] = [], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(command, args, options);
    if (result.code !== 0) {
      throw new Error(
        `${command} ${args.join(" ")} in ${this.name} ended with ${result.code ?? result.signal}: ${result.stderr.trim()}`,
      );
    }
    return result.stdout;
  }

  /** Starts a long-running process inside the namespace; `destroy` kills it if it is still running. */
  spawn(command: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.assertAlive();
    // `ip netns exec` execs the command in place, so the child's pid is the command's pid.
    const child = spawn("ip", ["netns", "exec", this.name, command, ...args], { stdio: "ignore", ...options });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    child.on("error", () => this.children.delete(child));
    return child;
  }

  /**
   * A UDP socket bound inside the namespace but owned by this process (see the file comment). Closed
   * by `destroy`.
   */
  async openUdp(port: number, host = "127.0.0.1", type: "udp4" | "udp6" = "udp4"): Promise<dgram.Socket> {
    this.assertAlive();
    const helper = this.spawn(process.execPath, ["-e", UDP_HANDOFF_SCRIPT, type, host, String(port)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const stderr: Buffer[] = [];
    helper.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        helper.kill("SIGKILL");
        reject(new Error(`no UDP socket from ${this.name} within 10 s: ${Buffer.concat(stderr)}`));
      }, 10_000);
      helper.on("message", (message: { error?: string }, handle: unknown) => {
        clearTimeout(timer);
        if (message.error || !(handle instanceof dgram.Socket)) {
          reject(new Error(`binding UDP ${host}:${port} in ${this.name} failed: ${message.error ?? "no handle"}`));
          return;
        }
        this.sockets.add(handle);
        handle.on("close", () => this.sockets.delete(handle));
        resolve(handle);
      });
      helper.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`UDP helper in ${this.name} exited with ${code}: ${Buffer.concat(stderr)}`));
      });
    });
  }

  /**
   * Starts socat with a TUN device (IPv4 and IPv6 addresses, up) relayed to UDP, and waits until the
   * interface is up with its addresses. IPv6 router solicitations on the TUN are turned off so the
   * link carries little besides what tests send; MLD reports for the new address can still appear.
   */
  async startTunRelay(options: TunRelayOptions = {}): Promise<TunRelay> {
    const tun = options.tun ?? "tw0";
    const v4 = options.v4 ?? "10.77.0.1/24";
    const v6 = options.v6 === undefined ? "fd77::1/64" : options.v6;
    const relayHost = options.relayHost ?? "127.0.0.1";
    const relayPort = options.relayPort ?? 7001;
    const engineHost = options.engineHost ?? "127.0.0.1";
    const enginePort = options.enginePort ?? 7000;
    await this.run("sysctl", ["-qw", "net.ipv6.conf.default.router_solicitations=0"]);
    const stderr: Buffer[] = [];
    const socat = this.spawn(
      "socat",
      [
        "-b",
        "65536",
        `TUN:${v4},tun-type=tun,iff-no-pi,up,tun-name=${tun}`,
        `UDP-DATAGRAM:${engineHost}:${enginePort},bind=${relayHost}:${relayPort}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    socat.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (socat.exitCode !== null || socat.signalCode !== null) {
        throw new Error(`socat in ${this.name} exited: ${Buffer.concat(stderr).toString().trim()}`);
      }
      const link = await this.exec("ip", ["-o", "link", "show", tun]);
      if (/[<,]UP[,>]/.test(link.stdout)) break;
      if (Date.now() > deadline) throw new Error(`${tun} in ${this.name} did not come up: ${Buffer.concat(stderr)}`);
      await sleep(20);
    }
    if (options.mtu) await this.run("ip", ["link", "set", tun, "mtu", String(options.mtu)]);
    if (v6) await this.run("ip", ["-6", "addr", "add", v6, "dev", tun, "nodad"]);
    return { tun, relayHost, relayPort, engineHost, enginePort, process: socat };
  }

  /**
   * Random loss on the TUN with nftables (netem is absent here): each packet the kernel receives from
   * `tun` is dropped with probability `inbound`%, each one it sends with `outbound`%. 0 and 0 removes the
   * rules. Needs `nft`.
   */
  async setLoss(tun: string, inbound: number, outbound = inbound): Promise<void> {
    for (const p of [inbound, outbound]) {
      if (!Number.isInteger(p) || p < 0 || p > 100) throw new Error(`loss must be an integer percentage, got ${p}`);
    }
    await this.exec("nft", ["delete", "table", "inet", "tcpw_loss"]);
    // The output hook sees the kernel's GSO super-packets (up to 64 KiB, segmented only later, on the
    // way into the TUN): one drop there loses ~44 segments at once. One segment per skb makes the
    // loss per wire packet, as the percentages promise.
    await this.run("ip", ["link", "set", tun, "gso_max_segs", inbound === 0 && outbound === 0 ? "65535" : "1"]);
    if (inbound === 0 && outbound === 0) return;
    // numgen yields 0..99, so "< 100" is out of range: 100% is a plain drop, 0% no rule at all.
    const rule = (match: string, percent: number) =>
      percent === 0 ? "" : `${match} ${percent === 100 ? "" : `numgen random mod 100 < ${percent} `}counter drop`;
    const rules = `
table inet tcpw_loss {
  chain input {
    type filter hook input priority -10; policy accept;
    ${rule(`iifname "${tun}"`, inbound)}
  }
  chain output {
    type filter hook output priority -10; policy accept;
    ${rule(`oifname "${tun}"`, outbound)}
  }
}
`;
    await this.run("nft", ["-f", "-"], { input: rules });
  }

  /** Packets dropped so far by `setLoss`'s rules, per direction. */
  async lossCounters(): Promise<{ inbound: number; outbound: number }> {
    const out = await this.run("nft", ["list", "table", "inet", "tcpw_loss"]);
    const dropped = (chain: string) => {
      const body = out.slice(out.indexOf(`chain ${chain} {`));
      const match = /counter packets (\d+)/.exec(body.slice(0, body.indexOf("}")));
      return match ? Number(match[1]) : 0;
    };
    return { inbound: dropped("input"), outbound: dropped("output") };
  }

  /** Kills everything started in the namespace, closes its handed-over sockets, deletes it. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    for (const socket of this.sockets) {
      try {
        socket.close();
      } catch {
        // Closed by its user already ("Not running"); its 'close' event is still pending.
      }
    }
    const exits = [...this.children].map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()))),
    );
    for (const child of this.children) child.kill("SIGTERM");
    await Promise.race([Promise.all(exits), sleep(2000)]);
    this.destroySync();
  }

  /** The synchronous part of `destroy`, also used by the exit and signal hooks. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const socket of this.sockets) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    removeNamespaceSync(this.name);
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error(`namespace ${this.name} was destroyed`);
  }
}

/** A namespace whose kernel sits behind a TUN at 10.77.0.1 / fd77::1, and the engine's end of the relay. */
export interface TunNetns {
  ns: Netns;
  relay: TunRelay;
  /** The engine's UDP socket (inside the namespace, owned by this process): one raw IP packet per datagram. */
  link: dgram.Socket;
  kernelV4: string;
  kernelV6: string;
  /** Addresses on the TUN's subnets that belong to the far side of the relay (the engine). */
  peerV4: string;
  peerV6: string;
  /** Injects one raw IP packet into the kernel through the TUN. */
  sendPacket(packet: Uint8Array): Promise<void>;
  destroy(): Promise<void>;
}

export interface TunNetnsOptions extends TunRelayOptions {
  /** The engine's addresses on the TUN's subnets. Default 10.77.0.2 and fd77::2. */
  peerV4?: string;
  peerV6?: string;
}

/** The usual setup: a namespace, socat's TUN relay on its loopback, and the engine's socket. */
export async function createTunNetns(options: TunNetnsOptions = {}): Promise<TunNetns> {
  const ns = await Netns.create();
  try {
    const link = await ns.openUdp(options.enginePort ?? 7000, options.engineHost ?? "127.0.0.1");
    const relay = await ns.startTunRelay(options);
    return {
      ns,
      relay,
      link,
      kernelV4: (options.v4 ?? "10.77.0.1/24").split("/")[0],
      kernelV6: (options.v6 ?? "fd77::1/64").split("/")[0],
      peerV4: options.peerV4 ?? "10.77.0.2",
      peerV6: options.peerV6 ?? "fd77::2",
      sendPacket: (packet) =>
        new Promise((resolve, reject) =>
          link.send(packet, relay.relayPort, relay.relayHost, (err) => (err ? reject(err) : resolve())),
        ),
      destroy: () => ns.destroy(),
    };
  } catch (err) {
    await ns.destroy();
    throw err;
  }
}
