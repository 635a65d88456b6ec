// Packet-level scripts for the engine (STYLE.md rule 11, after smoltcp's send!/recv!/recv_nothing!):
// the test plays the peer, writes each segment it sends and each it expects in full (templates spread
// with overrides), and moves a virtual clock. One fixture per state builds on the previous one.
import { expect } from "vitest";
import { Engine, type EngineConfig, type EngineEvent, type ConnectionOptions } from "../src/engine.js";
import { loadWire, type Wire, type ParsedPacket, type TcpTimestamps } from "../src/wire.js";

export const FIN = 0x001;
export const SYN = 0x002;
export const RST = 0x004;
export const PSH = 0x008;
export const ACK = 0x010;

/** Addresses and ports: the engine is LOCAL, the script is the peer (REMOTE). */
export const LOCAL = "10.0.0.1";
export const REMOTE = "10.0.0.2";
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 49500;
/** The peer's ISS. */
export const REMOTE_SEQ = 10000;

/** A segment as the scripts write it: every field the tests compare. */
export interface Seg {
  flags: number;
  seq: number;
  ack: number;
  window: number;
  payload: string;
  mss: number | null;
  wscale: number | null;
  sackPermitted: boolean;
  timestamps: TcpTimestamps | null;
  sack: Array<[number, number]>;
}

/** The template every segment spreads: an empty ACK with no options. */
export const TEMPL: Seg = {
  flags: ACK,
  seq: 0,
  ack: 0,
  window: 65535,
  payload: "",
  mss: null,
  wscale: null,
  sackPermitted: false,
  timestamps: null,
  sack: [],
};

/**
 * Engine configuration of the scripts: no options but MSS unless a test turns them on, and the
 * delayed ACK from the first segment (no quick-ACK phase) unless a test asks for it.
 */
export const SCRIPT_CONFIG: EngineConfig = {
  quickAcks: 0,
  recvBuffer: 65536,
  sendBuffer: 65536,
  windowScaling: false,
  timestamps: false,
  sack: false,
  rtoInitialMs: 1000,
  rtoMinMs: 200,
  delayedAckMs: 40,
  mslMs: 30000,
  trace: false,
};

const latin1 = new TextDecoder("latin1");
const wirePromise = loadWire({ flavor: "debug" });

