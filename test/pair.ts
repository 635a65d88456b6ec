// Two engines back to back in one process (STYLE.md rule 12; quinn-proto's Pair, smoltcp's netsim):
// engine A's TX records become engine B's RX records and vice versa, either straight across (one copy
// per batch, no faults) or through the memory link's seeded fault injection. Time is virtual: when
// neither engine has output and the host has nothing to do, the clock jumps to the earliest of both
// engines' next deadline and the link's next delivery.
//
// Everything goes through H4's driver (src/engine.ts). The host side here reads and writes the rings
// in place through `engine.raw` / `engine.memory` so received data is hashed without a copy.
import { createHash, type Hash } from "node:crypto";
import { Engine, type ConnectionStatus, type EngineConfig, type EngineCounters, type EngineEvent } from "../src/engine.js";
import type { Flavor } from "../src/loader.js";
import { createMemoryLinkPair, type MemoryLink, type MemoryLinkOptions, type MemoryLinkStats } from "../src/link/memory.js";
import { Prng } from "../src/prng.js";
import { flagNames } from "../src/trace.js";

export const ADDRESS_A = "10.0.0.1";
export const ADDRESS_B = "10.0.0.2";
export const SERVER_PORT = 80;

export interface PairOptions {
  flavor?: Flavor;
  /** Engine configuration shared by both ends (the link MTU is set from `mtu`). */
  config?: EngineConfig;
  /** Link MTU; also the engines' MTU. Default 1500. */
  mtu?: number;
  /** Seeds the link's faults, the engines' ISN secrets and PRNGs, and the data. Default 1. */
  seed?: number;
  /**
   * Faults and delays of the simulated link (src/link/memory.ts), on the pair's virtual clock.
   * Absent: the packets go straight from one engine's TX region to the other's RX region.
   */
  link?: Omit<MemoryLinkOptions, "clock" | "now" | "mtu" | "seed">;
  /**
   * Keep the last `traceLast` segments and state changes of each engine (turns the engines' TRACE
   * on) and print them in failure messages.
   */
  traceLast?: number;
  /**
   * Scripted loss on top of the link's random faults: packets for which this returns true are dropped
   * before they reach the wire. `from` is the sending end.
   */
  drop?: (from: "A" | "B", packet: Uint8Array, now: number) => boolean;
}

/** Limits that turn a hang into a clear failure. */
export interface Budget {
  /** Host loop iterations. */
  steps: number;
  /** Virtual milliseconds. */
  virtualMs: number;
}

/** Deterministic secret for an engine: reproducible ISNs and ephemeral ports per seed. */
function secretFor(seed: number, which: number): Uint8Array {
  return new Prng((seed * 2 + which) >>> 0).fill(new Uint8Array(32));
}

/** One engine of the pair, with the events it produced since the host last looked. */
export class End {
  readonly events: EngineEvent[] = [];
  /** The last segments and transitions, formatted, when tracing (PairOptions.traceLast). */
  readonly trace: string[] = [];
  constructor(
    readonly name: "A" | "B",
    readonly engine: Engine,
    private readonly clock: () => number,
    private readonly traceLast = 0,
  ) {}

  /** Keep STATE (transition) events in `events`; off by default, the transfers do not read them. */
  keepStateEvents = false;

  /** Moves the engine's pending events into `events`; returns how many there were. */
  collect(): number {
    const ev = this.engine.events();
    for (const e of ev) {
      if (this.traceLast) this.record(e);
      if (e.type === "segment") continue;
      if (this.keepStateEvents || e.type !== "state") this.events.push(e);
    }
    return ev.length;
  }

  private record(e: EngineEvent): void {
    let line: string;
    if (e.type === "segment") {
      line = `${e.direction === "out" ? "->" : "<-"} #${e.id} ${flagNames(e.flags)} seq=${e.seq} ack=${e.ack} win=${e.window} len=${e.length}`;
    } else if (e.type === "state") {
      line = `#${e.id} ${e.from} -> ${e.to}`;
    } else {
      line = `#${e.id} ${JSON.stringify(e)}`;
    }
    this.trace.push(`${this.clock().toFixed(3)} ${this.name} ${line}`);
    if (this.trace.length > this.traceLast * 2) this.trace.splice(0, this.trace.length - this.traceLast);
  }

