// Shared set-up of the hostile-input suite (issue 9): real stacks from createStack on a virtual clock,
// joined by a hub that also carries a raw peer. The raw peer crafts its segments with the public wire
// encoder (loadWire().encodePacket) and reads the stacks' replies with parsePacket, so nothing here
// reaches into the engine to make or read a segment: what a stack sees is what a hostile host on its
// link could send.
//
// - VirtualClock: the stacks' `now` and `timers`. Time moves only when a test says so (or when the
//   hub runs to the next deadline), so a 60 s TIME-WAIT or a 1 s challenge-ACK window costs nothing
//   and every count the tests assert is exact.
// - Hub: one shared link joining stacks and the raw peer. A packet goes to the stack owning its
//   destination address, anything else to the raw peer's inbox (spoofed sources get their answers
//   there too). Deliveries are promise reactions, so `settle()` (one setImmediate: Node runs every
//   microtask and next-tick callback first) leaves nothing in flight between the stacks.
// - RawTcp: a minimal TCP endpoint the raw peer drives by hand: handshake, data, and whatever
//   forged segment a test wants, with the sequence variables it would need to be in sync.
import { createHash } from "node:crypto";
import { createStack, type Stack, type StackConnection, type StackOptions, type StackTimers } from "../../src/tcp/stack.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { loadWire, type PacketFields, type ParsedPacket, type Wire } from "../../src/core/wire.js";
import { Prng } from "../../src/core/prng.js";

export const CLIENT = "10.0.0.1";
export const SERVER = "10.0.0.2";
/** Where the raw peer's own (not spoofed) segments come from. */
export const RAW = "10.0.0.9";
export const PORT = 80;

const RESOLVED = Promise.resolve();

/** Lets every microtask and next tick run: the stacks' pumps, drains and the hub's deliveries. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The stacks' clock and timers; time moves only when the hub moves it (Hub.runUntil, Hub.advanceTo). */
export class VirtualClock implements StackTimers {
  now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  readonly read = (): number => this.now;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + Math.max(0, ms), fn });
    // Node's timers have ref/unref; the stack calls them on an idle timer. Nothing to keep alive here.
    return { id, ref() {}, unref() {} };
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete((handle as { id: number }).id);
  }

  /** The earliest timer's time, or Infinity. */
  nextAt(): number {
    let t = Infinity;
    for (const p of this.pending.values()) if (p.at < t) t = p.at;
    return t;
  }

  /** Fires the timers due at `now` (in the order they were set). Returns how many fired. */
  fireDue(): number {
    let fired = 0;
    for (const [id, p] of [...this.pending]) {
      if (p.at > this.now || !this.pending.has(id)) continue;
      this.pending.delete(id);
      p.fn();
      fired++;
    }
    return fired;
  }
}

/** One end of the hub: what a stack is attached with. */
class HubPort implements Link {
  handler: PacketHandler | undefined;
  closed = false;
  readonly mtu = 1500;
  constructor(private readonly hub: Hub) {}
  send(packets: Uint8Array[]): void {
    if (!this.closed) this.hub.carry(packets);
  }
  onReceive(handler: PacketHandler): void {
    this.handler = handler;
  }
  close(): void {
    this.closed = true;
  }
}

export interface HubStats {
  /** Packets the hub carried to a stack. */
  toStacks: number;
  /** Packets the hub put in the raw peer's inbox. */
  toRaw: number;
}

/**
 * Stacks and a raw peer on one shared link, on one virtual clock. `stack()` creates a stack with the
 * clock and attaches it; `inject()` hands the raw peer's packets to the stacks; the stacks' packets
 * for addresses they do not own land in `inbox`.
 */
export class Hub {
  readonly clock = new VirtualClock();
  readonly stacks: Stack[] = [];
  /** Parsed packets the stacks sent to addresses no stack owns (the raw peer's, or spoofed ones). */
  readonly inbox: ParsedPacket[] = [];
  readonly stats: HubStats = { toStacks: 0, toRaw: 0 };
  /** Whether to keep the inbox (a flood's answers can be only counted). */
  keepInbox = true;
  private readonly owners = new Map<string, HubPort>();

  private constructor(readonly wire: Wire) {}

  static async create(): Promise<Hub> {
    return new Hub(await loadWire({ flavor: "simd" }));
  }

  /** A stack owning `address` (/24), on the hub's clock and segment. */
  async stack(address: string, options: Partial<StackOptions> = {}): Promise<Stack> {
    const stack = await createStack({
      flavor: "debug",
      ...options,
      addresses: [`${address}/24`],
      name: options.name ?? address,
      now: this.clock.read,
      timers: this.clock,
    });
    const port = new HubPort(this);
    stack.attach(port);
    this.owners.set(address, port);
    this.stacks.push(stack);
    return stack;
  }