export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export class Script {
  now = 0;
  /** The engine's ISS, learned from its SYN or SYN,ACK. */
  iss = 0;
  /** The engine's connection under test, and its listener. */
  id = 0;
  listener = 0;
  localPort = LOCAL_PORT;
  private queue: ParsedPacket[] = [];
  readonly seen: EngineEvent[] = [];

  private constructor(readonly engine: Engine, readonly wire: Wire) {}

  static async create(config: EngineConfig = {}): Promise<Script> {
    const engine = await Engine.create({
      flavor: "debug",
      secret: new Uint8Array(32).fill(7),
      config: { ...SCRIPT_CONFIG, ...config },
    });
    return new Script(engine, await wirePromise);
  }

  /** The peer sends one segment to the engine. */
  send(seg: Partial<Seg>): void {
    const s = { ...TEMPL, ...seg };
    const packet = this.wire.encodePacket({
      src: REMOTE,
      dst: LOCAL,
      srcPort: REMOTE_PORT,
      dstPort: this.localPort,
      seq: s.seq >>> 0,
      ack: s.ack >>> 0,
      flags: s.flags,
      window: s.window,
      payload: bytes(s.payload),
      options: { mss: s.mss, wscale: s.wscale, sackPermitted: s.sackPermitted, timestamps: s.timestamps, sack: s.sack },
    });
    this.engine.input([packet], this.now);
    this.collectEvents();
  }

  /** Raw packet in (for malformed input). */
  sendRaw(packet: Uint8Array): void {
    this.engine.input([packet], this.now);
    this.collectEvents();
  }

  private pull(): void {
    for (const p of this.engine.output(this.now)) {
      const parsed = this.wire.parsePacket(p);
      if ("error" in parsed) throw new Error(`engine emitted an invalid packet: ${parsed.error}`);
      this.queue.push(parsed);
    }
    this.collectEvents();
  }

  /** The next segment from the engine, as a Seg (addresses and ports checked). */
  next(): Seg {
    this.pull();
    const p = this.queue.shift();
    if (!p) throw new Error("expected a segment, the engine sent nothing");
    expect({ src: p.src, dst: p.dst, dstPort: p.dstPort }).toEqual({ src: LOCAL, dst: REMOTE, dstPort: REMOTE_PORT });
    if (p.srcPort !== this.localPort) expect(p.srcPort).toBe(this.localPort);
    return {
      flags: p.flagBits,
      seq: p.seq,
      ack: p.ack,
      window: p.window,
      payload: latin1.decode(p.payload),
      mss: p.options.mss,
      wscale: p.options.wscale,
      sackPermitted: p.options.sackPermitted,
      timestamps: p.options.timestamps,
      sack: p.options.sack,
    };
  }

  /** Expects exactly this segment next (fields not given come from TEMPL). */
  recv(expected: Partial<Seg>): Seg {
    const got = this.next();
    const want = { ...TEMPL, ...expected };
    want.seq >>>= 0;
    want.ack >>>= 0;
    expect(got).toEqual(want);
    return got;
  }

  recvNothing(): void {
    this.pull();
    expect(this.queue.map((p) => `${p.flagBits.toString(16)} seq=${p.seq} ack=${p.ack} len=${p.payloadLength}`)).toEqual([]);
  }

  /** Moves the clock forward and runs the timers due. */
  advance(ms: number): void {
    this.now += ms;
    this.engine.timers(this.now);
    this.collectEvents();
  }

  /** Jumps to the engine's next deadline (fails if none). */
  advanceToDeadline(): number {
    const d = this.engine.nextDeadline();
    expect(d).toBeLessThan(Infinity);
    const step = d - this.now;
    this.now = d;
    this.engine.timers(this.now);
    this.collectEvents();
    return step;
  }

  private collectEvents(): void {
    for (const e of this.engine.events()) {
      this.seen.push(e);
      if (e.type === "accepted" && this.id === 0) this.id = e.id;
    }
  }

  /** Events since the last call, without state transitions unless `withStates`. */
  events(withStates = false): EngineEvent[] {
    this.collectEvents();
    const out = this.seen.splice(0).filter((e) => withStates || e.type !== "state");
    return out;
  }

  /** The state transitions since the last call, as "FROM>TO". */
  transitions(): string[] {
    this.collectEvents();
    const out: string[] = [];
    const keep: EngineEvent[] = [];
    for (const e of this.seen.splice(0)) {
      if (e.type === "state") out.push(`${e.from}>${e.to}`);
      else keep.push(e);
    }
    this.seen.push(...keep);
    return out;
  }

  state(): string {
    return this.engine.state(this.id);
  }

  /** The engine-side sequence number `n` octets after its ISS (SYN counts one). */
  l(n: number): number {
    return (this.iss + n) >>> 0;
  }

  /** The peer-side sequence number `n` octets after REMOTE_SEQ. */
  r(n: number): number {
    return (REMOTE_SEQ + n) >>> 0;
  }
}

// ---- Fixtures, one per state; each returns a script whose connection is in that state ----

/** LISTEN on LOCAL_PORT. */
export async function listening(config: EngineConfig = {}, options: ConnectionOptions = {}): Promise<Script> {
  const s = await Script.create(config);
  s.listener = s.engine.listen({ port: LOCAL_PORT, backlog: 16 }, options);
  return s;
}

/**
 * The window of the fixtures' SYN,ACK: the receive buffer, at most 65,535 (unscaled, RFC 7323 2.2).
 * Its right edge, RCV.NXT + this, stays put until it can move by min(buffer / 2, MSS) (RFC 9293
 * 3.8.6.2.2), so a FIN that takes one sequence number leaves this less one in the window field.
 */
export function synWindow(config: EngineConfig = {}): number {
  return Math.min(Number(config.recvBuffer ?? SCRIPT_CONFIG.recvBuffer), 65535);
}