  /** Takes (removes and returns) the events matching `pred`. */
  take(pred: (e: EngineEvent) => boolean): EngineEvent[] {
    const taken: EngineEvent[] = [];
    let w = 0;
    for (const e of this.events) {
      if (pred(e)) taken.push(e);
      else this.events[w++] = e;
    }
    this.events.length = w;
    return taken;
  }
}

/** Host-side state of one direction of a stream: what it sends and what it has received. */
export class StreamSide {
  sent = 0;
  received = 0;
  closed = false;
  peerFin = false;
  /** First offset where received bytes differed from what the peer sent, or -1. */
  firstMismatch = -1;
  readonly sentHash: Hash = createHash("sha256");
  readonly receivedHash: Hash = createHash("sha256");
  constructor(
    readonly end: End,
    readonly id: number,
    /** What this side sends. */
    readonly data: Uint8Array,
    /** What the peer sends: received bytes are checked against it as they arrive (diagnostics). */
    readonly expected: Uint8Array,
  ) {}

  /** Writes as much of `data` as the send ring takes, then CLOSE once all is written. */
  write(now: number): number {
    const x = this.end.engine.raw;
    const mem = this.end.engine.memory;
    let moved = 0;
    while (this.sent < this.data.length) {
      const space = x.connSendSpace(this.id);
      if (space <= 0) break;
      const n = Math.min(space, this.data.length - this.sent);
      const chunk = this.data.subarray(this.sent, this.sent + n);
      mem.u8.set(chunk, x.connSendPtr(this.id) >>> 0);
      const r = x.connSendCommitMs(this.id, n, now);
      if (r < 0) throw new Error(`${this.end.name}: send commit of ${n} bytes failed with ${r}`);
      this.sentHash.update(chunk);
      this.sent += n;
      moved += n;
    }
    if (this.sent === this.data.length && !this.closed) {
      const r = x.connCloseMs(this.id, now);
      if (r < 0) throw new Error(`${this.end.name}: close failed with ${r}`);
      this.closed = true;
      moved++;
    }
    return moved;
  }

  /** Reads (hashes and checks) everything readable and consumes it. */
  read(now: number): number {
    const x = this.end.engine.raw;
    let moved = 0;
    for (;;) {
      const avail = x.connRecvAvail(this.id);
      if (avail <= 0) break;
      const p = x.connRecvPtr(this.id) >>> 0;
      const got = this.end.engine.memory.u8.subarray(p, p + avail);
      if (this.received + avail > this.expected.length) {
        throw new Error(`${this.end.name}: received ${this.received + avail} bytes, more than the ${this.expected.length} sent`);
      }
      if (this.firstMismatch < 0) {
        const want = this.expected.subarray(this.received, this.received + avail);
        if (Buffer.compare(got, want) !== 0) {
          let i = 0;
          while (got[i] === want[i]) i++;
          this.firstMismatch = this.received + i;
        }
      }
      this.receivedHash.update(got);
      const r = x.connRecvConsumeMs(this.id, avail, now);
      if (r < 0) throw new Error(`${this.end.name}: recv consume failed with ${r}`);
      this.received += avail;
      moved += avail;
    }
    return moved;
  }
}

export interface DirectionResult {
  bytes: number;
  sentSha256: string;
  receivedSha256: string;
  firstMismatch: number;
}

export interface TransferResult {
  aToB: DirectionResult;
  bToA: DirectionResult;
  /** Virtual ms from the first SYN to both ends closed. */
  virtualMs: number;
  steps: number;
  segmentsOut: { a: number; b: number };
  retransmits: { a: number; b: number };
  countersA: EngineCounters;
  countersB: EngineCounters;
  linkAtoB?: MemoryLinkStats;
  linkBtoA?: MemoryLinkStats;
  /** Each end's connection STATUS once both FINs were in, before the handles were released. */
  statusA: ConnectionStatus;
  statusB: ConnectionStatus;
}

export class Pair {
  /** Virtual time in ms, shared by both engines and the link; jumps to the next deadline or delivery. */
  now = 0;
  steps = 0;
  readonly a: End;
  readonly b: End;
  readonly links: [MemoryLink, MemoryLink] | undefined;
  readonly mtu: number;
  private readonly seed: number;
  private readonly drop: PairOptions["drop"];
  /** Packets removed by PairOptions.drop, per sending end. */
  readonly dropped = { A: 0, B: 0 };
  private budget: Budget = { steps: Infinity, virtualMs: Infinity };