  /** @internal Routes a stack's packets: to the stack owning the destination, else to the inbox. */
  carry(packets: Uint8Array[]): void {
    for (const p of packets) {
      const owner = this.owners.get(destination(p));
      if (owner) {
        this.stats.toStacks++;
        // A reaction on a settled promise: delivered after send() returns, as the Link contract asks.
        RESOLVED.then(() => owner.handler?.([p]));
        continue;
      }
      this.stats.toRaw++;
      if (!this.keepInbox) continue;
      const parsed = this.wire.parsePacket(p);
      if ("error" in parsed) throw new Error(`a stack sent a packet parsePacket refuses: ${parsed.error}`);
      // The payload view points into `p`, which the hub owns: keep it.
      this.inbox.push(parsed);
    }
  }

  /** Hands packets to the stack owning their destination, as if they came off the wire. */
  inject(packets: Uint8Array[]): void {
    const byOwner = new Map<HubPort, Uint8Array[]>();
    for (const p of packets) {
      const owner = this.owners.get(destination(p));
      if (!owner) throw new Error(`no stack owns ${destination(p)}`);
      let list = byOwner.get(owner);
      if (!list) byOwner.set(owner, (list = []));
      list.push(p);
    }
    for (const [owner, list] of byOwner) owner.handler?.(list);
  }

  /** Hands packets, whatever they hold, to the link of the stack owning `address`. */
  injectAt(address: string, packets: Uint8Array[]): void {
    const owner = this.owners.get(address);
    if (!owner) throw new Error(`no stack owns ${address}`);
    owner.handler?.(packets);
  }

  /** Encodes one segment with the public wire encoder. */
  encode(fields: PacketFields): Uint8Array {
    return this.wire.encodePacket(fields);
  }

  /** Removes and returns the inbox packets matching `pred`. */
  take(pred: (p: ParsedPacket) => boolean = () => true): ParsedPacket[] {
    const taken: ParsedPacket[] = [];
    let w = 0;
    for (const p of this.inbox) {
      if (pred(p)) taken.push(p);
      else this.inbox[w++] = p;
    }
    this.inbox.length = w;
    return taken;
  }

  /**
   * Settles, then while `done()` is false moves the clock to the next timer and fires it, up to
   * `budgetMs` of virtual time from now. Throws if the budget runs out or nothing is left to fire.
   */
  async runUntil(done: () => boolean, what: string, budgetMs = 600_000): Promise<void> {
    const limit = this.clock.now + budgetMs;
    await settle();
    while (!done()) {
      const next = this.clock.nextAt();
      if (next === Infinity) throw new Error(`${what}: stalled at ${this.clock.now} ms, no timer armed`);
      if (next > limit) throw new Error(`${what}: not done within ${budgetMs} ms of virtual time (next timer at ${next} ms)`);
      this.clock.now = Math.max(this.clock.now, next);
      this.clock.fireDue();
      await settle();
    }
  }

  /** Runs every timer up to `t` (virtual ms), settling after each, and leaves the clock at `t`. */
  async advanceTo(t: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.clock.nextAt();
      if (next > t) break;
      this.clock.now = Math.max(this.clock.now, next);
      this.clock.fireDue();
      await settle();
    }
    this.clock.now = Math.max(this.clock.now, t);
    await settle();
  }

  close(): void {
    for (const s of this.stacks) s.close();
  }
}

