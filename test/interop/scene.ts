// One interop scene: a namespace whose kernel sits behind a TUN relayed by socat (netns.ts), and a
// tcpwasm stack in this process on the other end of the relay, at 10.77.0.2/24 and fd77::2/64. Every
// packet the stack sends or receives is written to a pcap file, read back with tshark by the tests.
//
//   kernel 10.77.0.1 / fd77::1 -- tw0 -- socat ==UDP==> this process: gate -> pcap -> stack
//
// The gate can hold the packets coming from the kernel, so a test can make both FINs cross on the
// wire (simultaneous close) without depending on timing: hold, let the kernel send its FIN, send ours,
// release.

import { createHash, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStack, recordLink, type Stack, type StackConnection, type TcpState, type TraceEvent } from "../../src/index.js";
import type { EngineConfig } from "../../src/core/settings.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { createUdpLink } from "../../src/net/udp-link.js";
import { openPcapFile, type PcapFile } from "../../src/tools/pcap-file.js";
import { createTunNetns, type TunNetns } from "./netns.js";

export const STACK_V4 = "10.77.0.2";
export const STACK_V6 = "fd77::2";
export const KERNEL_V4 = "10.77.0.1";
export const KERNEL_V6 = "fd77::1";

export const FAMILIES = [
  { family: 4 as const, name: "IPv4", stack: STACK_V4, kernel: KERNEL_V4 },
  { family: 6 as const, name: "IPv6", stack: STACK_V6, kernel: KERNEL_V6 },
];
export type Family = (typeof FAMILIES)[number];

/** A link wrapper that can hold what arrives (from the kernel) and release it later, in order. */
export class GateLink implements Link {
  private handler: PacketHandler | undefined;
  private held: Uint8Array[] = [];
  private holding = false;

  constructor(private readonly inner: Link) {
    inner.onReceive((packets) => {
      if (this.holding) this.held.push(...packets);
      else this.handler?.(packets);
    });
  }

  get mtu(): number | undefined {
    return this.inner.mtu;
  }

  send(packets: Uint8Array[]): void {
    this.inner.send(packets);
  }

  onReceive(handler: PacketHandler): void {
    this.handler = handler;
  }

  close(): void {
    this.inner.close();
  }

  /** Starts holding inbound packets. */
  hold(): void {
    this.holding = true;
  }

  /** Packets held so far (not yet delivered). */
  get heldPackets(): readonly Uint8Array[] {
    return this.held;
  }

  /** Delivers what was held, in order, and stops holding. */
  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    if (held.length) this.handler?.(held);
  }
}

export interface Scene {
  t: TunNetns;
  stack: Stack;
  gate: GateLink;
  pcapPath: string;
  /** With `trace`: the states each connection went through, in order (from its first known state). */
  states: Map<StackConnection, TcpState[]>;
  /** Closes the stack and the capture (the pcap stays readable until `destroy`). */
  stop(): void;
  /** Everything: stack, namespace, temporary directory. Idempotent. */
  destroy(): Promise<void>;
}

export interface SceneOptions {
  config?: EngineConfig;
  /** Name of the pcap file (in a temporary directory removed by destroy). */
  pcapName?: string;
  /** Record state transitions per connection in `states` (turns the engine's tracing on). */
  trace?: boolean;
  /** Write the capture (default true; benchmarks turn it off). */
  pcap?: boolean;
}