  private constructor(a: Engine, b: Engine, options: PairOptions) {
    this.a = new End("A", a, () => this.now, options.traceLast);
    this.b = new End("B", b, () => this.now, options.traceLast);
    this.mtu = options.mtu ?? 1500;
    this.seed = options.seed ?? 1;
    this.drop = options.drop;
    if (options.link) {
      this.links = createMemoryLinkPair({ ...options.link, clock: "manual", now: () => this.now, mtu: this.mtu, seed: this.seed });
      // Packets arriving at link end 0 are for A, at end 1 for B.
      this.links[0].onReceive((packets) => a.input(packets, this.now));
      this.links[1].onReceive((packets) => b.input(packets, this.now));
    }
  }

  static async create(options: PairOptions = {}): Promise<Pair> {
    const seed = options.seed ?? 1;
    const config: EngineConfig = { ...options.config, mtu: options.mtu ?? 1500 };
    if (options.traceLast) config.trace = true;
    const flavor = options.flavor ?? "debug";
    const a = await Engine.create({ flavor, config, secret: secretFor(seed, 0) });
    const b = await Engine.create({ flavor, config, secret: secretFor(seed, 1) });
    return new Pair(a, b, options);
  }

  /** Limits for runUntil; exceeding one throws with the pair's state. */
  setBudget(budget: Budget): void {
    this.budget = budget;
  }

  /** Moves A's output to B and B's to A; returns the packets moved. */
  private transmit(): number {
    if (this.links) {
      const [la, lb] = this.links;
      return this.sendThroughLink(this.a, la) + this.sendThroughLink(this.b, lb);
    }
    if (this.drop) return this.sendFiltered(this.a, this.b) + this.sendFiltered(this.b, this.a);
    return this.sendDirect(this.a.engine, this.b.engine) + this.sendDirect(this.b.engine, this.a.engine);
  }

  /** Copies of `from`'s queued packets minus the scripted drops, and how many were queued. */
  private drain(from: End): [Uint8Array[], number] {
    const batch: Uint8Array[] = [];
    let n = 0;
    from.engine.drainOutput(this.now, (p) => {
      n++;
      if (this.drop && this.drop(from.name, p, this.now)) this.dropped[from.name]++;
      else batch.push(p.slice());
    });
    return [batch, n];
  }

  private sendThroughLink(from: End, link: MemoryLink): number {
    // The link owns what it is given: copies out of the TX region.
    const [batch, n] = this.drain(from);
    if (batch.length) link.send(batch);
    return n;
  }

  private sendFiltered(from: End, to: End): number {
    const [batch, n] = this.drain(from);
    if (batch.length) to.engine.input(batch, this.now);
    return n;
  }

  // TX and RX records share one layout, so a whole TX batch is one copy into the peer's RX region.
  private sendDirect(from: Engine, to: Engine): number {
    const fx = from.raw;
    const tx = to.raw;
    let total = 0;
    for (;;) {
      const n = fx.engineOutput(this.now);
      if (n === 0) break;
      const base = fx.engineTxPtr() >>> 0;
      const dv = from.memory.dv;
      let off = 0;
      for (let i = 0; i < n; i++) off += 4 + ((dv.getUint32(base + off, true) + 3) & ~3);
      if (off > tx.engineRxCapacity()) throw new Error(`TX batch of ${off} bytes exceeds the peer's RX region`);
      to.memory.u8.set(from.memory.u8.subarray(base, base + off), tx.engineRxPtr() >>> 0);
      tx.engineInput(n, this.now);
      total += n;
      if (!fx.engineOutputMore()) break;
    }
    return total;
  }

  /** Delivers what the link has due at `now`; returns the packets delivered. */
  private deliver(): number {
    if (!this.links) return 0;
    return this.links[0].deliverDue(this.now) + this.links[1].deliverDue(this.now);
  }

  /** The next virtual time anything is due: a timer or a packet on the link. */
  nextEventTime(): number {
    let t = Math.min(this.a.engine.nextDeadline(), this.b.engine.nextDeadline());
    if (this.links) t = Math.min(t, this.links[0].nextDeliveryTime(), this.links[1].nextDeliveryTime());
    return t;
  }