/** The destination address of a raw IPv4 packet (the suite speaks IPv4). */
function destination(p: Uint8Array): string {
  return `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
}

export interface RawTcpOptions {
  src?: string;
  srcPort: number;
  dst?: string;
  dstPort?: number;
  /** Initial send sequence number. Default from a seeded PRNG. */
  iss?: number;
  /** Offer timestamps (RFC 7323); TSval starts at `tsStart` and moves on with `tick()`. */
  timestamps?: boolean;
  tsStart?: number;
  /** Window scale offered in the SYN (absent: none). */
  wscale?: number;
  window?: number;
}

const prng = new Prng(0x5eed);

/**
 * A TCP endpoint driven by hand through the hub: it keeps SND.NXT, RCV.NXT and the timestamps in
 * sync with what the stack sent it, and builds any segment a test asks for on that basis.
 */
export class RawTcp {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  iss: number;
  sndNxt: number;
  rcvNxt = 0;
  /** The stack's window, scaled. */
  peerWindow = 0;
  /** The stack's last TSval (our TSecr). */
  tsRecent = 0;
  tsVal: number;
  readonly timestamps: boolean;
  /** Bytes the stack sent us, in order. */
  readonly received: Uint8Array[] = [];
  peerFin = false;
  private peerShift = 0;
  private readonly options: RawTcpOptions;

  constructor(readonly hub: Hub, o: RawTcpOptions) {
    this.src = o.src ?? RAW;
    this.srcPort = o.srcPort;
    this.dst = o.dst ?? SERVER;
    this.dstPort = o.dstPort ?? PORT;
    this.iss = o.iss ?? prng.nextU32();
    this.sndNxt = this.iss;
    this.timestamps = o.timestamps ?? false;
    this.tsVal = o.tsStart ?? 1000;
    this.options = o;
  }

  /** Fields of a segment from this endpoint with its current numbers; `over` overrides any of them. */
  fields(over: Partial<PacketFields> = {}): PacketFields {
    return {
      src: this.src,
      dst: this.dst,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      seq: this.sndNxt >>> 0,
      ack: this.rcvNxt >>> 0,
      flags: { ack: true },
      window: this.options.window ?? 65535,
      options: this.timestamps ? { timestamps: { value: this.tsVal >>> 0, echo: this.tsRecent >>> 0 } } : {},
      ...over,
    };
  }

  segment(over: Partial<PacketFields> = {}): Uint8Array {
    return this.hub.encode(this.fields(over));
  }

  send(over: Partial<PacketFields> = {}): void {
    this.hub.inject([this.segment(over)]);
  }

  /** The SYN that opens this endpoint's connection (MSS 1460, SACK, window scale and timestamps as set). */
  synSegment(): Uint8Array {
    const o = this.options;
    return this.hub.encode({
      ...this.fields({ seq: this.iss >>> 0, ack: 0, flags: { syn: true } }),
      options: {
        mss: 1460,
        sackPermitted: true,
        wscale: o.wscale,
        timestamps: this.timestamps ? { value: this.tsVal >>> 0, echo: 0 } : undefined,
      },
    });
  }

  /** Segments the stack sent to this endpoint since the last call (taken from the hub's inbox). */
  replies(): ParsedPacket[] {
    const got = this.hub.take((p) => p.dst === this.src && p.dstPort === this.srcPort && p.src === this.dst && p.srcPort === this.dstPort);
    for (const p of got) this.absorb(p);
    return got;
  }

  /** Follows the stack's numbers: RCV.NXT over in-order data and FIN, its window and TSval. */
  private absorb(p: ParsedPacket): void {
    if (p.flags.syn && p.flags.ack) {
      this.rcvNxt = (p.seq + 1) >>> 0;
      // RFC 7323 2.2: the stack's shift applies only if both SYNs carried the option.
      this.peerShift = this.options.wscale != null && p.options.wscale != null ? p.options.wscale : 0;
    }
    if (p.options.timestamps) this.tsRecent = p.options.timestamps.value;
    if (!p.flags.syn) this.peerWindow = p.window << this.peerShift;
    if (p.payloadLength > 0 && p.seq === this.rcvNxt) {
      this.received.push(p.payload.slice());
      this.rcvNxt = (this.rcvNxt + p.payloadLength) >>> 0;
    }
    if (p.flags.fin && ((p.seq + p.payloadLength) >>> 0) === this.rcvNxt) {
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.peerFin = true;
    }
  }

  /** Moves our timestamp clock on (a real host's TSval grows with time). */
  tick(n = 1): void {
    this.tsVal = (this.tsVal + n) >>> 0;
  }

  /** Three-way handshake with the stack's listener; returns the SYN-ACK. */
  async open(): Promise<ParsedPacket> {
    this.hub.inject([this.synSegment()]);
    await settle();
    const synAck = this.replies().find((p) => p.flags.syn && p.flags.ack);
    if (!synAck) throw new Error(`${this.src}:${this.srcPort}: no SYN-ACK`);
    if (synAck.ack !== ((this.iss + 1) >>> 0)) throw new Error(`SYN-ACK acknowledges ${synAck.ack}, not ISS + 1`);
    this.sndNxt = (this.iss + 1) >>> 0;
    this.tick();
    this.send();
    await settle();
    return synAck;
  }

  /** Sends `data` in order, in segments of at most `mss` bytes (no regard for the window). */
  sendData(data: Uint8Array, mss = 1448, flags: PacketFields["flags"] = { ack: true, psh: true }): void {
    const packets: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += mss) {
      const payload = data.subarray(off, Math.min(off + mss, data.length));
      packets.push(this.segment({ flags, payload }));
      this.sndNxt = (this.sndNxt + payload.length) >>> 0;
    }
    this.hub.inject(packets);
  }

  /** Everything the stack sent us, concatenated. */
  receivedBytes(): Buffer {
    return Buffer.concat(this.received);
  }
}

/** What a server stack's application saw on one connection. */
export interface ServerSide {
  conn: StackConnection;
  bytes: number;
  hash: ReturnType<typeof createHash>;
  ended: boolean;
  closed: boolean;
  error: unknown;
}

/**
 * A listener on `port` of `stack` that hashes what each connection sends (SHA-256) and, once the peer
 * has ended, calls `onEnd` (default: end our side too).
 */
export function hashingServer(stack: Stack, port = PORT, onEnd?: (conn: StackConnection, side: ServerSide) => void): ServerSide[] {
  const sides: ServerSide[] = [];
  stack.openListener({ port }, (conn) => {
    const side: ServerSide = { conn, bytes: 0, hash: createHash("sha256"), ended: false, closed: false, error: undefined };
    sides.push(side);
    conn.onData = (chunk) => {
      side.bytes += chunk.length;
      side.hash.update(chunk);
    };
    conn.onEnd = () => {
      side.ended = true;
      if (onEnd) onEnd(conn, side);
      else conn.end();
    };
    conn.onClose = (error) => {
      side.closed = true;
      side.error = error;
    };
  });
  return sides;
}

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Seeded bytes. */
export function bytes(n: number, seed = 1): Uint8Array {
  return new Prng(seed).fill(new Uint8Array(n));
}

/** A stack's pool bytes in use and its WebAssembly memory size. */
export function memoryOf(stack: Stack): { pool: number; wasm: number } {
  return { pool: stack.engine.memoryInUse(), wasm: stack.engine.memory.memory.buffer.byteLength };
}

export interface SoakOptions {
  connections: number;
  /** Connections open at a time. Default 100. */
  concurrency?: number;
  /** Connections before TIME-WAIT is let expire (the clock jumps 2 MSL). Default 5,000. */
  timeWaitEvery?: number;
  /** Called after every `timeWaitEvery` connections, once TIME-WAIT has expired. */
  onQuiet?: (done: number) => void;
}

/**
 * Connection churn through two stacks on the hub: each connection opens, sends 1 KiB each way
 * (checked byte for byte), the client closes first and the server answers its FIN with its own.
 * Returns the connections completed; throws on any error, reset or wrong byte.
 */
export async function soak(hub: Hub, client: Stack, server: Stack, o: SoakOptions): Promise<number> {
  const concurrency = o.concurrency ?? 100;
  const timeWaitEvery = o.timeWaitEvery ?? 5000;
  const payload = bytes(1024, 77);
  const listener = server.openListener({ port: PORT }, (conn) => {
    let got = 0;
    conn.onData = (chunk) => {
      if (Buffer.compare(chunk, payload.subarray(got, got + chunk.length)) !== 0) throw new Error("soak: the server read bytes that were not sent");
      got += chunk.length;
    };
    conn.onEnd = () => {
      if (got !== payload.length) throw new Error(`soak: the server read ${got} of ${payload.length} bytes`);
      conn.write(payload);
      conn.end();
    };
  });
  let done = 0;
  let failure: unknown;
  let sinceQuiet = 0;
  const quiesce = async () => {
    // 2 MSL of the default 30 s MSL, and then some: every TIME-WAIT has expired.
    await hub.advanceTo(hub.clock.now + 60_001);
    if (client.engine.liveConnections() !== 0 || server.engine.liveConnections() !== 1) {
      throw new Error(`soak: ${client.engine.liveConnections()} client and ${server.engine.liveConnections()} server connections left after 2 MSL`);
    }
    o.onQuiet?.(done);
  };
  while (done < o.connections) {
    const batch = Math.min(concurrency, o.connections - done);
    let closed = 0;
    for (let i = 0; i < batch; i++) {
      const conn = client.openConnection({ remote: SERVER, remotePort: PORT });
      let got = 0;
      conn.onConnect = () => {
        conn.write(payload);
        conn.end();
      };
      conn.onData = (chunk) => {
        if (Buffer.compare(chunk, payload.subarray(got, got + chunk.length)) !== 0) failure ??= new Error("soak: the client read bytes that were not sent");
        got += chunk.length;
      };
      conn.onClose = (error) => {
        if (error) failure ??= error;
        else if (got !== payload.length) failure ??= new Error(`soak: the client read ${got} of ${payload.length} bytes`);
        closed++;
      };
    }
    await hub.runUntil(() => closed === batch || failure !== undefined, "soak batch");
    if (failure) throw failure;
    done += batch;
    sinceQuiet += batch;
    if (sinceQuiet >= timeWaitEvery || done === o.connections) {
      await quiesce();
      sinceQuiet = 0;
    }
  }
  listener.close();
  await settle();
  return done;
}

/** `count` SYNs to SERVER:PORT from spoofed sources no stack owns, each with its own port and ISN. */
export function spoofedSyns(hub: Hub, count: number, from: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(
      hub.encode({
        src: `10.0.${1 + ((i >>> 8) % 250)}.${i & 255}`,
        dst: SERVER,
        srcPort: 1024 + ((i * 7919) % 60000),
        dstPort: PORT,
        seq: Math.imul(i, 2654435761) >>> 0,
        flags: { syn: true },
        options: { mss: 1460, sackPermitted: true, wscale: 7, timestamps: { value: i, echo: 0 } },
      }),
    );
  }
  return out;
}

/**
 * A forged segment against an established connection of the raw peer's (RFC 5961): the `i`th of a
 * burst, built from what the raw peer knows of the connection. `timestamps` / `wscale`: how the
 * connection must be opened for the forgery to mean what it says.
 */
export interface Injection {
  what: string;
  timestamps?: boolean;
  wscale?: number;
  make(raw: RawTcp, i: number): Uint8Array;
}

/** The server has sent nothing but its SYN in these scenarios: SND.UNA = SND.NXT = the raw peer's RCV.NXT. */
export const INJECTIONS = {
  rstInWindow: {
    what: "RST in the window, not at RCV.NXT",
    make: (raw, i) => raw.segment({ seq: (raw.sndNxt + 1 + ((i * 61) % (raw.peerWindow - 1))) >>> 0, flags: { rst: true }, ack: 0 }),
  },
  rstBeyondWindow: {
    what: "RST beyond the window (window scaling on)",
    wscale: 7,
    make: (raw, i) => raw.segment({ seq: (raw.sndNxt + raw.peerWindow + i * 4099) >>> 0, flags: { rst: true }, ack: 0 }),
  },
  rstBeyondUnscaledWindow: {
    what: "RST beyond the 65,535-byte window (no window scaling)",
    make: (raw, i) => raw.segment({ seq: (raw.sndNxt + raw.peerWindow + i * 4099) >>> 0, flags: { rst: true }, ack: 0 }),
  },
  synAnySeq: {
    what: "SYN with a random sequence number",
    make: (raw, i) => raw.segment({ seq: Math.imul(i + 1, 2654435761) >>> 0, ack: 0, flags: { syn: true }, options: { mss: 1460 } }),
  },
  oldAck: {
    what: "data with an ACK below SND.UNA - MAX.SND.WND",
    make: (raw, i) => raw.segment({ ack: (raw.rcvNxt - 70_000 - i * 1_000_003) >>> 0, payload: bytes(100, 50 + (i % 7)) }),
  },
  unsentAck: {
    what: "data acknowledging bytes never sent",
    make: (raw, i) => raw.segment({ ack: (raw.rcvNxt + 1 + i * 997) >>> 0, payload: bytes(100, 60 + (i % 7)) }),
  },
  outOfWindowData: {
    what: "data beyond the receive window (window scaling on)",
    wscale: 7,
    make: (raw, i) => raw.segment({ seq: (raw.sndNxt + raw.peerWindow + 10 + i * 1500) >>> 0, payload: bytes(200, 80) }),
  },
  pawsStale: {
    what: "data with a PAWS-stale timestamp",
    timestamps: true,
    make: (raw, i) => raw.segment({ payload: bytes(100, 90), options: { timestamps: { value: (raw.tsVal - 100_000 - i) >>> 0, echo: raw.tsRecent } } }),
  },
} satisfies Record<string, Injection>;

/**
 * Injects `count` forged segments, each in a link delivery of its own that the stack answers before
 * the next arrives (segments in one batch share one ACK, which would hide the answers an attacker
 * sending one segment at a time draws); returns how many segments the stack sent to the raw peer's
 * 4-tuple. The virtual clock does not move.
 */
export async function burst(raw: RawTcp, make: (raw: RawTcp, i: number) => Uint8Array, count: number): Promise<number> {
  let answers = 0;
  for (let i = 0; i < count; i++) {
    raw.hub.inject([make(raw, i)]);
    await settle();
    answers += raw.replies().length;
  }
  return answers;
}