export async function createScene(options: SceneOptions = {}): Promise<Scene> {
  const dir = mkdtempSync(join(tmpdir(), "tcpwi-scene-"));
  let t: TunNetns | undefined;
  let stack: Stack | undefined;
  let pcap: PcapFile | undefined;
  let destroyed = false;
  const stop = () => {
    stack?.close();
    pcap?.close();
  };
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    stop();
    await t?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    t = await createTunNetns();
    const pcapPath = join(dir, options.pcapName ?? "scene.pcap");
    const udp = await createUdpLink({ socket: t.link, peer: { host: t.relay.relayHost, port: t.relay.relayPort } });
    if (options.pcap !== false) pcap = openPcapFile(pcapPath);
    const gate = new GateLink(pcap ? recordLink(udp, pcap.sink) : udp);
    const states = new Map<StackConnection, TcpState[]>();
    const trace = (event: TraceEvent, conn: StackConnection | undefined) => {
      if (event.kind !== "state" || !conn) return;
      let list = states.get(conn);
      if (!list) states.set(conn, (list = [event.from]));
      list.push(event.to);
    };
    stack = await createStack({
      addresses: [`${STACK_V4}/24`, `${STACK_V6}/64`],
      name: "tcpwasm",
      config: options.config,
      trace: options.trace ? trace : undefined,
    });
    stack.attach(gate);
    return { t, stack, gate, pcapPath, states, stop, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Rejects with a clear message unless `promise` settles within `ms`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What one side of a connection saw. */
export interface Received {
  bytes: number;
  sha: string;
  /** The peer's FIN was delivered (after all data). */
  ended: boolean;
}

/** Observes a StackConnection: hashes what it reads, records end and close. Set before the first event. */
export class Observed {
  received = 0;
  ended = false;
  closed = false;
  closeError: { code: string } | undefined;
  private readonly hash = createHash("sha256");
  private readonly endWaiters: (() => void)[] = [];
  private readonly closeWaiters: (() => void)[] = [];
  private readonly dataWaiters: (() => void)[] = [];

  constructor(
    readonly conn: StackConnection,
    /** Called on the peer's FIN, after all data (default: nothing). */
    onEnd?: () => void,
    /** Echo everything back (with backpressure) instead of only counting it. */
    echo = false,
  ) {
    const pending: Uint8Array[] = [];
    const flush = () => {
      while (pending.length) {
        const chunk = pending[0];
        const n = conn.write(chunk);
        if (n < chunk.length) {
          pending[0] = chunk.subarray(n);
          conn.pause();
          return;
        }
        pending.shift();
      }
      conn.resume();
      if (this.ended && echo) conn.end();
    };
    conn.onData = (chunk) => {
      this.received += chunk.length;
      this.hash.update(chunk);
      for (const w of this.dataWaiters.splice(0)) w();
      if (echo) {
        pending.push(chunk);
        if (pending.length === 1) flush();
      }
    };
    if (echo) conn.onWritable = flush;
    conn.onEnd = () => {
      this.ended = true;
      for (const w of this.endWaiters.splice(0)) w();
      if (echo && pending.length === 0) conn.end();
      onEnd?.();
    };
    conn.onClose = (error) => {
      this.closed = true;
      this.closeError = error;
      for (const w of this.endWaiters.splice(0)) w();
      for (const w of this.closeWaiters.splice(0)) w();
      for (const w of this.dataWaiters.splice(0)) w();
    };
  }

  get sha(): string {
    return this.hash.copy().digest("hex");
  }

  /** Resolves on the peer's FIN (or the close, whichever first); bounded. */
  async untilEnd(ms = 30_000): Promise<Received> {
    if (!this.ended && !this.closed) await within(ms, `${this.conn.describe()}: end`, new Promise<void>((r) => this.endWaiters.push(r)));
    return { bytes: this.received, sha: this.sha, ended: this.ended };
  }

  /** Resolves once at least `bytes` were read (or the connection closed); bounded. */
  async untilReceived(bytes: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.received < bytes && !this.closed) {
      await within(Math.max(1, deadline - Date.now()), `${this.conn.describe()}: ${bytes} bytes`, new Promise<void>((r) => this.dataWaiters.push(r)));
    }
  }

  /** Resolves with onClose's error (undefined for a clean close); bounded. */
  async untilClose(ms = 30_000): Promise<{ code: string } | undefined> {
    if (!this.closed) await within(ms, `${this.conn.describe()}: close`, new Promise<void>((r) => this.closeWaiters.push(r)));
    return this.closeError;
  }
}

/**
 * A listener on `port` whose first connection is observed (Observed with `echo`); resolves with it,
 * bounded. The kernel's connect() returns on our SYN,ACK, before its ACK reaches us (or when that
 * ACK is lost, before its first data does): wait for this, not for the kernel's "connected".
 */
export function acceptOne(stack: Stack, port: number, options: { echo?: boolean; ms?: number; onAccept?: (o: Observed) => void } = {}): {
  accepted: Promise<Observed>;
  close(): void;
} {
  let resolve!: (o: Observed) => void;
  const accepted = new Promise<Observed>((r) => (resolve = r));
  const listener = stack.openListener({ port }, (conn) => {
    const o = new Observed(conn, undefined, options.echo ?? false);
    options.onAccept?.(o);
    resolve(o);
  });
  return {
    accepted: within(options.ms ?? 30_000, `accept on port ${port}`, accepted).finally(() => listener.close()),
    close: () => listener.close(),
  };
}

/**
 * Resolves once the connection is established, rejects with its error if it closes first. Call after
 * creating its Observed (this chains onto its onClose).
 */
export function connected(conn: StackConnection, ms = 10_000): Promise<void> {
  return within(
    ms,
    `${conn.describe()}: connect`,
    new Promise<void>((resolve, reject) => {
      const prevClose = conn.onClose;
      conn.onConnect = () => resolve();
      conn.onClose = (error) => {
        prevClose?.(error);
        reject(error ?? new Error("closed before connecting"));
      };
    }),
  );
}

/**
 * Writes `total` random bytes with backpressure (onWritable), then end() unless `end` is false.
 * Resolves with the SHA-256 of what was written.
 */
export function writeRandom(conn: StackConnection, total: number, options: { end?: boolean; ms?: number } = {}): Promise<string> {
  const hash = createHash("sha256");
  const blockSize = 256 * 1024;
  let left = total;
  let chunk = new Uint8Array(0);
  return within(
    options.ms ?? 60_000,
    `${conn.describe()}: write ${total} bytes`,
    new Promise<string>((resolve, reject) => {
      const pump = () => {
        try {
          for (;;) {
            if (chunk.length === 0) {
              if (left === 0) {
                if (options.end !== false) conn.end();
                conn.onWritable = undefined;
                resolve(hash.digest("hex"));
                return;
              }
              const n = Math.min(blockSize, left);
              chunk = randomFillSync(new Uint8Array(n));
              hash.update(chunk);
              left -= n;
            }
            const taken = conn.write(chunk);
            chunk = chunk.subarray(taken);
            if (chunk.length > 0) return; // onWritable calls pump again
          }
        } catch (err) {
          reject(err);
        }
      };
      conn.onWritable = pump;
      pump();
    }),
  );
}