  /**
   * One round: move packets both ways, run due timers, collect events, let `host` act. Returns how
   * much happened (0: the pair is idle at this instant). Packets the link has due now go in before
   * timers due now run: a deadline asks whether something arrived by then, and what arrives at that
   * very instant has (an ACK landing on RACK's reordering deadline delivers the segment, RFC 8985 6.2
   * step 5, instead of racing the timer by the order of two calls).
   */
  poll(host?: () => number): number {
    let work = 0;
    const now = this.now;
    work += this.transmit();
    work += this.deliver();
    if (this.a.engine.nextDeadline() <= now) this.a.engine.timers(now);
    if (this.b.engine.nextDeadline() <= now) this.b.engine.timers(now);
    work += this.transmit();
    work += this.a.collect() + this.b.collect();
    if (host) work += host();
    return work;
  }

  /**
   * Polls until `done()`; when a round does nothing, jumps the clock to the next deadline or
   * delivery. Throws (with `describe()`) past the budget, or when nothing is pending at all.
   */
  runUntil(done: () => boolean, host?: () => number, what = "condition", notAfter = Infinity): void {
    while (!done()) {
      this.steps++;
      if (this.steps > this.budget.steps) this.fail(`${what}: step budget of ${this.budget.steps} exhausted`);
      if (this.poll(host) !== 0) continue;
      if (done()) return;
      const next = Math.min(this.nextEventTime(), notAfter);
      if (next === notAfter && next !== Infinity) {
        this.now = next;
        continue;
      }
      if (next === Infinity) this.fail(`${what}: stalled, no timer armed and nothing on the wire`);
      if (next > this.budget.virtualMs) this.fail(`${what}: virtual time budget of ${this.budget.virtualMs} ms exhausted (next event at ${next} ms)`);
      if (next > this.now) this.now = next;
      else if (next < this.now) this.fail(`${what}: a deadline in the past (${next} < ${this.now}) stayed armed after timers ran`);
      else {
        // Due now but the round found nothing to do: run the timers directly, once more.
        this.a.engine.timers(this.now);
        this.b.engine.timers(this.now);
        if (this.poll(host) === 0 && this.nextEventTime() <= this.now) this.fail(`${what}: a deadline at ${this.now} ms keeps firing without effect`);
      }
    }
  }

  /** Runs the pair until virtual time `t` (idle stretches jump), then polls once at `t`. */
  advanceTo(t: number, host?: () => number): void {
    const target = t;
    this.runUntil(() => this.now >= target, host, `advance to ${target} ms`, target);
    this.poll(host);
  }

  /**
   * Active open from A to a listener on B (a new one on SERVER_PORT unless given); returns the client
   * id on A, the listener id and the server id on B once both are ESTABLISHED.
   */
  open(listener = this.b.engine.listen({ port: SERVER_PORT })): { client: number; listener: number; server: number } {
    const client = this.a.engine.connect({ local: ADDRESS_A, remote: ADDRESS_B, remotePort: SERVER_PORT }, this.now);
    let server = 0;
    let connected = false;
    this.runUntil(
      () => connected && server !== 0,
      () => {
        let n = 0;
        for (const e of this.a.take((e) => e.id === client && e.type !== "state")) {
          if (e.type === "connected") connected = true;
          else this.fail(`open: client got ${JSON.stringify(e)}`);
          n++;
        }
        for (const e of this.b.take((e) => e.type === "accepted")) {
          if (e.type === "accepted" && e.listener === listener) server = e.id;
          n++;
        }
        return n;
      },
      "open",
    );
    return { client, listener, server };
  }