/** SYN-RECEIVED: the peer's SYN arrived and our SYN,ACK went out. */
export async function synReceived(config: EngineConfig = {}, options: ConnectionOptions = {}): Promise<Script> {
  const s = await listening(config, options);
  s.send({ flags: SYN, seq: REMOTE_SEQ, ack: 0, mss: 1460 });
  const synAck = s.next();
  s.iss = synAck.seq;
  const window = synWindow(config);
  expect(synAck).toEqual({ ...TEMPL, flags: SYN | ACK, seq: s.iss, ack: s.r(1), window, mss: 1460 });
  return s;
}

/** ESTABLISHED (passive open): the handshake completed and the host accepted the connection. */
export async function established(config: EngineConfig = {}, options: ConnectionOptions = {}): Promise<Script> {
  const s = await synReceived(config, options);
  s.send({ flags: ACK, seq: s.r(1), ack: s.l(1) });
  expect(s.events()).toEqual([{ type: "accepted", id: s.id, listener: s.listener }]);
  s.transitions();
  return s;
}

/** SYN-SENT: the engine connected to the peer and its SYN went out. */
export async function synSent(config: EngineConfig = {}, options: ConnectionOptions = {}): Promise<Script> {
  const s = await Script.create(config);
  s.localPort = 40000;
  s.id = s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40000 }, s.now, options);
  const syn = s.next();
  s.iss = syn.seq;
  expect(syn).toEqual({ ...TEMPL, flags: SYN, seq: s.iss, ack: 0, window: 65535, mss: 1460 });
  s.transitions();
  return s;
}

/** FIN-WAIT-1: ESTABLISHED, then CLOSE sent our FIN. */
export async function finWait1(config: EngineConfig = {}): Promise<Script> {
  const s = await established(config);
  s.engine.close(s.id, s.now);
  s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(1) });
  expect(s.transitions()).toEqual(["ESTABLISHED>FIN-WAIT-1"]);
  return s;
}

/** FIN-WAIT-2: the peer acknowledged our FIN. */
export async function finWait2(config: EngineConfig = {}): Promise<Script> {
  const s = await finWait1(config);
  s.send({ flags: ACK, seq: s.r(1), ack: s.l(2) });
  s.recvNothing();
  expect(s.transitions()).toEqual(["FIN-WAIT-1>FIN-WAIT-2"]);
  return s;
}

/** CLOSE-WAIT: the peer's FIN arrived and was acknowledged. */
export async function closeWait(config: EngineConfig = {}): Promise<Script> {
  const s = await established(config);
  s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(1) });
  s.recv({ flags: ACK, seq: s.l(1), ack: s.r(2), window: synWindow(config) - 1 });
  expect(s.transitions()).toEqual(["ESTABLISHED>CLOSE-WAIT"]);
  expect(s.events()).toEqual([{ type: "peerFin", id: s.id }]);
  return s;
}

/** LAST-ACK: CLOSE in CLOSE-WAIT sent our FIN. */
export async function lastAck(config: EngineConfig = {}): Promise<Script> {
  const s = await closeWait(config);
  s.engine.close(s.id, s.now);
  s.recv({ flags: FIN | ACK, seq: s.l(1), ack: s.r(2), window: synWindow(config) - 1 });
  expect(s.transitions()).toEqual(["CLOSE-WAIT>LAST-ACK"]);
  return s;
}

/** CLOSING: both FINs crossed; ours is not yet acknowledged. */
export async function closing(config: EngineConfig = {}): Promise<Script> {
  const s = await finWait1(config);
  s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(1) });
  s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: synWindow(config) - 1 });
  expect(s.transitions()).toEqual(["FIN-WAIT-1>CLOSING"]);
  s.events();
  return s;
}

/** TIME-WAIT: FIN-WAIT-2, then the peer's FIN. */
export async function timeWait(config: EngineConfig = {}): Promise<Script> {
  const s = await finWait2(config);
  s.send({ flags: FIN | ACK, seq: s.r(1), ack: s.l(2) });
  s.recv({ flags: ACK, seq: s.l(2), ack: s.r(2), window: synWindow(config) - 1 });
  expect(s.transitions()).toEqual(["FIN-WAIT-2>TIME-WAIT"]);
  s.events();
  return s;
}