  /**
   * Opens a connection, streams `bytesAtoB` from A and `bytesBtoA` from B at once (seeded data), each
   * side reading as it goes and closing after its last byte, waits for both FINs, releases both
   * handles and the listener, and runs virtual time until both engines have no connection left
   * (TIME-WAIT included).
   */
  transfer(bytesAtoB: number, bytesBtoA: number): TransferResult {
    const start = this.now;
    const startSteps = this.steps;
    const dataA = new Prng(this.seed * 31 + 7).fill(new Uint8Array(bytesAtoB));
    const dataB = new Prng(this.seed * 31 + 8).fill(new Uint8Array(bytesBtoA));
    const { client, listener, server } = this.open();
    const sa = new StreamSide(this.a, client, dataA, dataB);
    const sb = new StreamSide(this.b, server, dataB, dataA);
    const sides = [sa, sb];
    const host = () => {
      let n = 0;
      for (const s of sides) {
        for (const e of s.end.take((e) => e.id === s.id && e.type !== "state")) {
          if (e.type === "peerFin") s.peerFin = true;
          else if (e.type === "reset" || e.type === "timedOut" || e.type === "error" || e.type === "closed") {
            if (!(e.type === "closed" && s.peerFin && s.closed)) this.fail(`transfer: ${s.end.name} got ${JSON.stringify(e)}`);
          }
          n++;
        }
        n += s.read(this.now);
        n += s.write(this.now);
      }
      return n;
    };
    this.runUntil(() => sa.peerFin && sb.peerFin && sa.closed && sb.closed, host, "transfer");
    const statusA = this.a.engine.status(client);
    const statusB = this.b.engine.status(server);
    // Both FINs are in; the last ACKs may still be on the wire. Release and let the protocol finish.
    this.a.engine.release(client, this.now);
    this.b.engine.release(server, this.now);
    this.b.engine.close(listener, this.now);
    this.b.engine.release(listener, this.now);
    this.runUntil(
      () => this.a.engine.liveConnections() === 0 && this.b.engine.liveConnections() === 0 &&
        this.a.engine.timeWaitCount() === 0 && this.b.engine.timeWaitCount() === 0,
      () => this.a.collect() + this.b.collect() + (this.a.events.length = 0) + (this.b.events.length = 0),
      "close",
    );
    const ca = this.a.engine.counters();
    const cb = this.b.engine.counters();
    const direction = (from: StreamSide, to: StreamSide): DirectionResult => ({
      bytes: to.received,
      sentSha256: from.sentHash.digest("hex"),
      receivedSha256: to.receivedHash.digest("hex"),
      firstMismatch: to.firstMismatch,
    });
    return {
      aToB: direction(sa, sb),
      bToA: direction(sb, sa),
      virtualMs: this.now - start,
      steps: this.steps - startSteps,
      segmentsOut: { a: ca.segmentsOut, b: cb.segmentsOut },
      retransmits: { a: ca.retransmits, b: cb.retransmits },
      countersA: ca,
      countersB: cb,
      linkAtoB: this.links ? { ...this.links[0].stats } : undefined,
      linkBtoA: this.links ? { ...this.links[1].stats } : undefined,
      statusA,
      statusB,
    };
  }

  /**
   * Connection churn: `count` connections from A to B's listener on port SERVER_PORT, `concurrency`
   * at a time. Each one opens, sends `bytes` each way (both ends write, then CLOSE: the FIN follows
   * the data), reads until the peer's FIN, checks what it read, and releases its handle. TIME-WAIT
   * runs its full 2 MSL on the virtual clock: every `timeWaitEvery` connections (and at the end) the
   * clock jumps until both engines hold nothing but the listener, so the table never fills with
   * TIME-WAIT entries. Returns the connections completed.
   */
  churn(count: number, options: { bytes?: number; concurrency?: number; timeWaitEvery?: number } = {}): number {
    const bytes = options.bytes ?? 1024;
    const concurrency = options.concurrency ?? 1;
    const timeWaitEvery = options.timeWaitEvery ?? 1000;
    const payload = new Prng(this.seed * 31 + 9).fill(new Uint8Array(bytes));
    const a = this.a.engine;
    const b = this.b.engine;
    const listener = b.listen({ port: SERVER_PORT, backlog: concurrency });
    const target = { local: ADDRESS_A, remote: ADDRESS_B, remotePort: SERVER_PORT };
    // Per open connection on either end: bytes read so far.
    const readA = new Map<number, number>();
    const readB = new Map<number, number>();
    let done = 0;
    let sinceTimeWait = 0;
    const readAll = (engine: Engine, id: number, got: Map<number, number>) => {
      const x = engine.raw;
      let have = got.get(id) ?? 0;
      for (;;) {
        const avail = x.connRecvAvail(id);
        if (avail <= 0) break;
        const p = x.connRecvPtr(id) >>> 0;
        const view = engine.memory.u8.subarray(p, p + avail);
        if (have + avail > bytes || Buffer.compare(view, payload.subarray(have, have + avail)) !== 0) {
          this.fail(`churn: connection ${id} read bytes that were not sent`);
        }
        x.connRecvConsumeMs(id, avail, this.now);
        have += avail;
      }
      got.set(id, have);
    };
    const finish = (engine: Engine, id: number, got: Map<number, number>) => {
      if (got.get(id) !== bytes) this.fail(`churn: connection ${id} got ${got.get(id)} of ${bytes} bytes before the FIN`);
      engine.release(id, this.now);
      got.delete(id);
    };
    const host = () => {
      let n = 0;
      for (const e of this.a.take(() => true)) {
        n++;
        if (e.type === "connected") {
          // CLOSE in SYN-SENT would delete the connection (RFC 9293 3.10.4): close once connected.
          a.close(e.id, this.now);
        } else if (e.type === "peerFin") {
          readAll(a, e.id, readA);
          finish(a, e.id, readA);
          done++;
        } else if (e.type === "readable") readAll(a, e.id, readA);
        else if (e.type === "reset" || e.type === "timedOut" || e.type === "error") this.fail(`churn: A got ${JSON.stringify(e)}`);
      }
      for (const e of this.b.take(() => true)) {
        n++;
        if (e.type === "accepted") {
          readB.set(e.id, 0);
          if (b.send(e.id, payload, this.now) !== bytes) this.fail("churn: the server's send ring refused 1 KiB");
          b.close(e.id, this.now);
          readAll(b, e.id, readB);
        } else if (e.type === "peerFin") {
          readAll(b, e.id, readB);
          finish(b, e.id, readB);
        } else if (e.type === "readable") readAll(b, e.id, readB);
        else if (e.type === "reset" || e.type === "timedOut" || e.type === "error") this.fail(`churn: B got ${JSON.stringify(e)}`);
      }
      return n;
    };
    const quiesce = () =>
      this.runUntil(
        () => a.liveConnections() === 0 && b.liveConnections() === 1 && a.timeWaitCount() === 0 && b.timeWaitCount() === 0,
        host, "churn: TIME-WAIT expiry");
    let started = 0;
    while (done < count) {
      const batch = Math.min(concurrency, count - started);
      for (let i = 0; i < batch; i++) {
        const id = a.connect(target, this.now);
        readA.set(id, 0);
        if (a.send(id, payload, this.now) !== bytes) this.fail("churn: the client's send ring refused 1 KiB");
      }
      started += batch;
      const goal = started;
      this.runUntil(() => done === goal && readB.size === 0, host, "churn: batch");
      sinceTimeWait += batch;
      if (sinceTimeWait >= timeWaitEvery) {
        quiesce();
        sinceTimeWait = 0;
      }
    }
    quiesce();
    b.close(listener, this.now);
    b.release(listener, this.now);
    this.runUntil(() => b.liveConnections() === 0, host, "churn: listener close");
    return done;
  }

  /** The pair's state for failure messages: time, steps, deadlines, connections, counters, link. */
  describe(): string {
    const lines = [`virtual time ${this.now} ms (deadlines A ${this.a.engine.nextDeadline()} B ${this.b.engine.nextDeadline()}), step ${this.steps}, next event ${this.nextEventTime()} ms`];
    for (const end of [this.a, this.b]) {
      const e = end.engine;
      const c = e.counters();
      const nonZero = Object.entries(c)
        .filter(([k, v]) => k !== "dropsByReason" && v !== 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      const drops = c.dropsByReason.map((v, i) => (v ? `r${i}=${v}` : "")).filter(Boolean).join(" ");
      lines.push(`${end.name}: live ${e.liveConnections()}, deadline ${e.nextDeadline()}, pool ${e.memoryInUse()} B; ${nonZero} ${drops}`);
    }
    if (this.a.trace.length || this.b.trace.length) {
      const merged = [...this.a.trace.slice(-80), ...this.b.trace.slice(-80)].sort((x, y) => parseFloat(x) - parseFloat(y));
      lines.push("last segments (time end dir id flags ...):", ...merged.slice(-120));
    }
    if (this.links) {
      lines.push(`link A->B ${JSON.stringify(this.links[0].stats)}`);
      lines.push(`link B->A ${JSON.stringify(this.links[1].stats)}`);
    }
    return lines.join("\n");
  }

  /** Status lines of the given connections (for failure messages). */
  describeConnections(ids: { end: End; id: number }[]): string {
    return ids
      .map(({ end, id }) => {
        try {
          return `${end.name}#${id} ${JSON.stringify(end.engine.status(id))}`;
        } catch (e) {
          return `${end.name}#${id} ${(e as Error).message}`;
        }
      })
      .join("\n");
  }

  fail(message: string): never {
    throw new Error(`${message}\n${this.describe()}`);
  }
}
